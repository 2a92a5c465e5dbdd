"""The ``planner`` command line: one module per command, all on one app.

The command modules do without ``from __future__ import annotations``: typer reads every
command's parameter annotations on each start, and evaluating them from strings cost
about 3 ms of every command.
"""

from planner.cli.app import app, main

# Each command module registers its commands on ``app`` when imported.
from planner.cli import diff, report, export  # noqa: F401
from planner.cli import check  # noqa: F401
from planner.cli import specs  # noqa: F401
from planner.cli import solve  # noqa: F401
from planner.cli import calibrate  # noqa: F401
from planner.cli import estimate  # noqa: F401
from planner.cli import lsp  # noqa: F401

__all__ = ["app", "main"]
