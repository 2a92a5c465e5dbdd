"""The terminal table (rich): one table per workload, a sweep as one table."""

from __future__ import annotations

from planner.result import Result, Row

import io

from rich.console import Console
from rich.table import Table

from planner.render import common as c


def render_table(result: Result, explain: bool = False, width: int = 160) -> str:
    buffer = io.StringIO()
    # markup off: a scenario label "tune [dataset=1GB]" is text, not a rich style tag
    console = Console(file=buffer, width=width, color_system=None, force_terminal=False, markup=False,
                      highlight=False, soft_wrap=False)
    currency = result.currency
    console.print(c.headline(result))
    for line in c.gpu_lines(result):
        console.print(f"  {line}")
    for line in result.binding:
        console.print(f"  binding: {line}")
    for name, rows in c.groups(result):
        header, body = c.columns(rows, currency, result.period_hours)
        first = rows[0]
        table = Table(title=f"{name} ({first.kind}, {first.model})", title_justify="left")
        for col in header:
            table.add_column(col, overflow="fold")
        for cells in body:
            table.add_row(*cells)
        console.print()
        console.print(table)
        for row in rows:
            _notes(console, row, explain, currency, len(rows) > 1, result.period_hours)
    return buffer.getvalue()


def _notes(console: Console, row: Row, explain: bool, currency: str, label: bool,
           period: float) -> None:
    who = c.label(row) + ": " if label else ""
    for line in c.schedule_lines(row):
        console.print(f"  {who}{line}")
    # the choice is in the row; below it, up to 3 reasons (the deciding one first)
    reasons = row.reasons if (explain or not row.fits) else row.reasons[1:4]
    for reason in reasons:
        console.print(f"  {who}{reason}")
    calibrated = c.calibration_line(row)
    if calibrated:
        console.print(f"  {who}{calibrated}")
    if not explain:
        return
    parts = c.breakdown(row)
    if parts:
        console.print(f"  {who}memory per GPU: " + ", ".join(f"{k} {v}" for k, v in parts))
    for alt in row.alternatives:
        console.print(f"  {who}alternative: {c.alternative_line(alt, currency, row, period)}")
