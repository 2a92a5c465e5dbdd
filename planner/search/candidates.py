"""Candidate layouts per instance and GPU type: enumerate, evaluate, prune.

The search space and every pruning rule are described in docs/solve.md
("Candidate space"). In short, per instance and offered GPU type:

- TP: powers of two up to the GPUs of one node that divide ``heads`` and
  ``kv_heads`` (MLA models: ``heads``, the latent KV is not split by head);
- PP: degrees up to ``MAX_PP`` that shrink the largest stage (ceil(layers / pp)
  smaller than with pp - 1); stages need not be equal, as in vLLM's and
  Megatron's uneven splits (DeepSeek-V3's 61 layers have no divisor but 1);
- training: DP over the divisors of the global batch; (ZeRO, offload) pairs as
  DeepSpeed allows them; recomputation none -> selective -> full; micro-batch
  powers of two dividing the per-replica batch, gradient accumulation making
  up the rest, so that micro_batch x accumulation x DP = global batch exactly;
- serving: weight precision (``auto``: ``serve_weight_choices``), and the fewest
  replicas that fit memory and meet ttft/tpot (binary search: memory and
  latency never grow with replicas, each holds ceil(users / replicas));
- MoE training: expert parallel 1 or the largest power of two dividing
  ``experts`` and at most DP (the estimator splits routed experts over
  TP x EP, so EP groups are formed across data-parallel ranks); serving keeps
  EP = 1 (a replica's experts are already split over its TP GPUs);
- GPU counts up to ``available`` (``UNLIMITED_GPU_CAP`` when unlimited).

A ``layout { }`` block narrows each dimension to its pinned value; a fully
pinned layout is evaluated as given (``evaluate_pinned``) even when it breaks a
limit, so the output can show it with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from planner.errors import PlanTypeError
from planner.estimate.types import GpuSpec, HostResources, Layout, Memory, ServeJob, TrainJob
from planner.resolve.variants import (
    GpuOffer,
    Variant,
    dataset_bytes,
    replace_weights,
    serve_weight_choices,
)

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

GIB = 1024**3
RECOMPUTE_CHAIN = ("none", "selective", "full")
# (ZeRO stage, offload) pairs as DeepSpeed accepts them: optimizer offload
# needs stage >= 1 (ZeRO-Offload, Ren et al. 2021), parameter offload stage 3
# (ZeRO-Infinity, Rajbhandari et al. 2021). Stage 1 with optimizer offload is
# left out: stage 2 moves the same bytes with the same traffic and holds less.
ZERO_OFFLOAD = ((0, "none"), (1, "none"), (2, "none"), (3, "none"),
                (2, "optimizer"), (3, "optimizer"), (3, "all"))
# With one data-parallel rank nothing is sharded: only offload changes memory.
ZERO_OFFLOAD_SINGLE = ((0, "none"), (2, "optimizer"), (3, "all"))


@dataclass(frozen=True)
class Candidate:
    """One evaluated layout of one instance on one GPU type."""

    instance: str
    kind: str
    gpu: str
    gpu_order: int
    gpu_count: int
    nodes: int
    layout: Layout
    weights: str
    memory: Memory
    gpu_memory_bytes: int
    usable_bytes: int
    per_node: int
    price_per_hour: float
    hours: float
    cost: float
    cost_per_hour: float
    ttft_seconds: float | None = None
    tpot_seconds: float | None = None
    tokens_per_second: float | None = None
    tokens: float | None = None
    seconds: float | None = None
    problems: tuple[str, ...] = ()  # limits this candidate breaks (pinned layouts only)

    @property
    def fits_memory(self) -> bool:
        return self.memory.total <= self.usable_bytes

    @property
    def stable(self) -> tuple:
        lay = self.layout
        return (self.gpu_order, self.gpu_count, lay.tp, lay.pp, lay.dp, lay.ep, lay.replicas,
                lay.zero, RECOMPUTE_CHAIN.index(lay.recompute),
                ("none", "optimizer", "all").index(lay.offload), lay.micro_batch,
                PRECISION_RANK.get(self.weights, 9))

    @property
    def key(self) -> str:
        lay = self.layout
        return (f"{self.gpu}x{self.gpu_count}:tp{lay.tp}.pp{lay.pp}.dp{lay.dp}.ep{lay.ep}"
                f".r{lay.replicas}.z{lay.zero}.{lay.recompute}.{lay.offload}"
                f".mb{lay.micro_batch}.{self.weights}")

    def describe(self) -> str:
        """Short layout text for messages: 'TP=8, ZeRO-3'."""
        lay = self.layout
        parts = [f"TP={lay.tp}"]
        if lay.pp > 1:
            parts.append(f"PP={lay.pp}")
        if self.kind == "serve":
            parts.append(f"{lay.replicas} replica{'s' if lay.replicas != 1 else ''}")
            parts.append(self.weights)
        else:
            if lay.dp > 1:
                parts.append(f"DP={lay.dp}")
            if lay.zero:
                parts.append(f"ZeRO-{lay.zero}")
            if lay.recompute != "none":
                parts.append(f"{lay.recompute} recompute")
            if lay.offload != "none":
                parts.append(f"offload {lay.offload}")
        if lay.ep > 1:
            parts.append(f"EP={lay.ep}")
        return ", ".join(parts)


# quality order of weight precisions: at equal cost the better one wins
PRECISION_RANK = {"fp32": 0, "bf16": 1, "fp16": 1, "fp8": 2, "int8": 3, "int4": 4, "nf4": 5}


@dataclass
class GpuOutcome:
    """What the search found for one instance on one GPU type."""

    gpu: str
    cap: int  # most GPUs tried
    available: int | None
    options: list[Candidate] = field(default_factory=list)  # meet every limit, non-dominated
    feasible: list[Candidate] = field(default_factory=list)  # meet every limit (for alternatives)
    least_memory: Candidate | None = None  # nearest memory miss
    fastest: Candidate | None = None  # fits memory, least time (training) / latency (serving)
    cheapest_timely: Candidate | None = None  # fits and meets time limits, least cost
    min_fit_count: int | None = None  # fewest GPUs of a layout that fits memory
    failure: str | None = None  # None | memory | deadline | latency | budget | layout
    reason: str = ""


@dataclass
class VariantSearch:
    instance: Variant
    outcomes: dict[str, GpuOutcome]
    pinned: Candidate | None = None  # the fully pinned layout, evaluated as given

    @property
    def options(self) -> list[Candidate]:
        return [c for o in self.outcomes.values() for c in o.options]

    @property
    def feasible(self) -> list[Candidate]:
        return [c for o in self.outcomes.values() for c in o.feasible]


def gib(n: float) -> str:
    return f"{n / GIB:.1f} GiB"


def fmt_hours(h: float) -> str:
    if h >= 100:
        return f"{h:.0f} h"
    if h >= 1:
        return f"{h:.1f} h"
    return f"{h * 60:.1f} min"


def fmt_ms(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s >= 0.01 else f"{s * 1000:.2f} ms"


# ---------------------------------------------------------------- dimensions


def tp_degrees(instance: Variant, spec: GpuSpec) -> list[int]:
    arch = instance.arch
    out, tp = [], 1
    while tp <= spec.gpus_per_node:
        if arch.heads % tp == 0 and (arch.is_mla or arch.kv_heads % tp == 0):
            out.append(tp)
        tp *= 2
    return out


def pp_degrees(instance: Variant) -> list[int]:
    """PP degrees whose largest stage, ceil(layers / pp), is smaller than with one stage fewer.

    A degree that leaves the largest stage as it was only adds GPUs: the
    estimator sizes every stage as the largest one.
    """
    layers = instance.arch.layers
    out: list[int] = []
    for d in range(1, min(layers, MAX_PP) + 1):
        if d == 1 or -(-layers // d) < -(-layers // (d - 1)):
            out.append(d)
    return out


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


def ep_degrees(instance: Variant, sharing: int) -> list[int]:
    """Expert-parallel degrees: 1, and the largest power of two dividing the expert count."""
    arch = instance.arch
    if not arch.is_moe:
        return [1]
    ep = 1
    while ep * 2 <= sharing and arch.experts % (ep * 2) == 0:
        ep *= 2
    return sorted({1, ep})


def _pin(instance: Variant, name: str):
    pins = instance.pins
    return None if pins is None else getattr(pins, name)


def _pin_error(instance: Variant, key: str, message: str) -> PlanTypeError:
    pins = instance.pins
    span = pins.spans.get(key, pins.span) if pins is not None else instance.workload.span
    return PlanTypeError(f"{instance.group}: layout {message}", span)


def check_pins(instance: Variant) -> None:
    """Pinned values the model cannot take are input errors (exit 2), not misses."""
    pins = instance.pins
    if pins is None:
        return
    arch = instance.arch
    if pins.tp is not None:
        if pins.tp < 1 or arch.heads % pins.tp or (not arch.is_mla and arch.kv_heads % pins.tp):
            raise _pin_error(instance, "tp", f"tp = {pins.tp} must divide the model's "
                             f"{arch.heads} heads and {arch.kv_heads} KV heads")
    if pins.pp is not None and (pins.pp < 1 or pins.pp > arch.layers):
        raise _pin_error(instance, "pp", f"pp = {pins.pp} must be at most the model's {arch.layers} layers")
    for key in ("count", "dp", "micro_batch", "replicas", "ep"):
        value = getattr(pins, key)
        if value is not None and value < 1:
            raise _pin_error(instance, key, f"{key} = {value} must be at least 1")
    if pins.ep is not None and arch.is_moe and arch.experts % pins.ep:
        raise _pin_error(instance, "ep", f"ep = {pins.ep} must divide the model's {arch.experts} experts")
    if pins.ep is not None and pins.ep > 1 and not arch.is_moe:
        raise _pin_error(instance, "ep", f"ep = {pins.ep} needs a mixture-of-experts model; "
                         f"`{instance.model}` has no experts (write ep = 1 or leave it out)")
    if pins.ep is not None and pins.ep > 1:
        # EP groups are formed across data-parallel ranks (training) or within a
        # replica's TP GPUs (serving): ep GPUs must exist to hold a 1/ep share each
        within = "tp" if instance.kind == "serve" else "dp"
        if getattr(pins, within) is not None and getattr(pins, within) < pins.ep:
            raise _pin_error(instance, "ep", f"ep = {pins.ep} must be at most "
                             f"{within} = {getattr(pins, within)}: each expert-parallel rank "
                             "is a GPU of its own")
    if instance.kind != "serve":
        # the global batch is met exactly: DP x micro-batch x accumulation = batch
        batch = instance.train_job.global_batch
        if pins.dp is not None and batch % pins.dp:
            raise _pin_error(instance, "dp", f"dp = {pins.dp} must divide the global batch of "
                             f"{batch} sequences (set `batch`)")
        if pins.micro_batch is not None and batch % (pins.micro_batch * (pins.dp or 1)):
            per = f"per-rank batch of {batch // pins.dp}" if pins.dp else f"global batch of {batch}"
            raise _pin_error(instance, "micro_batch", f"micro_batch = {pins.micro_batch} must "
                             f"divide the {per} sequences (set `batch`)")
    if pins.count is not None:
        spread = (pins.tp or 1) * (pins.pp or 1) * (pins.dp or pins.replicas or 1)
        known = [k for k in ("tp", "pp", "dp", "replicas") if getattr(pins, k) is not None]
        full = {"tp", "pp"} <= set(known) and ({"dp", "replicas"} & set(known))
        if (full and spread != pins.count) or pins.count % spread:
            raise _pin_error(instance, "count", f"count = {pins.count} does not match "
                             + " x ".join(f"{k} = {getattr(pins, k)}" for k in known))
    if instance.kind == "serve":
        for key in ("dp", "zero", "recompute", "offload", "micro_batch"):
            if getattr(pins, key) is not None:
                raise _pin_error(instance, key, f"{key} applies to training; a service has "
                                 "tp, pp, ep, replicas, gpu and count")
    elif pins.replicas is not None:
        raise _pin_error(instance, "replicas", "replicas applies to serving; training has dp")


def fully_pinned(instance: Variant) -> bool:
    pins = instance.pins
    if pins is None or pins.gpu is None or pins.tp is None or pins.pp is None:
        return False
    if instance.kind == "serve":
        return (pins.replicas is not None or pins.count is not None) and not instance.weights_auto
    return (
        (pins.dp is not None or pins.count is not None)
        and pins.zero is not None
        and pins.recompute is not None
        and pins.offload is not None
        and pins.micro_batch is not None
    )


# ---------------------------------------------------------------- evaluation


def _estimate():
    from planner import estimate

    return estimate


def _train_candidate(instance: Variant, offer: GpuOffer, order: int, job: TrainJob,
                     layout: Layout) -> Candidate:
    est = _estimate().evaluate_train(job, layout, offer.spec)
    spec = offer.spec
    count = layout.tp * layout.pp * layout.dp
    hours = est.seconds / 3600.0
    return Candidate(
        instance=instance.name, kind=instance.kind, gpu=offer.name, gpu_order=order,
        gpu_count=count, nodes=math.ceil(count / spec.gpus_per_node), layout=layout,
        weights=job.weights, memory=est.memory, gpu_memory_bytes=spec.memory_bytes,
        usable_bytes=spec.usable_bytes, per_node=spec.gpus_per_node,
        price_per_hour=spec.price_per_hour, hours=hours,
        cost=count * hours * spec.price_per_hour, cost_per_hour=count * spec.price_per_hour,
        tokens=job.tokens, seconds=est.seconds,
    )


def _serve_candidate(instance: Variant, offer: GpuOffer, order: int, job: ServeJob,
                     layout: Layout) -> Candidate:
    est = _estimate().evaluate_serve(job, layout, offer.spec)
    spec = offer.spec
    count = layout.tp * layout.pp * layout.replicas
    hours = instance.duration_hours
    return Candidate(
        instance=instance.name, kind="serve", gpu=offer.name, gpu_order=order,
        gpu_count=count, nodes=math.ceil(count / spec.gpus_per_node), layout=layout,
        weights=job.weights, memory=est.memory, gpu_memory_bytes=spec.memory_bytes,
        usable_bytes=spec.usable_bytes, per_node=spec.gpus_per_node,
        price_per_hour=spec.price_per_hour, hours=hours,
        cost=count * spec.price_per_hour * hours, cost_per_hour=count * spec.price_per_hour,
        ttft_seconds=est.ttft_seconds, tpot_seconds=est.tpot_seconds,
        tokens_per_second=est.tokens_per_second,
    )


def host_of(instance: Variant, cand: Candidate) -> HostResources:
    """Host CPU, RAM, NVMe and network of a chosen candidate (planner.estimate.host)."""
    estimator = _estimate()
    spec = next(o.spec for o in instance.offers if o.name == cand.gpu)
    if instance.kind == "serve":
        job = replace_weights(instance.serve_job, cand.weights)
        estimate = estimator.evaluate_serve(job, cand.layout, spec)
        return estimator.host_resources(job, cand.layout, spec, estimate)
    job = instance.train_job
    estimate = estimator.evaluate_train(job, cand.layout, spec)
    return estimator.host_resources(job, cand.layout, spec, estimate, dataset_bytes(instance.workload))


def limit_problems(instance: Variant, cand: Candidate, available: int | None) -> list[str]:
    """Sentences for every limit ``cand`` breaks (empty: it is a valid choice)."""
    out = []
    if not cand.fits_memory:
        out.append(f"needs {gib(cand.memory.total)} per GPU ({cand.describe()}), "
                   f"{cand.gpu} has {gib(cand.usable_bytes)} usable")
    if instance.deadline_hours is not None and cand.hours > instance.deadline_hours:
        out.append(f"takes {fmt_hours(cand.hours)} on {cand.gpu_count} {cand.gpu}, "
                   f"deadline {fmt_hours(instance.deadline_hours)}")
    if instance.ttft_seconds is not None and cand.ttft_seconds is not None \
            and cand.ttft_seconds > instance.ttft_seconds:
        out.append(f"TTFT {fmt_ms(cand.ttft_seconds)}, limit {fmt_ms(instance.ttft_seconds)}")
    if instance.tpot_seconds is not None and cand.tpot_seconds is not None \
            and cand.tpot_seconds > instance.tpot_seconds:
        out.append(f"TPOT {fmt_ms(cand.tpot_seconds)}, limit {fmt_ms(instance.tpot_seconds)}")
    if instance.budget is not None and cand.cost > instance.budget:
        out.append(f"costs {cand.cost:,.2f}, workload budget {instance.budget:,.2f}")
    if available is not None and cand.gpu_count > available:
        out.append(f"uses {cand.gpu_count} {cand.gpu}, {available} available")
    return out


def _meets_time(instance: Variant, cand: Candidate) -> bool:
    if instance.kind == "serve":
        return (instance.ttft_seconds is None or cand.ttft_seconds <= instance.ttft_seconds) and (
            instance.tpot_seconds is None or cand.tpot_seconds <= instance.tpot_seconds)
    return instance.deadline_hours is None or cand.hours <= instance.deadline_hours


# ---------------------------------------------------------------- training


@dataclass
class _Frontier:
    """Per GPU count, the fastest layout that fits memory (reference tokens)."""

    by_count: dict[int, Candidate] = field(default_factory=dict)
    least_memory: Candidate | None = None


_FRONTIERS: dict[tuple, _Frontier] = {}


def clear_cache() -> None:
    """Forget the frontiers of earlier solves (each solve starts afresh)."""
    _FRONTIERS.clear()


def _train_frontier(instance: Variant, offer: GpuOffer, order: int, cap: int) -> _Frontier:
    job = dataclasses.replace(instance.train_job, tokens=REFERENCE_TOKENS)
    pins = instance.pins
    pin_key = None if pins is None else pins.semantic()
    cache_key = (job, offer.name, offer.spec, cap, repr(pin_key))
    if cache_key in _FRONTIERS:
        return _FRONTIERS[cache_key]
    frontier = _Frontier()
    batch = job.global_batch
    pin = lambda k: _pin(instance, k)  # noqa: E731
    tps = [pin("tp")] if pin("tp") else tp_degrees(instance, offer.spec)
    pps = [pin("pp")] if pin("pp") else pp_degrees(instance)
    for tp in tps:
        for pp in pps:
            if tp * pp > cap:
                continue
            if pin("dp"):
                dps = [pin("dp")]
            elif pin("count"):
                dps = [pin("count") // (tp * pp)] if pin("count") % (tp * pp) == 0 else []
            else:
                dps = divisors(batch)
            dps = [d for d in dps if tp * pp * d <= cap and
                   (pin("count") is None or tp * pp * d == pin("count"))
                   and batch % d == 0 and (pin("ep") or 1) <= d
                   and (batch // d) % (pin("micro_batch") or 1) == 0]
            failed: set = set()  # knob settings that did not fit at a larger DP
            for dp in sorted(dps, reverse=True):
                _best_for_shape(instance, offer, order, job, tp, pp, dp, failed, frontier)
    _FRONTIERS[cache_key] = frontier
    return frontier


def _micro_batches(instance: Variant, batch: int, dp: int) -> list[int]:
    pinned = _pin(instance, "micro_batch")
    if pinned:
        return [pinned]
    per_rank = batch // dp if batch % dp == 0 else 1
    out, mb = [], 1
    while mb <= per_rank and per_rank % mb == 0:
        out.append(mb)
        mb *= 2
    return out or [1]


def _best_for_shape(instance, offer, order, job, tp, pp, dp, failed, frontier) -> None:
    """The fastest memory-fitting knob setting at (tp, pp, dp); updates the frontier."""
    pin = lambda k: _pin(instance, k)  # noqa: E731
    pairs = ZERO_OFFLOAD if dp > 1 else ZERO_OFFLOAD_SINGLE
    if pin("zero") is not None or pin("offload") is not None:
        pairs = [(z, o) for z, o in ZERO_OFFLOAD + ZERO_OFFLOAD_SINGLE
                 if (pin("zero") is None or z == pin("zero"))
                 and (pin("offload") is None or o == pin("offload"))]
        pairs = list(dict.fromkeys(pairs)) or [(pin("zero") or 0, pin("offload") or "none")]
    chain = [pin("recompute")] if pin("recompute") else list(RECOMPUTE_CHAIN)
    eps = [pin("ep")] if pin("ep") else ep_degrees(instance, dp)
    mbs = _micro_batches(instance, job.global_batch, dp)
    best: Candidate | None = None
    for ep in eps:
        for zero, offload in pairs:
            for recompute in chain:
                knobs = (ep, zero, offload, recompute)
                if knobs in failed:
                    continue
                found = None
                for mb in mbs:
                    layout = Layout(tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, recompute=recompute,
                                    offload=offload, micro_batch=mb)
                    cand = _train_candidate(instance, offer, order, job, layout)
                    lm = frontier.least_memory
                    if lm is None or (cand.memory.total, cand.gpu_count) < (lm.memory.total, lm.gpu_count):
                        frontier.least_memory = cand
                    if not cand.fits_memory:
                        break  # larger micro-batches hold more activations
                    if found is not None and cand.seconds >= found.seconds:
                        break  # a larger micro-batch that is not faster stops the climb
                    found = cand
                if found is None:
                    failed.add(knobs)
                    continue
                if best is None or found.seconds < best.seconds:
                    best = found
                break  # slower recomputation at the same knobs cannot beat one that fits
    if best is None:
        return
    held = frontier.by_count.get(best.gpu_count)
    if held is None or best.seconds < held.seconds:
        frontier.by_count[best.gpu_count] = best


def _pareto(cands: list[Candidate]) -> list[Candidate]:
    """Drop candidates another one beats on GPUs, hours and cost (ties: stable order)."""
    ordered = sorted(cands, key=lambda c: (c.gpu_count, c.hours, c.cost, c.stable))
    out: list[Candidate] = []
    for c in ordered:
        if any(o.hours <= c.hours and o.cost <= c.cost for o in out):
            continue
        out.append(c)
    return out


def _search_train(instance: Variant, offer: GpuOffer, order: int) -> GpuOutcome:
    cap = offer.available if offer.available is not None else UNLIMITED_GPU_CAP
    out = GpuOutcome(gpu=offer.name, cap=cap, available=offer.available)
    frontier = _train_frontier(instance, offer, order, cap)
    job = instance.train_job
    exact = lambda c: _train_candidate(instance, offer, order, job, c.layout)  # noqa: E731
    if frontier.least_memory is not None:
        out.least_memory = exact(frontier.least_memory)
    points = [exact(c) for _, c in sorted(frontier.by_count.items())]
    points = [c for c in points if c.fits_memory]
    if not points:
        out.failure = "memory" if out.least_memory is not None else "layout"
        out.reason = _memory_reason(offer, out, cap)
        return out
    out.min_fit_count = min(c.gpu_count for c in points)
    out.fastest = min(points, key=lambda c: (c.hours, c.gpu_count, c.stable))
    timely = [c for c in points if _meets_time(instance, c)]
    if not timely:
        out.failure = "deadline"
        out.reason = _deadline_reason(instance, offer, out.fastest, cap)
        return out
    out.cheapest_timely = min(timely, key=lambda c: (c.cost, c.gpu_count, c.stable))
    within = [c for c in timely if instance.budget is None or c.cost <= instance.budget]
    if not within:
        out.failure = "budget"
        c = out.cheapest_timely
        out.reason = (f"{offer.name}: cheapest is {c.cost:,.2f} on {c.gpu_count} GPUs "
                      f"({fmt_hours(c.hours)}), workload budget {instance.budget:,.2f}")
        return out
    within = _in_range(offer, out, within, instance)
    if not within:
        return out
    out.feasible = within
    out.options = _pareto(within)
    return out


def _representable(c: Candidate) -> bool:
    """Within CP-SAT's integer range (``cpsat.MAX_UNITS`` of cost and of hours)."""
    from planner.choose.cpsat import MAX_UNITS, cost_units, hours_units

    return cost_units(c.cost) <= MAX_UNITS and hours_units(c.hours) <= MAX_UNITS


