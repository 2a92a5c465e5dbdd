"""``planner solve``: the cheapest GPU type, count and layout for every workload."""

import shutil
import sys

import typer

from planner.cli.app import app

# Exit status when the independent checker rejects a solution: a bug in
# planner, distinct from 1 (infeasible plan) and 2 (bad input).
EXIT_INTERNAL = 3


def _usage(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


@app.command()
def solve(
    file: str = typer.Argument(..., help="The plan file to solve.", metavar="FILE"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | markdown | json | csv"),
    objective: str = typer.Option(
        None, "--objective", help="cost | gpus | hours (default: the plan's `objective`)"),
    time_limit: float = typer.Option(10.0, "--time-limit", help="CP-SAT time limit, seconds."),
    explain: bool = typer.Option(
        False, "--explain", help="Add the full memory breakdown and the next 3 alternatives."),
    solver_log: bool = typer.Option(
        False, "--solver-log", help="Print CP-SAT's search log on stderr (for reviewing the model)."),
    dump_model: str = typer.Option(
        None, "--dump-model", metavar="FILE",
        help="Write the CP-SAT model to FILE (.pb binary, anything else text proto)."),
) -> None:
    """Pick the cheapest GPU type, count and layout for every workload of FILE.

    Exit 0 when every workload is placed, 1 when the plan is infeasible (the
    output says why, per workload and GPU type), 2 on bad input.

    Example:

        planner solve examples/deepseek-r1.plan --format markdown --explain
    """
    from planner import api
    from planner.choose.types import OBJECTIVES
    from planner.pipeline import SolveInternalError
    from planner.render import FORMATS

    if fmt not in FORMATS:
        _usage(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if objective is not None and objective not in OBJECTIVES:
        _usage(f"--objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    if not time_limit > 0:
        _usage(f"--time-limit {time_limit}: must be more than 0 seconds")
    log = (lambda line: print(line, file=sys.stderr)) if solver_log else None
    from planner.cli.loading import load_plan_with_warnings

    plan = load_plan_with_warnings(file)
    try:
        result = api.solve(plan, file=file, objective=objective, time_limit=time_limit,
                           explain=explain, solver_log=log, dump_model=dump_model)
    except SolveInternalError as error:
        print("internal error: the checker rejected the solution (a planner bug, please "
              "report it):", file=sys.stderr)
        for violation in error.violations:
            print(f"  {violation}", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)
    width = max(100, shutil.get_terminal_size((160, 40)).columns)
    sys.stdout.write(api.render(result, fmt, explain=explain, width=width))
    sys.exit(result.exit_code)
