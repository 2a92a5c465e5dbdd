"""Evaluated layouts (``Candidate``) and what the search found per GPU type (``GpuOutcome``).

A candidate is one layout of one variant on one GPU type, with the estimator's memory
and time and the cost they imply. What a candidate or a GPU type misses is data
(``Breach``, ``Miss``); ``planner.explain`` writes the sentences.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from planner.estimate import evaluate_serve, evaluate_train, host_resources, rent
from planner.estimate.host import checkpoint_bytes, checkpoint_weight_bytes
from planner.estimate.rent import Overheads
from planner.estimate.train import train_base
from planner.estimate.train_probe import MemoryProbe
from planner.estimate.common import build
from planner.estimate.serve import p99_floors_serve, simulate_serve
from planner.estimate.types import (
    HostResources, Layout, Memory, ServeEstimate, ServeJob, ServePercentiles, TrainJob,
)
from planner.frozen import frozen
from planner.resolve.variants import GpuOffer, Variant, dataset_bytes, replace_weights
from planner.search.space import OFFLOAD_CHAIN, PRECISION_RANK, RECOMPUTE_CHAIN
from planner.units import representable


@frozen
class Candidate:
    """One evaluated layout of a job on one GPU type. It holds no variant name: variants of
    equal inputs share their search (``planner.search.search``)."""

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
    breaches: tuple["Breach", ...] = ()  # limits this candidate breaks (pinned layouts only)
    service: ServeEstimate | None = None  # serving: the steady state of every replica
    percentiles: ServePercentiles | None = None  # serving: simulated, once checked
    # serving: proven lower bounds on the (TTFT, TPOT) 99th percentiles, one above its
    # limit, standing in for the simulation (``with_percentiles``; percentiles stay None)
    p99_floor: tuple[float, float] | None = None
    billed_gpus: int = 0  # GPUs paid for: whole instances / nodes (rent.billed_gpus)
    billed_hours: float = 0.0  # hours paid per run (training: rounded to the billing increment)
    overheads: Overheads | None = None  # training: start-up, checkpoints, restarts (in ``hours``)
    host_breach: tuple[float, float] | None = None  # host RAM needed, held by one instance

    @property
    def carried(self) -> bool:
        """Serving: its replicas carry the load (training: always)."""
        return self.service is None or self.service.carried

    @property
    def fits_memory(self) -> bool:
        """Fits the GPUs' memory and what offload puts in the instance's host RAM."""
        return self.memory.total <= self.usable_bytes and self.host_breach is None

    @property
    def fits_gpu_memory(self) -> bool:
        return self.memory.total <= self.usable_bytes

    @property
    def in_range(self) -> bool:
        """Within the solver's integer range of cost and hours."""
        return representable(self.cost, self.hours)

    @property
    def stable(self) -> tuple:
        """The deterministic tie-break. Worked out once per candidate (a fleet's rows share
        candidates and sort them again and again); kept in the instance's __dict__, which
        the dataclass's fields, equality and hash do not read."""
        found = self.__dict__.get("_stable")
        if found is None:
            lay = self.layout
            found = self.__dict__["_stable"] = (
                self.gpu_order, self.gpu_count, lay.tp, lay.pp, lay.dp, lay.ep, lay.replicas,
                lay.zero, RECOMPUTE_CHAIN.index(lay.recompute),
                OFFLOAD_CHAIN.index(lay.offload), lay.micro_batch,
                PRECISION_RANK.get(self.weights, 9), lay.cp, lay.vpp, lay.shard, lay.sp)
        return found

    @property
    def key(self) -> str:
        lay = self.layout
        return (f"{self.gpu}x{self.gpu_count}:tp{lay.tp}.pp{lay.pp}.dp{lay.dp}.ep{lay.ep}"
                f".r{lay.replicas}.z{lay.zero}.{lay.recompute}.{lay.offload}"
                f".mb{lay.micro_batch}.{self.weights}.cp{lay.cp}.v{lay.vpp}.s{lay.shard}"
                f".{'sp' if lay.sp else 'nosp'}")


@frozen
class Breach:
    """A limit a candidate breaks: what it needs against what the limit allows."""

    kind: str  # memory | deadline | capacity | ttft | tpot | ttft_p99 | tpot_p99 | budget
    #            | availability | range | not_offered | host_ram
    needs: float = 0.0  # bytes, hours, seconds, currency, GPUs, or the load (users, requests/s)
    allowed: float = 0.0
    at_least: bool = False  # ``needs`` is a proven lower bound, not the figure itself


