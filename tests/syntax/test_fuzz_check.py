"""Random and mutated plan text through `planner check`: exit 0 or 2 with a message, never a traceback."""

from __future__ import annotations

import pytest

import contextlib
import io
import sys
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from support.paths import ROOT

SHIPPED = [p.read_text(encoding="utf-8") for p in
           sorted((ROOT / "examples").glob("*.plan")) + sorted((ROOT / "specs").glob("*.plan"))]
PIECES = ['"', "{", "}", "[", "]", "=", "<=", ",", ".", "#", "\n", " ", "1", "0", "-3", "8k", "1B", "1GB",
          "50ms", "/h", "USD/h", "tokens", "gpu", "model", "serve", "sweep", "import", '"std"', "layout",
          "true", "1e999", "\x00", "é", "\t", "%", "users", "dataset", "tp"]


def check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.plan"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(sys, "argv", ["planner", "check", str(path)]), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as done:
                code = done.code
    assert code in (0, 2), (code, data)
    if code == 0:
        assert ": ok (" in out.getvalue()
    else:
        assert "error: " in err.getvalue() and "Traceback" not in err.getvalue()


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(SHIPPED))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "replace", "duplicate"]))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif op == "insert":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
        elif op == "replace":
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at + draw(st.integers(1, 8)):]
        else:
            line_start = text.rfind("\n", 0, at) + 1
            line_end = text.find("\n", at)
            line_end = len(text) if line_end < 0 else line_end
            text = text[:line_end] + "\n" + text[line_start:line_end] + text[line_end:]
    return text.encode("utf-8")


FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.slow
@FUZZ
@given(mutated())
def test_mutated_shipped_plans(data):
    check(data)


@pytest.mark.slow
@FUZZ
@given(st.lists(st.sampled_from(PIECES), max_size=40).map(lambda parts: " ".join(parts).encode("utf-8")))
def test_random_token_soup(data):
    check(data)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_random_bytes_and_text(data):
    check(data)
