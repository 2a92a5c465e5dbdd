"""A progress display on stderr for long solves and sweeps.

``with progress("solving", total=n) as tick: ... tick()`` shows a rich progress
bar on stderr, but only once the work has run for ``delay`` seconds (so quick
solves print nothing) and only when stderr is a terminal (so logs, pipes and
CI output stay clean). The bar is transient: it is erased when the work ends.
``tick(n=1, detail=None)`` advances by ``n`` and may name the current step.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO

# Work shorter than this shows nothing: one second, the threshold.
DEFAULT_DELAY_SECONDS = 1.0


def _silent(n: int = 1, detail: str | None = None) -> None:
    """The tick of a display that is off."""


def may_be_terminal(stream: TextIO) -> bool:
    """False only where rich's ``Console.is_terminal`` (rich 13-14) is False too: neither
    TTY_COMPATIBLE nor FORCE_COLOR in the environment, and a stream that is not a tty."""
    if "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True  # rich decides
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty is not None and isatty())
    except ValueError:  # a closed stream: rich says False too
        return False


@contextmanager
def progress(
    label: str,
    total: int | None = None,
    *,
    stream: TextIO | None = None,
    delay: float = DEFAULT_DELAY_SECONDS,
    force_terminal: bool | None = None,
) -> Iterator[Callable[..., None]]:
    """Yield ``tick``; draw on ``stream`` (stderr) after ``delay`` seconds if it is a terminal."""
    stream = stream or sys.stderr
    if force_terminal is None and not may_be_terminal(stream):
        yield _silent  # as rich would decide, without importing it (json in CI: no rich at all)
        return
    from rich.console import Console

    console = Console(file=stream, force_terminal=force_terminal)
    if not console.is_terminal:
        yield _silent
        return

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = [TextColumn("[bold]{task.description}"), BarColumn()]
    if total is not None:
        columns.append(MofNCompleteColumn())
    columns.append(TimeElapsedColumn())
    bar = Progress(*columns, console=console, transient=True)
    task = bar.add_task(label, total=total)
    lock = threading.Lock()
    state = {"started": False, "done": False}

    def start() -> None:
        with lock:
            if not state["done"] and not state["started"]:
                state["started"] = True
                bar.start()

    def tick(n: int = 1, detail: str | None = None) -> None:
        description = f"{label}: {detail}" if detail else label
        bar.update(task, advance=n, description=description)

    timer = None
    if delay <= 0:
        start()
    else:
        timer = threading.Timer(delay, start)
        timer.daemon = True
        timer.start()
    try:
        yield tick
    finally:
        if timer is not None:
            timer.cancel()
        with lock:
            state["done"] = True
            if state["started"]:
                bar.stop()
