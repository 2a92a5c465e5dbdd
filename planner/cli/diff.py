"""``planner diff OLD.plan NEW.plan`` and ``planner diff --rev REV FILE``."""

import sys
from enum import Enum
from typing import List, Optional

import typer

from planner.cli.app import app


class DiffFormat(str, Enum):
    table = "table"
    markdown = "markdown"
    json = "json"


@app.command("diff")
def diff_command(
    files: List[str] = typer.Argument(
        ..., metavar="OLD.plan NEW.plan | FILE", help="Two plans, or one plan with --rev."
    ),
    rev: Optional[str] = typer.Option(
        None, "--rev", metavar="REV",
        help="Compare FILE (and its imports) as of git revision REV with the working tree.",
    ),
    format: DiffFormat = typer.Option(DiffFormat.table, "--format", "-f", help="Output format."),
    fail_above: Optional[str] = typer.Option(
        None, "--fail-above", metavar="[run-rate:|one-off:]AMOUNT|PERCENT",
        help="Exit 1 when the period's total rises by more than AMOUNT (e.g. 500) or PERCENT "
             "(e.g. 10%); run-rate:10% or one-off:500 watch either part alone.",
    ),
    show_all: bool = typer.Option(False, "--all", help="List unchanged workloads too."),
    max_chars: int = typer.Option(
        65_536, "--max-chars", metavar="N", min=1_000,
        help="Markdown only: keep the comment under N characters (GitHub's limit: 65,536), "
             "listing the rows that move the cost most and saying how many are left out.",
    ),
    time_limit: float = typer.Option(10.0, "--time-limit", help="Seconds per solve."),
) -> None:
    """Show what a change to a plan does to GPUs, layouts, hours and cost, and why."""
    import dataclasses

    from planner import api
    from planner.cli.loading import load_plan_with_warnings
    from planner.diff import git_reader, parse_threshold
    from planner.errors import PlanError
    from planner.render import diffview

    threshold = parse_threshold(fail_above) if fail_above is not None else None
    if rev is not None:
        if len(files) != 1:
            raise PlanError(f"--rev takes one plan file, got {len(files)}: {' '.join(files)}")
        reader, label = git_reader(rev, files[0])
        old = api.solve(api.load(files[0], reader=reader), file=files[0], time_limit=time_limit)
        old = dataclasses.replace(old, file=label)
        new = api.solve(load_plan_with_warnings(files[0]), file=files[0], time_limit=time_limit)
    else:
        if len(files) != 2:
            raise PlanError(
                f"diff takes two plan files (OLD NEW) or one with --rev, got {len(files)}"
            )
        old = api.solve(api.load(files[0]), file=files[0], time_limit=time_limit)
        new = api.solve(load_plan_with_warnings(files[1]), file=files[1], time_limit=time_limit)

    result = api.diff(old, new)
    if format is DiffFormat.json:
        sys.stdout.write(diffview.render_json(result))
    elif format is DiffFormat.markdown:
        from planner.render.comment import fit

        sys.stdout.write(fit(result, lambda d, every: diffview.render_markdown(d, show_all=every),
                             show_all=show_all, limit=max_chars))
    else:
        sys.stdout.write(diffview.render_table(result, show_all=show_all))
    if threshold is not None and threshold.exceeded(result):
        from planner import units as text

        total = threshold.watched(result)
        # "total cost rises by" as before for the default target (CI recipes quote it)
        what = {"total": "total cost", "run-rate": "the run rate",
                "one-off": "the one-off cost"}[threshold.target]
        amount = (text.money_per(total.delta, result.currency, result.period_hours)
                  if threshold.target == "run-rate" else text.money(total.delta, result.currency))
        print(
            f"planner diff: {what} rises by {amount}"
            f" ({text.percent(total.percent)}), more than --fail-above"
            f" {threshold.describe(result.currency)}",
            file=sys.stderr,
        )
        sys.exit(1)
