"""A DeepSpeed JSON config for a training row (finetune, pretrain).

Keys as DeepSpeed 0.19.8 (the PyPI release; tests/export/test_validate.py loads
every export with its ``DeepSpeedConfig``) reads them
(deepspeed/runtime/config.py ``DeepSpeedConfig._initialize_params``,
deepspeed/runtime/zero/config.py ``DeepSpeedZeroConfig``,
deepspeed/module_inject/auto_ep_config.py ``parse_autoep_config``): the batch
triple, ``zero_optimization`` (stage, ``offload_optimizer``, ``offload_param``),
``bf16``/``fp16``, ``tensor_parallel.autotp_size`` (AutoTP) and
``expert_parallel`` (AutoEP). Pipeline parallelism is not a config key that
sets the stages (it is ``PipelineModule(num_stages=...)`` in the training
script), so PP > 1 is a note, and so is what DeepSpeed's config cannot express:
Megatron sequence parallelism, context parallelism, interleaved pipeline
stages, HSDP, fp8 linears, the LoRA adapters and the bitsandbytes base weights.
Layouts DeepSpeed refuses to run are refused here with its reason (``refusal``).
"""

from __future__ import annotations

from planner.result import Row

import json
import math

from planner.errors import PlanError
from planner.export.names import has_bf16


def global_batch(row: Row) -> int:
    """Sequences per optimizer step the row was solved for (the plan's, or the default)."""
    return int(row.inputs.batch)


def refusal(row: Row) -> str | None:
    """Why DeepSpeed cannot run the row's layout, or None (docs/exports.md, "Refused")."""
    layout = row.layout
    tp, pp, ep, zero = layout.tp or 1, layout.pp or 1, layout.ep or 1, int(layout.zero or 0)
    if row.inputs.method == "qlora" and (tp > 1 or ep > 1):
        split = "tensor" if tp > 1 else "expert"
        return (f"QLoRA with {split} parallelism ({'tp' if tp > 1 else 'ep'} = {tp if tp > 1 else ep}):"
                " bitsandbytes stores the frozen base weights packed (Params4bit / Int8Params),"
                " which DeepSpeed's AutoTP and AutoEP do not split (QLoRA runs data parallel:"
                " DDP, ZeRO or FSDP, with tp = 1 and ep = 1)")
    if pp > 1 and zero >= 2:
        return (f"pipeline parallel ({pp} stages) with ZeRO stage {zero}: DeepSpeed's pipeline"
                " engine asserts \"ZeRO-2 and ZeRO-3 are incompatible with pipeline parallelism\""
                " (deepspeed/runtime/pipe/engine.py), so pp > 1 needs ZeRO 0 or 1")
    if ep > 1 and tp > 1 and pp > 1:
        return (f"expert parallel {ep} with tensor parallel {tp} and {pp} pipeline stages:"
                " DeepSpeed's \"AutoEP+AutoTP folding currently supports pp_size=1 only\""
                " (deepspeed/module_inject/auto_ep_folding.py)")
    offload = layout.offload or "none"
    if offload in ("optimizer", "all") and zero == 0:
        return (f"offload={offload} with ZeRO stage 0 cannot be expressed in DeepSpeed"
                " (optimizer offload needs ZeRO stage 1, 2 or 3)")
    if offload == "all" and zero != 3:
        return (f"offload=all (parameters too) needs ZeRO stage 3 in DeepSpeed,"
                f" the layout has stage {zero}")
    return None


