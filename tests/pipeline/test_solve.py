"""`planner solve` end to end on small real plans (the shipped catalog via `import "std"`).

Every solve goes through `solve_file`, which runs the independent checker before
returning, so every solution here has passed it.
"""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import PlanError
from planner.verify import check
from planner.pipeline import solve_file
from planner.result import Result

TINY = """
model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4
               ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }
"""


def solve_text(text: str, *, std: bool = True, **kw) -> dict:
    """Solve plan text held in memory (the reader replaces disk reads)."""
    source = ('import "std"\n' if std else "") + text
    return solve_file("mem/test.plan", reader=lambda path: source, time_limit=5.0, **kw).to_json()


def load_text(text: str):
    from planner.resolve.load import load_plan

    source = 'import "std"\n' + text
    return load_plan("mem/test.plan", reader=lambda path: source)


def plan_text(gpus: str, body: str) -> str:
    return 'plan "t" { objective = cost }\n' + gpus + TINY + body


GPUS = """
gpu "L4" { available = 8 }
gpu "A100-80G" { available = 8 }
"""

TOP_KEYS = ["plan", "file", "status", "gap", "objective", "currency", "total_cost", "budget",
            "gpus", "binding", "workloads", "period_hours", "window_hours", "run_rate_cost",
            "one_off_cost"]
ROW_KEYS = ["name", "kind", "model", "scenario", "inputs", "fits", "gpu", "gpu_count", "nodes",
            "layout", "memory_per_gpu_bytes", "host_memory_per_gpu_bytes", "gpu_memory_bytes",
            "usable_memory_bytes", "hours", "cost", "cost_per_hour", "price_per_hour",
            "ttft_seconds", "tpot_seconds", "tokens_per_second", "service", "tokens", "host",
            "decided_by", "reasons", "alternatives", "billing", "every_hours", "runs_per_period",
            "cost_per_run", "cost_per_period", "schedule", "billed_gpus", "billed_hours",
            "gpu_type", "overheads", "calibration"]
INPUT_KEYS = ["model", "method", "users", "context", "dataset_tokens", "dataset_bytes", "epochs",
              "seq_len", "deadline_hours", "tpot_ms", "ttft_ms", "weights", "kv", "prompt",
              "batch", "optimizer", "rank", "budget", "stack", "precision", "output", "rate",
              "prefix_cache", "engine", "ttft_p99_ms", "tpot_p99_ms", "every_hours", "runs",
              "start_after_hours"]
SERVICE_KEYS = ["engine", "ttft_mean_seconds", "ttft_p50_seconds", "ttft_p99_seconds",
                "tpot_mean_seconds", "tpot_p50_seconds", "tpot_p99_seconds", "requests_per_second",
                "output_tokens_per_second", "capacity_requests_per_second", "load_share",
                "compute_share", "bandwidth_share", "concurrency", "running_limit", "kv_tokens"]
LAYOUT_KEYS = ["tp", "pp", "dp", "ep", "zero", "recompute", "offload", "micro_batch", "replicas",
               "weights", "sp", "cp", "shard", "vpp"]
MEMORY_KEYS = ["weights", "gradients", "optimizer", "activations", "kv_cache", "overhead", "total"]
GPU_KEYS = ["available", "used", "price_per_hour", "memory_bytes", "usable_bytes", "per_node",
            "gpu_hours", "utilization", "peak_at_hours"]


def row_of(result: dict, name: str, **scenario) -> dict:
    return next(r for r in result["workloads"]
                if r["name"] == name and r["scenario"] == {k: str(v) for k, v in scenario.items()})


MIXED = plan_text(GPUS, """
finetune "tune" { model = "tiny" method = lora dataset = 100MB deadline <= 24h }
serve "chat" { model = "tiny" users = 4 context = 4k tpot <= 50ms }
pretrain "base" { model = "tiny" dataset = 2B tokens seq_len = 2k deadline <= 7d }
""")


