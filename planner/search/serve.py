"""The serving search: per (weights, TP, PP), the fewest replicas that fit memory and meet
the latency limits; per GPU type, the fewest GPUs (one duration, one price: fewer GPUs
always cost less), ties to the better precision, then the lower TPOT.

The fewest replicas come from two binary searches (memory alone, then memory and
latency), valid because neither gets worse with more replicas (each holds
ceil(users / replicas) sequences).
"""

from __future__ import annotations

from planner.estimate.types import Layout, ServeJob
from planner.resolve.variants import GpuOffer, Variant, replace_weights, serve_weight_choices
from planner.search.candidates import (
    Candidate, GpuOutcome, Miss, keep_in_range, meets_time, serve_candidate,
)
from planner.search.space import PRECISION_RANK, gpu_cap, pin, pp_degrees, replica_choices, tp_degrees


def search_serve(variant: Variant, offer: GpuOffer, order: int) -> GpuOutcome:
    """The option of ``variant`` on one GPU type, or the miss that explains why none."""
    cap = gpu_cap(offer.available)
    out = GpuOutcome(gpu=offer.name, cap=cap, available=offer.available)
    fitting: list[Candidate] = []  # per shape, its fewest replicas that fit memory
    tps = [tp for tp in tp_degrees(variant, offer.spec) if tp >= (pin(variant, "ep") or 1)]
    for weights in serve_weight_choices(variant, offer.spec):
        job = replace_weights(variant.serve_job, weights)
        for tp in tps:
            for pp in pp_degrees(variant):
                _search_shape(variant, offer, order, job, (tp, pp), cap, out, fitting)
    if out.least_memory is None:
        out.miss = Miss("layout", None)
        return out
    if not fitting:
        out.miss = Miss("memory", out.least_memory)
        return out
    ok = [c for c in fitting if meets_time(variant, c)]
    if not ok:
        out.miss = Miss("latency", out.fastest)
        return out
    ok.sort(key=lambda c: (c.gpu_count, c.stable))
    out.cheapest_timely = ok[0]
    ok = keep_in_range(out, ok)
    if not ok:
        return out
    out.feasible = ok
    # one GPU type, one duration: fewer GPUs always cost less, so the fewest wins;
    # at equal count the better precision, then the lower TPOT (stable order last)
    out.options = [min(ok, key=lambda c: (c.gpu_count, PRECISION_RANK.get(c.weights, 9),
                                          c.tpot_seconds, c.stable))]
    return out


def _search_shape(variant: Variant, offer: GpuOffer, order: int, job: ServeJob,
                  shape: tuple[int, int], cap: int, out: GpuOutcome, fitting: list[Candidate]) -> None:
    tp, pp = shape
    per_replica = tp * pp
    if per_replica > cap:
        return
    pinned = replica_choices(variant, per_replica)
    if pinned == []:
        return  # the pinned count is not reached with this tp x pp
    users = variant.serve_job.users
    top = min(users, cap // per_replica) if pinned is None else max(pinned)
    if top < 1 or (pinned is not None and top * per_replica > cap):
        return
    for ep in ([pin(variant, "ep")] if pin(variant, "ep") else [1]):
        _fewest_replicas(variant, offer, order, job, Layout(tp=tp, pp=pp, ep=ep), top,
                         pinned is not None, out, fitting)


def _fewest_replicas(variant: Variant, offer: GpuOffer, order: int, job: ServeJob,
                     base: Layout, top: int, pinned: bool, out: GpuOutcome,
                     fitting: list[Candidate]) -> None:
    """Fewest replicas at ``base``'s (weights, tp, pp, ep) meeting memory and latency."""
    cache: dict[int, Candidate] = {}

    def at(replicas: int) -> Candidate:
        if replicas not in cache:
            layout = Layout(tp=base.tp, pp=base.pp, ep=base.ep, replicas=replicas)
            cache[replicas] = serve_candidate(variant, offer, order, job, layout)
        return cache[replicas]

    def good(c: Candidate) -> bool:
        return c.fits_memory and meets_time(variant, c)

    widest = at(top)
    least = out.least_memory
    if least is None or (widest.memory.total, widest.gpu_count) < (least.memory.total, least.gpu_count):
        out.least_memory = widest
    if not widest.fits_memory:
        return
    best = out.fastest
    if best is None or latency_key(variant, widest) < latency_key(variant, best):
        out.fastest = widest
    if pinned:
        fitting.append(widest)
        _note_fit(out, widest)
        return
    # fewest replicas that fit memory, then fewest that also meet the latency limits
    fit_memory = _least(1, top, lambda r: at(r).fits_memory)
    _note_fit(out, at(fit_memory))
    if not good(widest):
        fitting.append(widest)
        return
    fitting.append(at(_least(fit_memory, top, lambda r: good(at(r)))))


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


def latency_key(variant: Variant, c: Candidate) -> tuple:
    """How far a service is from its latency limits (0 when met), for the nearest miss."""
    over = 0.0
    if variant.tpot_seconds:
        over += max(0.0, c.tpot_seconds / variant.tpot_seconds - 1)
    if variant.ttft_seconds:
        over += max(0.0, c.ttft_seconds / variant.ttft_seconds - 1)
    return (over, c.gpu_count, c.stable)
