"""The ``planner`` command line: one module per command, all on one app."""

from planner.cli.app import app, main

# Each command module registers its commands on ``app`` when imported.

__all__ = ["app", "main"]
