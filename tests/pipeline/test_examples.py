"""The example plans: golden answers, and properties every answer must have.

Each example is solved once per test session (module fixture). When an answer
changes on purpose, regenerate with `python tests/regen_golden.py` and review
`git diff tests/golden docs/deepseek-r1.md`.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import sys
from unittest import mock

import pytest

from planner.cli import main
from support.paths import ROOT

import regen_golden as regen


pytestmark = pytest.mark.slow  # every example is solved once per session

NAMES = regen.example_names()
REGEN = "python tests/regen_golden.py"

# Published total of DeepSeek-R1 / V3 (DeepSeek-V3 technical report, arXiv:2412.19437,
# abstract: "671B total parameters"), rounded down so it is a lower bound.
R1_PARAMS = 671e9
# Bits of a weight at each precision, without scales or zero points: a lower bound of
# bytes per parameter for a quantized format.
BITS = {"fp32": 32, "bf16": 16, "fp16": 16, "fp8": 8, "int8": 8, "int4": 4, "nf4": 4}
BYTE_UNITS = {"KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}


@pytest.fixture(scope="module")
def solved() -> dict:
    """Every example's typed result."""
    return {name: regen.solve_example(name) for name in NAMES}


@pytest.fixture(scope="module")
def results(solved) -> dict[str, dict]:
    """Every example's result as the JSON contract."""
    return {name: result.to_json() for name, result in solved.items()}


def rows(result: dict, name: str | None = None) -> list[dict]:
    return [w for w in result["workloads"] if name is None or w["name"] == name]


def run_cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with mock.patch.object(sys, "argv", ["planner", *args]), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(io.StringIO()):
        try:
            main()
            code = 0
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 0
    return code, out.getvalue()


def dataset_bytes(label: str) -> int:
    match = re.fullmatch(r"(\d+)(KB|MB|GB|TB)", label)
    assert match, label
    return int(match.group(1)) * BYTE_UNITS[match.group(2)]


# ---------------------------------------------------------------- every example