@frozen
class Miss:
    """Why a GPU type has no option for a variant, with the candidate nearest to one."""

    kind: str  # memory | layout | precision | capacity | deadline | latency | budget | range | pinned
    #            | host (fits the GPUs, not the host RAM of an instance)
    nearest: Candidate | None = None  # least memory / fastest / cheapest timely / pinned

    @property
    def decides(self) -> str:
        """The row's ``decided_by`` when this miss is the reason."""
        return {"layout": "memory", "precision": "memory", "range": "budget",
                "host": "memory"}.get(self.kind, self.kind)


@dataclass
class GpuOutcome:
    """What the search found for one variant on one GPU type."""

    gpu: str
    cap: int  # most GPUs tried
    available: int | None
    # tuples once the search is done (planner.search.search shares them between variants)
    options: Sequence[Candidate] = field(default_factory=list)  # meet every limit, non-dominated
    feasible: Sequence[Candidate] = field(default_factory=list)  # meet every limit (for alternatives)
    least_memory: Candidate | None = None  # nearest memory miss
    fastest: Candidate | None = None  # fits memory, least time (training) / latency (serving)
    cheapest_timely: Candidate | None = None  # fits and meets time limits, least cost
    min_fit_count: int | None = None  # fewest GPUs of a layout that fits memory
    most_carried: Candidate | None = None  # serving: the layout carrying the most load (capacity miss)
    min_carry_count: int | None = None  # serving: fewest GPUs of a layout that carries the load
    min_meet_count: int | None = None  # serving: fewest GPUs meeting every limit, before filling what is billed
    miss: Miss | None = None  # None when it has options

    @property
    def failure(self) -> str | None:
        return None if self.miss is None else self.miss.decides


@dataclass
class VariantSearch:
    variant: Variant
    outcomes: dict[str, GpuOutcome]
    pinned: Candidate | None = None  # the fully pinned layout, evaluated as given

    @property
    def options(self) -> list[Candidate]:
        return [c for o in self.outcomes.values() for c in o.options]

    @property
    def feasible(self) -> list[Candidate]:
        return [c for o in self.outcomes.values() for c in o.feasible]


# ---------------------------------------------------------------- evaluation


def train_candidate(variant: Variant, offer: GpuOffer, order: int, job: TrainJob,
                    layout: Layout, known: tuple | None = None) -> Candidate:
    """``layout`` evaluated; ``known``: its model states, memory and traffic on ``offer``
    for a job that differs from ``job`` in its tokens alone (``evaluate_train``)."""
    est = evaluate_train(job, layout, offer.spec, known)
    spec = offer.spec
    count = layout.gpus
    nodes = rent.nodes_of(count, spec)
    extra = _overheads(variant, spec, job, count, est.seconds)
    seconds = est.seconds + extra.total
    hours = seconds / 3600.0
    billed = rent.billed_gpus(count, spec)
    paid_hours = rent.billed_seconds(seconds, spec) / 3600.0 if math.isfinite(seconds) else hours
    host = rent.host_limits(count, spec, est.memory.host)
    # the search builds a candidate per layout it tries: the fast constructor (estimate.common)
    return build(
        Candidate,
        kind=variant.kind, gpu=offer.name, gpu_order=order,
        gpu_count=count, nodes=nodes, layout=layout,
        weights=job.weights, memory=est.memory, gpu_memory_bytes=spec.memory_bytes,
        usable_bytes=spec.train_usable_bytes, per_node=spec.gpus_per_node,
        price_per_hour=spec.price_per_hour, hours=hours,
        cost=billed * paid_hours * spec.price_per_hour, cost_per_hour=billed * spec.price_per_hour,
        ttft_seconds=None, tpot_seconds=None, tokens_per_second=None,
        tokens=job.tokens, seconds=seconds, breaches=(), service=None, percentiles=None,
        billed_gpus=billed, billed_hours=paid_hours, overheads=extra, host_breach=(host[0][1], host[0][2]) if host else None,
    )


def _overheads(variant: Variant, spec, job: TrainJob, count: int, seconds: float) -> Overheads:
    """Start-up, checkpoints and restarts of a run whose steps take ``seconds``."""
    load, checkpoint = run_bytes(variant)
    steps = train_base(job, spec).steps
    return rent.train_overheads(seconds, count, rent.nodes_of(count, spec), spec, load, checkpoint,
                                seconds / max(1, steps), variant.workload.checkpoint_every)


def train_seconds(variant: Variant, offer: GpuOffer, job: TrainJob, count: int,
                  estimate_seconds: float) -> float:
    """``train_candidate(...).seconds`` of a layout on ``count`` GPUs whose estimate takes
    ``estimate_seconds``, by the same arithmetic, without the candidate (the frontier's
    micro-batch climbs compare seconds alone)."""
    return estimate_seconds + _overheads(variant, offer.spec, job, count, estimate_seconds).total


