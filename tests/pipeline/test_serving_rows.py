"""Serving rows end to end (issue 12): loads carried within the hardware, p99 limits met by
simulation, capacity misses explained, monotone in the load, and the review of a growth."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.diff import diff_results
from planner.render.diffview import render_markdown, render_table
from planner.result import Result

from test_solve import load_text, plan_text, row_of, solve_text

GPUS = 'gpu "L4" { available = 16 }\ngpu "A100-80G" { available = 16 }\n'


def _service_within_hardware(row: dict) -> None:
    svc = row["service"]
    assert 0.0 <= svc["compute_share"] <= 1.0 and 0.0 <= svc["bandwidth_share"] <= 1.0, row["name"]
    if row["fits"]:
        assert svc["requests_per_second"] <= svc["capacity_requests_per_second"] * (1 + 1e-6)
        assert svc["ttft_p50_seconds"] <= svc["ttft_p99_seconds"]
        assert svc["tpot_p50_seconds"] <= svc["tpot_p99_seconds"]


def test_a_rate_is_carried_with_headroom_and_its_figures_add_up():
    result = solve_text(plan_text(GPUS, """
serve "chat" { model = "tiny" rate = 40/s prompt = 1k output = 200 tpot <= 60ms ttft <= 1s }
"""))
    row = row_of(result, "chat")
    svc = row["service"]
    assert row["fits"] and svc["engine"] == "vllm"
    assert svc["requests_per_second"] == pytest.approx(40.0)
    assert svc["output_tokens_per_second"] == pytest.approx(40.0 * 200)
    assert svc["load_share"] == pytest.approx(40.0 / svc["capacity_requests_per_second"], rel=1e-5)
    assert svc["load_share"] < 1.0
    assert row["inputs"]["rate"] == 40.0 and row["inputs"]["users"] is None
    assert row["inputs"]["context"] == 1200  # prompt + output
    _service_within_hardware(row)


def test_p99_limits_are_met_by_simulation_and_cost_replicas():
    """A tight p99 TTFT needs more than the means alone: the search upgrades the replicas
    until the seeded simulation meets it, and the checker simulates again."""
    body = 'serve "chat" {{ model = "tiny" rate = 60/s prompt = 2k output = 100 ttft <= 2s {} }}\n'
    loose = row_of(solve_text(plan_text(GPUS, body.format(""))), "chat")
    p99 = loose["service"]["ttft_p99_seconds"]
    tight = row_of(solve_text(plan_text(GPUS, body.format(f"ttft_p99 <= {p99 * 500:.0f}ms"))), "chat")
    assert tight["fits"] and tight["service"]["ttft_p99_seconds"] <= p99 / 2
    assert tight["cost"] > loose["cost"]
    assert tight["inputs"]["ttft_p99_ms"] == pytest.approx(round(p99 * 500))


def test_a_load_no_layout_carries_is_a_capacity_miss():
    result = solve_text(plan_text('gpu "L4" { available = 2 }\n', """
serve "chat" { model = "tiny" rate = 5000/s prompt = 2k output = 500 }
"""))
    row = row_of(result, "chat")
    assert result["status"] == "infeasible" and not row["fits"]
    assert row["decided_by"] == "capacity"
    assert "L4: carries at most" in row["reasons"][0] and "the load is 5,000 requests/s" in row["reasons"][0]
    assert row["ttft_seconds"] is None or math.isfinite(row["ttft_seconds"])  # JSON has no infinity


def test_more_users_than_one_gpu_runs_need_replicas():
    """Every user's request runs (none waits for a slot): past what one replica's KV cache
    holds, the row takes more replicas, and says so."""
    text = plan_text('gpu "L4" { available = 16 }\n', """
