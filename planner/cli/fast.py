"""``planner check FILE...`` and ``planner solve FILE`` without typer: what pre-commit
hooks and editors run on every save, and what CI runs on every plan.

Importing typer and click and building the command tree cost a fifth of ``check``'s
instructions and 0.12 G of every ``solve`` (README.md, "Start-up"). For the plain forms
(``planner check`` and one or more files, ``planner solve`` and one file; no option, in
an ordinary environment) the typer app would parse nothing but the file names, so this
runs the same bodies (``planner.cli.checking.check_files``,
``planner.cli.solving.solve_file``) directly and does what the typer path does around
them (typer 0.28's ``core._main``, click's standalone mode, ``typer.echo``):

- each FILE of ``check`` becomes a ``pathlib.Path`` (so ``./a//b.plan`` prints as
  ``a/b.plan``); ``solve``'s FILE stays the string it was (a ``str`` parameter);
- a FILE of ``check`` that exists but is not readable is a usage error there: such a
  command line goes to typer;
- each line ``check`` prints is written and flushed (``click.echo``); ``solve`` writes
  its answer on ``sys.stdout`` itself, under typer too;
- an interrupt exits 130 (the boundary's, as typer's ``Exit(130)``); a broken pipe
  (EPIPE) exits 1 with stdout and stderr wrapped so the interpreter's last flush is
  silent; an ``EOFError`` prints an empty line and typer's "Aborted." on stderr, exit 1;
- ``sys.exit(code)`` ends the run, a ``PlanError`` is the boundary's (``planner.cli.boundary``).

Anything else goes to the typer app, so its behaviour stays typer's by construction:
any argument starting with ``-`` (options, ``--help``, ``--``, ``-``), no file (or more
than one for ``solve``), a shell completion request in the environment, and Windows
(click expands wildcards in the arguments there, and wraps the console); for ``check``
also a file name with an escape character (click strips ANSI codes when stdout is not a
terminal) or one stdout cannot encode, and a stdout click would re-wrap (an ASCII one)
or does not have.
"""

import codecs
import errno
import io
import os
import sys
from collections.abc import Callable
from pathlib import Path


def plain_run(args: list[str]) -> Callable[[], None] | None:
    """What runs ``args`` (the arguments after the program name) without typer, exactly as
    typer would, or None when the typer app must."""
    files = plain_check_files(args)
    if files is not None:
        return lambda: run_check(files)
    file = plain_solve_file(args)
    if file is not None:
        return lambda: run_solve(file)
    return None


def _plain_arguments(args: list[str], command: str) -> list[str] | None:
    """The arguments after ``command`` when ``args`` is ``command`` and file names only,
    in an environment where typer would take them as they are; else None."""
    if len(args) < 2 or args[0] != command or os.name == "nt":  # click expands globs on Windows
        return None
    names = args[1:]
    if any(name.startswith("-") for name in names):
        return None
    if any(key.endswith("_COMPLETE") for key in os.environ):  # click's _{PROG}_COMPLETE
        return None
    return names


def plain_solve_file(args: list[str]) -> str | None:
    """The file of ``planner solve FILE`` when the fast path runs it exactly as typer
    would, else None."""
    names = _plain_arguments(args, "solve")
    return names[0] if names is not None and len(names) == 1 else None


def plain_check_files(args: list[str]) -> list[Path] | None:
    """The files of ``planner check FILE...`` (``args``: the arguments after the program
    name) when the fast path runs it exactly as typer would, else None."""
    names = _plain_arguments(args, "check")
    if names is None or any("\x1b" in name for name in names):
        return None
    if not _stdout_as_click_uses_it(names):
        return None
    files = [Path(name) for name in names]
    for file in files:  # typer's Path parameter: readable=True, checked when the path exists
        try:
            os.stat(file)
        except OSError:
            continue
        if not os.access(file, os.R_OK):
            return None
    return files


def _stdout_as_click_uses_it(names: list[str]) -> bool:
    """Whether ``click.echo`` writes to ``sys.stdout`` itself, and the lines it gets can be
    encoded there. click re-wraps a stdout whose encoding is ASCII (or unset) in UTF-8 with
    errors replaced, unless it has no binary buffer to wrap (``io.StringIO``)."""
    stream = sys.stdout
    if stream is None:
        return False
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        ascii_stream = codecs.lookup(encoding).name == "ascii"
    except LookupError:
        return False
    if ascii_stream:
        return type(stream) is io.StringIO
    if not isinstance(stream, io.TextIOWrapper):  # click writes bytes to a binary stdout
        return False
    try:
        "".join(str(Path(name)) for name in names).encode(encoding, getattr(stream, "errors", None) or "strict")
    except (UnicodeError, LookupError):
        return False
    return True


def _echo(line: str) -> None:
    """``typer.echo(line)`` to a stdout it uses as is, no ANSI code in the line."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def run_check(files: list[Path]) -> None:
    """``planner check FILES`` as the typer app runs it; exits with its code."""
    from planner.cli.boundary import guarded
    from planner.cli.checking import check_files

    guarded(lambda: _as_click_standalone(lambda: sys.exit(check_files(files, None, _echo))))


def run_solve(file: str) -> None:
    """``planner solve FILE`` as the typer app runs it; exits with its code."""
    from planner.cli.boundary import guarded
    from planner.cli.solving import solve_file

    guarded(lambda: _as_click_standalone(lambda: solve_file(file)))


def _as_click_standalone(body: Callable[[], None]) -> None:
    """``body()``, which ends in ``sys.exit``, with typer's answers to an end of input
    and a broken pipe."""
    try:
        body()
    except EOFError:
        _abort_as_typer()
    except OSError as error:
        if error.errno != errno.EPIPE:
            raise
        _pacify_broken_pipe()


def _pacify_broken_pipe() -> None:
    """click's answer to EPIPE: stdout and stderr wrapped so the interpreter's last flush
    stays silent, exit 1. Only on a broken pipe, so importing typer here costs nothing."""
    utils = _typers_click().utils
    sys.stdout = utils.PacifyFlushWrapper(sys.stdout)
    sys.stderr = utils.PacifyFlushWrapper(sys.stderr)
    sys.exit(1)


def _abort_as_typer() -> None:
    """typer's answer to an EOFError (``core._main``): an empty line, then rich's "Aborted."
    (the app's markup mode is typer's default, rich unless ``TYPER_USE_RICH`` says no) or
    click's "Aborted!" on stderr, exit 1. Only on that error, so importing typer costs nothing."""
    from typer import core

    click = _typers_click()
    click.echo(file=sys.stderr)
    if core.DEFAULT_MARKUP_MODE is not None:
        from typer import rich_utils

        rich_utils.rich_abort_error()
    else:
        click.echo("Aborted!", file=sys.stderr)
    sys.exit(1)


def _typers_click():
    """The click typer runs on: its own copy in recent typers (``typer._click``), else click."""
    from typer import core

    return getattr(core, "_click", None) or core.click
