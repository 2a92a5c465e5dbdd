"""A plan file whose name is not UTF-8, under a strict stdout (a UTF-8 locale other than
C.UTF-8): the name reaches the output as lone surrogates (``os.fsdecode``), which are
written as backslash escapes, never a traceback, on every path that prints or writes it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from support.paths import EXAMPLES

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX file names are bytes")

NAME = b"caf\xe9.plan"  # Latin-1 bytes: not UTF-8
ESCAPED = "caf\\udce9.plan"


@pytest.fixture
def plan(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), NAME)
    with open(path, "wb") as f:
        f.write((EXAMPLES / "shared-pool.plan").read_bytes())
    return os.fsdecode(path)


def _planner(*argv: str, cwd) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONIOENCODING="utf-8:strict")
    script = "import sys; from planner.cli import main; sys.argv[0] = 'planner'; main()"
    return subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, cwd=cwd,
                          env=env)


@pytest.mark.parametrize("argv", [["check"], ["check", "--root", "."]],
                         ids=["without typer", "through typer"])
def test_check_escapes_the_name(plan, tmp_path, argv):
    done = _planner(*argv, os.path.basename(plan), cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert done.stdout.decode("utf-8").startswith(f"{ESCAPED}: ok (")
    assert b"Traceback" not in done.stderr


def test_solve_json_stays_json_and_names_the_file(plan, tmp_path):
    done = _planner("solve", os.path.basename(plan), "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert json.loads(done.stdout.decode("utf-8"))["file"] == os.path.basename(plan)


def test_the_report_file_is_written(plan, tmp_path):
    done = _planner("report", os.path.basename(plan), "-o", "page.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    assert ESCAPED in (tmp_path / "page.html").read_text(encoding="utf-8")
