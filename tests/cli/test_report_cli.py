"""planner report on a solved plan importing "std", and the progress display."""

from __future__ import annotations

import io

import pytest

from planner.progress import may_be_terminal, progress
from planner import units as text
from support.cli import run_cli as _run

PLAN = """import "std"
plan "page" { objective = cost }
gpu "A10G" { available = 8  price = 1.00/h }
gpu "A100-80G" { available = 8  price = 1.79/h }
model "r1-7b" { like = "DeepSeek-R1-Distill-Qwen-7B" }
serve "chat" {
  model = "r1-7b"  users = 4  context = 8k  weights = int4
  layout { gpu = "A10G"  count = 1  tp = 1  replicas = 1 }
}
finetune "tune" { model = "r1-7b"  method = qlora  dataset = 10MB  seq_len = 2k }
sweep "tune".dataset = [10MB, 1GB]
"""


def test_report_of_a_solved_plan(tmp_path, monkeypatch, capsys):
    from planner.pipeline import solve_file

    plan = tmp_path / "page.plan"
    plan.write_text(PLAN)
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    code, out, err = _run("report", str(plan), "-o", str(page))
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    result = solve_file(str(plan)).to_json()
    for row in result["workloads"]:
        assert row["name"] in html
        assert text.money(row["cost"], "USD") in html
    # chat: pinned to one A10G for 730 h at $1.00
    assert "$730.00" in html
    assert 'aria-label="cost vs dataset"' in html and 'aria-label="GPUs vs dataset"' in html
    # same plan, same bytes
    code, again, _ = _run("report", str(plan))
    assert code == 0 and again == html


def test_report_unwritable_output_exits_2(tmp_path, monkeypatch, capsys):
    plan = tmp_path / "page.plan"
    plan.write_text(PLAN)
    code, _, err = _run("report", str(plan), "-o", str(tmp_path / "no" / "dir" / "r.html"))
    assert code == 2 and "cannot write" in err


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_silent_off_a_terminal():
    stream = io.StringIO()
    with progress("solving", total=3, stream=stream, delay=0) as tick:
        for _ in range(3):
            tick()
    assert stream.getvalue() == ""


class _ClosedStream(io.StringIO):
    def isatty(self) -> bool:
        raise ValueError("I/O operation on closed file")


@pytest.mark.parametrize("force_color", [None, "", "1"])
@pytest.mark.parametrize("tty_compatible", [None, "0", "1"])
@pytest.mark.parametrize("stream", [io.StringIO, _Tty, _ClosedStream])
def test_off_a_terminal_is_decided_as_rich_decides_it(monkeypatch, force_color, tty_compatible, stream):
    """``may_be_terminal`` skips rich only where rich's own answer is "not a terminal"."""
    from rich.console import Console

    for name, value in (("FORCE_COLOR", force_color), ("TTY_COMPATIBLE", tty_compatible)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    s = stream()
    if not may_be_terminal(s):
        assert not Console(file=s).is_terminal
    if force_color is None and tty_compatible is None:  # plain streams: rich need not be asked
        assert may_be_terminal(s) == (stream is _Tty)


def test_progress_draws_on_a_terminal_and_erases_itself():
    stream = _Tty()
    with progress("sweeping", total=2, stream=stream, delay=0, force_terminal=True) as tick:
        tick(detail="dataset=1GB")
        tick()
    shown = stream.getvalue()
    assert "sweeping" in shown and "2/2" in shown
    # transient: the last thing written moves the cursor back over the bar
    assert "\x1b[" in shown.rsplit("2/2", 1)[1]


def test_progress_stays_hidden_for_work_shorter_than_the_delay():
    stream = _Tty()
    # the delay is far longer than this block, so the timer never draws
    with progress("solving", stream=stream, delay=3600, force_terminal=True) as tick:
        tick()
    assert stream.getvalue() == ""
