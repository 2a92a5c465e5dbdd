"""`planner estimate`: one layout per workload, agreeing with `solve` on the same layout."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from planner.errors import PlanError
from planner.layout_estimate import convert_pins, estimate_plan, select, with_pins
from planner.resolve.load import load_plan
from support.cli import run_cli
from support.paths import EXAMPLES, GOLDEN, ROOT

LAYOUT_PINS = ("tp", "pp", "dp", "ep", "zero", "recompute", "offload", "micro_batch", "replicas",
               "sp", "cp", "vpp")


def _pins(row: dict) -> tuple[dict, str | None]:
    """Every dimension of a solved row, as `planner estimate` options would pin it."""
    lay = row["layout"]
    pins = {"gpu": row["gpu"], "count": row["gpu_count"]}
    pins.update({k: lay[k] for k in LAYOUT_PINS if lay.get(k) is not None})
    if lay.get("shard"):  # 0: every rank, the default
        pins["shard"] = lay["shard"]
    if row["kind"] == "serve":
        pins.pop("dp", None)
    else:
        pins.pop("replicas", None)
    weights = lay["weights"] if row["kind"] == "serve" else None
    return pins, weights


def _estimate(plan, file: str, label: str, pins: dict, weights: str | None):
    chosen = select(plan, label)
    pinned = with_pins(chosen.plan, chosen.workload, pins, weights)
    (row,) = estimate_plan(pinned, file, chosen.workload, chosen.scenario).to_json()["workloads"]
    return row


def _label(row: dict) -> str:
    if not row["scenario"]:
        return row["name"]
    return row["name"] + "[" + ",".join(f"{k}={v}" for k, v in row["scenario"].items()) + "]"


@pytest.mark.parametrize("name", sorted(p.stem for p in EXAMPLES.glob("*.plan")))
def test_estimate_agrees_with_the_rows_of_solve(name):
    """Each row `solve` placed (tests/golden, which tests/pipeline/test_examples.py holds equal
    to solve's output), estimated with every dimension pinned to its layout: the same GPUs,
    memory per GPU by component, time, cost and latencies."""
    solved = json.loads((GOLDEN / f"{name}.json").read_text())
    file = str(EXAMPLES / f"{name}.plan")
    plan = load_plan(file)
    compared = 0
    for row in solved["workloads"]:
        if not row["fits"]:
            continue
        pins, weights = _pins(row)
        got = _estimate(plan, file, _label(row), pins, weights)
        assert got["filled"] == [], got["name"]  # everything pinned: nothing searched
        assert (got["gpu"], got["gpu_count"], got["nodes"]) == (row["gpu"], row["gpu_count"], row["nodes"])
        assert got["memory_per_gpu_bytes"] == row["memory_per_gpu_bytes"], got["name"]
        assert got["host_memory_per_gpu_bytes"] == row["host_memory_per_gpu_bytes"]
        assert got["scenario"] == row["scenario"] and got["fits"]
        # estimate prices one run; solve's `cost` of a recurring job is per period
        row = dict(row, cost=row["cost_per_run"] if row.get("cost_per_run") is not None else row["cost"])
        for key in ("hours", "cost", "ttft_seconds", "tpot_seconds", "tokens_per_second"):
            if row[key] is not None and (key != "tokens_per_second" or row["kind"] == "serve"):
                assert got[key] == pytest.approx(row[key], rel=1e-4, abs=0.006), (got["name"], key)
        assert got["host"] == row["host"]
        if row.get("service") is not None:  # the service's figures, percentiles included
            for key, value in row["service"].items():
                if isinstance(value, float):
                    assert got["service"][key] == pytest.approx(value, rel=1e-4), (got["name"], key)
                else:
                    assert got["service"][key] == value, (got["name"], key)
        compared += 1
    assert compared == sum(1 for r in solved["workloads"] if r["fits"]) > 0


TOUR = str(EXAMPLES / "tour.plan")


@pytest.mark.slow  # the search of a whole workload
def test_unpinned_dimensions_are_filled_by_the_search_and_named(tmp_path):
    code, out, err = run_cli("estimate", TOUR, "--workload", "tiny-base", "--format", "json")
    report = json.loads(out)
    (row,) = report["workloads"]
    assert row["pinned"] == [] and "tp" in row["filled"] and "micro_batch" in row["filled"]
    assert code == 0 and row["fits"]
    # the step split adds up, and tokens/s and MFU follow from the run's time
    step = row["step_seconds"]
    assert step["compute"] + step["communication"] + step["bubble"] == pytest.approx(step["total"], rel=1e-3)
    assert step["total"] * row["steps"] == pytest.approx(row["hours"] * 3600, rel=1e-3)
    assert 0 < row["mfu"] < 1
    assert row["estimate"]["compute_seconds"] / row["steps"] == pytest.approx(step["compute"], rel=1e-3)
    # the table says which dimensions the search filled
    code, out, _ = run_cli("estimate", TOUR, "--workload", "tiny-base")
    assert "filled by the search (best for this workload alone): gpu, count, tp, pp, dp" in out


def test_a_pinned_layout_that_breaks_a_limit_is_shown_with_why_and_exits_1():
    # the tour's QLoRA tune of 1GB on one A10G at micro-batch 1 with full recomputation
    # fits its memory but takes longer than its 24 h deadline
    code, out, err = run_cli("estimate", TOUR, "--workload", "tune[dataset=1GB]", "--gpu", "A10G",
                             "--tp", "1", "--pp", "1", "--dp", "1", "--zero", "0", "--recompute", "full",
                             "--offload", "none", "--micro-batch", "1")
    assert code == 1 and "Traceback" not in err
    assert "tune[dataset=1GB] (finetune, r1-7b) on 1 × A10G (1 node): breaks its limits: takes " in out
    assert "deadline 24.0 h" in out
    # TinyLlama pretraining at micro-batch 64 and 8192 tokens without recomputation: its
    # activations alone exceed an L4's 24 GB
    code, out, err = run_cli("estimate", TOUR, "-w", "tiny-base", "--gpu", "L4", "--tp", "1", "--pp", "1",
                             "--dp", "1", "--zero", "0", "--recompute", "none", "--offload", "none",
                             "--micro-batch", "64", "-f", "json")
    (row,) = json.loads(out)["workloads"]
    assert code == 1 and not row["fits"] and row["breaches"][0]["kind"] == "memory"
    assert row["memory_per_gpu_bytes"]["total"] > row["usable_memory_bytes"]


def test_serving_figures_and_a_gpu_the_plan_does_not_offer(tmp_path):
    # H100-SXM is in the catalog but not offered by the tour: estimating a layout on it is
    # allowed (nothing is placed)
    code, out, err = run_cli("estimate", TOUR, "-w", "chat", "--gpu", "H100-SXM", "--tp", "1",
                             "--pp", "1", "--replicas", "1", "-f", "json")
    (row,) = json.loads(out)["workloads"]
    assert row["gpu"] == "H100-SXM" and row["filled"] == []
    assert row["ttft_seconds"] > 0 and row["tpot_seconds"] > 0 and row["tokens_per_second"] > 0
    assert row["estimate"]["tpot_seconds"] == row["tpot_seconds"]


@pytest.mark.parametrize("args, words", [
    (("--tp", "3"), "--tp 3: `tp` must be"),
    (("--recompute", "some"), "--recompute some:"),
    (("--tp", "2 pp = 2"), "--tp 2 pp = 2: expected one value"),
    (("--replicas", "2"), "--replicas applies to serving only"),
    # tiny (TinyLlama) has 4 KV heads: the pin checks of `planner check` apply
    (("--tp", "8"), 'pretrain "tiny-base": layout tp = 8 must divide the 32 attention heads and 4 KV heads'),
])
def test_bad_options_are_input_errors(args, words):
    code, out, err = run_cli("estimate", TOUR, "-w", "tiny-base", *args)
    assert code == 2 and words in err and "Traceback" not in err


def test_options_need_a_workload_when_the_plan_has_several():
    code, out, err = run_cli("estimate", TOUR, "--tp", "1")
    assert code == 2 and "name it with --workload" in err
    code, out, err = run_cli("estimate", TOUR, "-w", "tune[dataset=2GB]")
    assert code == 2 and "did you mean" in err


def test_convert_pins_reads_values_as_the_language_does():
    assert convert_pins({"tp": "8", "recompute": "selective", "shard": "node", "sp": "true"}) == \
        {"tp": 8, "recompute": "selective", "shard": "node", "sp": True}
    with pytest.raises(PlanError):
        convert_pins({"zero": "4"})


@pytest.mark.slow  # a fresh interpreter
def test_a_fully_pinned_estimate_does_not_import_the_solver():
    script = (
        "import sys\n"
        "from planner.cli import main\n"
        f"sys.argv = ['planner', 'estimate', {TOUR!r}, '-w', 'tiny-base', '--gpu', 'A100-80G', '--tp', '1',"
        " '--pp', '1', '--dp', '1', '--zero', '1', '--recompute', 'full', '--offload', 'none',"
        " '--micro-batch', '1']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert not [m for m in sys.modules if m.startswith('ortools')], 'ortools imported'\n"
        "print('no solver')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "no solver" in done.stdout and "tiny-base (pretrain, tiny)" in done.stdout


def test_the_api_estimates_one_layout():
    from planner import api

    plan = api.load(TOUR)
    report = api.estimate(plan, workload="tiny-base", pins={
        "gpu": "A100-80G", "tp": 1, "pp": 1, "dp": 1, "zero": 1, "recompute": "full",
        "offload": "none", "micro_batch": 1})
    (row,) = report.workloads
    assert (row.gpu, row.gpu_count, row.layout["zero"]) == ("A100-80G", 1, 1)
    assert row.filled == () and row.defaulted == ("ep", "sp", "cp", "shard", "vpp")

