"""The period and the schedule in a solve: what the solver is asked, and what the result says.

``planner.resolve.timing`` gives each variant its billing (run rate or one-off), repeats and
window slots; here they become the choice problem's per-period option costs and window, a
row's period fields (cost per run and per period, its runs in the schedule), and the
result's totals (run rate per period, one-off, the period's total) and pool use per GPU
type (``planner.pool``). docs/solve.md, "Periods and the schedule", states the rules.
"""

from __future__ import annotations

from planner.choose.types import Choice, Runs, Window
from planner.pool import busy_at_once, busy_in_window, utilization
from planner.resolve.timing import ONE_OFF, RUN_RATE
from planner.resolve.variants import GpuOffer, Variant
from planner.result import GpuUse, Row, Run
from planner.search import Candidate
from planner.units import round_money


def option_cost(variant: Variant, c: Candidate) -> float:
    """What a candidate adds to the period's total: a recurring job's runs per period times
    its cost per run; a one-off job one run; a service its cost over its duration."""
    return variant.timing.per_period(c.cost)


def window(variants: list[Variant], hours: float | None) -> Window | None:
    """The choice problem's window: every training variant's run slots (services hold
    their GPUs throughout)."""
    if hours is None:
        return None
    return Window(hours, {v.name: Runs(v.timing.slots) for v in variants if v.kind != "serve"})


def row_fields(variant: Variant, c: Candidate, choice: Choice, window_hours: float | None,
               placed: bool) -> dict:
    """A row's cost in the period and, placed in a scheduled window, its runs."""
    timing = variant.timing
    training = variant.kind != "serve"
    fields = dict(
        cost=option_cost(variant, c),
        billing=timing.billing,
        every_hours=timing.every_hours,
        runs_per_period=timing.runs_per_period,
        cost_per_run=c.cost if training else None,
        cost_per_period=option_cost(variant, c) if timing.billing == RUN_RATE else None,
        schedule=None,
    )
    if placed and window_hours is not None:
        if training:
            starts = choice.starts.get(variant.group, ())
            fields["schedule"] = tuple(Run(start, start + c.hours) for start in starts)
        else:
            fields["schedule"] = (Run(0.0, window_hours),)
    return fields


def totals(rows: tuple[Row, ...]) -> dict:
    """The period's totals from the rows as shown (to the cent): a swept workload counts
    at its costliest variant, in the run rate or the one-offs by its billing."""
    group: dict[str, tuple[str, float]] = {}
    for row in rows:
        if row.fits:
            billing, cost = group.get(row.name, (row.billing, 0.0))
            group[row.name] = (billing, max(cost, row.cost))
    run_rate = sum((c for b, c in (group[g] for g in sorted(group)) if b == RUN_RATE), 0.0)
    one_off = sum((c for b, c in (group[g] for g in sorted(group)) if b == ONE_OFF), 0.0)
    return dict(run_rate_cost=round_money(run_rate), one_off_cost=round_money(one_off),
                total_cost=round_money(run_rate + one_off))


def gpu_uses(offers: list[GpuOffer], rows: tuple[Row, ...], period: float,
             window_hours: float | None) -> dict[str, GpuUse]:
    """Per offered type: GPUs at the peak, GPU-hours held and utilization over the window
    (or the period, when everything runs at once)."""
    out = {}
    for o in offers:
        if window_hours is not None:
            busy, span = busy_in_window(rows, o.name, window_hours), window_hours
        else:
            busy, span = busy_at_once(rows, o.name, period), period
        out[o.name] = GpuUse(
            available=o.available, used=busy.peak, price_per_hour=o.spec.price_per_hour,
            memory_bytes=o.spec.memory_bytes, usable_bytes=o.spec.usable_bytes,
            per_node=o.spec.gpus_per_node, gpu_hours=busy.gpu_hours,
            utilization=utilization(busy, o.available, span), peak_at_hours=busy.peak_at)
    return out


__all__ = ["gpu_uses", "option_cost", "row_fields", "totals", "window"]
