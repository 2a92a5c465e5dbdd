"""What ``planner diff`` says beyond GPUs and cost about periods: a job's repeats and
schedule, and a row's share of the run rate and of the one-offs (a service's latency and
headroom are ``planner.diff``'s ``ServiceShown``).

Pure functions on the typed rows (``planner.result.Row``); ``planner.diff`` assembles them.
Every number is spelled by ``planner.units``.
"""

from __future__ import annotations

from planner import units as text
from planner.result import Row


def _repeats(row: Row) -> str:
    return "once" if row.every_hours is None else f"every {text.duration(row.every_hours)}"


def schedule_changes(old: Row | None, new: Row | None) -> list[str]:
    """A job's repeats and, in a window, its runs: how many, and when the first starts."""
    if (new or old).kind == "serve" or old is None or new is None:
        return []
    out = []
    if _repeats(old) != _repeats(new):
        out.append(f"repeats {_repeats(old)} → {_repeats(new)}")
    a, b = old.schedule or (), new.schedule or ()
    if len(a) != len(b) and (a or b):
        out.append(f"runs in the window {len(a)} → {len(b)}")
    if a and b and text.moment(a[0].start_hours) != text.moment(b[0].start_hours):
        out.append(f"starts {text.moment(a[0].start_hours)} → {text.moment(b[0].start_hours)}")
    elif a and b and [r.start_hours for r in a] != [r.start_hours for r in b]:
        out.append("later runs start at other times")
    return out


def shares(row: Row | None) -> tuple[float, float]:
    """(run rate, one-off) a placed row adds to the period's total."""
    if row is None or not row.fits or row.cost is None:
        return 0.0, 0.0
    return (row.cost, 0.0) if row.billing == "run-rate" else (0.0, row.cost)


__all__ = ["schedule_changes", "shares"]
