"""The independent checker: accepts what solve produced, rejects every broken constraint."""

from __future__ import annotations

import copy

import pytest

from planner import verify as checker
from planner.pipeline import SolveInternalError, solve_file
from planner.result import Result

TINY = """
model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4
               ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }
"""
BASE = """import "std"
plan "t" { objective = cost }
gpu "L4" { available = 8 }
gpu "A100-80G" { available = 8 }
""" + TINY + """
finetune "tune" { model = "tiny" method = lora dataset = 1GB deadline <= 24h }
serve "chat" { model = "tiny" users = 4 context = 4k tpot <= 50ms }
sweep "tune".dataset = [100MB, 1GB]
"""


def _load(text: str):
    from planner.resolve.load import load_plan

    return load_plan("mem/c.plan", reader=lambda path: text)


def _solve(text: str = BASE) -> dict:
    return solve_file("mem/c.plan", reader=lambda path: text, time_limit=5.0).to_json()


def _check(plan, result: dict) -> list[str]:
    """The checker on a result given as the JSON contract (tests break it as data)."""
    return checker.check(plan, Result.from_json(result))


@pytest.fixture(scope="module")
def solved():
    return _load(BASE), _solve()


def _row(result, name, dataset=None):
    return next(r for r in result["workloads"]
                if r["name"] == name and r["scenario"].get("dataset") == dataset)


def test_accepts_the_solution(solved):
    plan, result = solved
    assert _check(plan, result) == []


def test_rejects_a_memory_figure_that_differs_from_the_estimate(solved):
    plan, result = solved
    bad = copy.deepcopy(result)
    _row(bad, "chat")["memory_per_gpu_bytes"]["total"] += 1
    (violation,) = _check(plan, bad)
    assert "bytes per GPU" in violation and "re-derived" in violation


def test_rejects_a_gpu_count_that_is_not_the_layout_product(solved):
    plan, result = solved
    bad = copy.deepcopy(result)
    _row(bad, "tune", "1GB")["gpu_count"] += 1
    assert any("gpu_count" in v for v in _check(plan, bad))


def test_rejects_more_gpus_than_available(solved):
    plan, result = solved
    bad = copy.deepcopy(result)
    row = _row(bad, "tune", "1GB")
    lay = row["layout"]
    lay["dp"] = 16
    row["gpu_count"] = lay["tp"] * lay["pp"] * 16
    row["nodes"] = -(-row["gpu_count"] // bad["gpus"][row["gpu"]]["per_node"])
    assert any(v.startswith(f"availability {row['gpu']}:") for v in _check(plan, bad))


def test_rejects_a_missed_deadline(solved):
    _, result = solved
    hours = _row(result, "tune", "1GB")["hours"]
    minutes = max(1, int(hours * 60 / 2))
    shorter = _load(BASE.replace("deadline <= 24h", f"deadline <= {minutes}min"))
    assert any("deadline" in v for v in _check(shorter, result))


def test_rejects_a_missed_tpot(solved):
    _, result = solved
    tpot_ms = _row(result, "chat")["tpot_seconds"] * 1000
    stricter = _load(BASE.replace("tpot <= 50ms", f"tpot <= {tpot_ms / 2:.3f}ms"))
    assert any("TPOT" in v for v in _check(stricter, result))


def test_rejects_a_plan_budget_overrun(solved):
    _, result = solved
    capped = _load(BASE.replace("objective = cost", "objective = cost budget <= 1"))
    assert any(v.startswith("budget:") for v in _check(capped, result))


def test_rejects_a_layout_that_ignores_a_pin(solved):
    _, result = solved
    pinned = _load(BASE.replace("deadline <= 24h }", "deadline <= 24h layout { tp = 4 } }"))
    assert any("layout pins tp = 4" in v for v in _check(pinned, result))


def test_rejects_a_cost_that_is_not_gpus_times_hours_times_price(solved):
    plan, result = solved
    bad = copy.deepcopy(result)
    _row(bad, "tune", "100MB")["cost"] *= 0.5
    violations = _check(plan, bad)
    assert any("cost" in v for v in violations)


def test_solve_fails_loudly_when_the_checker_objects(monkeypatch):
    monkeypatch.setattr(checker, "check", lambda plan, result: ["availability L4: 9 used, 8 available"])
    with pytest.raises(SolveInternalError, match="availability L4"):
        _solve()


# ----------------------------------------------------------------------------- periods and the schedule

TIMED = """import "std"
plan "t" { objective = cost  window = 24h }
gpu "A100-80G" { available = 9  price = 2/h }
""" + TINY + """
finetune "a" { model = "tiny" method = full dataset = 400MB layout { count = 8 } }
finetune "b" { model = "tiny" method = full dataset = 400MB every = 12h layout { count = 4 } }
serve "chat" { model = "tiny" users = 4 context = 4k }
"""


@pytest.fixture(scope="module")
def timed():
    return _load(TIMED), _solve(TIMED)


def test_accepts_a_schedule(timed):
    plan, result = timed
    assert result["status"] == "optimal" and _check(plan, result) == []


def test_rejects_runs_that_overlap_past_the_pool(timed):
    plan, result = timed
    bad = copy.deepcopy(result)
    a, b = _row(bad, "a"), _row(bad, "b")
    # b's first run moved onto a's: 8 + 4 + the service's 1 at once, of 9
    b["schedule"][0] = dict(a["schedule"][0], end_hours=a["schedule"][0]["start_hours"] + b["hours"])
    found = _check(plan, bad)
    assert any(v.startswith("availability A100-80G:") and "in use at once, 9 available" in v for v in found), found


def test_rejects_a_run_outside_its_slot_or_missing(timed):
    plan, result = timed
    late = copy.deepcopy(result)
    run = _row(late, "b")["schedule"][0]
    run.update(start_hours=11.9, end_hours=11.9 + _row(late, "b")["hours"])  # ends past its 12-hour slot
    assert any("outside its slot" in v for v in _check(plan, late))
    short = copy.deepcopy(result)
    short_b = _row(short, "b")
    short_b["schedule"] = short_b["schedule"][:1]
    assert any("1 runs scheduled, the window holds 2" in v for v in _check(plan, short))


def test_rejects_costs_that_do_not_count_the_repeats(timed):
    plan, result = timed
    bad = copy.deepcopy(result)
    b = _row(bad, "b")
    b["cost"] = b["cost_per_period"] = b["cost_per_run"]  # once, not 730 / 12 times
    found = _check(plan, bad)
    assert any(v.startswith("b: row says cost") for v in found), found
    assert any(v.startswith("run_rate_cost") for v in found), found
    wrong_billing = copy.deepcopy(result)
    _row(wrong_billing, "a")["billing"] = "run-rate"
    assert any("billing run-rate, the plan makes it one-off" in v for v in _check(plan, wrong_billing))
