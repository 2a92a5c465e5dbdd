"""The training frontier: per GPU count, the fastest layout that fits memory.

The search space and its memory rules (docs/solve.md, "Pruning"): DP from largest to
smallest, a knob setting that does not fit at a larger DP not tried at a smaller one;
the first of none -> selective -> full recomputation that fits; the micro-batch climbed
from the smallest while it fits and gets faster; CP doubled only where nothing fits.

Which knob settings get climbed depends on memory alone, and a climb's result on its own
setting alone, so the frontier is found in two passes with the same answer:
1. ``_fitting_settings`` walks the space in its order with the memory of each setting's
   smallest micro-batch (no timing): the settings to climb, each with its position;
2. per GPU count, the climbs run best-first by a floor on their time
   (``estimate.train_floor``); the count keeps the least (seconds, position), the first
   fastest in the walk's order as before, and the climbs whose floor is above the
   fastest found cannot change it, so they are not run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from planner.estimate.common import build
from planner.estimate.train_floor import compute_floor, run_seconds_floor
from planner.estimate.types import Layout, TrainJob
from planner.resolve.variants import GpuOffer, Variant
from planner.search.candidates import Candidate, train_candidate, train_fits
from planner.search.space import (
    cp_degrees, dp_degrees, ep_degrees, micro_batches, pp_degrees, recompute_chain,
    sequence_parallel, shard_choices, stack_runs, tp_degrees, vpp_choices, zero_offload_pairs,
)


@dataclass
class Frontier:
    """Per GPU count, the fastest layout that fits memory (reference tokens). When none
    fits, the layout with the least memory per GPU (fewest GPUs on a tie, the first in the
    walk's order): what a memory miss reports; None when some layout fits."""

    by_count: dict[int, Candidate] = field(default_factory=dict)
    least_memory: Candidate | None = None


@dataclass(frozen=True)
class Climb:
    """A knob setting whose smallest micro-batch fits: its micro-batch climb."""

    position: int  # in the walk's order
    base: Layout  # every degree and knob but the micro-batch
    sizes: tuple[int, ...]  # micro-batch sizes, smallest first


def find_frontier(variant: Variant, offer: GpuOffer, order: int, cap: int,
                  job: TrainJob) -> Frontier:
    frontier = Frontier()
    if job.precision == "fp8" and offer.spec.fp8_flops <= 0:
        return frontier  # no fp8 tensor cores: search_train reports it
    climbs, least = _fitting_settings(variant, offer, job, cap)
    if not climbs:
        if least is not None:
            frontier.least_memory = train_candidate(variant, offer, order, job, least)
        return frontier
    by_count: dict[int, list[Climb]] = {}
    for climb in climbs:  # counts in the order the walk first fits them
        by_count.setdefault(climb.base.gpus, []).append(climb)
    for count, group in by_count.items():
        frontier.by_count[count] = _fastest(variant, offer, order, job, group)
    return frontier


def _fastest(variant: Variant, offer: GpuOffer, order: int, job: TrainJob,
             group: list[Climb]) -> Candidate:
    """The least (seconds, position) of the climbs of one GPU count. A climb ends at one of
    its sizes, so its seconds are at least its floors (a candidate's time is the estimate's
    plus the nonnegative overheads of ``rent.train_overheads``), and a climb whose floor
    is above the best found cannot change it. The climbs go in the order of the cheap
    floor (``compute_floor``): once it is above the best, so are the rest; before that,
    the full floor (``run_seconds_floor``) is asked first."""
    spec = offer.spec
    ordered = sorted(((compute_floor(job, c.base, spec, c.sizes), c.position, c) for c in group),
                     key=lambda item: item[:2])
    best: tuple[float, int, Candidate] | None = None
    for floor, position, climb in ordered:
        if best is not None:
            if floor > best[0]:
                break
            if run_seconds_floor(job, climb.base, spec, climb.sizes) > best[0]:
                continue
        found = _climb(variant, offer, order, job, climb)
        if best is None or (found.seconds, position) < best[:2]:
            best = (found.seconds, position, found)
    return best[2]


def _climb(variant: Variant, offer: GpuOffer, order: int, job: TrainJob,
           climb: Climb) -> Candidate:
    """The fastest of the micro-batch sizes: climbed from the smallest (which fits), up to
    the first that does not fit (larger ones hold more activations) or is not faster."""
    fields = dict(climb.base.__dict__)
    found = None
    for mb in climb.sizes:
        fields["micro_batch"] = mb
        cand = train_candidate(variant, offer, order, job, build(Layout, **fields))
        if not cand.fits_memory:
            break
        if found is not None and cand.seconds >= found.seconds:
            break
        found = cand
    return found


def _fitting_settings(variant: Variant, offer: GpuOffer, job: TrainJob,
                      cap: int) -> tuple[list[Climb], Layout | None]:
    """The knob settings to climb, in the walk's order, and the layout with the least memory
    of those whose memory was taken (every one, when none fits)."""
    climbs: list[Climb] = []
    least: list = [None]  # (memory, GPUs, layout) of the least memory seen
    for tp in tp_degrees(variant, offer.spec):
        for pp in pp_degrees(variant):
            for cp in cp_degrees(variant):
                if tp * cp * pp > cap:
                    break
                failed: set = set()  # knob settings that did not fit at a larger DP
                fits = False
                for dp in sorted(dp_degrees(variant, tp, pp, cap, cp), reverse=True):
                    fits |= _shape_settings(variant, offer, job, (tp, cp, pp, dp), failed,
                                            climbs, least)
                if fits:
                    break  # a larger context-parallel degree only where nothing fits
    return climbs, None if least[0] is None else least[0][2]


def _shape_settings(variant: Variant, offer: GpuOffer, job: TrainJob,
                    shape: tuple[int, int, int, int], failed: set, climbs: list[Climb],
                    least: list) -> bool:
    """Adds to ``climbs`` each knob setting at (tp, cp, pp, dp) with the first recomputation
    whose smallest micro-batch fits; updates ``failed`` (the settings that do not fit, hence
    not at a smaller DP either) and ``least``. True when some setting fits."""
    tp, cp, pp, dp = shape
    sp = sequence_parallel(variant, tp)
    fits = False
    for ep, zero, offload, shard, vpp in knob_settings(variant, offer, shape):
        for recompute in recompute_chain(variant):
            knobs = (ep, zero, offload, shard > 0, vpp, recompute)
            if knobs in failed:
                continue
            base = Layout(tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, recompute=recompute,
                          offload=offload, sp=sp, cp=cp, shard=shard, vpp=vpp)
            sizes = micro_batch_sizes(variant, job, base)
            if not sizes:
                break  # no micro-batch this schedule can run at this DP; a smaller DP may have one
            smallest = build(Layout, **{**base.__dict__, "micro_batch": sizes[0]})
            memory, fit = train_fits(offer, job, smallest)
            if least[0] is None or (memory.total, smallest.gpus) < least[0][:2]:
                least[0] = (memory.total, smallest.gpus, smallest)
            if not fit:
                failed.add(knobs)
                continue
            climbs.append(Climb(len(climbs), base, tuple(sizes)))
            fits = True
            break  # slower recomputation at the same knobs cannot beat one that fits
    return fits


def knob_settings(variant: Variant, offer: GpuOffer,
                  shape: tuple[int, int, int, int]) -> Iterator[tuple[int, int, str, int, int]]:
    """(ep, zero, offload, shard, vpp) in search order at (tp, cp, pp, dp)."""
    tp, cp, pp, dp = shape
    job = variant.train_job
    for ep in ep_degrees(variant, dp):
        for zero, offload in zero_offload_pairs(variant, dp):
            if not stack_runs(job, tp, pp, ep, zero):
                continue  # the stack's own code refuses it (space.stack_runs)
            for shard in shard_choices(variant, offer.spec, tp, cp, dp, zero, offload):
                for vpp in vpp_choices(variant, pp):
                    yield ep, zero, offload, shard, vpp


def micro_batch_sizes(variant: Variant, job: TrainJob, base: Layout) -> list[int]:
    """The micro-batch sizes to try at ``base``: the interleaved schedule needs the number of
    micro-batches to be a multiple of pp. An empty list is not a memory failure: knobs kept
    from a larger DP as "does not fit" must not include it."""
    return [mb for mb in micro_batches(variant, job.global_batch, base.dp)
            if base.vpp == 1 or -(-job.global_batch // (base.dp * mb)) % base.pp == 0]


__all__ = ["Climb", "Frontier", "find_frontier", "knob_settings", "micro_batch_sizes"]
