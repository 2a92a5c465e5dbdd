"""When a workload runs and how its cost counts: the plan's period and window, per workload.

- The **period** (plan ``period``, default one month of 730 h) is what run rates are stated
  over. A service runs ``duration`` hours of each period (default: all of it) and costs so
  much per period. A training job is **one-off** (one run), or **recurring** with
  ``every = 7d`` (period / every runs per period on average: 730 h / 168 h = 4.35 weekly
  runs a month) or ``runs = N`` per period (every = period / N); its cost per period is
  its cost per run times its runs per period.
- The **window** (plan ``window``), when written, schedules the pool in time over
  [0, window): a service holds its GPUs throughout; a one-off job runs once, released at
  ``start_after`` and due ``deadline`` later (or at the window's end); a recurring job runs
  once per ``every``: run k is released at start_after + k x every and due at the next
  release, ``deadline`` after its release, or the window's end, whichever comes first.
  The runs scheduled are those whose slot (release to the next release, or to the
  deadline when sooner) ends inside the window, at least one: a trailing part of the
  window too short for a run's slot holds no run of that job.
- Every run must take at most its **run limit**: the deadline, the interval between runs,
  and the room its slot leaves in the window (in whole schedule steps), whichever is least;
  the search offers only layouts within it.

Plain arithmetic on a checked plan; ``planner.verify`` re-derives the same rules on its own.
"""

from __future__ import annotations

import math

from planner import plan as p
from planner.estimate.defaults import SERVICE_HOURS
from planner.frozen import frozen
from planner.units import SCHEDULE_STEPS_PER_HOUR, steps_down, steps_up

DEFAULT_PERIOD_HOURS = SERVICE_HOURS  # one month: 8760 h / 12, as the serving default
MAX_RUNS_PER_PERIOD = 10_000  # a job repeating more often is a service, not a job
MAX_SCHEDULED_RUNS = 1_000  # runs of one job in a window (each is an interval per option)

ONE_OFF = "one-off"
RUN_RATE = "run-rate"


@frozen
class Timing:
    """How one workload's cost counts and when it may run."""

    billing: str  # RUN_RATE (services, recurring jobs) | ONE_OFF
    period_hours: float
    every_hours: float | None = None  # recurring jobs
    runs_per_period: float | None = None  # recurring jobs: period / every (not whole)
    slots: tuple[tuple[float, float], ...] = ()  # windowed jobs: (release, due) per run, hours
    run_limit_hours: float | None = None  # the longest a run may take (training)
    run_limit_by: str | None = None  # "deadline" | "every" | "window"

    def per_period(self, cost_per_run: float) -> float:
        """What one run's cost adds to the period's total: times its runs per period for a
        recurring job. Exact: rounding the cost per run to the cent first would be off by
        up to half a cent per run ($0.004 an hour is $2.92 a month, not $0.00); the result
        rounds each amount once."""
        if self.runs_per_period is None:
            return cost_per_run
        return cost_per_run * self.runs_per_period


def period_hours(plan: p.Plan) -> float:
    settings = plan.settings
    return settings.period / 3600.0 if settings and settings.period else DEFAULT_PERIOD_HOURS


def window_hours(plan: p.Plan) -> float | None:
    settings = plan.settings
    return settings.window / 3600.0 if settings and settings.window else None


def every_hours(workload: p.Train, period: float) -> float | None:
    """The interval between runs of a recurring job; None for a one-off job."""
    if workload.every is not None:
        return workload.every / 3600.0
    if workload.runs is not None:
        return period / workload.runs
    return None


def scheduled_runs(window: float, start_after: float, every: float | None,
                   deadline: float | None = None) -> int:
    """Runs of a job scheduled in a window: one for a one-off job; for a recurring one,
    those whose slot (to the next release, or to the deadline when sooner) ends inside
    the window, at least one."""
    if every is None:
        return 1
    slot = min(every, deadline) if deadline is not None else every
    room = window - start_after - slot
    return 1 if room < 0 else math.floor(room / every + 1e-9) + 1


def _slots(window: float, start_after: float, every: float | None,
           deadline: float | None) -> tuple[tuple[float, float], ...]:
    out = []
    for k in range(scheduled_runs(window, start_after, every, deadline)):
        release = start_after + k * (every or 0.0)
        due = window
        if every is not None:
            due = min(due, release + every)
        if deadline is not None:
            due = min(due, release + deadline)
        out.append((release, due))
    return tuple(out)


def timing(workload, period: float, window: float | None) -> Timing:
    """The timing of one workload (or sweep variant) of a checked plan."""
    if workload.kind == "serve":
        return Timing(RUN_RATE, period)
    every = every_hours(workload, period)
    deadline = workload.deadline / 3600.0 if workload.deadline is not None else None
    limits = {"deadline": deadline, "every": every}
    slots: tuple[tuple[float, float], ...] = ()
    if window is not None:
        start_after = (workload.start_after or 0.0) / 3600.0
        slots = _slots(window, start_after, every, deadline)
        # the room of the tightest slot, in whole schedule steps as the solver holds it
        room = min(steps_down(due) - steps_up(release) for release, due in slots)
        limits["window"] = max(room, 0) / SCHEDULE_STEPS_PER_HOUR
    known = {k: v for k, v in limits.items() if v is not None}
    limit = min(known.values()) if known else None
    # named after what the plan wrote: a slot's room rounded to whole steps (one step less
    # than the deadline or the interval) is still that deadline or interval
    step = 1.0 / SCHEDULE_STEPS_PER_HOUR
    by = next((k for k in known if known[k] <= limit + step + 1e-9), None) if known else None
    return Timing(
        billing=ONE_OFF if every is None else RUN_RATE,
        period_hours=period,
        every_hours=every,
        runs_per_period=None if every is None else period / every,
        slots=slots,
        run_limit_hours=limit,
        run_limit_by=by,
    )


__all__ = ["DEFAULT_PERIOD_HOURS", "MAX_RUNS_PER_PERIOD", "MAX_SCHEDULED_RUNS", "ONE_OFF", "RUN_RATE",
           "Timing", "every_hours", "period_hours", "scheduled_runs", "timing", "window_hours"]