def _range_text(c: Candidate) -> str | None:
    from planner.choose.cpsat import COST_SCALE, HOURS_SCALE, MAX_UNITS

    if _representable(c):
        return None
    return (f"{c.cost:,.2f} over {fmt_hours(c.hours)}, beyond the solver's range "
            f"(at most {MAX_UNITS / COST_SCALE:,.0f} and {MAX_UNITS / HOURS_SCALE:,.0f} h "
            "per workload)")


def _in_range(offer: GpuOffer, out: GpuOutcome, cands: list[Candidate],
              instance: Variant) -> list[Candidate]:
    """The candidates CP-SAT can represent; when none, ``out`` says why (a budget miss)."""
    kept = [c for c in cands if _representable(c)]
    if not kept:
        c = min(cands, key=lambda c: (c.cost, c.gpu_count, c.stable))
        out.failure = "budget"
        out.reason = f"{offer.name}: cheapest on {c.gpu_count} GPUs costs {_range_text(c)}"
        if instance.kind != "serve":
            out.reason += ": shrink the dataset or the epochs"
    return kept


def _memory_reason(offer: GpuOffer, out: GpuOutcome, cap: int) -> str:
    lm = out.least_memory
    if lm is None:
        return (f"{offer.name}: no layout within {cap} GPUs (TP must divide the heads and fit "
                "a node, PP at most the layers, DP the global batch, and the pinned values hold)")
    where = f"all {cap} available" if offer.available is not None and lm.gpu_count >= cap else ""
    layout = lm.describe() + (f", {where}" if where else "")
    return (f"{offer.name}: needs {gib(lm.memory.total)} per GPU at best ({layout}), "
            f"has {gib(lm.usable_bytes)} usable")


