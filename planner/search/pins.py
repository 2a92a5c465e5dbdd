"""Pinned layout values the model or the job cannot take: input errors (exit 2) at the pin."""

from __future__ import annotations

from planner.errors import PlanTypeError
from planner.resolve.variants import Variant


def _pin_error(variant: Variant, key: str, message: str) -> PlanTypeError:
    pins = variant.pins
    span = pins.spans.get(key, pins.span) if pins is not None else variant.workload.span
    return PlanTypeError(f"{variant.group}: layout {message}", span)


def check_pins(variant: Variant) -> None:
    """Pinned values the model cannot take are input errors (exit 2), not misses."""
    pins = variant.pins
    if pins is None:
        return
    arch = variant.arch
    if pins.tp is not None:
        if pins.tp < 1 or arch.heads % pins.tp or (not arch.is_mla and arch.kv_heads % pins.tp):
            raise _pin_error(variant, "tp", f"tp = {pins.tp} must divide the model's "
                             f"{arch.heads} heads and {arch.kv_heads} KV heads")
    if pins.pp is not None and (pins.pp < 1 or pins.pp > arch.layers):
        raise _pin_error(variant, "pp", f"pp = {pins.pp} must be at most the model's {arch.layers} layers")
    for key in ("count", "dp", "micro_batch", "replicas", "ep"):
        value = getattr(pins, key)
        if value is not None and value < 1:
            raise _pin_error(variant, key, f"{key} = {value} must be at least 1")
    if pins.ep is not None and arch.is_moe and arch.experts % pins.ep:
        raise _pin_error(variant, "ep", f"ep = {pins.ep} must divide the model's {arch.experts} experts")
    if pins.ep is not None and pins.ep > 1 and not arch.is_moe:
        raise _pin_error(variant, "ep", f"ep = {pins.ep} needs a mixture-of-experts model; "
                         f"`{variant.model}` has no experts (write ep = 1 or leave it out)")
    if pins.ep is not None and pins.ep > 1:
        # EP groups are formed across data-parallel ranks (training) or within a
        # replica's TP GPUs (serving): ep GPUs must exist to hold a 1/ep share each
        within = "tp" if variant.kind == "serve" else "dp"
        if getattr(pins, within) is not None and getattr(pins, within) < pins.ep:
            raise _pin_error(variant, "ep", f"ep = {pins.ep} must be at most "
                             f"{within} = {getattr(pins, within)}: each expert-parallel rank "
                             "is a GPU of its own")
    if variant.kind != "serve" and pins.recompute == "selective" \
            and variant.train_job.stack != "megatron":
        raise _pin_error(variant, "recompute", "recompute = selective is Megatron's (the attention "
                         f"core alone); the {variant.train_job.stack} stack checkpoints whole layers: "
                         "write recompute = full or none")
    if variant.kind != "serve":
        # the global batch is met exactly: DP x micro-batch x accumulation = batch
        batch = variant.train_job.global_batch
        if pins.dp is not None and batch % pins.dp:
            raise _pin_error(variant, "dp", f"dp = {pins.dp} must divide the global batch of "
                             f"{batch} sequences (set `batch`)")
        if pins.micro_batch is not None and batch % (pins.micro_batch * (pins.dp or 1)):
            per = f"per-rank batch of {batch // pins.dp}" if pins.dp else f"global batch of {batch}"
            raise _pin_error(variant, "micro_batch", f"micro_batch = {pins.micro_batch} must "
                             f"divide the {per} sequences (set `batch`)")
    if pins.count is not None:
        spread = (pins.tp or 1) * (pins.pp or 1) * (pins.dp or pins.replicas or 1)
        known = [k for k in ("tp", "pp", "dp", "replicas") if getattr(pins, k) is not None]
        full = {"tp", "pp"} <= set(known) and ({"dp", "replicas"} & set(known))
        if (full and spread != pins.count) or pins.count % spread:
            raise _pin_error(variant, "count", f"count = {pins.count} does not match "
                             + " x ".join(f"{k} = {getattr(pins, k)}" for k in known))
    if variant.kind == "serve":
        for key in ("dp", "zero", "recompute", "offload", "micro_batch"):
            if getattr(pins, key) is not None:
                raise _pin_error(variant, key, f"{key} applies to training; a service has "
                                 "tp, pp, ep, replicas, gpu and count")
    elif pins.replicas is not None:
        raise _pin_error(variant, "replicas", "replicas applies to serving; training has dp")


