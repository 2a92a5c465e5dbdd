"""The candidate space: which degrees and knobs the search tries, narrowed by pins.

docs/solve.md ("Candidate space") states every dimension and why; in short, per variant
and offered GPU type: TP powers of two within a node dividing the heads; PP degrees that
shrink the largest stage; DP divisors of the global batch; (ZeRO, offload) pairs as
DeepSpeed accepts them; recomputation none -> selective -> full; micro-batch powers of
two dividing the per-rank batch; EP 1 or the largest power of two dividing the experts; SP whenever TP > 1;
interleaved stages 1, 2, 4, 8; HSDP within a node besides full sharding under ZeRO-3; CP only
where a sequence does not fit without it. A ``layout { }`` block narrows each dimension to
its pinned value.
"""

from __future__ import annotations

from planner.estimate.types import GpuSpec, TrainJob
from planner.resolve.variants import Variant

# Largest GPU count tried for a type declared ``available = unlimited``: 512
# nodes of 8, beyond the largest public fine-tuning runs and around the 2k-16k
# GPU pretraining runs only by power-of-two steps (Llama 3: 16,384 H100s,
# Dubey et al. 2024, section 3.3). A plan needing more should declare a count.
UNLIMITED_GPU_CAP = 4096
# Deepest pipeline tried (Llama 3 405B trained with PP=16; Dubey et al. 2024,
# Table 4): 32 leaves room for deeper models and bounds the enumeration.
MAX_PP = 32
# Training tokens used to find the (GPU count, time) frontier once per
# workload shape; every kept point is then re-evaluated with the real job, so
# reported numbers never depend on it (docs/solve.md, "Sweeps share frontiers").
REFERENCE_TOKENS = 1.0e12

RECOMPUTE_CHAIN = ("none", "selective", "full")
OFFLOAD_CHAIN = ("none", "optimizer", "all")
# (ZeRO stage, offload) pairs as DeepSpeed accepts them: optimizer offload
# needs stage >= 1 (ZeRO-Offload, Ren et al. 2021), parameter offload stage 3
# (ZeRO-Infinity, Rajbhandari et al. 2021). Stage 1 with optimizer offload is
# left out: stage 2 moves the same bytes with the same traffic and holds less.
ZERO_OFFLOAD = ((0, "none"), (1, "none"), (2, "none"), (3, "none"),
                (2, "optimizer"), (3, "optimizer"), (3, "all"))
# With one data-parallel rank nothing is sharded: only offload changes memory.
ZERO_OFFLOAD_SINGLE = ((0, "none"), (2, "optimizer"), (3, "all"))
# Interleaved pipeline stages per GPU tried (Megatron-LM's --num-layers-per-virtual-pipeline-
# stage; its sc21 scripts run 2-3, NeMo's Llama recipes up to 8 and beyond): more chunks cut
# the bubble and the first stage's activations but send more point-to-point.
VPP_CHOICES = (1, 2, 4, 8)
# Context-parallel degrees tried, doubling, where a sequence does not fit without: up to 16,
# Llama 3's 131K-token stage (Dubey et al. 2024, Table 4).
MAX_CP = 16
# quality order of weight precisions: at equal cost the better one wins
PRECISION_RANK = {"fp32": 0, "bf16": 1, "fp16": 1, "fp8": 2, "int8": 3, "int4": 4, "nf4": 5}


def pin(variant: Variant, name: str):
    """The value the plan pins for a layout key, or None."""
    pins = variant.pins
    return None if pins is None else getattr(pins, name)


def gpu_cap(available: int | None) -> int:
    """Most GPUs of one type the search tries."""
    return available if available is not None else UNLIMITED_GPU_CAP


# Stacks that run ZeRO and pipelines on DeepSpeed's engine (transformers' Trainer hands ZeRO
# to it); what that engine refuses (DeepSpeed 0.19.8, docs/exports.md "Refused"):
# deepspeed/runtime/pipe/engine.py, "ZeRO-2 and ZeRO-3 are incompatible with pipeline
# parallelism"; deepspeed/module_inject/auto_ep_folding.py, AutoEP with AutoTP needs pp = 1.
DEEPSPEED_ENGINE = ("deepspeed", "hf")


def stack_runs(job: TrainJob, tp: int, pp: int, ep: int, zero: int) -> bool:
    """Can the job's stack run this layout? QLoRA's base weights are bitsandbytes' packed
    4-bit tensors, which no tensor- or expert-parallel split takes (data parallel only)."""
    if job.method == "qlora" and (tp > 1 or ep > 1):
        return False
    if job.stack in DEEPSPEED_ENGINE and pp > 1 and (zero >= 2 or (ep > 1 and tp > 1)):
        return False
    return True


