"""A DeepSpeed JSON config for a training row (finetune, pretrain).

Keys as documented in DeepSpeed's docs/_pages/config-json.md ("DeepSpeed
Configuration JSON"): the batch triple, ``zero_optimization`` (stage,
``offload_optimizer``, ``offload_param``), ``bf16``/``fp16`` and, for TP > 1,
``tensor_parallel.autotp_size`` (AutoTP training). Pipeline parallelism is not
a config key in DeepSpeed (it is ``PipelineModule(num_stages=...)`` in the
training script), so PP > 1 is reported to the caller as a note.
"""

from __future__ import annotations

import json
import math

from planner.errors import PlanError
from planner.export.names import has_bf16


def global_batch(row: dict) -> int:
    """Sequences per optimizer step: the plan's ``batch``, else the estimator's default."""
    inputs = row.get("inputs") or {}
    if inputs.get("batch"):
        return int(inputs["batch"])
    from planner.estimate import defaults

    pretrain = row.get("kind") == "pretrain"
    seq_len = inputs.get("seq_len") or (
        defaults.DEFAULT_PRETRAIN_SEQ_LEN if pretrain else defaults.DEFAULT_FINETUNE_SEQ_LEN)
    return defaults.default_global_batch(pretrain, int(seq_len))


def config(row: dict) -> dict:
    """The config dict. DeepSpeed requires train_batch_size = micro × accumulation × DP,
    so the accumulation steps are rounded up and the batch restated to match."""
    layout = row.get("layout") or {}
    tp, pp = layout.get("tp") or 1, layout.get("pp") or 1
    dp = layout.get("dp") or max(1, (row.get("gpu_count") or 1) // (tp * pp))
    micro = layout.get("micro_batch") or 1
    accumulation = max(1, math.ceil(global_batch(row) / (micro * dp)))
    zero = int(layout.get("zero") or 0)
    offload = layout.get("offload") or "none"
    zero_config: dict = {"stage": zero}
    if offload in ("optimizer", "all"):
        if zero == 0:
            raise PlanError(
                f"{row['name']}: offload={offload} with ZeRO stage 0 cannot be expressed in"
                " DeepSpeed (optimizer offload needs ZeRO stage 1, 2 or 3)"
            )
        zero_config["offload_optimizer"] = {"device": "cpu", "pin_memory": True}
    if offload == "all":
        if zero != 3:
            raise PlanError(
                f"{row['name']}: offload=all (parameters too) needs ZeRO stage 3 in DeepSpeed,"
                f" the layout has stage {zero}"
            )
        zero_config["offload_param"] = {"device": "cpu", "pin_memory": True}
    out: dict = {
        "train_batch_size": micro * accumulation * dp,
        "train_micro_batch_size_per_gpu": micro,
        "gradient_accumulation_steps": accumulation,
        "zero_optimization": zero_config,
    }
    if has_bf16(row.get("gpu") or ""):
        out["bf16"] = {"enabled": True}
    else:
        out["fp16"] = {"enabled": True}
    if tp > 1:
        out["tensor_parallel"] = {"autotp_size": tp}
    return out


def notes(row: dict) -> list[str]:
    """What the config cannot say and the training script must."""
    layout = row.get("layout") or {}
    out = []
    if (layout.get("pp") or 1) > 1:
        out.append(f"pipeline parallel {layout['pp']} stages: build the model as"
                   f" deepspeed.pipe.PipelineModule(num_stages={layout['pp']})")
    if layout.get("recompute") not in (None, "none"):
        out.append(f"activation recomputation ({layout['recompute']}): enable gradient"
                   " checkpointing in the model")
    return out


def render(row: dict) -> str:
    return json.dumps(config(row), indent=2, sort_keys=True) + "\n"
