"""The typer application every command registers on, and its entry point within the error
boundary (``planner.cli.boundary``). ``planner.cli.commands`` registers every command; the
``planner`` script itself is ``planner.cli.main``.
"""

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
    """The typer app within the error boundary: click prints usage errors and exits 2 itself
    (standalone mode) and turns typer.Exit into the exit code; a PlanError passes through to
    the boundary."""
    from planner.cli.boundary import guarded

    guarded(app)