def test_json_contract_keys_and_types():
    result = solve_text(MIXED, explain=True)
    assert list(result) == TOP_KEYS
    assert result["status"] == "optimal" and result["gap"] == 0.0 and Result.from_json(result).exit_code == 0
    assert result["plan"] == "t" and result["file"] == "mem/test.plan"
    assert list(result["gpus"]) == ["L4", "A100-80G"]
    for g in result["gpus"].values():
        assert list(g) == GPU_KEYS
        assert isinstance(g["memory_bytes"], int) and isinstance(g["usable_bytes"], int)
    assert [r["name"] for r in result["workloads"]] == ["tune", "chat", "base"]
    for row in result["workloads"]:
        assert list(row) == ROW_KEYS
        assert list(row["inputs"]) == INPUT_KEYS
        assert list(row["layout"]) == LAYOUT_KEYS
        assert list(row["memory_per_gpu_bytes"]) == MEMORY_KEYS
        assert all(isinstance(v, int) for v in row["memory_per_gpu_bytes"].values())
        assert isinstance(row["hours"], float) and isinstance(row["cost"], float)
        assert row["fits"] and row["decided_by"] in (
            "memory", "deadline", "latency", "capacity", "availability", "price", "budget", "pinned")
        assert row["reasons"] and len(row["alternatives"]) <= 3
        assert list(row["host"]) == ["cpu_cores", "ram_bytes", "nvme_bytes", "network"]
    chat = row_of(result, "chat")
    assert chat["layout"]["dp"] is None and chat["layout"]["zero"] is None
    assert chat["layout"]["sp"] is None and chat["layout"]["vpp"] is None
    assert chat["inputs"]["stack"] is None
    base = row_of(result, "base")
    assert base["inputs"]["stack"] == "megatron" and base["inputs"]["precision"] == "bf16"
    assert base["layout"]["cp"] >= 1 and base["layout"]["vpp"] >= 1
    assert chat["tpot_seconds"] <= 0.05 and chat["ttft_seconds"] is not None
    assert list(chat["service"]) == SERVICE_KEYS and chat["service"]["engine"] == "vllm"
    service = chat["service"]
    assert service["tpot_mean_seconds"] == chat["tpot_seconds"]
    assert service["ttft_p50_seconds"] <= service["ttft_p99_seconds"]
    assert service["tpot_p50_seconds"] <= service["tpot_p99_seconds"]
    assert 0 < service["compute_share"] <= 1 and 0 < service["bandwidth_share"] <= 1
    assert math.isclose(service["output_tokens_per_second"], chat["tokens_per_second"])
    assert chat["inputs"]["users"] == 4 and chat["inputs"]["rate"] is None
    assert chat["inputs"]["output"] == 1000  # 4k = 4,000 tokens less the default prompt, 0.75 x 4k
    assert row_of(result, "tune")["service"] is None
    tune = row_of(result, "tune")
    assert tune["inputs"]["stack"] == "hf"  # LoRA's default stack
    assert tune["inputs"]["dataset_bytes"] == 100_000_000
    assert tune["inputs"]["dataset_tokens"] == 25_000_000  # 4 bytes per token (the default)
    assert tune["tokens"] == 25_000_000 and tune["inputs"]["weights"] == "bf16"
    assert check(load_text(MIXED), Result.from_json(result)) == []


