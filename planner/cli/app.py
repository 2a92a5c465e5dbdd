"""The typer application every command registers on, and the error boundary.

Commands raise ``PlanError`` for anything a user wrote or passed; ``main``
prints it as ``path:line:col: error: ...`` with the source line and a caret
(``planner.diagnostics``) and exits 2. Nothing a user can write reaches a
traceback.
"""

import sys

import typer

from planner import __version__

app = typer.Typer(
    name="planner",
    help="Plan GPU fleets for LLM serving, fine-tuning and pretraining.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"planner {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Plan GPU fleets for LLM serving, fine-tuning and pretraining."""


def main() -> None:
    from planner.diagnostics import print_errors
    from planner.errors import PlanError

    try:
        # Standalone mode: click prints usage errors and exits 2 itself, and
        # turns typer.Exit into the process exit code; PlanError passes through.
        app()
    except PlanError as error:
        print_errors(error, sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)


def load_plan_with_warnings(file: str, root: str | None = None):
    """The checked plan of ``file``, its warnings printed on stderr first
    (``path:line:col: warning: ...``; they never change the exit code)."""
    from planner.diagnostics import print_errors
    from planner.resolve.load import load_plan

    found: list = []
    try:
        return load_plan(str(file), root=root, warnings=found)
    finally:
        for warning in found:
            print_errors(warning, sys.stderr)

