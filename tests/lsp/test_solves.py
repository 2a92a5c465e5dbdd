"""Background solves of ``planner lsp``: hover on a workload shows its row of the last
solve, a solve runs in the worker process while the server keeps answering, and a
newer edit stops a running solve."""

from __future__ import annotations

import re
import time

import pytest

from planner import api, units
from support.lsp import Session
from support.paths import EXAMPLES

pytestmark = pytest.mark.slow  # each starts a worker process and solves (seconds)


def _solved(session: Session, version: int):
    pattern = re.compile(rf"^planner: solved .* \(version {version}\):")
    return session.wait_for(lambda: [m for m in session.logs if pattern.match(m)], timeout=60)


def _row_cells(plan_text: str, tmp_path, name: str) -> list[str]:
    path = tmp_path / "expected.plan"
    path.write_text(plan_text)
    result = api.solve(api.load(str(path)), file=str(path))
    row = next(r for r in result.workloads if r.name == name)
    return [units.gpus_fit(row), units.layout(row.layout), units.duration(row.hours),
            units.money(row.cost, result.currency)]


def test_hover_shows_the_last_solve_and_says_when_it_is_stale(tmp_path):
    session = Session({"solve": True})
    try:
        text = (EXAMPLES / "tour.plan").read_text()
        uri = session.open(tmp_path / "tour.plan", text)
        line = text.split("\n").index('serve "chat" {')
        _solved(session, 1)
        hover = session.hover(uri, line, 8).contents.value
        expected = _row_cells(text, tmp_path, "chat")
        assert "| chat | " + " | ".join(expected) + " |" in hover
        assert "earlier text" not in hover

        changed = text.replace("users = 16", "users = 64")
        session.change(uri, changed, 2)
        session.published(uri, 2)
        stale = session.hover(uri, line, 8).contents.value
        assert "| chat | " + " | ".join(expected) + " |" in stale  # still the last solve ...
        assert "of an earlier text (version 1)" in stale  # ... said to be of an earlier text
        _solved(session, 2)
        fresh = session.hover(uri, line, 8).contents.value
        assert "| chat | " + " | ".join(_row_cells(changed, tmp_path, "chat")) + " |" in fresh
        assert "earlier text" not in fresh
    finally:
        session.close()


def test_a_newer_edit_stops_the_running_solve(tmp_path):
    session = Session({"solve": True})
    try:
        big = (EXAMPLES / "deepseek-r1.plan").read_text()  # 42 rows: seconds to solve
        uri = session.open(tmp_path / "fleet.plan", big)
        solver = session.server.solver
        session.wait_for(lambda: solver._running is not None and solver._running.version == 1)
        first = solver._process
        started = time.monotonic()
        small = (EXAMPLES / "shared-pool.plan").read_text()
        session.change(uri, small, 2)
        session.wait_for(lambda: first.poll() is not None, timeout=10)  # stopped, not left to finish
        _solved(session, 2)
        assert time.monotonic() - started < 20
        assert not [m for m in session.logs if "(version 1)" in m]  # the stale solve never reported
        assert solver._process is not first
        # and while solving, the server answered: completion needs no solve
        assert session.completion(uri, 0, 0)
    finally:
        session.close()
