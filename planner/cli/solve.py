"""``planner solve``: the cheapest GPU type, count and layout for every workload."""

import typer

from planner.cli.app import app


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
    from planner.cli.solving import solve_file

    solve_file(file, fmt, objective, time_limit, explain, solver_log, dump_model)
