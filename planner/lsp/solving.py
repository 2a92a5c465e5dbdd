"""Solves for ``planner lsp``, in a child process, off the editor's event loop.

A solve takes from a tenth of a second to the solver's time limit and holds
the CPU, so it runs in its own process (``python -m planner.lsp.solving``: a fresh interpreter, no
state shared with the server): typing never waits for it. One
worker process serves every document, one job at a time; a newer edit of the
document being solved stops its solve at once by killing the worker (the next
job starts a fresh one), so a stale solve never holds the CPU. A worker that is
idle stays up, so the next solve pays no start-up.

The worker answers with a plain summary of the result (``summary``): per row
the workload, GPUs, layout, time and cost as the table spells them.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO

from planner.frozen import frozen


@frozen
class Job:
    """A solve the editor asked for: the document's texts at one version."""

    uri: str
    version: int
    path: str
    texts: dict[str, str]
    root: str | None
    time_limit: float


def summary(result) -> dict:
    """What hover shows of a ``Result``: strings as ``planner solve``'s table writes them."""
    from planner import units

    rows = [{
        "name": row.name, "label": units.label(row), "kind": row.kind, "fits": row.fits,
        "gpus": units.gpus_fit(row), "layout": units.layout(row.layout),
        "time": units.duration(row.hours), "cost": units.money(row.cost, result.currency),
        "decided_by": row.decided_by or "", "reasons": list(row.reasons[:3]),
    } for row in result.workloads]
    return {"status": result.status, "total": units.money(result.total_cost, result.currency),
            "rows": rows}


def run(job: Job) -> dict:
    """Load and solve ``job`` here (the worker's side): ``{"summary": ...}`` or ``{"error": ...}``."""
    from planner import api
    from planner.errors import PlanError
    from planner.resolve.load import load_traced

    started = time.monotonic()
    try:
        traced = load_traced(job.path, job.texts, job.root)
        if traced.plan is None:
            n = len(traced.errors)
            return {"error": f"the plan has {n} error{'s' if n != 1 else ''}"}
        result = api.solve(traced.plan, file=job.path, time_limit=job.time_limit)
    except PlanError as error:
        return {"error": str(error)}
    except Exception as error:  # a planner bug: reported in the editor's log, the server goes on
        return {"error": f"internal error in the solve: {type(error).__name__}: {error}"}
    return {"summary": summary(result), "seconds": round(time.monotonic() - started, 3)}


def serve(requests: BinaryIO, answers: BinaryIO) -> None:
    """The worker: solve each job read (pickled) from ``requests``, until it ends."""
    while True:
        try:
            job = pickle.load(requests)
        except (EOFError, OSError, pickle.UnpicklingError):
            return
        pickle.dump(run(job), answers)
        answers.flush()


def _receive(stream: BinaryIO):
    try:
        return pickle.load(stream)
    except (EOFError, OSError, pickle.UnpicklingError):
        return None  # the worker was stopped: the job was superseded


class BackgroundSolver:
    """One worker process, one job at a time (``solve``); ``cancel`` stops a document's solve."""

    def __init__(self) -> None:
        self._process: subprocess.Popen | None = None
        self._running: Job | None = None
        self._lock: asyncio.Lock | None = None
        # a thread waits on the worker's answers, so the event loop never blocks on them
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner-solve")

    def _start(self) -> None:
        # A fresh interpreter running this module (not multiprocessing: nothing of the
        # server's main module or threads is carried over); its stderr is the server's log.
        self._process = subprocess.Popen([sys.executable, "-m", "planner.lsp.solving"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def _stop(self) -> None:
        """Kill the worker; the thread waiting on its answers then reads end-of-file."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            self._process = None

    def cancel(self, uri: str) -> None:
        """Stop the running solve of ``uri``, if it is running."""
        if self._running is not None and self._running.uri == uri:
            self._stop()

    async def solve(self, job: Job) -> dict | None:
        """The worker's answer to ``job``; None when the solve was stopped before it ended."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._start()
            process = self._process
            self._running = job
            try:
                pickle.dump(job, process.stdin)
                process.stdin.flush()
                answer = await asyncio.get_running_loop().run_in_executor(self._waiter, _receive, process.stdout)
            except asyncio.CancelledError:
                self._stop()
                raise
            except OSError:
                answer = None
            finally:
                self._running = None
                if process.poll() is not None:
                    # closed by the waiting thread once it has read the end of the pipe
                    self._waiter.submit(_close, process)
            return answer

    def close(self) -> None:
        self._stop()
        self._waiter.shutdown(wait=False, cancel_futures=True)


def _close(process: subprocess.Popen) -> None:
    for stream in (process.stdin, process.stdout):
        try:
            stream.close()
        except OSError:
            pass


def _worker_main() -> None:
    # Answers go to the pipe that was stdout; anything else written to stdout, by Python or
    # by a native library, goes to stderr (the server's log) and cannot corrupt an answer.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    _worker_main()
