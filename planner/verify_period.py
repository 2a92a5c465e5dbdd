"""The independent checker's rules for periods and the schedule (``planner.verify`` calls it).

Written from docs/solve.md ("Periods and the schedule") without the resolver's timing
module: the period and window from the plan block (730 h by default), a job's repeats
from ``every`` or ``runs``, its runs in a window and their slots, and the pool's use at
every moment from the rows' own schedules (a workload's sweep variants are alternatives:
it holds the most GPUs among those of its variants running then).
"""

from __future__ import annotations

import heapq
import math

from planner import plan as p
from planner.estimate import defaults as d
from planner.result import Result, Row
from planner.verify_rent import paid_gpus

TIME_TOL = 1e-6  # hours, for float noise
REL_TOL = 1e-5  # rows carry 6 significant digits (a run ending at 352.6795 h reads 352.680)
STEP = 1 / 60  # hours: the schedule is timed in whole minutes (docs/solve.md)


def _near(shown: float, exact: float) -> bool:
    """Hours the result shows (6 significant digits) against the exact ones."""
    return abs(shown - exact) <= REL_TOL * max(1.0, abs(exact))


def period_of(plan: p.Plan) -> float:
    s = plan.settings
    return s.period / 3600.0 if s is not None and s.period else float(d.SERVICE_HOURS)


def window_of(plan: p.Plan) -> float | None:
    s = plan.settings
    return s.window / 3600.0 if s is not None and s.window else None


def every_of(w, period: float) -> float | None:
    if w.kind == "serve":
        return None
    if w.every is not None:
        return w.every / 3600.0
    return period / w.runs if w.runs is not None else None


def per_period(w, period: float) -> float:
    """How many times one run's cost counts in the period."""
    every = every_of(w, period)
    return 1.0 if every is None else period / every


def slots_of(w, period: float, window: float) -> list[tuple[float, float]]:
    """(release, due) of each scheduled run of a training workload."""
    every = every_of(w, period)
    start = (w.start_after or 0.0) / 3600.0
    deadline = None if w.deadline is None else w.deadline / 3600.0
    count = 1
    if every is not None:  # each run whose slot (to the next release or its deadline) ends in the window
        slot = every if deadline is None else min(every, deadline)
        count = max(1, math.floor((window - start - slot) / every + 1e-9) + 1) if window - start >= slot else 1
    out = []
    for k in range(count):
        release = start + k * (every or 0.0)
        due = window
        if every is not None:
            due = min(due, release + every)
        if w.deadline is not None:
            due = min(due, release + w.deadline / 3600.0)
        out.append((release, due))
    return out


def check_row(who: str, plan: p.Plan, w, row: Row, cost_per_run: float, same_money) -> list[str]:
    """A row's billing, repeats, cost in the period and (in a window) its runs."""
    bad = []
    period, window = period_of(plan), window_of(plan)
    every = every_of(w, period)
    billing = "run-rate" if w.kind == "serve" or every is not None else "one-off"
    if row.billing != billing:
        bad.append(f"{who}: billing {row.billing}, the plan makes it {billing}")
    if w.kind != "serve":
        if row.cost_per_run is None or not same_money(row.cost_per_run, cost_per_run):
            bad.append(f"{who}: cost per run {row.cost_per_run}, re-derived {cost_per_run:.6g}")
        if every is not None and row.hours > every * (1 + 1e-9):
            bad.append(f"{who}: a run takes {row.hours:.6g} h, it repeats every {every:.6g} h")
    if w.kind == "serve" and w.duration is not None and w.duration / 3600.0 > period * (1 + 1e-9):
        bad.append(f"{who}: serves {w.duration / 3600.0:.6g} h per period of {period:.6g} h")
    expected = None if billing == "one-off" else row.cost
    if (row.cost_per_period is None) != (expected is None) or (
            expected is not None and not same_money(row.cost_per_period, expected)):
        bad.append(f"{who}: cost per period {row.cost_per_period}, expected {expected}")
    if window is None:
        if row.schedule is not None:
            bad.append(f"{who}: a schedule without a plan window")
        return bad
    return bad + _check_runs(who, w, row, period, window)


def _check_runs(who: str, w, row: Row, period: float, window: float) -> list[str]:
    runs = row.schedule or ()
    if w.kind == "serve":
        held = [(r.start_hours, r.end_hours) for r in runs]
        if len(held) != 1 or held[0][0] != 0.0 or not _near(held[0][1], window):
            bad = f"{who}: a service holds its GPUs for the whole window, the row says {runs}"
            return [bad]
        return []
    slots = slots_of(w, period, window)
    if len(runs) != len(slots):
        return [f"{who}: {len(runs)} runs scheduled, the window holds {len(slots)}"]
    bad = []
    for k, (run, (release, due)) in enumerate(zip(runs, slots)):
        tol = REL_TOL * max(1.0, run.end_hours)
        if abs(run.end_hours - run.start_hours - row.hours) > tol:
            bad.append(f"{who}: run {k + 1} lasts {run.end_hours - run.start_hours:.6g} h, "
                       f"a run takes {row.hours:.6g} h")
        if run.start_hours < release - tol or run.end_hours > due + tol:
            bad.append(f"{who}: run {k + 1} at {run.start_hours:.6g}-{run.end_hours:.6g} h, "
                       f"outside its slot {release:.6g}-{due:.6g} h")
        if abs(run.start_hours * 60 - round(run.start_hours * 60)) > 60 * tol:
            bad.append(f"{who}: run {k + 1} starts at {run.start_hours!r} h, not a whole minute")
    return bad


