"""What ``planner validate`` and ``planner calibrate`` print.

Validate: one line per measured figure (run, workload, figure, measured, estimated, signed
error, where the figure came from and the calibration the estimate used), then the median
absolute error per figure; or the JSON object of docs/calibration.md. Calibrate: per group
its factors (default, fitted, bounds), the typical error before and after, and the notes.
"""

from __future__ import annotations

import io
import json

from rich.console import Console
from rich.table import Table

from planner import units
from planner.calibrate import Outcome, Validation

FORMATS = ("table", "json")


def _value(unit: str, value: float | None) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return units.latency(value)
    if unit == "bytes":
        return units.memory(value)
    if unit == "fraction":
        return units.share(value)
    return units.per_second(value, unit.removesuffix("/s"))


def _console(width: int) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=width, color_system=None, force_terminal=False, markup=False,
                   highlight=False, soft_wrap=False), buffer


def render_validation(v: Validation, fmt: str = "table", width: int = 160) -> str:
    if fmt == "json":
        return json.dumps(v.to_json(), indent=2, ensure_ascii=False) + "\n"
    console, buffer = _console(width)
    console.print(f"validate {v.file}: {len({c.name for c in v.cases})} measured runs, "
                  f"{len(v.cases)} figures (error = estimate / measured - 1)")
    table = Table(title_justify="left")
    for column in ("run", "workload", "GPU", "figure", "measured", "estimated", "error", "from",
                   "calibration"):
        table.add_column(column, overflow="fold")
    for c in v.cases:
        error = "-" if c.error is None else units.percent(c.error * 100)
        table.add_row(c.name, c.workload, c.gpu, c.figure, _value(c.unit, c.measured),
                      _value(c.unit, c.estimated), error, c.source or "written",
                      c.calibration or "-")
    console.print(table)
    if any(c.estimated is None for c in v.cases):
        console.print("  -: the estimator has no such figure for this run (the load is not "
                      "carried, or the layout does not fit)")
    if v.median_abs_error:
        console.print("median |error|: " + ", ".join(
            f"{k} {units.percent(e * 100, signed=False)}" for k, e in v.median_abs_error.items()))
    return buffer.getvalue()


def render_outcome(outcome: Outcome, output: str, width: int = 160) -> str:
    console, buffer = _console(width)
    for group in outcome.groups:
        console.print(f"{group.name}: {len(group.runs)} run{'s' if len(group.runs) != 1 else ''}, "
                      f"{group.fitted.points} figures fitted; typical error "
                      f"{units.percent(group.residual_before * 100, signed=False)} at the defaults, "
                      f"{units.percent(group.residual * 100, signed=False)} calibrated")
        table = Table()
        for column in ("factor", "default", "calibrated", "bounds"):
            table.add_column(column)
        for f in group.factors:
            fitted = group.fitted.values[f.name] if f.name in group.written else None
            table.add_row(f.name, units.factor(f.name, f.default),
                          "-" if fitted is None else units.factor(f.name, fitted),
                          f"{units.factor(f.name, f.low)} to {units.factor(f.name, f.high)}")
        console.print(table)
        for note in outcome.notes[group.name]:
            console.print(f"  {note}")
    if outcome.written:
        console.print(f"wrote {output}: calibration {', '.join(outcome.written)}")
    else:
        console.print(f"{output} not written: no calibration could be fitted")
    return buffer.getvalue()
