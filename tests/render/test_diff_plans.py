"""planner diff end to end: real plans importing "std", solved, diffed; git revisions; exit codes.

Serving rows are pinned to one A10G so their cost is exactly price x 730 h
(SERVICE_HOURS), which makes the asserted deltas hand-checkable.
"""

from __future__ import annotations

import dataclasses
import json
import os

import pytest

import planner.api
from planner.diff import diff_results

from support.cli import run_cli as run
from support.git import diff_row, git

OLD = """import "std"
plan "review" { objective = cost }
gpu "A10G" { available = 8  price = 1.00/h }
model "r1-7b" { like = "DeepSeek-R1-Distill-Qwen-7B" }
serve "chat" {
  model = "r1-7b"  users = 4  context = 8k  weights = int4  gpus = ["A10G"]
  layout { gpu = "A10G"  count = 1  tp = 1  replicas = 1 }
}
serve "legacy" {
  model = "r1-7b"  users = 2  context = 4k  weights = int4  gpus = ["A10G"]
  layout { gpu = "A10G"  count = 1  tp = 1  replicas = 1 }
}
finetune "tune" { model = "r1-7b"  method = qlora  dataset = 10MB  seq_len = 2k  gpus = ["A10G"] }
"""

NEW = """import "std"
plan "review" { objective = cost }
gpu "A10G" { available = 8  price = 1.20/h }
model "r1-7b" { like = "DeepSeek-R1-Distill-Qwen-7B" }
serve "chat" {
  model = "r1-7b"  users = 4  context = 8k  weights = int4  gpus = ["A10G"]
  layout { gpu = "A10G"  count = 1  tp = 1  replicas = 1 }
}
serve "chat-big" {
  model = "r1-7b"  users = 8  context = 8k  weights = int4  gpus = ["A10G"]
  layout { gpu = "A10G"  count = 1  tp = 1  replicas = 1 }
}
sweep "chat-big".users = [8, 16]
finetune "tune" { model = "r1-7b"  method = qlora  dataset = 20MB  seq_len = 2k  gpus = ["A10G"] }
"""

PRICE = "price A10G $1.00/h → $1.20/h"

_cache: dict = {}


def _solve_plan(plan, *, file=None, **kwargs):
    """``api.solve``, memoised on the plan solved, so the CLI tests reuse the solves."""
    key = (os.path.basename(file or plan.file), repr(plan.semantic()))
    if key not in _cache:
        _cache[key] = _real_solve(plan, file=file, **kwargs)
    return dataclasses.replace(_cache[key], file=file or plan.file)


def _solve(path: str):
    return _solve_plan(planner.api.load(path), file=path)


_real_solve = planner.api.solve


@pytest.fixture()
def plans(tmp_path, monkeypatch):
    monkeypatch.setattr(planner.api, "solve", _solve_plan)
    (tmp_path / "old.plan").write_text(OLD)
    (tmp_path / "new.plan").write_text(NEW)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_diff_of_two_plans(plans):
    old, new = _solve("old.plan"), _solve("new.plan")
    diff = diff_results(old, new)
    chat = diff_row(diff, "chat")
    # 730 h x $1.00 -> 730 h x $1.20
    assert (chat["old"]["cost"], chat["new"]["cost"]) == (730.0, 876.0)
    assert chat["delta"] == pytest.approx(146.0) and chat["percent"] == pytest.approx(20.0)
    assert chat["causes"] == [PRICE]
    legacy = diff_row(diff, "legacy")
    assert (legacy["status"], legacy["delta"]) == ("removed", -730.0)
    for users in ("8", "16"):
        added = diff_row(diff, "chat-big", {"users": users})
        assert (added["status"], added["delta"], added["causes"]) == ("added", 876.0, ["workload added"])
    tune = diff_row(diff, "tune")
    assert tune["causes"] == ["dataset 10MB → 20MB", PRICE]
    assert tune["delta"] == pytest.approx(tune["new"]["cost"] - tune["old"]["cost"])
    # totals: the sweep counts its costliest variant (876), so
    # (876 + 876 + tune_new) - (730 + 730 + tune_old); totals carry 6 significant
    # digits (the JSON contract), i.e. cents at these sizes
    assert diff.total.delta == pytest.approx(292.0 + tune["delta"], abs=0.02)
    assert diff.total.percent == pytest.approx(diff.total.delta / diff.total.old * 100)
    assert diff.changes == (PRICE,)


