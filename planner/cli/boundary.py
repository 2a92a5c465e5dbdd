"""The command line's error boundary, the same with typer or without (``planner.cli.fast``).

Commands raise ``PlanError`` for anything a user wrote or passed; ``guarded`` prints it
as ``path:line:col: error: ...`` with the source line and a caret (``planner.diagnostics``)
and exits 2. Nothing a user can write reaches a traceback.
"""

import sys
from collections.abc import Callable


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
