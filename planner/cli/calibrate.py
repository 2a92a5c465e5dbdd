"""``planner validate`` and ``planner calibrate``: a plan's measured runs against its estimates."""

import shutil
import sys

import typer

from planner.cli.app import app


def _usage(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _width() -> int:
    return max(100, shutil.get_terminal_size((160, 40)).columns)


def _measured_plan(file: str):
    """The checked plan of FILE, which must hold a measured block."""
    from planner import api
    from planner.errors import PlanTypeError, Span

    plan = api.load(file)
    if not plan.measured:
        raise PlanTypeError(f"`{file}` has no measured block: write one per run, e.g. "
                            'measured "run-1" { workload = "chat" from = "result.json" layout { ... } }'
                            " (docs/calibration.md)", Span.point(file))
    return plan


@app.command()
def validate(
    file: str = typer.Argument(..., help="A plan with measured blocks.", metavar="FILE"),
    fmt: str = typer.Option("table", "--format", "-f", help="table | json"),
) -> None:
    """Compare every measured figure of FILE with the estimate: the signed error per figure and
    the median absolute error per figure kind. Exit 0; 2 on bad input.

    Example:

        planner validate measured.plan --format json
    """
    from planner import api
    from planner.render.calibration import FORMATS, render_validation

    if fmt not in FORMATS:
        _usage(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    plan = _measured_plan(file)
    sys.stdout.write(render_validation(api.validate(plan, file=file), fmt, width=_width()))


@app.command()
def calibrate(
    file: str = typer.Argument(..., help="A plan with measured blocks.", metavar="FILE"),
    output: str = typer.Option(..., "--output", "-o", metavar="CALIBRATION.plan",
                               help="Where to write the calibration blocks."),
) -> None:
    """Fit the efficiency factors of each GPU type and engine or stack to FILE's measured runs
    (least squares on log error, each factor within its sourced bounds) and write them as
    calibration blocks any plan can import. Exit 0; 2 on bad input.

    Example:

        planner calibrate measured.plan -o calibration.plan
    """
    from planner import api
    from planner.errors import PlanError
    from planner.render.calibration import render_outcome

    plan = _measured_plan(file)
    outcome = api.calibrate(plan, file=file)
    if outcome.written:
        try:
            with open(output, "w", encoding="utf-8", errors="backslashreplace", newline="\n") as handle:
                handle.write(outcome.text)
        except OSError as error:
            raise PlanError(f"cannot write {output}: {error.strerror or error}") from None
    sys.stdout.write(render_outcome(outcome, output, width=_width()))
