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
        cp = (pins.cp or 1) if variant.kind != "serve" else 1
        spread = (pins.tp or 1) * cp * (pins.pp or 1) * (pins.dp or pins.replicas or 1)
        known = [k for k in ("tp", "cp", "pp", "dp", "replicas") if getattr(pins, k) is not None]
        full = {"tp", "pp"} <= set(known) and ({"dp", "replicas"} & set(known))
        if (full and spread != pins.count) or pins.count % spread:
            raise _pin_error(variant, "count", f"count = {pins.count} does not match "
                             + " x ".join(f"{k} = {getattr(pins, k)}" for k in known))
    if variant.kind == "serve":
        for key in ("dp", "zero", "recompute", "offload", "micro_batch", "sp", "cp", "shard", "vpp"):
            if getattr(pins, key) is not None:
                raise _pin_error(variant, key, f"{key} applies to training; a service has "
                                 "tp, pp, ep, replicas, gpu and count")
    elif pins.replicas is not None:
        raise _pin_error(variant, "replicas", "replicas applies to serving; training has dp")
    else:
        _check_training_pins(variant, pins)


def _check_training_pins(variant: Variant, pins) -> None:
    """sp, cp, shard, vpp and fp8 pins the job cannot take."""
    job = variant.train_job
    if pins.sp and pins.tp is not None and pins.tp < 2:
        raise _pin_error(variant, "sp", "sp = true splits what tensor parallelism keeps whole: "
                         "it needs tp > 1")
    if pins.cp is not None and (pins.cp < 1 or job.seq_len % (2 * pins.cp)):
        raise _pin_error(variant, "cp", f"cp = {pins.cp} must split the sequence of {job.seq_len} "
                         f"tokens into 2 x cp equal chunks (Megatron's load-balanced causal split)")
    if pins.shard is not None:
        if pins.zero is not None and pins.zero < 3:
            raise _pin_error(variant, "shard", "shard (HSDP) partitions ZeRO-3's states: it needs "
                             f"zero = 3, not {pins.zero}")
        data = None if pins.dp is None else pins.dp * (pins.cp or 1)
        if pins.shard != "node" and (pins.shard < 1 or (data is not None and data % pins.shard)):
            raise _pin_error(variant, "shard", f"shard = {pins.shard} must divide dp x cp"
                             + (f" = {data}" if data is not None else ""))
    if pins.vpp is not None and pins.vpp > 1:
        if pins.pp is not None and pins.pp < 2:
            raise _pin_error(variant, "vpp", f"vpp = {pins.vpp} interleaves pipeline stages: it "
                             "needs pp > 1")
        stage = -(-variant.arch.layers // (pins.pp or 1))
        if pins.pp is not None and stage % pins.vpp:
            raise _pin_error(variant, "vpp", f"vpp = {pins.vpp} must divide the {stage} layers of a "
                             f"stage at pp = {pins.pp} (every chunk holds as many layers)")
        if pins.pp is not None and pins.dp is not None and pins.micro_batch is not None:
            micro = -(-job.global_batch // (pins.dp * pins.micro_batch))
            if micro % pins.pp:
                raise _pin_error(variant, "vpp", f"vpp = {pins.vpp} needs the {micro} micro-batches "
                                 f"of a step to be a multiple of pp = {pins.pp} (Megatron-Core's "
                                 "interleaved schedule)")
    if job.precision == "fp8" and pins.gpu is not None:
        offer = next((o for o in variant.offers if o.name == pins.gpu), None)
        if offer is not None and offer.spec.fp8_flops <= 0:
            raise _pin_error(variant, "gpu", f"gpu = {pins.gpu} has no fp8 tensor cores, which "
                             "`precision = fp8` needs")