serve "chat" { model = "DeepSeek-R1-Distill-Qwen-7B" users = 100 context = 16k weights = int4 }
""")
    row = row_of(solve_text(text), "chat")
    assert row["fits"] and row["gpu_count"] > 1
    assert row["layout"]["replicas"] * row["service"]["running_limit"] >= 100
    assert row["decided_by"] == "capacity"
    assert "1 x L4 hold the model" in row["reasons"][1]
    assert f"{row['gpu_count']} is the fewest that carries 100 users" in row["reasons"][1]
    # 200 users at 32k: no layout of 16 L4s carries them; the row shows the one nearest
    text = text.replace("users = 100 context = 16k", "users = 200 context = 32k")
    miss = row_of(solve_text(text), "chat")
    assert not miss["fits"] and miss["decided_by"] == "capacity"
    shown = f"on {miss['gpu_count']} L4 ({'TP' + str(miss['layout']['tp'])}"
    assert shown in miss["reasons"][0] and "the load is 200 users" in miss["reasons"][0]


@settings(max_examples=6, deadline=None)
@given(rate=st.floats(0.5, 60.0), factor=st.floats(1.1, 4.0),
       engine=st.sampled_from(["vllm", "sglang", "trtllm"]))
@pytest.mark.slow
def test_a_higher_rate_never_needs_fewer_gpus(rate, factor, engine):
    """On one GPU type (one price) a higher rate never takes fewer GPUs; every row, placed or
    nearest miss, stays within the GPUs' peaks."""
    def solve(r: float) -> dict:
        return solve_text(plan_text('gpu "A100-80G" { available = 16 }\n', f"""
serve "chat" {{ model = "tiny" rate = {r:.3f}/s prompt = 2k output = 300 engine = {engine}
               tpot <= 80ms ttft <= 2s }}
"""))

    low, high = solve(rate), solve(rate * factor)
    for result in (low, high):
        for row in result["workloads"]:
            _service_within_hardware(row)
    a, b = row_of(low, "chat"), row_of(high, "chat")
    assert a["fits"] or not b["fits"]
    if a["fits"] and b["fits"]:
        assert b["gpu_count"] >= a["gpu_count"] and b["cost"] >= a["cost"] * (1 - 1e-9)


@pytest.mark.slow
def test_growth_shows_its_cost_latency_and_headroom_in_review():
    """Issue 12: `users 96 -> 160` on a 70B chat used to read +$0.00."""
    def solve(users: int) -> Result:
        text = f"""
plan "chat" {{ objective = cost }}
gpu "A100-80G" {{ available = 32 }}
serve "chat-70b" {{ model = "Llama-3.1-70B" users = {users} prompt = 3k output = 1k weights = bf16
                   ttft <= 2s tpot <= 50ms }}
"""
        return Result.from_json(solve_text(text))

    # 96 users fit two whole 8-GPU nodes; 240 need a third: the bill grows by a node
    before, after = solve(96), solve(240)
    diff = diff_results(before, after)
    change = diff.workloads[0]
    assert change.delta > 0 and "users 96 → 240" in change.causes
    assert change.old.service.headroom > change.new.service.headroom
    # 160 users still fit the two nodes already paid for: the same money, less headroom,
    # and the review says so rather than showing nothing
    within = diff_results(before, solve(160)).workloads[0]
    assert within.delta == 0 and within.old.service.headroom > within.new.service.headroom
    assert "users 96 → 160" in within.causes
    table, comment = render_table(diff), render_markdown(diff)
    assert "HEADROOM" in table and "→" in table.split("HEADROOM")[1]
    assert "**Serving**" in comment and "| `chat-70b` |" in comment.split("**Serving**")[1]


def test_a_service_row_is_re_derived_by_the_checker():
    """A row whose serving figures were altered is caught (the checker simulates again)."""
    import dataclasses

    from planner.verify import check

    text = plan_text(GPUS, 'serve "chat" { model = "tiny" rate = 10/s prompt = 1k output = 100 }\n')
    result = Result.from_json(solve_text(text))
    assert check(load_text(text), result) == []
    row = result.workloads[0]
    changed = dataclasses.replace(row, service=dataclasses.replace(row.service, ttft_p99_seconds=0.001))
    broken = dataclasses.replace(result, workloads=(changed,))
    assert any("ttft_p99_seconds" in v for v in check(load_text(text), broken))
