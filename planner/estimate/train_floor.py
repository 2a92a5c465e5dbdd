"""A lower bound on a training layout's run time over its micro-batch sizes at once.

The training search times a knob setting by climbing its micro-batch sizes; before it
climbs, it asks whether any size could beat the fastest layout already found on as many
GPUs (``planner.search.frontier``). ``run_seconds_floor`` answers with ``step_time``'s own
arithmetic (``train_time.timed_step``), given values no worse than every size's:

- compute: the linear layers at the best FLOP/s of any size (the micro-batch enters
  ``compute_seconds`` through that rate alone), dequantization at the fewest micro-batches;
- the collectives at the largest size: micro-batches x micro-batch is the per-rank batch
  at every size (each divides it), so their bytes are the same and their counts, which
  grow with the micro-batches, are the fewest;
- what hides communication (one micro-batch's compute) at its most, the bubble fraction
  at its least; the model states without a paged optimizer's spill (it only adds traffic).

Every term of ``timed_step`` moves the right way with each of these (its docstring), so
the floor is at most the estimate of every size; docs/solve.md ("Pruning") says why the
search stays exact with it.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.estimate import timing as T
from planner.estimate.common import build
from planner.estimate.train import model_states, train_base
from planner.estimate.train_time import compute_seconds, dequantize_seconds, timed_step
from planner.estimate.types import GpuSpec, Layout, TrainJob

# The floor and the estimate round differently (a few dozen float operations each, about
# 1e-16 apiece): the floor is lowered by this share so that it stays below the estimate
# as computed, not only as derived.
FLOOR_ROUNDING = 1e-9


def _sizes(job: TrainJob, layout: Layout, sizes: Sequence[int]) -> tuple[list[int], int, int] | None:
    """(micro-batches per step of each size, the largest size, its micro-batches), or None
    where the bound does not apply: some size does not divide the per-rank batch."""
    counts = [-(-job.global_batch // (layout.dp * mb)) for mb in sizes]
    if not sizes or len({m * mb for m, mb in zip(counts, sizes)}) != 1:
        return None
    largest = max(sizes)
    return counts, largest, counts[sizes.index(largest)]


def _linear_rates(base, job: TrainJob, layout: Layout, sizes: Sequence[int]) -> list[float]:
    return [base.rates(mb * job.seq_len / layout.cp, layout.tp, layout.ep,
                       layout.flash_attention)[0] for mb in sizes]


def compute_floor(job: TrainJob, layout: Layout, gpu: GpuSpec, sizes: Sequence[int]) -> float:
    """A cheaper, lower floor than ``run_seconds_floor``: the compute and the bubble it
    idles, without communication (0 where the bound does not apply)."""
    base = train_base(job, gpu)
    found = _sizes(job, layout, sizes)
    if found is None:
        return 0.0
    counts, largest, fewest = found
    top = build(Layout, **{**layout.__dict__, "micro_batch": largest})
    compute = compute_seconds(base, top, job.tokens, max(_linear_rates(base, job, layout, sizes)))
    bubble = 0.0
    if layout.pp > 1:
        bubble = compute * min(T.bubble_fraction(layout.pp, m, layout.vpp) for m in counts)
    return (compute + bubble) * (1.0 - FLOOR_ROUNDING)


def run_seconds_floor(job: TrainJob, layout: Layout, gpu: GpuSpec, sizes: Sequence[int]) -> float:
    """A value no greater than ``evaluate_train(job, layout, gpu).seconds`` with
    ``micro_batch`` any of ``sizes`` (0 where the bound does not apply)."""
    base = train_base(job, gpu)
    steps = base.steps
    found = _sizes(job, layout, sizes)
    if found is None or not steps > 0:
        return 0.0
    counts, largest, fewest = found
    top = build(Layout, **{**layout.__dict__, "micro_batch": largest})
    rates = _linear_rates(base, job, layout, sizes)
    states = model_states(base, top)
    dequantize = dequantize_seconds(base, top, states)
    compute = compute_seconds(base, top, job.tokens, max(rates)) + dequantize * fewest * steps
    most_per_micro = compute_seconds(base, top, job.tokens, min(rates)) / (steps * fewest) \
        + dequantize
    bubble = min(T.bubble_fraction(layout.pp, m, layout.vpp) for m in counts)
    compute, communication, idle = timed_step(base, top, states, fewest, compute, most_per_micro,
                                              bubble)
    return (compute + communication + idle) * (1.0 - FLOOR_ROUNDING)


__all__ = ["FLOOR_ROUNDING", "compute_floor", "run_seconds_floor"]
