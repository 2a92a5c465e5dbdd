"""The terminal table: one table per workload, a sweep as one table.

The text is rich's (a ``rich.table.Table`` per workload on a console of ``width`` columns,
no colour), built by ``planner.render.terminal.Screen``: the same bytes, in time linear in
the rows with a small constant.
"""

from __future__ import annotations

from planner.collector import paused
from planner.render import common as c
from planner.render.terminal import Screen
from planner.result import Result, Row


def render_table(result: Result, explain: bool = False, width: int = 160) -> str:
    with paused():  # a fleet's tables allocate much and make no cycles (planner.collector)
        return _render(result, explain, width)


def _render(result: Result, explain: bool, width: int) -> str:
    screen = Screen(width)
    currency = result.currency
    screen.line(c.headline(result))
    for line in c.gpu_lines(result):
        screen.line(f"  {line}")
    for line in result.binding:
        screen.line(f"  binding: {line}")
    for name, rows in c.groups(result):
        header, body = c.columns(rows, currency, result.period_hours)
        first = rows[0]
        screen.blank()
        screen.table(f"{name} ({first.kind}, {first.model})", header, body)
        for row in rows:
            _notes(screen, row, explain, currency, len(rows) > 1, result.period_hours)
    return screen.text()


def _notes(screen: Screen, row: Row, explain: bool, currency: str, label: bool,
           period: float) -> None:
    who = c.label(row) + ": " if label else ""
    for line in c.schedule_lines(row):
        screen.line(f"  {who}{line}")
    # the choice is in the row; below it, up to 3 reasons (the deciding one first)
    reasons = row.reasons if (explain or not row.fits) else row.reasons[1:4]
    for reason in reasons:
        screen.line(f"  {who}{reason}")
    calibrated = c.calibration_line(row)
    if calibrated:
        screen.line(f"  {who}{calibrated}")
    if not explain:
        return
    parts = c.breakdown(row)
    if parts:
        screen.line(f"  {who}memory per GPU: " + ", ".join(f"{k} {v}" for k, v in parts))
    for alt in row.alternatives:
        screen.line(f"  {who}alternative: {c.alternative_line(alt, currency, row, period)}")