def overheads_floor(variant: Variant, offer: GpuOffer, count: int) -> float:
    """At most ``train_seconds(...) - estimate_seconds`` of any layout on ``count`` GPUs:
    the load and one checkpoint save, what ``rent.train_overheads`` adds at the least
    (docs/solve.md, "Pruning")."""
    spec = offer.spec
    load, checkpoint = run_bytes(variant)
    return load / rent.read_rate(spec) + checkpoint / (rent.nodes_of(count, spec) * rent.write_rate(spec))


def train_fits(probe: MemoryProbe, layout: Layout) -> tuple[int, bool]:
    """The memory per GPU of ``layout`` (its total) and whether its candidate would fit
    (``Candidate.fits_memory``: the GPUs' usable memory and the host RAM offload fills),
    without timing it."""
    total, host = probe.total(layout)
    return total, total <= probe.usable and probe.host_fits(layout.gpus, host)


def run_bytes(variant: Variant) -> tuple[float, float]:
    """(bytes each node loads at start-up, bytes of one checkpoint) of a training variant:
    the published checkpoint's weights (none when pre-training from scratch) and the
    trained parameters' weights and optimizer state (planner.estimate.host)."""
    job = variant.train_job
    # asked for every layout the search times: kept by the job's identity (hashing a job
    # walks all of its fields); the entry holds the job, so its id is not reused meanwhile
    hit = _RUN_BYTES.get((variant.kind, id(job)))
    if hit is None:
        if len(_RUN_BYTES) >= 4096:
            _RUN_BYTES.clear()
        hit = _RUN_BYTES[(variant.kind, id(job))] = (job, _run_bytes(variant.kind, job))
    return hit[1]


_RUN_BYTES: dict[tuple[str, int], tuple[TrainJob, tuple[float, float]]] = {}


@functools.lru_cache(maxsize=1024)
def _run_bytes(kind: str, job: TrainJob) -> tuple[float, float]:
    # asked for every layout the search tries; the same for all of one job
    load = 0.0 if kind == "pretrain" else float(checkpoint_weight_bytes(job.arch, job.arch.precision))
    return load, float(checkpoint_bytes(job))


def serve_candidate(variant: Variant, offer: GpuOffer, order: int, job: ServeJob,
                    layout: Layout) -> Candidate:
    est = evaluate_serve(job, layout, offer.spec)
    spec = offer.spec
    count = layout.tp * layout.pp * layout.replicas
    hours = variant.duration_hours
    billed = rent.billed_gpus(count, spec)
    host = rent.host_limits(count, spec, est.memory.host)
    return Candidate(
        kind="serve", gpu=offer.name, gpu_order=order,
        gpu_count=count, nodes=rent.nodes_of(count, spec), layout=layout,
        weights=job.weights, memory=est.memory, gpu_memory_bytes=spec.memory_bytes,
        usable_bytes=spec.usable_bytes, per_node=spec.gpus_per_node,
        price_per_hour=spec.price_per_hour, hours=hours,
        cost=billed * spec.price_per_hour * hours, cost_per_hour=billed * spec.price_per_hour,
        ttft_seconds=est.ttft_seconds, tpot_seconds=est.tpot_seconds,
        tokens_per_second=est.tokens_per_second, service=est, billed_gpus=billed, billed_hours=hours,
        host_breach=(host[0][1], host[0][2]) if host else None,
    )


def with_percentiles(variant: Variant, offer: GpuOffer, cand: Candidate) -> Candidate:
    """``cand`` with the seeded simulation of its most loaded replica (a carried service);
    or, where a proven lower bound on a p99 of a closed loop is above the workload's limit,
    with the bounds instead: the simulation could only say more of a miss already certain
    (docs/estimation.md sec 9.9)."""
    if cand.percentiles is not None or cand.p99_floor is not None or not cand.carried \
            or not cand.fits_memory:
        return cand
    job = replace_weights(variant.serve_job, cand.weights)
    if has_p99_limits(variant):
        floors = p99_floors_serve(job, cand.layout, offer.spec)
        limits = (variant.ttft_p99_seconds, variant.tpot_p99_seconds)
        if any(limit is not None and floor > limit for floor, limit in zip(floors, limits)):
            return dataclasses.replace(cand, p99_floor=floors)
    return dataclasses.replace(cand, percentiles=simulate_serve(job, cand.layout, offer.spec))


