"""Reason texts name the right cause: a pinned count is pinned, a deadline or latency miss
is not "does not fit", a GPU type's reason and --explain name the same layout, and a miss
never reads as if it met its limit."""

from __future__ import annotations

from planner.render import render
from planner.result import Result
from planner.units import apart, duration, latency

from support.solving import solve_text

TINY = """
model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4
               ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }
"""
HEAD = 'import "std"\nplan "r" { objective = cost }\n' + TINY


def row(result: dict, name: str) -> dict:
    return next(r for r in result["workloads"] if r["name"] == name)


def test_a_pinned_count_is_reported_as_pinned_not_as_memory():
    # 8 GPUs of tiny's LoRA fit on far fewer: "fewer than 8 do not fit" would be false.
    text = HEAD + '''gpu "A100-80G" { available = 16 }
finetune "t" { model = "tiny" method = lora dataset = 100MB layout { count = 8 } }
'''
    t = row(solve_text(text), "t")
    assert t["gpu_count"] == 8 and t["decided_by"] == "pinned"
    assert "8 GPUs: the count is pinned in the plan (layout count = 8)" in t["reasons"]
    assert not any("do not fit in memory" in r for r in t["reasons"])


def test_every_degree_pinned_fixes_the_count_too():
    text = HEAD + '''gpu "A100-80G" { available = 16 }
finetune "t" { model = "tiny" method = lora dataset = 100MB layout { tp = 2  pp = 1  dp = 2 } }
'''
    t = row(solve_text(text), "t")
    assert t["decided_by"] == "pinned"
    assert "4 GPUs: the count is pinned in the plan (layout tp = 2, pp = 1, dp = 2)" in t["reasons"]


def test_a_deadline_miss_is_not_labelled_does_not_fit():
    # Full fine-tuning of tiny on 100 GB within 10 minutes: it fits in memory, it is too slow.
    text = HEAD + '''gpu "A100-80G" { available = 8 }
finetune "late" { model = "tiny" method = full dataset = 100GB deadline <= 10min }
'''
    result = solve_text(text)
    late = row(result, "late")
    assert not late["fits"] and late["decided_by"] == "deadline"
    table = render(Result.from_json(result), "table", width=400)
    assert "misses the deadline" in table and "does not fit" not in table
    assert "misses the deadline" in render(Result.from_json(result), "markdown")


def test_a_latency_miss_is_not_labelled_does_not_fit():
    text = HEAD + '''gpu "A100-80G" { available = 8 }
serve "fast" { model = "tiny" users = 4 context = 2k tpot <= 0.1ms }
'''
    result = solve_text(text)
    fast = row(result, "fast")
    assert not fast["fits"] and fast["decided_by"] == "latency"
    table = render(Result.from_json(result), "table", width=400)
    assert "misses the latency limits" in table and "does not fit" not in table


def test_a_type_reason_and_explain_name_the_same_layout():
    # examples/chat-service.plan, 128 users: L40S holds it only on 16 GPUs, at the same cost
    # in several layouts; the reason and the alternatives name one of them, the same one.
    from pathlib import Path

    from planner.pipeline import solve_file

    path = Path(__file__).resolve().parents[2] / "examples" / "chat-service.plan"
    result = solve_file(str(path), explain=True)
    for r in result.workloads:
        for reason in r.reasons:
            gpu, _, rest = reason.partition(": cheapest is ")
            if not rest or " on " not in rest:
                continue
            count = int(rest.split(" on ")[1].split(" GPU")[0])
            named = rest.split("(")[1].split(")")[0]
            alts = [a for a in r.alternatives if a.gpu == gpu and a.gpu_count == count]
            from planner.units import layout
            assert all(layout(a.layout) == named for a in alts), (reason, alts)


def test_a_miss_never_reads_as_meeting_its_limit():
    # A TPOT of 50.46 ms against 50 ms, a run of 24.04 h against 24 h
    assert apart(latency, 0.05046, 0.050) == ("50.5 ms", "50 ms")
    assert apart(duration, 24.04, 24.0) == ("24.04 h", "24 h")
    assert apart(latency, 0.035, 0.050) == ("35 ms", "50 ms")  # already apart: as usual


def test_money_is_rounded_once_and_spelled_alike_everywhere():
    # A pretrain costing six figures with cents: the row keeps the cents, the sentence of
    # its choice and the table spell the same amount, and the total adds the rows as shown.
    from planner.units import money

    text = HEAD + '''gpu "A100-80G" { available = 128 }
pretrain "base" { model = "tiny" dataset = 4.5T tokens seq_len = 2k deadline <= 30d }
serve "chat" { model = "tiny" users = 64 context = 4k }
'''
    result = solve_text(text)
    table = render(Result.from_json(result), "table", width=400)
    total = 0.0
    for r in result["workloads"]:
        assert r["cost"] == round(r["cost"], 2)
        shown = money(r["cost"], "USD")
        assert shown in r["reasons"][0] and shown in table, (shown, r["reasons"][0])
        total += r["cost"]
    assert result["status"] == "optimal" and result["total_cost"] == round(total, 2)
    assert max(r["cost"] for r in result["workloads"]) > 100_000
