"""The on-disk cache of the analysed grammar and the parsed catalog (planner/cache.py): a run
with a cold, warm, corrupt or switched-off cache prints the same bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from planner import cache
from support.paths import EXAMPLES


def _run(cache_dir: str, *argv: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PLANNER_CACHE_DIR=cache_dir)
    # a process of its own: the grammar and catalog are built once per process
    return subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", *argv],
                          capture_output=True, text=True, env=env, check=False)


def _runs(cache_dir: str, broken: Path) -> list[tuple[int, str, str]]:
    """A solve (its catalog entry) and a check of a broken plan: only text with a mistake is
    parsed by lark (planner/syntax/parser.py), so only it makes lark's entry."""
    done = [_run(cache_dir, "solve", str(EXAMPLES / "tour.plan"), "--format", "json"),
            _run(cache_dir, "check", str(broken))]
    return [(d.returncode, d.stdout, d.stderr) for d in done]


@pytest.mark.slow
def test_cold_warm_corrupt_and_off_print_the_same(tmp_path):
    where = tmp_path / "c"
    broken = tmp_path / "broken.plan"
    broken.write_text('import "std"\nserve "s" { users = }\n')
    cold = _runs(str(where), broken)
    entries = sorted(where.glob("*.pickle"))
    assert [code for code, _, _ in cold] == [0, 2] and "broken.plan:2:21: error" in cold[1][2]
    assert {p.name.split("-")[0] for p in entries} == {"lark", "catalog"}
    warm = _runs(str(where), broken)
    for entry in entries:  # truncated entries, as a crash mid-write by another tool would leave
        entry.write_bytes(entry.read_bytes()[:40])
    corrupt = _runs(str(where), broken)
    off = _runs(cache.OFF, broken)
    assert cold == warm == corrupt == off and not corrupt[0][2]


def test_remembered_builds_once_and_rebuilds_what_it_cannot_read(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANNER_CACHE_DIR", str(tmp_path))
    built = []
    key = cache.digest(["x"])
    assert cache.remembered("t", key, lambda: built.append(1) or {"v": 1}) == {"v": 1}
    assert cache.remembered("t", key, lambda: built.append(2) or {"v": 2}) == {"v": 1}
    cache.entry_path("t", key).write_bytes(b"not a pickle")
    assert cache.remembered("t", key, lambda: built.append(3) or {"v": 3}) == {"v": 3}
    assert built == [1, 3]


def test_a_key_changes_with_the_text_and_the_code(tmp_path):
    code = tmp_path / "m.py"
    code.write_text("A = 1\n")
    first = cache.digest(["text"], [code])
    assert cache.digest(["text "], [code]) != first
    code.write_text("A = 2\n")
    assert cache.digest(["text"], [code]) != first


def test_an_unwritable_directory_costs_only_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("PLANNER_CACHE_DIR", str(blocker / "sub"))  # under a file: cannot be made
    assert cache.remembered("t", "k", lambda: 7) == 7
    assert cache.entry_path("t", "k", make=True) is None


def test_off_keeps_nothing(monkeypatch):
    monkeypatch.setenv("PLANNER_CACHE_DIR", cache.OFF)
    assert cache.cache_dir() is None and cache.entry_path("t", "k") is None
    assert cache.remembered("t", "k", lambda: 5) == 5


def test_the_default_is_the_user_cache_directory(monkeypatch):
    monkeypatch.delenv("PLANNER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache.cache_dir() == Path("/somewhere/planner")
