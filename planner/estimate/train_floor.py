"""A lower bound on a training layout's run time over its micro-batch sizes at once.

The training search times a knob setting by climbing its micro-batch sizes; before it
climbs, it asks whether any size could beat the fastest layout already found on as many
GPUs (``planner.search.frontier``). ``TimeFloors.full`` answers with ``step_time``'s own
arithmetic (``train_time.timed_step``), given values no worse than every size's:

- compute: the linear layers at the best FLOP/s of any size (the micro-batch enters
  ``compute_seconds`` through that rate alone), dequantization at the fewest micro-batches;
- the collectives at the largest size: micro-batches x micro-batch is the per-rank batch
  at every size (each divides it), so their bytes are the same and their counts, which
  grow with the micro-batches, are the fewest;
- what hides communication (one micro-batch's compute) at its most, the bubble fraction
  at its least; the model states without a paged optimizer's spill (it only adds traffic).

Every term of ``timed_step`` moves the right way with each of these (its docstring), so
the floor is at most the estimate of every size. ``TimeFloors.cheap`` is the compute and
its bubble alone, cheaper and lower. docs/solve.md ("Pruning") says why the search stays
exact with them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from planner.estimate import timing as T
from planner.estimate.common import build
from planner.estimate.train import ModelStates, model_states, train_base
from planner.estimate.train_time import (
    compute_seconds, dequantize_seconds, exposed_step, offloaded_step,
)
from planner.estimate.types import GpuSpec, Layout, TrainJob

# The floor and the estimate round differently (a few dozen float operations each, about
# 1e-16 apiece): the floor is lowered by this share so that it stays below the estimate
# as computed, not only as derived.
FLOOR_ROUNDING = 1e-9


class TimeFloors:
    """Floors on ``evaluate_train(job, layout, gpu).seconds`` over a layout's micro-batch
    sizes, for many layouts of one (job, GPU) pair. ``cheap``: the compute and the bubble
    it idles; ``full``: ``step_time``'s whole arithmetic as above. The compute part reads
    neither ZeRO, offload, sharding nor interleaving, so it is kept for the layouts that
    differ in those alone. ``states`` gives a layout's model states before any paging
    (``train_probe.MemoryProbe.states``; by default worked out)."""

    def __init__(self, job: TrainJob, gpu: GpuSpec,
                 states: Callable[[Layout], ModelStates] | None = None):
        self.job, self.gpu = job, gpu
        self.base = train_base(job, gpu)
        self._states = states or (lambda layout: model_states(self.base, layout))
        self._compute: dict[tuple, tuple] = {}
        self._rates: dict[tuple, tuple[float, float]] = {}  # by (tp, cp, ep, flash, sizes)
        self._steps: dict[tuple, tuple] = {}  # by (dp, pp, sizes)
        self._exposed: dict[tuple, tuple[float, float, float, float]] = {}

    def _parts(self, layout: Layout, sizes: Sequence[int]) -> tuple:
        """(the least compute of any size, the least linear-layer rate of any size (the
        most compute is taken at it where needed), the least bubble fraction of any size by
        interleaving, the largest size, its micro-batches; the last two None where some size
        does not divide the per-rank batch)."""
        sizes = tuple(sizes)
        key = (layout.tp, layout.cp, layout.pp, layout.dp, layout.ep, layout.recompute,
               layout.sp, layout.flash_attention, sizes)
        found = self._compute.get(key)
        if found is None:
            base, job = self.base, self.job
            # the sizes' best and worst rates, and their micro-batches and bubbles, read
            # fewer fields: kept by those
            pick = (layout.tp, layout.cp, layout.ep, layout.flash_attention, sizes)
            rates = self._rates.get(pick)
            if rates is None:
                found = [base.rates(mb * job.seq_len / layout.cp, layout.tp, layout.ep,
                                    layout.flash_attention)[0] for mb in sizes]
                rates = self._rates[pick] = (max(found), min(found))
            pick = (layout.dp, layout.pp, sizes)
            steps = self._steps.get(pick)
            if steps is None:
                counts = [-(-job.global_batch // (layout.dp * mb)) for mb in sizes]
                largest = fewest = None
                if len({m * mb for m, mb in zip(counts, sizes)}) == 1:
                    largest = max(sizes)
                    fewest = counts[sizes.index(largest)]
                steps = self._steps[pick] = (_Bubbles(layout.pp, counts), largest, fewest)
            best, worst = rates
            bubbles, largest, fewest = steps
            low = compute_seconds(base, layout, job.tokens, best)
            found = self._compute[key] = (low, worst, bubbles, largest, fewest)
        return found

    def cheap(self, layout: Layout, sizes: Sequence[int]) -> float:
        """At most the estimate's compute and bubble at any of ``sizes``: the linear layers
        at the best FLOP/s of any size, the least bubble fraction; no dequantization."""
        low, _, bubbles, _, _ = self._parts(layout, sizes)
        return low * (1.0 + bubbles[layout.vpp]) * (1.0 - FLOOR_ROUNDING)

    def full(self, layout: Layout, sizes: Sequence[int]) -> float:
        """At most the estimate at any of ``sizes`` (0 where some size does not divide the
        per-rank batch: the collectives' argument needs micro-batches x micro-batch fixed)."""
        low, worst, bubbles, largest, fewest = self._parts(layout, sizes)
        steps = self.base.steps
        if largest is None or not steps > 0:
            return 0.0
        top = build(Layout, **{**layout.__dict__, "micro_batch": largest})
        states = self._states(top)
        # timed_step in its two parts; the first kept by what it reads (train_time.exposed_step)
        key = (layout.tp, layout.cp, layout.pp, layout.dp, layout.ep, layout.shard, layout.sp,
               layout.flash_attention, layout.recompute, layout.vpp, tuple(sizes),
               layout.zero >= 3, states.trained_dense, states.trained_routed,
               states.gather_dense, states.gather_routed, states.linear_params)
        found = self._exposed.get(key)
        if found is None:
            dequantize = dequantize_seconds(self.base, top, states)
            compute = low + dequantize * fewest * steps
            high = compute_seconds(self.base, layout, self.job.tokens, worst)
            most_per_micro = high / (steps * fewest) + dequantize
            found = self._exposed[key] = (compute, most_per_micro) + exposed_step(
                self.base, top, states, fewest, compute, most_per_micro, bubbles[layout.vpp])
        compute, communication, idle = offloaded_step(self.base, top, states, fewest, *found)
        return (compute + communication + idle) * (1.0 - FLOOR_ROUNDING)


class _Bubbles(dict):
    """The least bubble fraction of the micro-batches per step ``counts``, by interleaving."""

    def __init__(self, pp: int, counts: list[int]):
        super().__init__()
        self.pp, self.counts = pp, counts

    def __missing__(self, vpp: int) -> float:
        least = 0.0 if self.pp <= 1 else min(T.bubble_fraction(self.pp, m, vpp) for m in self.counts)
        self[vpp] = least
        return least


__all__ = ["FLOOR_ROUNDING", "TimeFloors"]
