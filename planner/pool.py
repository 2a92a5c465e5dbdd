"""How busy each GPU type of the pool is, read from the placed rows of a result.

A scheduled window (``Row.schedule``): per type, the GPUs held at each moment -- a
workload's sweep variants are alternatives, so a workload holds the most GPUs among its
variants running then -- its peak, the first moment of the peak, and the GPU-hours held
over the window. Without a window every workload holds its GPUs at once: the peak is the
sum over workloads (variants at their maximum), and the GPU-hours are what each row holds
within the period (a service its ``duration``, a one-off job one run, at most the period,
a recurring job its runs per period). The pipeline fills ``GpuUse`` from this, the report
draws it; ``planner.verify`` re-derives the limits on its own.
"""

from __future__ import annotations


from planner.frozen import frozen
from planner.result import Row


@frozen
class Hold:
    """A row holding GPUs of one type from ``start`` to ``end`` (hours)."""

    workload: str  # the row's workload name (its sweep variants are alternatives)
    label: str  # the row's label (with its scenario)
    start: float
    end: float
    gpus: int


@frozen
class Busy:
    """How much of a GPU type's pool the placed rows use at once and in total."""

    peak: int
    peak_at: float | None  # a scheduled window: the first moment of the peak
    gpu_hours: float


def holds(rows: tuple[Row, ...] | list[Row], gpu: str) -> list[Hold]:
    """Every run (and service hold) of the placed rows on ``gpu``, in a scheduled window."""
    out = []
    for row in rows:
        if row.fits and row.gpu == gpu and row.schedule:
            out += [Hold(row.name, row.label, run.start_hours, run.end_hours, row.billed_gpus or row.gpu_count)
                    for run in row.schedule]
    return out


def used_at(hold_list: list[Hold], t: float) -> int:
    """GPUs held at moment ``t``: per workload, the most among its variants running."""
    per: dict[str, int] = {}
    for h in hold_list:
        if h.start <= t < h.end:
            per[h.workload] = max(per.get(h.workload, 0), h.gpus)
    return sum(per.values())


def busy_in_window(rows, gpu: str, window: float) -> Busy:
    """Peak, its first moment and GPU-hours of ``gpu`` over a scheduled window."""
    hold_list = holds(rows, gpu)
    times = sorted({0.0, window} | {h.start for h in hold_list} | {h.end for h in hold_list})
    peak, at, gpu_hours = 0, None, 0.0
    for a, b in zip(times, times[1:]):
        used = used_at(hold_list, a)
        if used > peak:
            peak, at = used, a
        gpu_hours += used * (min(b, window) - min(a, window))
    return Busy(peak, at, gpu_hours)


def busy_at_once(rows, gpu: str, period: float) -> Busy:
    """Peak and GPU-hours of ``gpu`` within the period when everything runs at once."""
    peak: dict[str, int] = {}
    held: dict[str, float] = {}
    for row in rows:
        if not row.fits or row.gpu != gpu:
            continue
        if row.kind == "serve":
            hours = row.hours
        elif row.runs_per_period is not None:
            hours = row.hours * row.runs_per_period
        else:
            hours = min(row.hours, period)
        peak[row.name] = max(peak.get(row.name, 0), row.billed_gpus or row.gpu_count)
        held[row.name] = max(held.get(row.name, 0.0), (row.billed_gpus or row.gpu_count) * hours)
    return Busy(sum(peak.values()), None, sum(held[k] for k in sorted(held)))


def utilization(busy: Busy, available: int | None, span: float) -> float | None:
    """GPU-hours held over those the type offers in the span (an unlimited type: its peak)."""
    capacity = (available if available is not None else busy.peak) * span
    return busy.gpu_hours / capacity if capacity > 0 else None


__all__ = ["Busy", "Hold", "busy_at_once", "busy_in_window", "holds", "used_at", "utilization"]
