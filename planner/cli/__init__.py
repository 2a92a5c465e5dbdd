"""The ``planner`` command line: one module per command, all on one typer app
(``planner.cli.commands``).

Importing this package imports neither typer nor a command: ``main``, the ``planner``
script, runs ``planner check FILE...`` and ``planner solve FILE`` in their plain forms
without typer (``planner.cli.fast``: what pre-commit hooks, editors and CI run most) and
gives every other command line to the typer app. ``planner.cli.app`` is that app, every
command registered, imported when first asked for.
"""

import sys
import types


def main() -> None:
    """The ``planner`` script."""
    from planner.cli.boundary import escape_unencodable
    from planner.cli.fast import plain_run

    escape_unencodable()

    run = plain_run(sys.argv[1:])
    if run is None:
        from planner.cli.commands import main as typer_main

        typer_main()
    else:
        run()


class _Package(types.ModuleType):
    """``planner.cli.app`` is the typer app, every command registered, imported when first
    asked for (``from planner.cli import app``); never the module ``planner/cli/app.py``,
    which the import system binds here when it first imports that module."""

    @property
    def app(self):
        from planner.cli.commands import app

        return app

    @app.setter
    def app(self, value) -> None:
        if value is not sys.modules.get(f"{__name__}.app"):
            raise AttributeError(f"{__name__}.app is the typer app (planner.cli.commands)")


sys.modules[__name__].__class__ = _Package

__all__ = ["app", "main"]
