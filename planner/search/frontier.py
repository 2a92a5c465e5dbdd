"""The training frontier: per GPU count, the fastest layout that fits memory.

The search space and its memory rules (docs/solve.md, "Pruning"): DP from largest to
smallest, a knob setting that does not fit at a larger DP not tried at a smaller one;
the first of none -> selective -> full recomputation that fits; the micro-batch climbed
from the smallest while it fits and gets faster; CP doubled only where nothing fits.

Which knob settings get climbed depends on memory alone, and a climb's result on its own
setting alone, so the frontier is found in two passes with the same answer:
1. ``_Walk`` walks the space in its order with the memory of each setting's smallest
   micro-batch (``estimate.train_probe``, no timing): the settings to climb, each with
   its position in the walk and its cheap floor;
2. per GPU count, the climbs run best-first by a floor on their time
   (``estimate.train_floor``) plus the least overheads of the count, the full floor over
   the sizes a climb can reach before the first that does not fit; the count keeps the
   least (seconds, position), the first fastest in the walk's order as the one-pass walk
   kept, and the climbs whose floor is above the fastest found cannot change it, so they
   are not run. docs/solve.md ("Pruning") says why each step is exact.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from planner.estimate.common import build
from planner.estimate.train_floor import TimeFloors
from planner.estimate.train_probe import MemoryProbe
from planner.estimate.types import GpuSpec, Layout, TrainJob
from planner.resolve.variants import GpuOffer, Variant
from planner.search.candidates import (
    Candidate, overheads_floor, train_candidate, train_fits, train_seconds,
)
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
    # the model states, memory and traffic of the layouts above, for the variants' own jobs
    # (search.train: they differ from the frontier's in their tokens alone)
    known: dict[Layout, tuple] = field(default_factory=dict, compare=False, repr=False)


_DEFAULTS = Layout().__dict__  # what the walk does not set (replicas, flash attention)
_new_layout = object.__new__


class Climb(NamedTuple):
    """A knob setting whose smallest micro-batch fits: its micro-batch climb."""

    position: int  # in the walk's order
    layout: Layout  # at the smallest micro-batch
    sizes: list[int]  # micro-batch sizes, smallest first
    floor: float  # TimeFloors.cheap over the sizes


def find_frontier(variant: Variant, offer: GpuOffer, order: int, cap: int,
                  job: TrainJob) -> Frontier:
    frontier = Frontier()
    if job.precision == "fp8" and offer.spec.fp8_flops <= 0:
        return frontier  # no fp8 tensor cores: search_train reports it
    probe = MemoryProbe(job, offer.spec)
    floors = TimeFloors(job, offer.spec, probe.states)
    walk = _Walk(variant, offer.spec, job, probe, floors.cheap)
    walk.run(cap)
    if not walk.climbs:
        if walk.least is not None:
            least = walk.least[2]
            frontier.least_memory = train_candidate(variant, offer, order, job, least)
            frontier.known[least] = probe.known(least)
        return frontier
    by_count: dict[int, list[Climb]] = {}
    for climb in walk.climbs:  # counts in the order the walk first fits them
        by_count.setdefault(climb.layout.gpus, []).append(climb)
    for count, group in by_count.items():
        found = frontier.by_count[count] = _fastest(variant, offer, order, job, probe, floors, group)
        frontier.known[found.layout] = probe.known(found.layout)
    return frontier


def _fastest(variant: Variant, offer: GpuOffer, order: int, job: TrainJob, probe: MemoryProbe,
             floors: TimeFloors, group: list[Climb]) -> Candidate:
    """The least (seconds, position) of the climbs of one GPU count, best-first by floor.

    A climb ends at one of the sizes it reaches, so its seconds are at least its floors
    plus the least overheads on that many GPUs (``candidates.overheads_floor``): once the
    least floor left is above the best found, no climb left can change it. Each climb
    enters with its cheap floor (``TimeFloors.cheap``, over all its sizes) and, when that
    comes first, goes back with its full one (``TimeFloors.full``) over the sizes it can
    reach (``_reach``) before it is run; a climb that can reach one size alone is run at
    once (its seconds count as found whenever they are taken)."""
    extra = overheads_floor(variant, offer, group[0].layout.gpus)
    timed: dict[float, float] = {}  # a run's seconds by its estimate's, on this count
    heap = [(c.floor + extra, c.position, False, c) for c in group]
    heapq.heapify(heap)
    best: tuple[float, int, Layout] | None = None
    while heap:
        floor, position, full, climb = heapq.heappop(heap)
        if best is not None and floor > best[0]:
            break
        if not full:
            sizes = _reach(probe, climb)
            if len(sizes) > 1:
                floor = floors.full(climb.layout, sizes) + extra
                heapq.heappush(heap, (floor, position, True, climb._replace(sizes=sizes)))
                continue
            # one size: timing it costs what its full floor would, and gives its seconds
            climb = climb._replace(sizes=sizes)
        seconds, layout = _climb(variant, offer, job, probe, climb, timed)
        if best is None or (seconds, position) < best[:2]:
            best = (seconds, position, layout)
    return train_candidate(variant, offer, order, job, best[2])


def _reach(probe: MemoryProbe, climb: Climb) -> list[int]:
    """The sizes a climb can reach: up to the first that does not fit (its smallest fits).
    Without a paged optimizer the micro-batch changes the activations' part of the memory
    alone (``MemoryProbe.parts``); the host RAM reads the states and the GPU count, which
    the smallest size shows to fit."""
    sizes, layout = climb.sizes, climb.layout
    if probe.paged:
        fields = dict(layout.__dict__)
        for i in range(1, len(sizes)):
            fields["micro_batch"] = sizes[i]
            if not train_fits(probe, build(Layout, **fields))[1]:
                return sizes[:i]
        return sizes
    room = probe.usable - probe.parts(layout)[0]  # for the activations' part
    for i in range(1, len(sizes)):
        if probe.activation_part(layout, sizes[i]) > room:
            return sizes[:i]
    return sizes


def _climb(variant: Variant, offer: GpuOffer, job: TrainJob, probe: MemoryProbe,
           climb: Climb, timed: dict[float, float]) -> tuple[float, Layout]:
    """The fastest of the micro-batch sizes, with its seconds: climbed from the smallest up
    to the first that is not faster; ``climb.sizes`` are those it can reach (``_reach``:
    larger ones do not fit). ``timed``: ``train_seconds`` on the climb's GPU count by the
    estimate's seconds, the rest of what it reads being the variant's and the offer's
    (layouts that differ in a ZeRO stage below 3 alone often take the same seconds)."""
    fields = dict(climb.layout.__dict__)
    count = climb.layout.gpus
    found = None
    for mb in climb.sizes:
        fields["micro_batch"] = mb
        layout = build(Layout, **fields)
        estimate = probe.seconds(layout)
        seconds = timed.get(estimate)
        if seconds is None:
            seconds = timed[estimate] = train_seconds(variant, offer, job, count, estimate)
        if found is not None and seconds >= found[0]:
            break
        found = (seconds, layout)
    return found


class _Walk:
    """The first pass: the knob settings to climb, in the walk's order (``climbs``), and the
    least memory of the layouts whose memory was taken (every one, when none fits)."""

    def __init__(self, variant: Variant, spec: GpuSpec, job: TrainJob, probe: MemoryProbe,
                 floor: Callable[[Layout, list[int]], float]):
        self.variant, self.spec, self.job, self.probe = variant, spec, job, probe
        self.floor = floor  # of a climb, before it is run (TimeFloors.cheap)
        self.recomputes = recompute_chain(variant)
        self.climbs: list[Climb] = []
        self.least: tuple | None = None  # (memory, GPUs, layout) of the least memory seen
        self._sizes: dict[tuple[int, int, int], list[int]] = {}  # by (dp, pp, vpp)
        self._memo: dict = {}  # knob_settings' pieces that repeat across shapes

    def run(self, cap: int) -> None:
        variant = self.variant
        for tp in tp_degrees(variant, self.spec):
            for pp in pp_degrees(variant):
                for cp in cp_degrees(variant):
                    if tp * cp * pp > cap:
                        break
                    failed: set = set()  # knob settings that did not fit at a larger DP
                    dead: set = set()  # those failed with every recomputation
                    fits = False
                    for dp in sorted(dp_degrees(variant, tp, pp, cap, cp), reverse=True):
                        fits |= self.shape((tp, cp, pp, dp), failed, dead)
                    if fits:
                        break  # a larger context-parallel degree only where nothing fits

    def sizes(self, dp: int, pp: int, vpp: int) -> list[int]:
        key = (dp, pp, vpp)
        found = self._sizes.get(key)
        if found is None:
            found = self._sizes[key] = micro_batch_sizes(
                self.variant, self.job, build(Layout, **dict(_DEFAULTS, dp=dp, pp=pp, vpp=vpp)))
        return found

    def shape(self, shape: tuple[int, int, int, int], failed: set, dead: set) -> bool:
        """Adds to ``climbs`` each knob setting at (tp, cp, pp, dp) with the first
        recomputation whose smallest micro-batch fits; updates ``failed`` (the settings
        that do not fit, hence not at a smaller DP either), ``dead`` (the knobs failed with
        every recomputation, passed over whole) and ``least``. True when some setting fits."""
        tp, cp, pp, dp = shape
        fields = dict(_DEFAULTS, tp=tp, pp=pp, dp=dp, sp=sequence_parallel(self.variant, tp), cp=cp)
        probe, climbs, fits = self.probe, self.climbs, False
        # the cheap floor reads of a knob setting at this shape EP, recomputation and VPP alone
        floors: dict[tuple[int, str, int], float] = {}
        by_vpp: dict[int, list[int]] = {}  # the micro-batch sizes at this shape
        for ep, zero, offload, shard, vpp in knob_settings(self.variant, self.spec, shape, self._memo):
            knob = (ep, zero, offload, shard > 0, vpp)
            if knob in dead:
                continue
            sizes = by_vpp.get(vpp)
            if sizes is None:
                sizes = by_vpp[vpp] = self.sizes(dp, pp, vpp)
            knob_fields = None
            for recompute in self.recomputes:
                knobs = knob + (recompute,)
                if knobs in failed:
                    continue
                if not sizes:
                    break  # no micro-batch this schedule can run at this DP; a smaller DP may have one
                if knob_fields is None:
                    knob_fields = dict(fields, ep=ep, zero=zero, offload=offload,
                                       micro_batch=sizes[0], shard=shard, vpp=vpp)
                # as estimate.common.build makes it (every field given), with one copy
                layout = _new_layout(Layout)
                layout.__dict__.update(knob_fields)
                layout.__dict__["recompute"] = recompute
                total, fit = train_fits(probe, layout)
                if not climbs:  # the least memory is read only when nothing fits
                    least = self.least
                    if least is None or total < least[0] or (total == least[0] and layout.gpus < least[1]):
                        self.least = (total, layout.gpus, layout)
                if not fit:
                    failed.add(knobs)
                    continue
                floor = floors.get((ep, recompute, vpp))
                if floor is None:
                    floor = floors[(ep, recompute, vpp)] = self.floor(layout, sizes)
                # a Climb without NamedTuple's keyword handling (hot path)
                climbs.append(tuple.__new__(Climb, (len(climbs), layout, sizes, floor)))
                fits = True
                break  # slower recomputation at the same knobs cannot beat one that fits
            else:
                dead.add(knob)  # every recomputation failed here or at a larger DP
        return fits


def knob_settings(variant: Variant, spec: GpuSpec, shape: tuple[int, int, int, int],
                  memo: dict | None = None) -> list[tuple[int, int, str, int, int]]:
    """(ep, zero, offload, shard, vpp) in search order at (tp, cp, pp, dp). ``memo`` keeps
    the pieces that depend on a few degrees alone across the shapes of one walk."""
    tp, cp, pp, dp = shape
    memo = {} if memo is None else memo
    job = variant.train_job
    eps = memo.get(("ep", dp))
    if eps is None:
        eps = memo[("ep", dp)] = ep_degrees(variant, dp)
    pairs = memo.get(("zero", dp > 1))
    if pairs is None:  # zero_offload_pairs tells DP 1 from the rest only
        pairs = memo[("zero", dp > 1)] = zero_offload_pairs(variant, dp)
    vpps = memo.get(("vpp", pp))
    if vpps is None:
        vpps = memo[("vpp", pp)] = vpp_choices(variant, pp)
    out = []
    for ep in eps:
        # the pairs the stack's own code runs (space.stack_runs) at (tp, pp, ep)
        runs = memo.get(("runs", tp, pp, ep, dp > 1))
        if runs is None:
            runs = memo[("runs", tp, pp, ep, dp > 1)] = [
                (zero, offload) for zero, offload in pairs if stack_runs(job, tp, pp, ep, zero)]
        for zero, offload in runs:
            shards = memo.get(("shard", tp, cp, dp, zero, offload))
            if shards is None:
                shards = memo[("shard", tp, cp, dp, zero, offload)] = shard_choices(
                    variant, spec, tp, cp, dp, zero, offload)
            out += [(ep, zero, offload, shard, vpp) for shard in shards for vpp in vpps]
    return out


def micro_batch_sizes(variant: Variant, job: TrainJob, base: Layout) -> list[int]:
    """The micro-batch sizes to try at ``base``: the interleaved schedule needs the number of
    micro-batches to be a multiple of pp. An empty list is not a memory failure: knobs kept
    from a larger DP as "does not fit" must not include it."""
    return [mb for mb in micro_batches(variant, job.global_batch, base.dp)
            if base.vpp == 1 or -(-job.global_batch // (base.dp * mb)) % base.pp == 0]


__all__ = ["Climb", "Frontier", "find_frontier", "knob_settings", "micro_batch_sizes"]
