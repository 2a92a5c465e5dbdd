"""Run the ``planner`` command line in-process, as a user would from a shell."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable
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


def run_bytes(main: Callable[[], None], argv: list[str], *, merged: bool) -> tuple[int, bytes, bytes]:
    """(exit code, stdout bytes, stderr bytes) of ``main`` under ``planner ARGV``; stderr into
    stdout's bytes when ``merged`` (``2>&1``). Buffered as in a pipe: stdout written out
    when flushed, stderr at each line, so a missing flush shows as lines out of order."""
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(raw if merged else io.BytesIO(), encoding="utf-8", errors="backslashreplace",
                           line_buffering=True)
    saved = sys.argv, sys.stdout, sys.stderr
    sys.argv, sys.stdout, sys.stderr = ["planner", *argv], out, err
    try:
        main()
        code = 0
    except SystemExit as done:
        code = done.code
    finally:
        sys.argv, sys.stdout, sys.stderr = saved
    out.flush()  # the interpreter's last flushes, stdout first
    err.flush()
    found = code, raw.getvalue(), b"" if merged else err.buffer.getvalue()
    out.detach(), err.detach()  # the byte buffers stay open
    return found


def typer_main() -> Callable[[], None]:
    """The typer app's own entry point (every command line through typer, no fast path)."""
    from planner.cli.commands import main

    return main
