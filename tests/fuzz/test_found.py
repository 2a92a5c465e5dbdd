"""The reproducers in tests/fuzz/found pass `check`: their failures lie after it (see README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.cli import run_cli

FOUND = sorted((Path(__file__).parent / "found").glob("*.plan"))


@pytest.mark.parametrize("path", FOUND, ids=[p.stem for p in FOUND])
def test_a_reproducer_passes_check(path):
    assert path.read_text(encoding="utf-8").startswith("# "), "first line: the traceback, as a comment"
    code, out, err = run_cli("check", str(path))
    assert code == 0, err
