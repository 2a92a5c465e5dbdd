"""Load a plan for a command, its warnings printed first. No typer here: ``planner check``'s
fast path (``planner.cli.fast``) loads plans through this too."""

import sys


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