def test_cli_formats(plans, monkeypatch, capsys):
    code, out, _ = run("diff", "old.plan", "new.plan", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert diff_row(data, "chat")["delta"] == pytest.approx(146.0)
    code, md, _ = run("diff", "old.plan", "new.plan", "--format", "markdown")
    assert code == 0 and md.startswith("### planner cost estimate: `review`")
    assert (f"| ~ | `chat` | 1×A10G | TP1 int4 | 30.4 d | $730.00/month → $876.00/month "
            f"| +$146.00/month (+20.0%) |  | {PRICE} |") in md
    assert "**Run rate will increase by $292.00/month (+20.0%)**: $1,460.00/month → $1,752.00/month" in md
    assert "| - | `legacy` |" in md and "| + | `chat-big [users=16]` |" in md
    code, table, _ = run("diff", "old.plan", "new.plan")
    assert code == 0 and "~ chat" in table and PRICE in table


@pytest.mark.parametrize(
    "threshold, code",
    # the total rises by 292 + (a dollar or less of fine-tuning), about 20 %
    # the run rate by 292 (20 %), the one-offs (the fine-tune on twice the data) by about a dollar
    [("250", 1), ("400", 0), ("15%", 1), ("25%", 0), ("ten", 2), ("-5", 2),
     ("run-rate:15%", 1), ("run-rate:25%", 0), ("one-off:2", 0), ("one-off:0.5", 1), ("rate:5%", 2)],
)
def test_fail_above_exit_codes(plans, monkeypatch, capsys, threshold, code):
    got, out, err = run("diff", "old.plan", "new.plan", "--fail-above", threshold)
    assert got == code, err
    if code == 1:
        assert "more than --fail-above" in err
        if threshold.startswith("run-rate"):
            assert "the run rate rises by $292.00/month (+20.0%)" in err
    if code == 2:
        assert "--fail-above" in err and out == ""


def test_fail_above_when_cost_falls(plans, monkeypatch, capsys):
    code, _, _ = run("diff", "new.plan", "old.plan", "--fail-above", "0")
    assert code == 0


# ----------------------------------------------------------------------------- git revisions


MAIN = """import "std"
import "../common/prices.plan"
plan "rev" { objective = cost }
model "r1-7b" { like = "DeepSeek-R1-Distill-Qwen-7B" }
serve "chat" {
  model = "r1-7b"  users = USERS  context = 8k  weights = int4  gpus = ["A10G"]
  layout { gpu = "A10G"  count = 1  tp = 1  replicas = 1 }
}
"""


@pytest.fixture()
def repo(tmp_path, monkeypatch):
    monkeypatch.setattr(planner.api, "solve", _solve_plan)
    (tmp_path / "plans").mkdir()
    (tmp_path / "common").mkdir()
    (tmp_path / "plans" / "fleet.plan").write_text(MAIN.replace("USERS", "4"))
    (tmp_path / "common" / "prices.plan").write_text('gpu "A10G" { available = 4  price = 1.00/h }\n')
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    # the working tree: a dearer GPU in the imported file, more users in the plan
    (tmp_path / "common" / "prices.plan").write_text('gpu "A10G" { available = 4  price = 1.50/h }\n')
    (tmp_path / "plans" / "fleet.plan").write_text(MAIN.replace("USERS", "6"))
    (tmp_path / "plans" / "draft.plan").write_text(MAIN.replace("USERS", "1"))
    monkeypatch.chdir(tmp_path / "plans")
    return tmp_path


def test_diff_against_a_revision_reads_imports_at_that_revision(repo, monkeypatch, capsys):
    code, out, err = run("diff", "--rev", "HEAD", "fleet.plan", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    chat = diff_row(data, "chat")
    # 730 h x $1.00 at HEAD (the imported prices.plan as committed) -> 730 h x $1.50
    assert (chat["old"]["cost"], chat["new"]["cost"], chat["delta"]) == (730.0, 1095.0, 365.0)
    assert chat["causes"] == ["users 4 → 6", "price A10G $1.00/h → $1.50/h"]
    assert data["old"]["file"] == "HEAD:plans/fleet.plan" and data["new"]["file"] == "fleet.plan"
    code, _, err = run("diff", "--rev", "HEAD", "fleet.plan", "--fail-above", "50%")
    assert code == 0  # +50.0 % is not more than 50 %
    code, _, err = run("diff", "--rev", "HEAD", "fleet.plan", "--fail-above", "364.99")
    assert code == 1


def test_revision_errors_exit_2(repo, monkeypatch, capsys):
    code, out, err = run("diff", "--rev", "v9.9", "fleet.plan")
    assert code == 2 and "unknown revision 'v9.9'" in err and out == ""
    code, _, err = run("diff", "--rev", "HEAD", "draft.plan")
    assert code == 2 and "plans/draft.plan does not exist at revision HEAD" in err
    code, _, err = run("diff", "--rev", "HEAD", "fleet.plan", "draft.plan")
    assert code == 2 and "--rev takes one plan file" in err
    code, _, err = run("diff", "fleet.plan")
    assert code == 2 and "two plan files" in err
