"""The serving search: per GPU type, the fewest GPUs that hold the model, carry the load and
meet the latency limits; ties to the better precision, then the lower TPOT.

A *shape* is (weights, TP, PP, EP); its memory per GPU does not depend on the replicas
(each holds the engine's KV pool). For a shape that fits, the fewest replicas come from an
exponential then a binary search over the replica count starting at the bound the
replica's capacity gives (users over its running limit, or the rate over its
``max_rate``), valid because carrying the load and the latencies get no worse with more
replicas (each carries a smaller share: the estimator's tests assert both). Shapes are
visited by that lower bound of GPUs; one whose bound is above the best found is not
evaluated, and one whose proven latency floors are above a mean limit is not searched
(no replica count meets it: docs/solve.md, "Pruning"). Where the workload has p99 limits,
the best candidate is simulated (``with_percentiles``); one that misses is upgraded to the
fewest replicas of its shape whose simulation meets them, and the shapes are visited again
up to its count.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import math
import operator
from dataclasses import dataclass

from planner.estimate.serve import (
    carried_serve, latency_floors_serve, replica_load, replica_max_rate, replica_of, serve_memory,
)
from planner.estimate.types import Layout, ServeJob
from planner.resolve.variants import GpuOffer, Variant, replace_weights, serve_weight_choices
from planner.search.candidates import (
    Candidate, GpuOutcome, Miss, has_p99_limits, keep_in_range, latency_excess, meets_time,
    serve_candidate, with_percentiles,
)
from planner.search.space import PRECISION_RANK, gpu_cap, pin, pp_degrees, replica_choices, tp_degrees


@dataclass
class _Shape:
    """One (weights, TP, PP, EP) of a variant on one GPU type, and its replica counts."""

    variant: Variant
    offer: GpuOffer
    order: int
    job: ServeJob
    base: Layout
    replicas: list[int] | None  # pinned counts, or None: the search picks
    low: int  # fewest replicas that could carry the load
    top: int  # most replicas tried
    cache: dict
    floors: tuple[float, float] | None = None  # proven (TTFT, TPOT) floors, once asked for

    @property
    def per_replica(self) -> int:
        return self.base.tp * self.base.pp

    @property
    def bound(self) -> int:
        return self.low * self.per_replica

    def at(self, replicas: int) -> Candidate:
        if replicas not in self.cache:
            b = self.base
            layout = Layout(tp=b.tp, pp=b.pp, ep=b.ep, replicas=replicas)
            self.cache[replicas] = serve_candidate(self.variant, self.offer, self.order,
                                                   self.job, layout)
        return self.cache[replicas]

    def carries(self, replicas: int) -> bool:
        """``self.at(replicas).carried``, without the steady state where the rate decides it
        (``carried_serve``)."""
        known = self.cache.get(replicas)
        if known is not None:
            return known.carried
        b = self.base
        found = carried_serve(self.job, Layout(tp=b.tp, pp=b.pp, ep=b.ep, replicas=replicas),
                              self.offer.spec)
        return self.at(replicas).carried if found is None else found

    def latency_floors(self, variant: Variant) -> list[tuple[float, float] | None]:
        """Per mean latency limit (TTFT, TPOT): (floor, limit) where a proven floor of every
        carried state of the shape, whatever its replicas, is above the limit (those limits
        no replica count meets, ``latency_floors_serve``), else None."""
        limits = (variant.ttft_seconds, variant.tpot_seconds)
        if limits == (None, None):
            return [None, None]
        if self.floors is None:
            self.floors = latency_floors_serve(self.job, self.base, self.offer.spec)
        return [(floor, limit) if limit is not None and floor > limit else None
                for floor, limit in zip(self.floors, limits)]


def _key(c: Candidate) -> tuple:
    """One GPU type, one duration: fewer GPUs billed always cost less, so the fewest wins;
    at equal bill the more GPUs in use (paid for anyway), the better precision, then the
    lower TPOT (stable order last)."""
    return (c.billed_gpus, -c.gpu_count, PRECISION_RANK.get(c.weights, 9), c.tpot_seconds, c.stable)


def search_serve(variant: Variant, offer: GpuOffer, order: int) -> GpuOutcome:
    """The option of ``variant`` on one GPU type, or the miss that explains why none."""
    cap = gpu_cap(offer.available)
    out = GpuOutcome(gpu=offer.name, cap=cap, available=offer.available)
    shapes = sorted(_fitting_shapes(variant, offer, order, cap, out),
                    key=lambda s: (s.bound, PRECISION_RANK.get(s.job.weights, 9), s.base.tp, s.base.pp))
    if out.least_memory is None:
        out.miss = Miss("layout", None)
        return out
    if not shapes:
        out.miss = Miss("memory", out.least_memory)
        return out
    chosen, feasible = _best(variant, offer, shapes, out)
    if chosen is None:
        kind = "latency" if out.fastest is not None else "capacity"
        out.miss = Miss(kind, out.fastest or out.most_carried)
        return out
    out.cheapest_timely = chosen
    out.feasible = keep_in_range(out, sorted(feasible, key=_key))
    if out.feasible:
        out.options = [out.feasible[0]]
    return out


def serve_shapes(variant: Variant, offer: GpuOffer) -> list[tuple[int, int]]:
    """(TP, PP) pairs to try. Pipeline stages run one after another for a step (no
    micro-batch overlap is modelled), so on as many GPUs a larger TP and a smaller PP is
    faster and holds less per GPU (TP splits the embeddings and activations that PP keeps
    whole); (tp, pp) is left out when (tp', tp x pp / tp') with tp' > tp is a shape too,
    unless tp' copies KV heads (tp' above them, not MLA) where tp did not."""
    tps = [tp for tp in tp_degrees(variant, offer.spec) if tp >= (pin(variant, "ep") or 1)]
    pps = pp_degrees(variant)
    arch = variant.arch

    def dominated(tp: int, pp: int) -> bool:
        gpus = tp * pp
        return any(wider > tp and gpus % wider == 0 and gpus // wider in pps
                   and (arch.is_mla or wider <= arch.kv_heads or tp > arch.kv_heads)
                   for wider in tps)

    return [(tp, pp) for tp in tps for pp in pps if pp == 1 or not dominated(tp, pp)]


def _fitting_shapes(variant: Variant, offer: GpuOffer, order: int, cap: int,
                    out: GpuOutcome) -> list[_Shape]:
    """Every shape that fits memory, with its bounds; notes the least memory and the fewest
    GPUs that fit on ``out``. Memory per GPU does not depend on the load (each replica holds
    the engine's KV pool), so it is read from the replica's constants: the steady state of a
    shape is evaluated only if the best-first search visits it (``_best``)."""
    shapes = []
    least: tuple[tuple[int, int], _Shape] | None = None
    for weights in serve_weight_choices(variant, offer.spec):
        job = replace_weights(variant.serve_job, weights)
        for (tp, pp), ep in itertools.product(serve_shapes(variant, offer), [pin(variant, "ep") or 1]):
            per_replica = tp * pp
            pinned = replica_choices(variant, per_replica)
            if per_replica > cap or pinned == []:
                continue
            base = Layout(tp=tp, pp=pp, ep=ep)
            rep, memory, ceiling = _shape_constants(job, base, offer)
            low, top = _replica_bounds(job, rep, ceiling, cap // per_replica)
            if pinned is not None:
                low = top = max(pinned)
                if low * per_replica > cap:
                    continue
            shape = _Shape(variant, offer, order, job, base, pinned, max(1, min(low, top)),
                           max(top, 1), {})
            key = (memory.total, shape.low * per_replica)
            if least is None or key < least[0]:
                least = (key, shape)
            if memory.total > offer.spec.usable_bytes:
                continue
            if out.min_fit_count is None or per_replica < out.min_fit_count:
                out.min_fit_count = per_replica
            shapes.append(shape)
    if least is not None:
        out.least_memory = least[1].at(least[1].low)
    return shapes


# A service's fields but its load (users, rate); the arch by identity (one object per model).
_JOB_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(ServeJob)
                                    if f.name not in ("arch", "users", "rate")))
_SHAPES: dict[tuple, tuple] = {}
_SHAPES_KEPT = 16384  # (job, GPU type, TP, PP) entries; a 10,000-workload fleet has about 5,000


def _shape_constants(job: ServeJob, base: Layout, offer: GpuOffer) -> tuple:
    """(replica constants, memory per GPU, saturation rate of one replica) of ``job``'s
    shape ``base`` on ``offer``: none depends on the load, so every service of one model,
    request shape and engine shares them, whatever its users or rate."""
    spec = offer.spec
    key = (id(job.arch), id(spec), base.tp, base.pp) + _JOB_FIELDS(job)
    hit = _SHAPES.get(key)
    if hit is not None and hit[0] is job.arch and hit[1] is spec:
        return hit[2]
    load = replica_load(job, base, spec)
    rep = replica_of(load)
    found = (rep, serve_memory(job, base, spec, rep), replica_max_rate(load))
    if len(_SHAPES) >= _SHAPES_KEPT:
        _SHAPES.clear()
    _SHAPES[key] = (job.arch, spec, found)
    return found


def _replica_bounds(job: ServeJob, rep, ceiling: float, most: int) -> tuple[int, int]:
    """(fewest replicas that could carry the load, most replicas worth trying); ``ceiling``:
    the requests/s one replica sustains."""
    if job.rate > 0:
        top = most
        low = math.floor(job.rate / ceiling) + 1 if ceiling > 0 else top
    else:
        top = min(job.users, most)
        low = -(-job.users // rep.max_running) if rep.max_running > 0 else top
    return low, top


def _best(variant: Variant, offer: GpuOffer, shapes: list[_Shape],
          out: GpuOutcome) -> tuple[Candidate | None, list[Candidate]]:
    """The best candidate (simulated where the workload has p99 limits) and every candidate
    found that meets the limits."""
    p99 = has_p99_limits(variant)
    heap: list[tuple[tuple, int, Candidate, _Shape]] = []
    found: list[Candidate] = []
    visited = 0
    tick = itertools.count()
    while True:
        bound = heap[0][0][0] if heap else math.inf
        while visited < len(shapes) and shapes[visited].bound <= bound:
            shape = shapes[visited]
            visited += 1
            cand = _fewest(variant, shape, out)
            if cand is not None:
                heapq.heappush(heap, (_key(cand), next(tick), cand, shape))
                found.append(cand)
                bound = min(bound, cand.gpu_count)
        if not heap:
            return None, [c for c in found if not p99]
        _, _, cand, shape = heapq.heappop(heap)
        if not p99:
            return cand, found
        cand = with_percentiles(variant, offer, cand)
        if not latency_excess(variant, cand):
            return cand, [cand]
        _note_fastest(variant, out, cand)
        upgraded = _upgrade(variant, offer, shape, cand.layout.replicas)
        if upgraded is not None:
            heapq.heappush(heap, (_key(upgraded), next(tick), upgraded, shape))


def _fewest(variant: Variant, shape: _Shape, out: GpuOutcome) -> Candidate | None:
    """The fewest replicas of ``shape`` that carry the load and meet the mean latency limits
    (None: not even ``shape.top``); the fewest GPUs that carry it are noted on ``out``."""
    def good(r: int) -> bool:
        return meets_time(variant, shape.at(r))

    missed = shape.latency_floors(variant)
    r = None if any(missed) else _least(shape.low, shape.top, good)
    carry = _least(shape.low, shape.top if r is None else r, shape.carries)
    if carry is not None:
        count = carry * shape.per_replica
        if out.min_carry_count is None or count < out.min_carry_count:
            out.min_carry_count = count
    if r is not None:
        count = r * shape.per_replica
        if out.min_meet_count is None or count < out.min_meet_count:
            out.min_meet_count = count
        r = _filled(shape, r)
    if r is None:
        if any(missed) and shape.carries(shape.top) and not _may_be_fastest(variant, out, missed):
            return None
        widest = shape.at(shape.top)
        if widest.carried:
            _note_fastest(variant, out, widest)
        elif out.most_carried is None or _carries(widest) > _carries(out.most_carried):
            out.most_carried = widest
        return None
    return shape.at(r)


def _filled(shape: _Shape, replicas: int) -> int:
    """The most replicas of ``shape`` billed as ``replicas`` are (GPUs rented whole: an
    instance shape or whole nodes), so that what is paid for serves; at least ``replicas``,
    at most ``shape.top``. More replicas of a shape that meets the limits meet them too
    (each carries a smaller share)."""
    if shape.replicas is not None:
        return replicas
    paid = shape.at(replicas).billed_gpus
    return max(replicas, min(shape.top, paid // shape.per_replica))


def _upgrade(variant: Variant, offer: GpuOffer, shape: _Shape, replicas: int) -> Candidate | None:
    """The fewest replicas of ``shape`` above ``replicas`` whose simulation meets the p99
    limits (more replicas, a smaller share of the load each: the percentiles fall)."""
    if shape.replicas is not None:
        return None

    def good(r: int) -> bool:
        c = shape.at(r)
        if not meets_time(variant, c):
            return False
        shape.cache[r] = c = with_percentiles(variant, offer, c)
        return not latency_excess(variant, c)

    r = _least(replicas + 1, shape.top, good)
    return None if r is None else shape.at(r)


def _least(lo: int, hi: int, good) -> int | None:
    """The least r in [lo, hi] with good(r), good monotone in r; None when not good(hi).
    Exponential steps from lo first: the answer is usually at or near it."""
    if lo > hi:
        return None
    if good(lo):
        return lo
    step, last_bad = 1, lo
    while True:
        probe = min(hi, lo + step)
        if good(probe):
            break
        if probe == hi:
            return None
        last_bad, step = probe, step * 2
    lo, hi = last_bad + 1, probe
    while lo < hi:
        mid = (lo + hi) // 2
        if good(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _carries(c: Candidate) -> float:
    return c.service.capacity_requests_per_second if c.service else 0.0


def _note_fastest(variant: Variant, out: GpuOutcome, cand: Candidate) -> None:
    best = out.fastest
    if best is None or latency_key(variant, cand) < latency_key(variant, best):
        out.fastest = cand


def _may_be_fastest(variant: Variant, out: GpuOutcome,
                    missed: list[tuple[float, float] | None]) -> bool:
    """Whether a carried candidate whose mean latencies are at least the floors of
    ``missed`` could be nearer its limits than ``out.fastest`` (``latency_key``): its sum of
    value / limit - 1 over the limits it breaks is at least that sum over ``missed``, the
    limits it provably breaks (division and subtraction are monotone, every other term is
    above 0); lowered by a relative 1e-9 for the sums' rounding. One strictly above the
    best's cannot replace it."""
    if out.fastest is None:
        return True
    least = sum(floor / limit - 1 for floor, limit in filter(None, missed)) * (1.0 - 1e-9)
    return not least > latency_key(variant, out.fastest)[0]


def latency_key(variant: Variant, c: Candidate) -> tuple:
    """How far a service is from its latency limits (0 when met), for the nearest miss."""
    over = sum(value / limit - 1 for _, value, limit, _ in latency_excess(variant, c))
    return (over, c.gpu_count, c.stable)
