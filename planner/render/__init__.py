"""Renderers of the solve result object: table (terminal), markdown, json, csv.

Each takes the typed result (``planner.result.Result``) and returns text; none imports the
search or OR-Tools.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.result import Result

FORMATS = ("table", "markdown", "json", "csv")


def render(result: Result, fmt: str = "table", explain: bool = False, width: int = 160) -> str:
    # Each format is imported when asked for: the table's rich is not loaded for json or csv.
    if fmt == "table":
        from planner.render.table import render_table

        return render_table(result, explain=explain, width=width)
    if fmt == "markdown":
        from planner.render.markdown import render_markdown

        return render_markdown(result, explain=explain)
    if fmt == "json":
        from planner.render.json_format import render_json

        return render_json(result, explain=explain)
    if fmt == "csv":
        from planner.render.csv_format import render_csv

        return render_csv(result, explain=explain)
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


__all__ = ["FORMATS", "render"]
