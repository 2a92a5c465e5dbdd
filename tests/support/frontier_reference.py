"""The training frontier without bounds: the one-pass walk the search made before its
floor-pruned two passes (planner.search.frontier), kept as the reference the property
tests compare it with. Every knob setting that fits is climbed and timed; the fastest per
GPU count is the first found; the least memory is over every layout evaluated."""

from __future__ import annotations

from planner.estimate.common import build
from planner.estimate.types import Layout, TrainJob
from planner.resolve.variants import GpuOffer, Variant
from planner.search.candidates import Candidate, train_candidate
from planner.search.frontier import Frontier, knob_settings, micro_batch_sizes
from planner.search.space import (
    cp_degrees, dp_degrees, pp_degrees, recompute_chain, sequence_parallel, tp_degrees,
)


def reference_frontier(variant: Variant, offer: GpuOffer, order: int, cap: int,
                       job: TrainJob) -> tuple[Frontier, int]:
    """The frontier, and how many layouts it evaluated."""
    frontier = Frontier()
    evaluated = [0]
    if job.precision == "fp8" and offer.spec.fp8_flops <= 0:
        return frontier, 0
    for tp in tp_degrees(variant, offer.spec):
        for pp in pp_degrees(variant):
            for cp in cp_degrees(variant):
                if tp * cp * pp > cap:
                    break
                failed: set = set()
                fits = False
                for dp in sorted(dp_degrees(variant, tp, pp, cap, cp), reverse=True):
                    fits |= _best_for_shape(variant, offer, order, job, (tp, cp, pp, dp), failed,
                                            frontier, evaluated)
                if fits:
                    break
    return frontier, evaluated[0]


def _best_for_shape(variant, offer, order, job, shape, failed, frontier, evaluated) -> bool:
    tp, cp, pp, dp = shape
    sp = sequence_parallel(variant, tp)
    best: Candidate | None = None
    for ep, zero, offload, shard, vpp in knob_settings(variant, offer.spec, shape):
        for recompute in recompute_chain(variant):
            knobs = (ep, zero, offload, shard > 0, vpp, recompute)
            if knobs in failed:
                continue
            base = Layout(tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, recompute=recompute,
                          offload=offload, sp=sp, cp=cp, shard=shard, vpp=vpp)
            sizes = micro_batch_sizes(variant, job, base)
            if not sizes:
                break
            found = _climb(variant, offer, order, job, frontier, base, sizes, evaluated)
            if found is None:
                failed.add(knobs)
                continue
            if best is None or found.seconds < best.seconds:
                best = found
            break
    if best is None:
        return False
    held = frontier.by_count.get(best.gpu_count)
    if held is None or best.seconds < held.seconds:
        frontier.by_count[best.gpu_count] = best
    return True


def _climb(variant, offer, order, job, frontier, base, sizes, evaluated) -> Candidate | None:
    found = None
    fields = dict(base.__dict__)
    for mb in sizes:
        fields["micro_batch"] = mb
        cand = train_candidate(variant, offer, order, job, build(Layout, **fields))
        evaluated[0] += 1
        least = frontier.least_memory
        if least is None or (cand.memory.total, cand.gpu_count) < (least.memory.total, least.gpu_count):
            frontier.least_memory = cand
        if not cand.fits_memory:
            break
        if found is not None and cand.seconds >= found.seconds:
            break
        found = cand
    return found
