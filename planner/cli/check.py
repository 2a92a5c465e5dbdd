"""``planner check`` and ``planner fmt``.

``check``'s body is ``planner.cli.checking.check_files``, which ``planner check FILE...``
also runs without typer (``planner.cli.fast``)."""

import sys
from pathlib import Path
from typing import Optional

import typer

from planner.cli.app import app
from planner.diagnostics import print_errors
from planner.errors import PlanError


@app.command()
def check(
    files: list[Path] = typer.Argument(..., help="Plan files to check.", metavar="FILE"),
    root: Optional[Path] = typer.Option(
        None, "--root", metavar="DIR", exists=True, file_okay=False, dir_okay=True,
        help="Directory the plans' imports and configs must stay inside "
             "(default: the git repository holding each plan, or its directory)."),
) -> None:
    """Check plan files: syntax, units, names, imports, pins, sweeps. Exit 0 when all are valid, 2 otherwise.

    Example:

        planner check examples/tour.plan
    """
    from planner.cli.checking import check_files

    sys.exit(check_files(files, None if root is None else str(root), typer.echo))


@app.command()
def fmt(
    files: list[Path] = typer.Argument(..., help="Plan files to format.", metavar="FILE"),
    write: bool = typer.Option(False, "--write", help="Rewrite the files in place."),
    check_only: bool = typer.Option(False, "--check", help="Change nothing; exit 1 if a file is not canonical."),
) -> None:
    """Print plan files in canonical form (comments kept); --write rewrites them, --check only tests.

    Example:

        planner fmt --write examples/tour.plan
    """
    from planner.diagnostics import SourceLines, attach_lines
    from planner.resolve.files import read_file  # what load.read_text reads from disk
    from planner.syntax.fmt import format_text

    if write and check_only:
        typer.echo("error: use --write or --check, not both", err=True)
        sys.exit(2)
    failed = False
    changed = False
    for file in files:
        text = None
        try:
            text = read_file(str(file))
            formatted = format_text(text, str(file))
        except PlanError as error:
            failed = True
            if text is not None:
                attach_lines(error, {str(file): SourceLines(text)})
            print_errors(error, sys.stderr)
            continue
        if check_only:
            if formatted != text:
                changed = True
                typer.echo(f"{file}: not canonical (run `planner fmt --write {file}`)")
        elif write:
            if formatted != text:
                try:
                    file.write_text(formatted, encoding="utf-8")
                except OSError as error:
                    failed = True
                    typer.echo(f"{file}: cannot write: {error.strerror or error}", err=True)
                    continue
                typer.echo(f"{file}: reformatted")
        else:
            sys.stdout.write(formatted)
    sys.exit(2 if failed else 1 if changed else 0)