def test_costs_follow_their_definitions():
    result = solve_text(MIXED)
    total = 0.0
    for row in result["workloads"]:
        price = result["gpus"][row["gpu"]]["price_per_hour"]
        assert row["price_per_hour"] == price
        # rented whole: the GPUs billed (an instance shape, or whole nodes) for the hours
        # billed (the run rounded up to the GPU's billing increment, docs/estimation.md sec 12)
        assert row["billed_gpus"] >= row["gpu_count"] and row["billed_hours"] >= row["hours"]
        assert math.isclose(row["cost_per_hour"], row["billed_gpus"] * price, rel_tol=1e-5)
        # money to the cent; hours carry 6 significant digits
        paid = row["billed_gpus"] * row["billed_hours"] * price
        assert abs(row["cost"] - paid) <= 0.005 + 1e-5 * row["cost"]
        assert row["nodes"] == -(-row["gpu_count"] // result["gpus"][row["gpu"]]["per_node"])
        lay = row["layout"]
        spread = lay["replicas"] if row["kind"] == "serve" else lay["dp"]
        assert row["gpu_count"] == lay["tp"] * lay["pp"] * spread
        assert row["memory_per_gpu_bytes"]["total"] <= row["usable_memory_bytes"]
        total += row["cost"]
    chat = row_of(result, "chat")
    assert chat["hours"] == 730.0  # serving is priced over one month by default
    assert math.isclose(result["total_cost"], total, rel_tol=1e-5)


@pytest.mark.slow
def test_same_plan_twenty_times_gives_identical_json():
    text = plan_text(GPUS, """
finetune "tune" { model = "tiny" method = qlora dataset = 10MB deadline <= 24h }
serve "chat" { model = "tiny" users = 8 context = 2k }
sweep "tune".dataset = [1MB, 100MB]
""")
    first = json.dumps(solve_text(text, explain=True))
    for _ in range(19):
        assert json.dumps(solve_text(text, explain=True)) == first


def _cost(gpus: str, body: str) -> float:
    result = solve_text(plan_text(gpus, body))
    assert result["status"] == "optimal", result["workloads"][0]["reasons"]
    return result["total_cost"]


def test_more_users_never_lower_the_cost():
    costs = [_cost(GPUS, f'serve "chat" {{ model = "tiny" users = {u} context = 8k '
                         f"tpot <= 40ms }}") for u in (1, 8, 64, 256)]
    assert costs == sorted(costs)
    assert costs[-1] > costs[0]


def test_more_data_never_lowers_the_cost():
    costs = [_cost(GPUS, f'finetune "tune" {{ model = "tiny" method = full dataset = {d} '
                         "deadline <= 12h }") for d in ("10MB", "1GB", "20GB")]
    assert costs == sorted(costs)
    assert costs[-1] > costs[0]


def test_shorter_deadline_never_lowers_the_cost():
    body = 'pretrain "base" {{ model = "tiny" dataset = 15B tokens deadline <= {} }}'
    costs = [_cost(GPUS, body.format(d)) for d in ("30d", "7d", "3d", "2d")]
    assert costs == sorted(costs)


def test_more_gpus_available_never_raise_the_cost():
    body = """
pretrain "base" { model = "tiny" dataset = 20B tokens deadline <= 3d }
finetune "tune" { model = "tiny" method = full dataset = 2GB deadline <= 12h }
"""
    costs = [_cost(f'gpu "L4" {{ available = {n} }}\ngpu "A100-80G" {{ available = {n} }}\n', body)
             for n in (8, 16, 64)]
    assert costs == sorted(costs, reverse=True)


def test_memory_miss_names_need_and_usable_per_gpu_type():
    text = plan_text('gpu "L4" { available = 2 }\n', """
finetune "big" { model = "DeepSeek-R1" method = full dataset = 1MB }
""")
    result = solve_text(text)
    assert result["status"] == "infeasible" and Result.from_json(result).exit_code == 1
    row = row_of(result, "big")
    assert row["fits"] is False and row["decided_by"] == "memory"
    (reason,) = row["reasons"]
    assert reason.startswith("L4: needs ") and "per GPU at best" in reason
    # training may use all of an L4's 23,034 MiB (its context and allocator reserve are
    # counted in the need); even ZeRO-Infinity's two-layer working set of R1 (2 x 11.3B
    # routed-expert parameters of one MoE layer x 2 bytes) does not fit
    assert "has 22.5 GiB usable" in reason
    # the row shows the nearest miss: its layout and memory, more than usable
    assert row["gpu"] == "L4" and row["memory_per_gpu_bytes"]["total"] > row["usable_memory_bytes"]


def test_deadline_miss_says_how_many_gpus_would_meet_it():
    text = plan_text('gpu "A100-80G" { available = 4 }\n', """
pretrain "base" { model = "tiny" dataset = 200B tokens deadline <= 1d }
""")
    result = solve_text(text)
    assert Result.from_json(result).exit_code == 1
    row = row_of(result, "base")
    assert row["decided_by"] == "deadline"
    (reason,) = row["reasons"]
    assert "fastest is" in reason and "on all 4 available" in reason and "deadline 24.0 h" in reason
    # the fastest layout is the row itself; linear scaling gives the count needed
    need = math.ceil(row["gpu_count"] * row["hours"] / 24.0)
    assert reason.endswith(f"needs at least {need}")
    assert row["gpu_count"] == 4 and row["hours"] > 24.0


def test_workload_budget_miss():
    text = plan_text(GPUS, """
pretrain "base" { model = "tiny" dataset = 20B tokens budget <= 10 }
""")
    row = row_of(solve_text(text), "base")
    assert row["fits"] is False and row["decided_by"] == "budget"
    assert any("workload budget $10.00" in r for r in row["reasons"])


def test_shared_availability_names_the_limit_and_the_workloads():
    # alone, each needs 2 of the A100s to finish in 2 days (70 h on one)
    text = plan_text('gpu "A100-80G" { available = 2 }\n', """
pretrain "a" { model = "tiny" dataset = 5B tokens deadline <= 2d }
pretrain "b" { model = "tiny" dataset = 5B tokens deadline <= 2d }
""")
    result = solve_text(text)
    assert result["status"] == "infeasible"
    assert any(b.startswith("availability A100-80G") and "a, b" in b for b in result["binding"])
    for row in result["workloads"]:
        assert row["fits"] is False and row["decided_by"] == "availability"
        assert row["reasons"][0].startswith("alone it would be")


def test_fully_pinned_layout_is_evaluated_as_given():
    text = plan_text(GPUS, """
finetune "tune" { model = "tiny" method = lora dataset = 10MB
  layout { gpu = "A100-80G" tp = 2 pp = 1 dp = 2 zero = 1 recompute = full
           offload = none micro_batch = 2 } }
""")
    row = row_of(solve_text(text), "tune")
    assert row["fits"] and row["decided_by"] == "pinned"
    assert row["gpu"] == "A100-80G" and row["gpu_count"] == 4
    lay = row["layout"]
    assert (lay["tp"], lay["pp"], lay["dp"], lay["zero"], lay["recompute"], lay["offload"],
            lay["micro_batch"]) == (2, 1, 2, 1, "full", "none", 2)


def test_pinned_layout_that_does_not_fit_is_shown_with_the_reason():
    text = plan_text('gpu "L4" { available = 8 }\n', """
finetune "tune" { model = "DeepSeek-R1-Distill-Qwen-7B" method = full dataset = 10MB
  layout { gpu = "L4" count = 1 tp = 1 pp = 1 zero = 0 recompute = none
           offload = none micro_batch = 1 } }
""")
    result = solve_text(text)
    assert Result.from_json(result).exit_code == 1
    row = row_of(result, "tune")
    assert row["fits"] is False and row["decided_by"] == "pinned"
    assert row["gpu_count"] == 1 and row["memory_per_gpu_bytes"]["total"] > row["usable_memory_bytes"]
    assert "pinned layout" in row["reasons"][0] and "usable" in row["reasons"][0]


def test_partial_pins_are_kept():
    text = plan_text(GPUS, """
pretrain "base" { model = "tiny" dataset = 5B tokens deadline <= 7d
  layout { tp = 2 zero = 3 } }
""")
    row = row_of(solve_text(text), "base")
    assert row["fits"] and row["layout"]["tp"] == 2 and row["layout"]["zero"] == 3


def test_pin_that_the_model_cannot_take_is_bad_input():
    text = plan_text(GPUS, """
pretrain "base" { model = "tiny" dataset = 5B tokens layout { tp = 8 } }
""")
    with pytest.raises(PlanError, match="tp = 8 must divide"):
        solve_text(text)


def test_sweep_rows_carry_scenario_and_share_the_workload_name():
    text = plan_text(GPUS, """
finetune "tune" { model = "tiny" method = qlora dataset = 1MB deadline <= 24h }
sweep "tune".dataset = [1MB, 1GB, 10GB]
""")
    result = solve_text(text)
    rows = result["workloads"]
    assert [r["scenario"] for r in rows] == [{"dataset": "1MB"}, {"dataset": "1GB"},
                                             {"dataset": "10GB"}]
    assert {r["name"] for r in rows} == {"tune"}
    assert [r["inputs"]["dataset_bytes"] for r in rows] == [10**6, 10**9, 10**10]
    costs = [r["cost"] for r in rows]
    assert costs == sorted(costs)
    # a swept workload counts its costliest variant
    assert math.isclose(result["total_cost"], max(costs), rel_tol=1e-5)


def test_two_sweeps_on_one_workload_give_the_cartesian_product():
    text = plan_text(GPUS, """
finetune "tune" { model = "tiny" method = lora dataset = 1MB }
sweep "tune".dataset = [1MB, 10MB]
sweep "t*".epochs = [1, 2]
""")
    rows = solve_text(text)["workloads"]
    assert [r["scenario"] for r in rows] == [
        {"dataset": "1MB", "epochs": "1"}, {"dataset": "1MB", "epochs": "2"},
        {"dataset": "10MB", "epochs": "1"}, {"dataset": "10MB", "epochs": "2"}]
    assert [r["tokens"] for r in rows] == [250_000, 500_000, 2_500_000, 5_000_000]


def test_serving_auto_weights_prefer_quality_at_equal_count():
    text = plan_text('gpu "A100-80G" { available = 8 }\n', """
serve "small" { model = "tiny" users = 1 context = 2k }
serve "big" { model = "DeepSeek-R1-Distill-Llama-70B" users = 1 context = 2k gpus = ["A100-80G"] }
""")
    result = solve_text(text)
    assert row_of(result, "small")["layout"]["weights"] == "bf16"
    big = row_of(result, "big")
    # 70B in bf16 (140 GB) needs two 80 GB GPUs; fp8/int8/int4 fit on one
    assert big["gpu_count"] == 1 and big["layout"]["weights"] != "bf16"
    assert big["inputs"]["weights"] == "auto"


def test_decided_by_memory_when_cheaper_types_cannot_hold_it():
    text = plan_text('gpu "L4" { available = 64 }\ngpu "A100-80G" { available = 8 }\n', """
serve "big" { model = "DeepSeek-R1-Distill-Qwen-32B" users = 1 context = 2k weights = bf16 }
""")
    row = row_of(solve_text(text), "big")
    assert row["gpu"] == "A100-80G"
    assert row["decided_by"] == "memory", row["reasons"]


def test_explain_adds_alternatives_with_costs():
    result = solve_text(MIXED, explain=True)
    tune = row_of(result, "tune")
    assert 1 <= len(tune["alternatives"]) <= 3
    keys = [(a["gpu"], a["gpu_count"]) for a in tune["alternatives"]]
    assert (tune["gpu"], tune["gpu_count"]) not in keys and len(set(keys)) == len(keys)
    assert all(a["cost"] >= tune["cost"] * (1 - 1e-6) for a in tune["alternatives"])
    assert all(r["alternatives"] == [] for r in solve_text(MIXED)["workloads"])


def test_objective_gpus_uses_no_more_gpus_than_cost():
    body = 'pretrain "base" { model = "tiny" dataset = 5B tokens deadline <= 7d }'
    by_cost = solve_text(plan_text(GPUS, body))
    by_gpus = solve_text(plan_text(GPUS, body), objective="gpus")
    assert by_gpus["objective"] == "gpus"
    assert by_gpus["workloads"][0]["gpu_count"] <= by_cost["workloads"][0]["gpu_count"]
    assert by_gpus["total_cost"] >= by_cost["total_cost"] * (1 - 1e-6)


def test_unknown_objective_is_bad_input():
    with pytest.raises(PlanError, match="objective"):
        solve_text(MIXED, objective="speed")


def test_default_global_batches():
    result = solve_text(MIXED)
    assert row_of(result, "tune")["inputs"]["batch"] == 16  # DEFAULT_FINETUNE_GLOBAL_BATCH
    # pretraining: 4 Mi tokens per step / 2k tokens per sequence
    assert row_of(result, "base")["inputs"]["batch"] == 2048


def test_deadline_miss_says_when_the_global_batch_caps_data_parallelism():
    # one sequence per step: DP stays 1, TP x PP reach at most 22 of the 32 GPUs
    text = plan_text('gpu "A100-80G" { available = 32 }\n', """
pretrain "base" { model = "tiny" dataset = 20B tokens batch = 1 deadline <= 1d }
""")
    row = row_of(solve_text(text), "base")
    assert row["fits"] is False and row["layout"]["dp"] == 1 and row["gpu_count"] < 32
    assert row["reasons"][0].endswith("DP is capped by the global batch of 1 sequences (raise `batch`)")


def test_decided_by_latency_when_fewer_gpus_fit_but_decode_too_slowly():
    # bf16 7B weights (15 GB) fit one 24 GB GPU, but one decode step reads them all:
    # at 600 GB/s (A10G) that is ~25 ms, so TPOT <= 20 ms needs TP = 2
    text = plan_text('gpu "A10G" { available = 8 }\n', """
serve "fast" { model = "DeepSeek-R1-Distill-Qwen-7B" users = 1 context = 2k weights = bf16
               tpot <= 20ms }
""")
    row = row_of(solve_text(text), "fast")
    assert row["fits"] and row["gpu"] == "A10G" and row["gpu_count"] == 2
    assert row["decided_by"] == "latency"
    assert "1 x A10G carry 1 user but miss the latency limits" in row["reasons"][1]


@settings(max_examples=8, deadline=None)
@given(users=st.integers(1, 200), extra=st.integers(1, 200),
       tokens=st.integers(1, 40), more=st.integers(1, 40), l4=st.integers(1, 6))
@pytest.mark.slow
def test_monotone_on_random_small_plans(users, extra, tokens, more, l4):
    """More users or data never lower the optimal cost; more GPUs never raise it."""
    def cost(u: int, b: int, n: int) -> float:
        gpus = f'gpu "L4" {{ available = {n} }}\ngpu "A100-80G" {{ available = 8 }}\n'
        body = (f'serve "chat" {{ model = "tiny" users = {u} context = 4k tpot <= 60ms }}\n'
                f'pretrain "base" {{ model = "tiny" dataset = {b}00M tokens deadline <= 2d }}\n')
        result = solve_text(plan_text(gpus, body))
        return result["total_cost"] if result["status"] != "infeasible" else math.inf

    base = cost(users, tokens, l4)
    assert cost(users + extra, tokens, l4) >= base * (1 - 1e-6)
    assert cost(users, tokens + more, l4) >= base * (1 - 1e-6)
    assert cost(users, tokens, l4 + 2) <= base * (1 + 1e-6)


def test_uneven_pipeline_stages_serve_a_model_with_a_prime_layer_count():
    # DeepSeek-R1 has 61 layers (prime): with PP restricted to divisors no
    # pipeline exists, and 1.34 TB of BF16 weights cannot fit one 8-GPU node
    # (8 x 72 GiB usable). Uneven stages (vLLM, Megatron) make it servable; the
    # largest stage holds ceil(61 / pp) layers.
    result = solve_text('gpu "A100-80G" { available = 64 }\n'
                        'serve "r1" { model = "DeepSeek-R1" users = 3 context = 8k weights = bf16 }\n')
    row = row_of(result, "r1")
    assert row["fits"] and result["status"] == "optimal"
    layout = row["layout"]
    assert layout["pp"] > 1 and row["gpu_count"] > 8
    assert layout["tp"] * layout["pp"] * layout["replicas"] == row["gpu_count"]
    # every GPU holds its stage's share of the weights: the whole model is held
    stage_layers = -(-61 // layout["pp"])
    assert stage_layers * layout["pp"] >= 61
    assert row["memory_per_gpu_bytes"]["weights"] * row["gpu_count"] >= 2 * 671e9
    assert not check(load_text('gpu "A100-80G" { available = 64 }\n'
                               'serve "r1" { model = "DeepSeek-R1" users = 3 context = 8k '
                               'weights = bf16 }\n'), Result.from_json(result))


HOURS_PLAN = """
plan "fast" { objective = hours }
gpu "A100-80G" { available = 64  price = 1.10/h }
gpu "H100-SXM" { available = 64 }
finetune "ft" { model = "Llama-3.1-8B" method = full dataset = 10GB epochs = 2 seq_len = 8192
                batch = 128 deadline <= 24h budget <= 600 }
sweep "ft".budget = [600, 800]
"""


def test_objective_hours_names_what_kept_the_faster_gpu_away():
    # Under `objective = hours` the rival GPU types are the faster ones, not the cheaper
    # ones: at a 600 budget H100s (faster, dearer) are over the workload budget, so the
    # budget decided; at 800 the H100s win and only their availability caps the count.
    result = solve_text(HOURS_PLAN)
    low, high = row_of(result, "ft", budget=600), row_of(result, "ft", budget=800)
    assert low["gpu"] == "A100-80G" and low["decided_by"] == "budget"
    assert any(r.startswith("H100-SXM:") and "budget $600.00" in r for r in low["reasons"])
    assert high["gpu"] == "H100-SXM" and high["decided_by"] == "availability"
    assert high["gpu_count"] == 64 and high["hours"] < low["hours"]


NETWORK_PLAN = """
finetune "ft" {{ model = "tiny" method = full dataset = 1B tokens seq_len = 2k batch = 32
                deadline <= 24h
                layout {{ gpu = "A100-80G" count = 16 tp = 1 {shape} zero = 3
                         recompute = none offload = none micro_batch = 1 }} }}
"""


def _network_row(shape: str, stack: str = "deepspeed") -> tuple[dict, str]:
    """The pinned 2-node full fine-tune of tiny on ``stack``, solved: (row, plan text)."""
    body = NETWORK_PLAN.format(shape=shape).replace("method = full", f"method = full stack = {stack}")
    text = plan_text('gpu "A100-80G" { available = 16 }\n', body)
    return row_of(solve_text(text), "ft"), text


def _nic_label(bytes_per_gpu_per_step: float, row: dict) -> str:
    """The rule's answer worked by hand: 8 GPUs of a node, 1e9 tokens in steps of 32 x 2000."""
    gbps = 8 * bytes_per_gpu_per_step * (1e9 / (32 * 2000)) * 8 / 1e9 / (row["hours"] * 3600)
    rate = next(r for r in (1, 10, 25, 50, 100, 200, 400, 800, 1600, 3200) if gbps <= r)
    return f"RDMA {rate}Gbps" if rate >= 100 else f"{rate}Gbps"


def test_training_network_counts_zero3_gathers_hand_worked():
    # tiny (1.1B, 22 layers), full fine-tune (DeepSpeed: bf16 gradients), 16 x A100-80G =
    # 2 nodes, DP 16 with ZeRO-3. The DP ring has 8 ranks on each node, so it crosses each
    # node boundary once and gets the node's eight NICs: bus bandwidth min(NVLink ring
    # 232/300 x 300 GB/s, 0.96 x 8 x 6.25 GB/s) = 48 GB/s. Per micro-batch each layer is
    # all-gathered twice (forward, backward), per step its gradients reduce-scattered once;
    # each collective costs NCCL's ring latency 8.4 us + 14 NVLink steps x 3.4 us + 1
    # network step x 14 us (docs/estimation.md sec 5, "Collectives").
    from planner.estimate import evaluate_train, param_counts
    from planner.estimate.types import Layout
    from planner.resolve.variants import build_variants

    row, text = _network_row("pp = 1 dp = 16")
    variant = build_variants(load_text(text))[0]
    arch = variant.arch
    n, layers = param_counts(arch).total, arch.layers
    busbw = min(232 / 300 * 300e9, 0.96 * 8 * 6.25e9)
    latency = 8.4e-6 + 14 * 3.4e-6 + 14e-6
    gather = 2 * layers * latency + 2 * (2 * n) * 15 / 16 / busbw  # one micro-batch
    reduce = layers * latency + (2 * n) * 15 / 16 / busbw
    micro = 32 // 16  # micro-batches per step at micro_batch 1
    steps = 1e9 / (32 * 2000)
    # each micro-batch's gathers hide behind its compute c; the last one's, with the
    # reduce-scatter, show beyond it
    compute = evaluate_train(variant.train_job, Layout(dp=16, zero=3), variant.offers[0].spec)
    c = compute.compute_seconds / steps / micro
    assert gather < c < gather + reduce
    step = micro * c + (gather + reduce - c)
    # beside the steps, a rented run loads, saves checkpoints and restarts (rent.py, sec 12)
    extra = row["overheads"]
    steps_hours = row["hours"] - extra["load_hours"] - extra["checkpoint_hours"] - extra["restart_hours"]
    assert steps_hours == pytest.approx(steps * step / 3600, rel=1e-5)
    # the node's NICs carry one rank's bytes per ring: (2 passes x 2 micro-batches + 1)
    # x 2N x 15/16 per step, over the step: about 315 Gbps
    per_node = (2 * micro + 1) * 2 * n * 15 / 16
    gbps = per_node * steps * 8 / 1e9 / (row["hours"] * 3600)
    assert 200 < gbps <= 400
    assert row["nodes"] == 2 and row["host"]["network"] == "RDMA 400Gbps"


def test_training_network_counts_only_what_crosses_nodes():
    # PP 2 x DP 8 on 2 nodes of 8: each DP group (and its ZeRO-3 gathers) stays inside a
    # node on NVLink; only the pipeline boundary crosses: activations forward and their
    # gradients backward, s x b x h x 2 B each, per micro-batch (4 a step; one chunk per GPU).
    # FSDP's stack (torchtitan's pipelines with FSDP): DeepSpeed's engine refuses ZeRO-3 with PP.
    row, _ = _network_row("pp = 2 dp = 8", stack="fsdp")
    per_step = 4 * 1 * 2 * 2 * 2000 * 2048  # micro-batches x chunks x (fwd+bwd) x bytes x s x h
    label = _nic_label(per_step, row)
    assert row["nodes"] == 2 and row["host"]["network"] == label
    # had the ZeRO-3 gathers been counted (4 micro-batches x 2 passes x 2.2 GB x 7/8 per
    # step, about 30x the activations) the need would be thousands of Gbps
    assert label in ("10Gbps", "25Gbps", "50Gbps", "RDMA 100Gbps", "RDMA 200Gbps")
