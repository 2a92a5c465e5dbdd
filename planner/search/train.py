"""The training search: per GPU count, the fastest layout that fits memory; then the
options that meet the deadline and budget, without dominated ones.

Pruning rules (docs/solve.md, "Pruning"): memory never grows with DP, so a knob setting
that does not fit at a larger DP is not tried at a smaller one; recomputation only adds
work, so the first of none -> selective -> full that fits is kept; memory grows with the
micro-batch, so the climb stops at the first that does not fit or is not faster; context
parallelism is tried at (TP, PP) only where nothing fits at a smaller degree.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from planner.estimate.common import build
from planner.estimate.types import Layout, TrainJob
from planner.resolve.variants import GpuOffer, Variant
from planner.search.candidates import (
    Candidate, GpuOutcome, Miss, keep_in_range, meets_time, pareto, train_candidate,
)
from planner.search.space import (
    REFERENCE_TOKENS, cp_degrees, dp_degrees, ep_degrees, gpu_cap, micro_batches, pp_degrees,
    recompute_chain, sequence_parallel, shard_choices, stack_runs, tp_degrees, vpp_choices,
    zero_offload_pairs,
)


@dataclass
class Frontier:
    """Per GPU count, the fastest layout that fits memory (reference tokens)."""

    by_count: dict[int, Candidate] = field(default_factory=dict)
    least_memory: Candidate | None = None


class Frontiers:
    """Frontiers of one solve, shared by the variants of one workload shape and GPU type
    (docs/solve.md, "Sweeps share frontiers"): training time is linear in the tokens, so
    the frontier found with ``REFERENCE_TOKENS`` serves every dataset size."""

    def __init__(self) -> None:
        self._found: dict[tuple, Frontier] = {}
        # each GPU type's outcome by the searched variant's inputs, then by the offer's
        # fields and order (planner.search.search)
        self.outcomes: dict[tuple, dict[tuple, GpuOutcome]] = {}
        self.offer_numbers: dict[tuple, int] = {}  # an offer's fields by meaning -> a number
        self.last_offers: tuple | None = None  # the last offers' field values, their numbers
        self._exact: dict[tuple, dict[Layout, Candidate]] = {}

    def exact(self, variant: Variant, offer: GpuOffer, order: int) -> dict[Layout, Candidate]:
        """The candidates already evaluated with ``variant``'s real job on ``offer``, by
        layout. A training candidate reads of its variant only the kind, the job and the
        checkpoint interval (``train_candidate``): variants that differ in their limits
        alone (a swept deadline or budget) share them."""
        key = (variant.kind, variant.train_job, variant.workload.checkpoint_every, offer.name,
               offer.spec, order)
        return self._exact.setdefault(key, {})

    def get(self, variant: Variant, offer: GpuOffer, order: int, cap: int) -> Frontier:
        job = dataclasses.replace(variant.train_job, tokens=REFERENCE_TOKENS)
        pins = variant.pins
        key = (job, offer.name, offer.spec, cap, repr(None if pins is None else pins.semantic()))
        if key not in self._found:
            self._found[key] = _frontier(variant, offer, order, cap, job)
        return self._found[key]


def _frontier(variant: Variant, offer: GpuOffer, order: int, cap: int, job: TrainJob) -> Frontier:
    frontier = Frontier()
    if job.precision == "fp8" and offer.spec.fp8_flops <= 0:
        return frontier  # no fp8 tensor cores: search_train reports it
    for tp in tp_degrees(variant, offer.spec):
        for pp in pp_degrees(variant):
            for cp in cp_degrees(variant):
                if tp * cp * pp > cap:
                    break
                failed: set = set()  # knob settings that did not fit at a larger DP
                fits = False
                for dp in sorted(dp_degrees(variant, tp, pp, cap, cp), reverse=True):
                    fits |= _best_for_shape(variant, offer, order, job, (tp, cp, pp, dp), failed,
                                            frontier)
                if fits:
                    break  # a larger context-parallel degree only where nothing fits
    return frontier


def _knob_settings(variant: Variant, offer: GpuOffer, shape: tuple[int, int, int, int]):
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


def _best_for_shape(variant: Variant, offer: GpuOffer, order: int, job: TrainJob,
                    shape: tuple[int, int, int, int], failed: set, frontier: Frontier) -> bool:
    """The fastest memory-fitting knob setting at (tp, cp, pp, dp); updates the frontier and
    ``failed`` (the knob settings that do not fit, hence not at a smaller DP either).
    True when some setting fits."""
    tp, cp, pp, dp = shape
    sp = sequence_parallel(variant, tp)
    best: Candidate | None = None
    for ep, zero, offload, shard, vpp in _knob_settings(variant, offer, shape):
        for recompute in recompute_chain(variant):
            knobs = (ep, zero, offload, shard > 0, vpp, recompute)
            if knobs in failed:
                continue
            base = Layout(tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, recompute=recompute,
                          offload=offload, sp=sp, cp=cp, shard=shard, vpp=vpp)
            sizes = _micro_batch_sizes(variant, job, base)
            if not sizes:
                break  # no micro-batch this schedule can run at this DP; a smaller DP may have one
            found = _climb_micro_batch(variant, offer, order, job, frontier, base, sizes)
            if found is None:
                failed.add(knobs)
                continue
            if best is None or found.seconds < best.seconds:
                best = found
            break  # slower recomputation at the same knobs cannot beat one that fits
    if best is None:
        return False
    held = frontier.by_count.get(best.gpu_count)
    if held is None or best.seconds < held.seconds:
        frontier.by_count[best.gpu_count] = best
    return True


def _micro_batch_sizes(variant: Variant, job: TrainJob, base: Layout) -> list[int]:
    """The micro-batch sizes to try at ``base``: the interleaved schedule needs the number of
    micro-batches to be a multiple of pp. An empty list is not a memory failure: knobs kept
    from a larger DP as "does not fit" must not include it."""
    return [mb for mb in micro_batches(variant, job.global_batch, base.dp)
            if base.vpp == 1 or -(-job.global_batch // (base.dp * mb)) % base.pp == 0]


def _climb_micro_batch(variant: Variant, offer: GpuOffer, order: int, job: TrainJob,
                       frontier: Frontier, base: Layout, sizes: list[int]) -> Candidate | None:
    """The fastest of the micro-batch ``sizes`` at ``base``'s knobs that fits memory
    (None: none fits)."""
    found = None
    fields = dict(base.__dict__)
    for mb in sizes:
        fields["micro_batch"] = mb
        cand = train_candidate(variant, offer, order, job, build(Layout, **fields))
        least = frontier.least_memory
        if least is None or (cand.memory.total, cand.gpu_count) < (least.memory.total, least.gpu_count):
            frontier.least_memory = cand
        if not cand.fits_memory:
            break  # larger micro-batches hold more activations
        if found is not None and cand.seconds >= found.seconds:
            break  # a larger micro-batch that is not faster stops the climb
        found = cand
    return found


def search_train(variant: Variant, offer: GpuOffer, order: int, frontiers: Frontiers) -> GpuOutcome:
    """The options of ``variant`` on one GPU type, or the miss that explains why none."""
    cap = gpu_cap(offer.available)
    out = GpuOutcome(gpu=offer.name, cap=cap, available=offer.available)
    if variant.train_job.precision == "fp8" and offer.spec.fp8_flops <= 0:
        out.miss = Miss("precision")
        return out
    frontier = frontiers.get(variant, offer, order, cap)
    job = variant.train_job

    evaluated = frontiers.exact(variant, offer, order)

    def exact(c: Candidate) -> Candidate:  # the kept point with the variant's real tokens
        found = evaluated.get(c.layout)
        if found is None:
            found = evaluated[c.layout] = train_candidate(variant, offer, order, job, c.layout)
        return found

    if frontier.least_memory is not None:
        out.least_memory = exact(frontier.least_memory)
    points = [exact(c) for _, c in sorted(frontier.by_count.items())]
    points = [c for c in points if c.fits_memory]
    if not points:
        least = out.least_memory
        kind = "memory" if least is not None else "layout"
        if least is not None and least.fits_gpu_memory and least.host_breach is not None:
            kind = "host"  # the GPUs hold it only with an offload the host cannot take
        out.miss = Miss(kind, least)
        return out
    out.min_fit_count = min(c.gpu_count for c in points)
    out.fastest = min(points, key=lambda c: (c.hours, c.gpu_count, c.stable))
    timely = [c for c in points if meets_time(variant, c)]
    if not timely:
        out.miss = Miss("deadline", out.fastest)
        return out
    out.cheapest_timely = min(timely, key=lambda c: (c.cost, c.gpu_count, c.stable))
    within = [c for c in timely if variant.budget is None or c.cost <= variant.budget]
    if not within:
        out.miss = Miss("budget", out.cheapest_timely)
        return out
    within = keep_in_range(out, within, variant.timing.runs_per_period or 1.0)
    if not within:
        return out
    out.feasible = within
    out.options = pareto(within)
    return out


__all__ = ["Frontier", "Frontiers", "search_train"]
