"""Renderers of the solve result object: table (terminal), markdown, json, csv.

Each takes the typed result (``planner.result.Result``) and returns text; none imports the
search or OR-Tools.
"""

from __future__ import annotations

from planner.render.csv_format import render_csv
from planner.render.json_format import render_json
from planner.render.markdown import render_markdown
from planner.render.table import render_table
from planner.result import Result

FORMATS = ("table", "markdown", "json", "csv")


def render(result: Result, fmt: str = "table", explain: bool = False, width: int = 160) -> str:
    if fmt == "table":
        return render_table(result, explain=explain, width=width)
    if fmt == "markdown":
        return render_markdown(result, explain=explain)
    if fmt == "json":
        return render_json(result, explain=explain)
    if fmt == "csv":
        return render_csv(result, explain=explain)
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "render", "render_csv", "render_json", "render_markdown", "render_table"]
