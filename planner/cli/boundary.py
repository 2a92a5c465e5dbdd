"""The command line's error boundary, the same with typer or without (``planner.cli.fast``).

Commands raise ``PlanError`` for anything a user wrote or passed; ``guarded`` prints it
as ``path:line:col: error: ...`` with the source line and a caret (``planner.diagnostics``)
and exits 2. Nothing a user can write reaches a traceback.
"""

import io
import sys
from collections.abc import Callable


def escape_unencodable() -> None:
    """Text stdout cannot encode written as backslash escapes, not a traceback: a file name
    whose bytes are not UTF-8 reaches the output as lone surrogates (``os.fsdecode``), which
    a strict stdout (a UTF-8 locale other than C.UTF-8) refuses. Python's stderr already
    escapes them so."""
    stream = sys.stdout
    if isinstance(stream, io.TextIOWrapper) and stream.errors == "strict":
        try:
            stream.reconfigure(errors="backslashreplace")  # flushes first: nothing written yet
        except OSError:  # a reader already gone: the command's first write says so, as before
            pass


def guarded(run: Callable[[], object]) -> None:
    """``run()``, a PlanError printed and turned into exit 2, an interrupt into exit 130."""
    from planner.diagnostics import print_errors
    from planner.errors import PlanError

    try:
        run()
    except PlanError as error:
        print_errors(error, sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
