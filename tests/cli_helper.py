"""Run the ``planner`` command line in-process, as a user would from a shell."""

from __future__ import annotations

import sys


def run_planner(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """``planner ARGS...`` through ``main()``: (exit code, stdout, stderr)."""
    from planner.cli import main

    monkeypatch.setattr(sys, "argv", ["planner", *args])
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code or 0
    out, err = capsys.readouterr()
    return code, out, err