def _deadline_reason(instance: Variant, offer: GpuOffer, fastest: Candidate, cap: int) -> str:
    deadline = instance.deadline_hours
    need = math.ceil(fastest.gpu_count * fastest.hours / deadline)
    if offer.available is not None and fastest.gpu_count * 2 > cap:
        where = f"on all {cap} available" if fastest.gpu_count == cap else \
            f"on {fastest.gpu_count} of {cap} available"
    else:
        where = f"on {fastest.gpu_count} GPUs"
    text = (f"{offer.name}: fastest is {fmt_hours(fastest.hours)} {where} ({fastest.describe()}), "
            f"deadline {fmt_hours(deadline)}: needs at least {need}")
    batch = instance.train_job.global_batch
    if fastest.layout.dp == batch and fastest.gpu_count < cap:
        # data parallelism cannot exceed the global batch (one sequence per rank)
        text += f"; DP is capped by the global batch of {batch} sequences (raise `batch`)"
    return text


# ---------------------------------------------------------------- serving


def _search_serve(instance: Variant, offer: GpuOffer, order: int) -> GpuOutcome:
    cap = offer.available if offer.available is not None else UNLIMITED_GPU_CAP
    out = GpuOutcome(gpu=offer.name, cap=cap, available=offer.available)
    pin = lambda k: _pin(instance, k)  # noqa: E731
    users = instance.serve_job.users
    tps = [pin("tp")] if pin("tp") else tp_degrees(instance, offer.spec)
    pps = [pin("pp")] if pin("pp") else pp_degrees(instance)
    fitting: list[Candidate] = []
    tps = [tp for tp in tps if tp >= (pin("ep") or 1)]
    for weights in serve_weight_choices(instance, offer.spec):
        job = replace_weights(instance.serve_job, weights)
        for tp in tps:
            for pp in pps:
                per_replica = tp * pp
                if per_replica > cap:
                    continue
                if pin("replicas"):
                    rs = [pin("replicas")]
                elif pin("count"):
                    rs = [pin("count") // per_replica] if pin("count") % per_replica == 0 else []
                else:
                    rs = None
                if rs is not None and pin("count"):
                    # a pinned count fixes tp x pp x replicas, whichever of them is pinned too
                    rs = [r for r in rs if r * per_replica == pin("count")]
                if rs == []:
                    continue  # the pinned count is not reached with this tp x pp
                top = min(users, cap // per_replica) if rs is None else max(rs)
                if top < 1 or (rs is not None and top * per_replica > cap):
                    continue
                for ep in ([pin("ep")] if pin("ep") else [1]):
                    _serve_shape(instance, offer, order, job, tp, pp, ep, top, rs, out, fitting)
    if out.least_memory is None:
        out.failure = "layout"
        out.reason = _memory_reason(offer, out, cap)
        return out
    if not fitting:
        out.failure = "memory"
        out.reason = _memory_reason(offer, out, cap)
        return out
    ok = [c for c in fitting if _meets_time(instance, c)]
    if not ok:
        out.failure = "latency"
        out.reason = _latency_reason(instance, offer, out.fastest)
        return out
    ok.sort(key=lambda c: (c.gpu_count, c.stable))
    out.cheapest_timely = ok[0]
    ok = _in_range(offer, out, ok, instance)
    if not ok:
        return out
    out.feasible = ok
    # one GPU type, one duration: fewer GPUs always cost less, so the fewest wins;
    # at equal count the better precision, then the lower TPOT (stable order last)
    out.options = [min(ok, key=lambda c: (c.gpu_count, PRECISION_RANK.get(c.weights, 9),
                                          c.tpot_seconds, c.stable))]
    return out


def _serve_shape(instance, offer, order, job, tp, pp, ep, top, rs, out, fitting) -> None:
    """Fewest replicas at (weights, tp, pp, ep) meeting memory and latency."""
    cache: dict[int, Candidate] = {}

    def at(r: int) -> Candidate:
        if r not in cache:
            layout = Layout(tp=tp, pp=pp, ep=ep, replicas=r)
            cache[r] = _serve_candidate(instance, offer, order, job, layout)
        return cache[r]

    def ok(c: Candidate) -> bool:
        return c.fits_memory and _meets_time(instance, c)

    widest = at(top)
    lm = out.least_memory
    if lm is None or (widest.memory.total, widest.gpu_count) < (lm.memory.total, lm.gpu_count):
        out.least_memory = widest
    if not widest.fits_memory:
        return
    best = out.fastest
    if best is None or _latency_key(instance, widest) < _latency_key(instance, best):
        out.fastest = widest
    if rs is not None:
        fitting.append(widest)
        _note_fit(out, widest)
        return
    # fewest replicas that fit memory, then fewest that also meet the latency limits
    # (both never get worse with more replicas, so binary searches find them)
    r_mem = _least(1, top, lambda r: at(r).fits_memory)
    _note_fit(out, at(r_mem))
    if not ok(widest):
        fitting.append(widest)
        return
    fitting.append(at(_least(r_mem, top, lambda r: ok(at(r)))))


def _least(lo: int, hi: int, good) -> int:
    """The least r in [lo, hi] with good(r), given good(hi) and good monotone in r."""
    while lo < hi:
        mid = (lo + hi) // 2
        if good(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _note_fit(out: GpuOutcome, cand: Candidate) -> None:
    if out.min_fit_count is None or cand.gpu_count < out.min_fit_count:
        out.min_fit_count = cand.gpu_count


def _latency_key(instance: Variant, c: Candidate) -> tuple:
    """How far a service is from its latency limits (0 when met), for the nearest miss."""
    over = 0.0
    if instance.tpot_seconds:
        over += max(0.0, c.tpot_seconds / instance.tpot_seconds - 1)
    if instance.ttft_seconds:
        over += max(0.0, c.ttft_seconds / instance.ttft_seconds - 1)
    return (over, c.gpu_count, c.stable)


def _latency_reason(instance: Variant, offer: GpuOffer, best: Candidate) -> str:
    parts = []
    if instance.tpot_seconds is not None and best.tpot_seconds > instance.tpot_seconds:
        parts.append(f"best TPOT is {fmt_ms(best.tpot_seconds)}, limit {fmt_ms(instance.tpot_seconds)}")
    if instance.ttft_seconds is not None and best.ttft_seconds > instance.ttft_seconds:
        parts.append(f"best TTFT is {fmt_ms(best.ttft_seconds)}, limit {fmt_ms(instance.ttft_seconds)}")
    return (f"{offer.name}: " + "; ".join(parts)
            + f" (on {best.gpu_count} GPUs: {best.describe()})")


# ---------------------------------------------------------------- entry points


def evaluate_pinned(instance: Variant) -> Candidate:
    """The fully pinned layout of ``instance``, evaluated as given, with its problems."""
    pins = instance.pins
    offer = next(o for o in instance.offers if o.name == pins.gpu)
    order = 0
    if instance.kind == "serve":
        replicas = pins.replicas or pins.count // (pins.tp * pins.pp)
        layout = Layout(tp=pins.tp, pp=pins.pp, ep=pins.ep or 1, replicas=replicas)
        cand = _serve_candidate(instance, offer, order, instance.serve_job, layout)
    else:
        dp = pins.dp or pins.count // (pins.tp * pins.pp)
        layout = Layout(tp=pins.tp, pp=pins.pp, dp=dp, ep=pins.ep or 1, zero=pins.zero,
                        recompute=pins.recompute, offload=pins.offload,
                        micro_batch=pins.micro_batch)
        cand = _train_candidate(instance, offer, order, instance.train_job, layout)
    problems = limit_problems(instance, cand, offer.available)
    if _range_text(cand):
        problems.append(f"it costs {_range_text(cand)}")
    if offer.name in instance.not_offered:
        problems.append(f"{offer.name} is not offered to the solver (give it `available`)")
    return dataclasses.replace(cand, problems=tuple(problems))


def search(instance: Variant) -> VariantSearch:
    """Every GPU type's outcome for ``instance`` (options empty where nothing fits)."""
    check_pins(instance)
    if fully_pinned(instance) and any(o.name == instance.pins.gpu for o in instance.offers):
        cand = evaluate_pinned(instance)
        offer = next(o for o in instance.offers if o.name == cand.gpu)
        out = GpuOutcome(gpu=cand.gpu, cap=cand.gpu_count, available=offer.available,
                         least_memory=cand)
        if cand.problems:
            out.failure = "pinned"
            out.reason = f"{cand.gpu} (pinned layout): " + "; ".join(cand.problems)
        else:
            out.options = [cand]
            out.feasible = [cand]
            out.min_fit_count = cand.gpu_count
            out.fastest = cand
            out.cheapest_timely = cand
        return VariantSearch(instance, {cand.gpu: out}, pinned=cand)
    outcomes: dict[str, GpuOutcome] = {}
    for order, offer in enumerate(instance.offers):
        if offer.name in instance.not_offered:
            continue
        if instance.kind == "serve":
            outcomes[offer.name] = _search_serve(instance, offer, order)
        else:
            outcomes[offer.name] = _search_train(instance, offer, order)
    return VariantSearch(instance, outcomes)