def config(row: Row) -> dict:
    """The config dict. DeepSpeed requires train_batch_size = micro × accumulation × DP,
    so the accumulation steps are rounded up and the batch restated to match."""
    refused = refusal(row)
    if refused:
        raise PlanError(f"{row.name}: {refused}")
    layout = row.layout
    tp, pp = layout.tp or 1, layout.pp or 1
    dp = layout.dp or max(1, (row.gpu_count or 1) // (tp * pp))
    micro = layout.micro_batch or 1
    accumulation = max(1, math.ceil(global_batch(row) / (micro * dp)))
    zero = int(layout.zero or 0)
    offload = layout.offload or "none"
    zero_config: dict = {"stage": zero}
    if offload in ("optimizer", "all"):
        zero_config["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if offload == "all":
        zero_config["offload_param"] = {"device": "cpu", "pin_memory": True}
    out: dict = {
        "train_batch_size": micro * accumulation * dp,
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accumulation,
        "zero_optimization": zero_config,
    }
    if has_bf16(row.gpu_type or row.gpu or ""):
        out["bf16"] = {"enabled": True}
    else:
        out["fp16"] = {"enabled": True}
    if tp > 1:
        out["tensor_parallel"] = {"autotp_size": tp}
    if (layout.ep or 1) > 1:
        out["expert_parallel"] = {"enabled": True, "autoep_size": layout.ep}
    return out


def notes(row: Row) -> list[str]:
    """What the config cannot say and the training script must."""
    layout = row.layout
    out = []
    if (layout.pp or 1) > 1:
        out.append(f"pipeline parallel {layout.pp} stages: build the model as"
                   f" deepspeed.pipe.PipelineModule(num_stages={layout.pp})")
    if layout.recompute not in (None, "none"):
        out.append(f"activation recomputation ({layout.recompute}): enable gradient"
                   " checkpointing in the model")
    if layout.sp:
        out.append("sequence parallelism (Megatron's, sp): no DeepSpeed config key; run the"
                   " model under Megatron-DeepSpeed with --sequence-parallel")
    if (layout.cp or 1) > 1:
        out.append(f"context parallel {layout.cp}: no DeepSpeed config key (DeepSpeed-Ulysses"
                   " splits heads, not the sequence); Megatron-Core's"
                   f" --context-parallel-size {layout.cp} is what the estimate assumed")
    if (layout.vpp or 1) > 1:
        out.append(f"{layout.vpp} interleaved pipeline stages per GPU (vpp): DeepSpeed's"
                   " PipelineModule runs plain 1F1B; Megatron's"
                   " --num-layers-per-virtual-pipeline-stage expresses it")
    if layout.shard:
        out.append(f"HSDP, ZeRO-3 within groups of {layout.shard} GPUs (shard): current DeepSpeed"
                   " rejects MiCS's mics_shard_size, and ZeRO++'s zero_hpz_partition_size keeps"
                   " only a secondary copy of the parameters per group; PyTorch FSDP's"
                   " HYBRID_SHARD expresses it")
    if row.inputs.precision == "fp8":
        out.append("fp8 linear layers: Transformer Engine (te.fp8_autocast) in the model,"
                   " not a DeepSpeed config key")
    inputs = row.inputs
    if inputs.method in ("lora", "qlora"):
        out.append(f"LoRA adapters of rank {inputs.rank or 'the default'}: PEFT's LoraConfig(r=...,"
                   " target_modules=...) in the training script; DeepSpeed trains what is left"
                   " requiring gradients")
    if inputs.method == "qlora":
        bits = "8-bit (load_in_8bit)" if (layout.weights or inputs.weights) == "int8" else \
            "4-bit NF4 (load_in_4bit, bnb_4bit_quant_type=\"nf4\")"
        out.append(f"QLoRA base weights in bitsandbytes {bits}: a BitsAndBytesConfig when loading"
                   " the model, not a DeepSpeed key")
    if inputs.optimizer not in (None, "adamw"):
        out.append(f"optimizer {inputs.optimizer}: a bitsandbytes or client optimizer passed to"
                   " deepspeed.initialize(optimizer=...), not DeepSpeed's `optimizer` section")
    if inputs.stack not in (None, "deepspeed"):
        out.append(f"the plan assumed the {row.inputs.stack} stack; its memory terms"
                   " (docs/estimation.md sec 3, \"Stacks\") differ from DeepSpeed's")
    return out


def render(row: Row) -> str:
    """The JSON (no comments: Hugging Face's and accelerate's loaders read it with json.load);
    its notes go on stderr and into a notes file beside it."""
    return json.dumps(config(row), indent=2, sort_keys=True) + "\n"
