"""A DeepSpeed JSON config for a training row (finetune, pretrain).

Keys as documented in DeepSpeed's docs/_pages/config-json.md ("DeepSpeed
Configuration JSON"): the batch triple, ``zero_optimization`` (stage,
``offload_optimizer``, ``offload_param``), ``bf16``/``fp16`` and, for TP > 1,
``tensor_parallel.autotp_size`` (AutoTP training). Pipeline parallelism is not
a config key in DeepSpeed (it is ``PipelineModule(num_stages=...)`` in the
training script), so PP > 1 is reported to the caller as a note, and so are what
DeepSpeed's config cannot express: Megatron sequence parallelism, context
parallelism, interleaved pipeline stages, HSDP and fp8 linears.
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


def config(row: Row) -> dict:
    """The config dict. DeepSpeed requires train_batch_size = micro × accumulation × DP,
    so the accumulation steps are rounded up and the batch restated to match."""
    layout = row.layout
    tp, pp = layout.tp or 1, layout.pp or 1
    dp = layout.dp or max(1, (row.gpu_count or 1) // (tp * pp))
    micro = layout.micro_batch or 1
    accumulation = max(1, math.ceil(global_batch(row) / (micro * dp)))
    zero = int(layout.zero or 0)
    offload = layout.offload or "none"
    zero_config: dict = {"stage": zero}
    if offload in ("optimizer", "all"):
        if zero == 0:
            raise PlanError(
                f"{row.name}: offload={offload} with ZeRO stage 0 cannot be expressed in"
                " DeepSpeed (optimizer offload needs ZeRO stage 1, 2 or 3)"
            )
        zero_config["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if offload == "all":
        if zero != 3:
            raise PlanError(
                f"{row.name}: offload=all (parameters too) needs ZeRO stage 3 in DeepSpeed,"
                f" the layout has stage {zero}"
            )
        zero_config["offload_param"] = {"device": "cpu", "pin_memory": True}
    out: dict = {
        "train_batch_size": micro * accumulation * dp,
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accumulation,
        "zero_optimization": zero_config,
    }
    if has_bf16(row.gpu or ""):
        out["bf16"] = {"enabled": True}
    else:
        out["fp16"] = {"enabled": True}
    if tp > 1:
        out["tensor_parallel"] = {"autotp_size": tp}
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
    if row.inputs.stack not in (None, "deepspeed"):
        out.append(f"the plan assumed the {row.inputs.stack} stack; its memory terms"
                   " (docs/estimation.md sec 3, \"Stacks\") differ from DeepSpeed's")
    return out


def render(row: Row) -> str:
    return json.dumps(config(row), indent=2, sort_keys=True) + "\n"