def test_the_examples_are_there():
    assert {"deepseek-r1", "chat-service", "finetune-budget", "shared-pool", "month-budget"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_golden(results, name):
    path = regen.golden_path(name)
    assert path.exists(), f"{path} is missing: run `{REGEN}`"
    golden = json.loads(path.read_text(encoding="utf-8"))
    assert results[name] == golden, (
        f"`planner solve examples/{name}.plan` no longer gives {path.name}; if the change is "
        f"intended, run `{REGEN}` and review `git diff tests/golden`")


@pytest.mark.parametrize("name", NAMES)
def test_solved_and_proved(results, name):
    # "optimal" (proved), not "feasible": the golden answer must not depend on machine speed.
    assert results[name]["status"] == "optimal"
    assert all(w["fits"] for w in results[name]["workloads"])


@pytest.mark.parametrize("name", NAMES)
def test_check_and_fmt(name):
    path = str(ROOT / "examples" / f"{name}.plan")
    code, out = run_cli("check", path)
    assert code == 0 and ": ok (" in out, out
    code, _ = run_cli("fmt", "--check", path)
    assert code == 0, f"{name}.plan is not in canonical form: run `planner fmt --write {path}`"


@pytest.mark.parametrize("name", NAMES)
def test_memory_within_usable(results, name):
    for w in rows(results[name]):
        memory = w["memory_per_gpu_bytes"]
        parts = sum(v for k, v in memory.items() if k != "total")
        assert abs(parts - memory["total"]) <= len(memory), (w["name"], memory)
        # serving keeps vLLM's 0.9; training may use all of the memory, its CUDA context and
        # allocator reserve being counted in its need (docs/estimation.md sec 3)
        assert memory["total"] <= w["usable_memory_bytes"] <= w["gpu_memory_bytes"], w["name"]
        if w["kind"] == "serve":
            assert w["usable_memory_bytes"] < w["gpu_memory_bytes"], w["name"]


@pytest.mark.parametrize("name", NAMES)
def test_limits_met(results, name):
    for w in rows(results[name]):
        inputs = w["inputs"]
        if w["kind"] != "serve" and inputs["deadline_hours"] is not None:
            assert w["hours"] <= inputs["deadline_hours"], (w["name"], w["scenario"])
        if inputs["tpot_ms"] is not None:
            assert w["tpot_seconds"] * 1000 <= inputs["tpot_ms"], (w["name"], w["scenario"])
        if inputs["ttft_ms"] is not None:
            assert w["ttft_seconds"] * 1000 <= inputs["ttft_ms"], (w["name"], w["scenario"])
        if inputs["budget"] is not None:  # a workload budget caps one run
            per_run = w["cost_per_run"] if w["cost_per_run"] is not None else w["cost"]
            assert per_run <= inputs["budget"], (w["name"], w["scenario"])
    budget = results[name]["budget"]
    if budget is not None:
        assert results[name]["total_cost"] <= budget


@pytest.mark.parametrize("name", NAMES)
def test_services_within_the_hardware(results, name):
    """No serve row uses more than the GPUs' peak FLOP/s or HBM bandwidth, carries more than
    its capacity, or has a median above its 99th percentile; p99 limits are met."""
    for w in rows(results[name]):
        if w["kind"] != "serve":
            assert w["service"] is None
            continue
        svc, inputs = w["service"], w["inputs"]
        assert 0 < svc["compute_share"] <= 1 and 0 < svc["bandwidth_share"] <= 1, w["name"]
        assert svc["requests_per_second"] <= svc["capacity_requests_per_second"] * (1 + 1e-6)
        assert svc["ttft_p50_seconds"] <= svc["ttft_p99_seconds"]
        assert svc["tpot_p50_seconds"] <= svc["tpot_p99_seconds"]
        for limit, key in (("ttft_p99_ms", "ttft_p99_seconds"), ("tpot_p99_ms", "tpot_p99_seconds")):
            if inputs[limit] is not None:
                assert svc[key] * 1000 <= inputs[limit], (w["name"], w["scenario"])


@pytest.mark.parametrize("name", NAMES)
def test_cost_non_decreasing_with_dataset(results, name):
    swept: dict[str, list[tuple[int, float]]] = {}
    for w in rows(results[name]):
        if "dataset" in w["scenario"]:
            swept.setdefault(w["name"], []).append(
                (dataset_bytes(w["scenario"]["dataset"]), w["cost"]))
    for workload, points in swept.items():
        costs = [cost for _, cost in sorted(points)]
        assert costs == sorted(costs), (workload, sorted(points))


# ---------------------------------------------------------------- deepseek-r1


def test_deepseek_asks_the_issue_questions(results):
    result = results["deepseek-r1"]
    models = {w["inputs"]["model"] for w in result["workloads"]}
    assert models == {"r1", "qwen-7b", "qwen-14b", "qwen-32b", "llama-8b", "llama-70b"}
    assert set(result["gpus"]) == {"A10G", "A100-40G", "A100-80G"}
    serve = [w for w in result["workloads"] if w["kind"] == "serve"]
    assert len(serve) == 6 * 2
    assert all(w["inputs"]["users"] == 3 for w in serve)
    tune = [w for w in result["workloads"] if w["kind"] == "finetune"]
    assert len(tune) == 6 * 5
    methods = {w["inputs"]["model"]: (w["inputs"]["method"], w["inputs"]["weights"]) for w in tune}
    assert methods == {
        "r1": ("lora", "bf16"), "qwen-32b": ("lora", "bf16"), "llama-70b": ("lora", "bf16"),
        "qwen-7b": ("qlora", "nf4"), "qwen-14b": ("qlora", "nf4"), "llama-8b": ("qlora", "nf4")}
    assert all(w["inputs"]["deadline_hours"] == 24.0 for w in tune)
    for model in methods:
        labels = [w["scenario"]["dataset"] for w in tune if w["inputs"]["model"] == model]
        assert labels == ["1KB", "1MB", "1GB", "10GB", "100GB"]


def test_deepseek_no_shared_limit_binds(results):
    # Every row answers its own question: the pool is larger than the table needs at once.
    result = results["deepseek-r1"]
    assert result["binding"] == []
    assert all(w["decided_by"] != "availability" for w in result["workloads"])


def test_r1_rows_hold_all_weights(results):
    for w in rows(results["deepseek-r1"]):
        if w["inputs"]["model"] != "r1":
            continue
        precision = w["layout"]["weights"]
        held = w["memory_per_gpu_bytes"]["weights"] * w["gpu_count"]
        # at least one full copy across the GPUs (replicas and ZeRO working sets only add)
        assert held >= R1_PARAMS * BITS[precision] / 8, (w["name"], w["scenario"], held)


def test_r1_bf16_needs_more_than_the_handmade_16_gpus(results):
    # 671B x 2 bytes = 1.34 TB of BF16 weights; 16 x 80 GB = 1.28 TB cannot hold them.
    assert R1_PARAMS * 2 > 16 * 80e9
    for w in rows(results["deepseek-r1"], "ft-r1"):
        assert w["gpu_count"] * w["usable_memory_bytes"] > R1_PARAMS * 2


def test_doc_embeds_the_current_table(solved):
    doc = regen.DOC.read_text(encoding="utf-8")
    assert regen.BEGIN in doc and regen.END in doc
    assert regen.embedded_table(doc) == regen.markdown(solved["deepseek-r1"]), (
        f"docs/deepseek-r1.md embeds an old answer: run `{REGEN}` and review the diff")
    side = regen.embedded(doc, regen.SIDE_BEGIN, regen.SIDE_END)
    assert side == regen.side_by_side(solved["deepseek-r1"]), (
        f"docs/deepseek-r1.md's side-by-side table is stale: run `{REGEN}` and review the diff")


def test_side_by_side_covers_every_handmade_row(solved):
    text = regen.side_by_side(solved["deepseek-r1"])
    with regen.HANDMADE.open(encoding="utf-8") as f:
        hand = f.read().splitlines()[1:]
    assert len(hand) == 23
    for line in hand:
        model, _, data, gpus, gpu_type = line.split(",")[:5]
        assert f"| {model} | {data} | {gpus} x {gpu_type} |" in text, line


# ---------------------------------------------------------------- the other examples


def test_shared_pool_binds(results, solved):
    result = results["shared-pool"]
    assert any(b.startswith("availability H100-SXM") for b in result["binding"]), result["binding"]
    assert result["gpus"]["H100-SXM"]["used"] == result["gpus"]["H100-SXM"]["available"]
    moved = [w for w in result["workloads"] if w["decided_by"] == "availability"]
    assert moved, "some workload must have given up its first choice"
    assert "binding: availability H100-SXM" in regen.markdown(solved["shared-pool"])


def test_budget_buys_time(results):
    tune = rows(results["finetune-budget"], "domain-8b")
    by_budget = sorted(tune, key=lambda w: w["inputs"]["budget"])
    hours = [w["hours"] for w in by_budget]
    assert hours == sorted(hours, reverse=True), hours  # more money, never slower
    assert by_budget[0]["gpu"] != by_budget[-1]["gpu"]  # the cap changes the GPU type


def test_chat_service_plans_rates(results):
    result = results["chat-service"]
    assistant = sorted(rows(result, "assistant-70b"), key=lambda w: w["inputs"]["rate"])
    assert [w["inputs"]["rate"] for w in assistant] == [0.25, 1.0, 4.0]
    costs = [w["cost"] for w in assistant]
    assert costs == sorted(costs), costs  # a higher rate never costs less
    for w in result["workloads"]:
        assert w["inputs"]["users"] is None and w["service"]["load_share"] < 1
        assert w["service"]["requests_per_second"] == pytest.approx(w["inputs"]["rate"])
    assert all(w["service"]["ttft_p99_seconds"] <= 6 for w in assistant)



def test_month_budget_states_the_month_apart_and_schedules_the_jobs(results):
    result = results["month-budget"]
    by = {w["name"]: w for w in result["workloads"]}
    services = by["support-chat"]["cost"] + by["code-assist"]["cost"]
    weekly, base = by["weekly-lora"], by["base-1.5b"]
    assert result["run_rate_cost"] == round(services + weekly["cost"], 2)
    assert result["one_off_cost"] == base["cost"] and base["billing"] == "one-off"
    assert result["total_cost"] == round(result["run_rate_cost"] + result["one_off_cost"], 2)
    assert weekly["runs_per_period"] == round(730 / 168, 5)
    # released 20 h into each of the four weeks, each done within its 12 hours
    assert [r["start_hours"] for r in weekly["schedule"]] == [20.0, 188.0, 356.0, 524.0]
    assert all(r["end_hours"] <= r["start_hours"] + 12 for r in weekly["schedule"])
    assert base["schedule"][0]["end_hours"] <= 12 * 24
    for g in result["gpus"].values():
        assert g["used"] <= g["available"] and 0 <= g["utilization"] <= 1
