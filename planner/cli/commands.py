"""The typer app with every command registered on it, and its entry point.

The command modules do without ``from __future__ import annotations``: typer reads every
command's parameter annotations on each start, and evaluating them from strings cost
about 3 ms of every command.
"""

from planner.cli.app import app, main

# Each command module registers its commands on ``app`` when imported.
import planner.cli.diff  # noqa: F401, E402
import planner.cli.report  # noqa: F401, E402
import planner.cli.export  # noqa: F401, E402
import planner.cli.check  # noqa: F401, E402
import planner.cli.specs  # noqa: F401, E402
import planner.cli.solve  # noqa: F401, E402
import planner.cli.calibrate  # noqa: F401, E402
import planner.cli.estimate  # noqa: F401, E402
import planner.cli.lsp  # noqa: F401, E402

__all__ = ["app", "main"]
