"""``planner report FILE -o report.html``: one self-contained HTML page."""

import sys
from typing import Optional

import typer

from planner.cli.app import app


@app.command("report")
def report_command(
    file: str = typer.Argument(..., metavar="FILE", help="The plan to solve and report."),
    output: Optional[str] = typer.Option(
        None, "--output", "-o", metavar="report.html", help="Where to write the page (default: stdout)."
    ),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds for the solve."),
) -> None:
    """Write the solution as one HTML page: table, memory and cost charts, sweeps."""
    from planner import api
    from planner.errors import PlanError

    from planner.cli.loading import load_plan_with_warnings

    result = api.solve(load_plan_with_warnings(file), file=file, time_limit=time_limit)
    page = api.report(result)
    if output is None:
        sys.stdout.write(page)
    else:
        try:
            with open(output, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
                handle.write(page)
        except OSError as error:
            raise PlanError(f"cannot write {output}: {error.strerror or error}") from None
    # The page is written either way; an infeasible plan still exits 1, as solve does.
    if result.exit_code:
        sys.exit(result.exit_code)