def host_of(variant: Variant, cand: Candidate) -> HostResources:
    """Host CPU, RAM, NVMe and network of a chosen candidate (planner.estimate.host)."""
    spec = next(o.spec for o in variant.offers if o.name == cand.gpu)
    if variant.kind == "serve":
        job = replace_weights(variant.serve_job, cand.weights)
        return host_resources(job, cand.layout, spec, evaluate_serve(job, cand.layout, spec))
    job = variant.train_job
    estimate = evaluate_train(job, cand.layout, spec)
    return host_resources(job, cand.layout, spec, estimate, dataset_bytes(variant.workload))


def breaches(variant: Variant, cand: Candidate, available: int | None) -> list[Breach]:
    """Every limit ``cand`` breaks (empty: it is a valid choice). A service's p99 limits
    are read from its simulation (``with_percentiles``)."""
    out = []
    if not cand.fits_gpu_memory:
        out.append(Breach("memory", cand.memory.total, cand.usable_bytes))
    limit = variant.run_limit_hours  # the deadline, or the repeat interval / window room
    if limit is not None and cand.hours > limit:
        out.append(Breach("deadline", cand.hours, limit))
    if cand.fits_memory and not cand.carried:
        out.append(Breach("capacity", load_of(variant), cand.service.capacity_requests_per_second))
    if cand.fits_memory and cand.carried:
        out += [Breach(*excess) for excess in latency_excess(variant, cand)]
    if variant.budget is not None and cand.cost > variant.budget:
        out.append(Breach("budget", cand.cost, variant.budget))
    if cand.host_breach is not None:
        out.append(Breach("host_ram", *cand.host_breach))
    if available is not None and cand.billed_gpus > available:
        out.append(Breach("availability", cand.billed_gpus, available))
    return out


def load_of(variant: Variant) -> float:
    """A service's load: its users, or its rate in requests/s."""
    job = variant.serve_job
    return float(job.rate) if job.rate > 0 else float(job.users)


def latency_excess(variant: Variant, cand: Candidate) -> list[tuple[str, float, float, bool]]:
    """(limit, value, limit value, whether the value is a lower bound) of every latency
    limit ``cand`` breaks: the means from the steady state, the 99th percentiles from the
    simulation where it has one, or their proven lower bounds where those stood in for it
    (a p99 whose bound is within its limit is then not known: not listed)."""
    out = []
    for kind, limit, value in (("ttft", variant.ttft_seconds, cand.ttft_seconds),
                               ("tpot", variant.tpot_seconds, cand.tpot_seconds)):
        if limit is not None and value is not None and value > limit:
            out.append((kind, value, limit, False))
    sim = cand.percentiles
    if sim is not None:
        for kind, limit, value in (("ttft_p99", variant.ttft_p99_seconds, sim.ttft_p99),
                                   ("tpot_p99", variant.tpot_p99_seconds, sim.tpot_p99)):
            if limit is not None and value > limit:
                out.append((kind, value, limit, False))
    elif cand.p99_floor is not None:
        for kind, limit, floor in (("ttft_p99", variant.ttft_p99_seconds, cand.p99_floor[0]),
                                   ("tpot_p99", variant.tpot_p99_seconds, cand.p99_floor[1])):
            if limit is not None and floor > limit:
                out.append((kind, floor, limit, True))
    return out


def has_p99_limits(variant: Variant) -> bool:
    return variant.ttft_p99_seconds is not None or variant.tpot_p99_seconds is not None


def meets_time(variant: Variant, cand: Candidate) -> bool:
    """Within the deadline (training); carried and within the mean latency limits (serving;
    the p99 limits are checked by simulation, ``search.serve``)."""
    if variant.kind == "serve":
        return cand.carried and (variant.ttft_seconds is None or cand.ttft_seconds <= variant.ttft_seconds) \
            and (variant.tpot_seconds is None or cand.tpot_seconds <= variant.tpot_seconds)
    return variant.run_limit_hours is None or cand.hours <= variant.run_limit_hours


def pareto(cands: list[Candidate]) -> list[Candidate]:
    """Drop candidates another one beats on GPUs, hours and cost (ties: stable order)."""
    ordered = sorted(cands, key=lambda c: (c.gpu_count, c.hours, c.cost, c.stable))
    out: list[Candidate] = []
    for c in ordered:
        if any(o.hours <= c.hours and o.cost <= c.cost for o in out):
            continue
        out.append(c)
    return out


def keep_in_range(out: GpuOutcome, cands: list[Candidate], runs: float = 1.0) -> list[Candidate]:
    """The candidates CP-SAT can represent (their cost times ``runs`` per period, for a
    recurring job); when none, ``out`` records a range miss."""
    kept = [c for c in cands if c.in_range and representable(c.cost * runs, c.hours)]
    if not kept:
        nearest = min(cands, key=lambda c: (c.cost, c.gpu_count, c.stable))
        out.miss = Miss("range", nearest)
    return kept