def check_pool(plan: p.Plan, result: Result) -> list[str]:
    """GPUs available per type at every moment of a window (or all at once without one),
    and the result's ``used`` per type equal to that peak."""
    window = window_of(plan)
    offered = {g.name: g.available for g in plan.gpus if g.available is not None}
    placed = [r for r in result.workloads if r.fits]
    bad = []
    for gpu, available in sorted(offered.items()):
        rows = [r for r in placed if r.gpu == gpu]
        block = next(g for g in plan.gpus if g.name == gpu)
        peak = _peak_in_time(rows, block) if window is not None else _all_at_once(rows, block)
        if available >= 0 and peak > available:
            bad.append(f"availability {gpu}: {peak} in use at once, {available} available")
        shown = result.gpus.get(gpu)
        if shown is not None and shown.used != peak:
            bad.append(f"gpus {gpu}: used {shown.used}, the rows hold {peak} at the peak")
    return bad


def _all_at_once(rows: list[Row], block: p.Gpu) -> int:
    """GPUs taken at once: whole instances (re-derived, ``verify_rent.paid_gpus``)."""
    per: dict[str, int] = {}
    for r in rows:
        per[r.name] = max(per.get(r.name, 0), paid_gpus(block, r.gpu_count))
    return sum(per.values())


def _peak_in_time(rows: list[Row], block: p.Gpu) -> int:
    spans = [(run.start_hours, run.end_hours, r.name, paid_gpus(block, r.gpu_count))
             for r in rows for run in (r.schedule or ())]
    return peak_at_starts(spans)


def peak_at_starts(spans: list[tuple[float, float, str, int]]) -> int:
    """The most GPUs held at once: at each start time t, the spans with start <= t < end,
    a workload's variants counted at their largest (sweep values of one workload are
    alternatives). A sweep over the start times in order, O(n log n): a window of
    thousands of runs made the check of every start against every span quadratic."""
    starts = sorted(spans, key=lambda x: x[0])
    ending: list[tuple[float, int]] = []  # (end, index into starts) of the active spans
    held: dict[str, dict[int, int]] = {}  # per workload: GPUs of an active span -> how many
    top: dict[str, int] = {}  # per workload: the largest of its active spans
    total = peak = added = 0
    for t in sorted({x[0] for x in spans}):
        while added < len(starts) and starts[added][0] <= t:
            _, end, name, n = starts[added]
            heapq.heappush(ending, (end, added))
            counts = held.setdefault(name, {})
            counts[n] = counts.get(n, 0) + 1
            if n > top.get(name, 0):
                total += n - top.get(name, 0)
                top[name] = n
            added += 1
        while ending and ending[0][0] <= t:
            _, index = heapq.heappop(ending)
            _, _, name, n = starts[index]
            counts = held[name]
            counts[n] -= 1
            if not counts[n]:
                del counts[n]
            largest = max(counts, default=0)
            total += largest - top.get(name, 0)
            top[name] = largest
        peak = max(peak, total)
    return peak


def check_totals(plan: p.Plan, result: Result, same_money) -> list[str]:
    """The period's totals: run rate and one-off, each workload at its costliest variant."""
    group: dict[str, tuple[str, float]] = {}
    for r in result.workloads:
        if r.fits:
            group[r.name] = (r.billing, max(group.get(r.name, ("", 0.0))[1], r.cost))
    run_rate = sum(c for b, c in group.values() if b == "run-rate")
    one_off = sum(c for b, c in group.values() if b == "one-off")
    bad = []
    for name, shown, expected in (("run_rate_cost", result.run_rate_cost, run_rate),
                                  ("one_off_cost", result.one_off_cost, one_off),
                                  ("total_cost", result.total_cost, run_rate + one_off)):
        if not same_money(shown, expected):
            bad.append(f"{name} {shown} != sum of placed rows {expected:.6g}")
    window = window_of(plan)
    same_window = (result.window_hours is None) == (window is None) and (
        window is None or _near(result.window_hours, window))
    if not _near(result.period_hours, period_of(plan)) or not same_window:
        bad.append(f"period {result.period_hours} h and window {result.window_hours} h, the plan "
                   f"says {period_of(plan):.6g} h and {window_of(plan)}")
    return bad


__all__ = ["check_pool", "check_row", "check_totals", "per_period", "period_of", "window_of"]
