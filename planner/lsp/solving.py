"""Solves for ``planner lsp``, in a child process, off the editor's event loop.

A solve takes from a tenth of a second to the solver's time limit and holds
the CPU, so it runs in its own process (``spawn``: a fresh interpreter, no
state shared with the server's threads): typing never waits for it. One
worker process serves every document, one job at a time; a newer edit of the
document being solved stops its solve at once by killing the worker (the next
job starts a fresh one), so a stale solve never holds the CPU. A worker that is
idle stays up, so the next solve pays no start-up.

The worker answers with a plain summary of the result (``summary``): per row
the workload, GPUs, layout, time and cost as the table spells them.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
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


def _serve(conn) -> None:
    """The worker: solve each job received, until the pipe closes."""
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(run(job))


def _receive(conn):
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None  # the worker was stopped: the job was superseded


class BackgroundSolver:
    """One worker process, one job at a time (``solve``); ``cancel`` stops a document's solve."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self._process = None
        self._conn = None
        self._running: Job | None = None
        self._lock: asyncio.Lock | None = None
        # a thread waits on the worker's pipe, so the event loop never blocks on it
        self._waiter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="planner-solve")

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child,), daemon=True,
                                        name="planner-lsp-solver")
        process.start()
        child.close()
        self._process, self._conn = process, parent

    def _stop(self) -> None:
        """Kill the worker; the thread waiting on its pipe then reads end-of-file."""
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
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
            if self._process is None or not self._process.is_alive():
                self._start()
            conn = self._conn
            self._running = job
            try:
                conn.send(job)
                answer = await asyncio.get_running_loop().run_in_executor(self._waiter, _receive, conn)
            except asyncio.CancelledError:
                self._stop()
                raise
            except (OSError, EOFError):
                answer = None
            finally:
                self._running = None
                if self._process is None or not self._process.is_alive():
                    # closed by the waiting thread once it has read the end of the pipe
                    self._waiter.submit(conn.close)
            return answer

    def close(self) -> None:
        self._stop()
        self._waiter.shutdown(wait=False, cancel_futures=True)
