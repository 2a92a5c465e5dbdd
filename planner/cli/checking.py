"""The body of ``planner check``: one loop over the files, shared by the typer command
(``planner.cli.check``) and the fast path (``planner.cli.fast``). No typer here."""

from collections.abc import Callable, Sequence
from pathlib import Path


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary(plan) -> str:
    """One line on what a valid plan holds."""
    if plan.workloads:
        offered = sum(1 for g in plan.gpus if g.available is not None)
        used = len({w.model for w in plan.workloads})
        parts = [_count(offered, "GPU") + " offered", _count(used, "model") + " used",
                 _count(len(plan.workloads), "workload")]
    else:
        parts = [_count(len(plan.gpus), "GPU"), _count(len(plan.models), "model"), "no workloads"]
    if plan.sweeps:
        parts.append(_count(len(plan.sweeps), "sweep"))
    return ", ".join(parts)


def check_files(files: Sequence[Path], root: str | None, echo: Callable[[str], None]) -> int:
    """Check each file, its errors and warnings on stderr and one line on ``echo``;
    the exit code: 0 when all are valid, 2 otherwise."""
    import sys

    from planner.cli.loading import load_plan_with_warnings
    from planner.diagnostics import print_errors
    from planner.errors import PlanError, PlanErrors

    failed = False
    for file in files:
        try:
            plan = load_plan_with_warnings(str(file), root=root)
        except PlanError as error:
            failed = True
            print_errors(error, sys.stderr)
            n = len(error.errors) if isinstance(error, PlanErrors) else 1
            echo(f"{file}: {_count(n, 'error')}")
            continue
        echo(f"{file}: ok ({summary(plan)})")
    return 2 if failed else 0
