"""Run the ``planner`` command line in-process, as a user would from a shell."""

from __future__ import annotations

import contextlib
import io
import sys
from unittest import mock


def run_cli(*args: str) -> tuple[int, str, str]:
    """``planner ARGS...`` through the console entry point: (exit code, stdout, stderr)."""
    from planner.cli import main

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(sys, "argv", ["planner", *args]), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    return code, out.getvalue(), err.getvalue()


def run_planner(*args: str) -> tuple[int, str, str]:
    """``run_cli`` for tests that already hold pytest's monkeypatch and capsys fixtures."""
    return run_cli(*args)