def tp_degrees(variant: Variant, spec: GpuSpec) -> list[int]:
    """Powers of two within a node dividing the heads (and KV heads, but for MLA); a pinned
    ``sp = true`` leaves out TP 1 (sequence parallelism splits what TP keeps whole)."""
    if pin(variant, "tp"):
        return [pin(variant, "tp")]
    arch = variant.arch
    out, tp = [], 2 if pin(variant, "sp") else 1
    while tp <= spec.gpus_per_node:
        if arch.heads % tp == 0 and (arch.is_mla or arch.kv_heads % tp == 0):
            out.append(tp)
        tp *= 2
    return out


def pp_degrees(variant: Variant) -> list[int]:
    """PP degrees whose largest stage, ceil(layers / pp), is smaller than with one stage fewer.

    A degree that leaves the largest stage as it was only adds GPUs: the
    estimator sizes every stage as the largest one. A pinned ``vpp`` > 1 keeps the degrees
    above 1 whose stage it divides into equal chunks.
    """
    if pin(variant, "pp"):
        return [pin(variant, "pp")]
    layers, vpp = variant.arch.layers, pin(variant, "vpp") or 1
    out: list[int] = []
    for d in range(1, min(layers, MAX_PP) + 1):
        if d == 1 or -(-layers // d) < -(-layers // (d - 1)):
            out.append(d)
    return [d for d in out if vpp == 1 or (d > 1 and -(-layers // d) % vpp == 0)]


def divisors(n: int) -> list[int]:
    """Divisors of n, ascending (trial division up to sqrt(n): a global batch may be large)."""
    small, large = [], []
    d = 1
    while d * d <= n:
        if n % d == 0:
            small.append(d)
            if d * d != n:
                large.append(n // d)
        d += 1
    return small + large[::-1]


def dp_degrees(variant: Variant, tp: int, pp: int, cap: int, cp: int = 1) -> list[int]:
    """Data-parallel degrees at (tp, cp, pp): divisors of the global batch within the cap,
    meeting every pin (count, ep at most dp, micro_batch dividing the per-rank batch)."""
    batch = variant.train_job.global_batch
    count = pin(variant, "count")
    width = tp * cp * pp
    if pin(variant, "dp"):
        dps = [pin(variant, "dp")]
    elif count:
        dps = [count // width] if count % width == 0 else []
    else:
        dps = divisors(batch)
    return [d for d in dps if width * d <= cap
            and (count is None or width * d == count)
            and batch % d == 0 and (pin(variant, "ep") or 1) <= d
            and (batch // d) % (pin(variant, "micro_batch") or 1) == 0]


def ep_degrees(variant: Variant, sharing: int) -> list[int]:
    """Expert-parallel degrees: 1, and the largest power of two dividing the expert count
    that is at most ``sharing`` (the DP ranks EP groups are formed across)."""
    if pin(variant, "ep"):
        return [pin(variant, "ep")]
    arch = variant.arch
    if not arch.is_moe:
        return [1]
    ep = 1
    while ep * 2 <= sharing and arch.experts % (ep * 2) == 0:
        ep *= 2
    return sorted({1, ep})


def micro_batches(variant: Variant, batch: int, dp: int) -> list[int]:
    """Powers of two dividing the per-rank batch (gradient accumulation makes up the rest)."""
    pinned = pin(variant, "micro_batch")
    if pinned:
        return [pinned]
    per_rank = batch // dp if batch % dp == 0 else 1
    out, mb = [], 1
    while mb <= per_rank and per_rank % mb == 0:
        out.append(mb)
        mb *= 2
    return out or [1]


def zero_offload_pairs(variant: Variant, dp: int) -> list[tuple[int, str]]:
    """(ZeRO stage, offload) pairs to try at ``dp``, narrowed by the pins (a pinned ``shard``
    partitions ZeRO-3's states: only ZeRO-3 then)."""
    zero, offload = pin(variant, "zero"), pin(variant, "offload")
    if zero is None and pin(variant, "shard") is not None:
        zero = 3
    if zero is None and offload is None:
        return list(ZERO_OFFLOAD if dp > 1 else ZERO_OFFLOAD_SINGLE)
    pairs = [(z, o) for z, o in ZERO_OFFLOAD + ZERO_OFFLOAD_SINGLE
             if (zero is None or z == zero) and (offload is None or o == offload)]
    return list(dict.fromkeys(pairs)) or [(zero or 0, offload or "none")]


def cp_degrees(variant: Variant) -> list[int]:
    """Context-parallel degrees in the order they are tried: 1, then doubling up to MAX_CP
    while 2 x cp divides the sequence (Megatron's load-balanced causal split in 2 x cp
    chunks); the search goes past 1 only where nothing fits (train.py)."""
    pinned = pin(variant, "cp")
    if pinned:
        return [pinned]
    seq = variant.train_job.seq_len
    out, cp = [1], 2
    while cp <= MAX_CP and seq % (2 * cp) == 0:
        out.append(cp)
        cp *= 2
    return out


def sequence_parallel(variant: Variant, tp: int) -> bool:
    """SP whenever TP > 1 (it splits the activations and kernels TP keeps whole for the same
    communication volume, Korthikanti et al. 2022 sec 4.2.2), unless pinned."""
    pinned = pin(variant, "sp")
    return pinned if pinned is not None else tp > 1


def node_shard(spec: GpuSpec, tp: int, cp: int) -> int:
    """``shard = node``: the data-parallel ranks of one node, GPUs per node / (tp x cp)."""
    return max(1, spec.gpus_per_node // (tp * cp))


def shard_choices(variant: Variant, spec: GpuSpec, tp: int, cp: int, dp: int, zero: int,
                  offload: str) -> list[int]:
    """ZeRO-3 partition groups to try: full sharding (0), and HSDP within a node when the
    data-parallel ranks span nodes and nothing is offloaded (HSDP trades memory for
    network: with the states on the host there is none to trade); a pin fixes it."""
    pinned = pin(variant, "shard")
    if pinned is not None:
        group = min(node_shard(spec, tp, cp), dp * cp) if pinned == "node" else pinned
        return [group] if zero == 3 and (dp * cp) % group == 0 else []
    group = node_shard(spec, tp, cp)
    if zero < 3 or offload != "none" or group <= 1 or dp * cp <= group or (dp * cp) % group:
        return [0]
    return [0, group]


def vpp_choices(variant: Variant, pp: int) -> list[int]:
    """Interleaved stages per GPU: 1, and the VPP_CHOICES that divide a stage's layers
    (pp > 1; each chunk holds the same number of layers)."""
    pinned = pin(variant, "vpp")
    stage = -(-variant.arch.layers // pp)
    if pinned:
        return [pinned] if pinned == 1 or (pp > 1 and stage % pinned == 0) else []
    return [v for v in VPP_CHOICES if v == 1 or (pp > 1 and stage % v == 0)]


def recompute_chain(variant: Variant) -> list[str]:
    """none -> selective -> full; selective recomputation is Megatron's (the other stacks
    checkpoint whole layers)."""
    pinned = pin(variant, "recompute")
    if pinned:
        return [pinned]
    if variant.train_job is not None and variant.train_job.stack != "megatron":
        return [r for r in RECOMPUTE_CHAIN if r != "selective"]
    return list(RECOMPUTE_CHAIN)


def replica_choices(variant: Variant, per_replica: int) -> list[int] | None:
    """Replica counts a pin fixes at tp x pp = ``per_replica`` GPUs ([] when the pinned
    count cannot be reached), or None when the search picks them."""
    replicas, count = pin(variant, "replicas"), pin(variant, "count")
    if replicas:
        chosen = [replicas]
    elif count:
        chosen = [count // per_replica] if count % per_replica == 0 else []
    else:
        return None
    if count:
        # a pinned count fixes tp x pp x replicas, whichever of them is pinned too
        chosen = [r for r in chosen if r * per_replica == count]
    return chosen


def fully_pinned(variant: Variant) -> bool:
    """Every dimension pinned: the layout is evaluated as given, even when it breaks a limit."""
    pins = variant.pins
    if pins is None or pins.gpu is None or pins.tp is None or pins.pp is None:
        return False
    if variant.kind == "serve":
        return (pins.replicas is not None or pins.count is not None) and not variant.weights_auto
    return (
        (pins.dp is not None or pins.count is not None)
        and pins.zero is not None
        and pins.recompute is not None
        and pins.offload is not None
        and pins.micro_batch is not None
    )


def pinned_train_layout(variant: Variant, spec: GpuSpec):
    """The estimator layout of a fully pinned training row: what is not pinned of sp, cp,
    shard and vpp takes its default (SP when TP > 1, cp from the count or 1, full sharding,
    plain 1F1B)."""
    from planner.estimate.types import Layout

    pins = variant.pins
    cp = pins.cp or 1
    if pins.cp is None and pins.count and pins.dp:
        cp = max(1, pins.count // (pins.tp * pins.pp * pins.dp))
    dp = pins.dp or pins.count // (pins.tp * cp * pins.pp)
    shard = 0
    if pins.shard is not None:
        shard = min(node_shard(spec, pins.tp, cp), dp * cp) if pins.shard == "node" else pins.shard
    return Layout(tp=pins.tp, pp=pins.pp, dp=dp, ep=pins.ep or 1, zero=pins.zero,
                  recompute=pins.recompute, offload=pins.offload, micro_batch=pins.micro_batch,
                  sp=sequence_parallel(variant, pins.tp), cp=cp, shard=shard, vpp=pins.vpp or 1)
