"""The closed loop's proven TTFT floor (``queue_bound``, docs/estimation.md 9.9): never above
what the simulation gives, whatever the engine, slots, budget and KV pool; the facts its
proof rests on (a step is subadditive, the least time per decode); and a plan whose
simulation would take minutes decided without it, saying "at least"."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate import queue_bound as qb
from planner.estimate.simulate import simulate
from planner.estimate.step import ServeLoad, replica
from planner.estimate.types import Arch
from planner.units import latency_at_least

from support.cli import run_cli
from support.serving import A100, H100, LLAMA_8B

HANG = Path(__file__).parent.parent / "data" / "fuzz-closed-loop-hang.plan"
ENGINES = ["vllm", "vllm-v0", "sglang", "trtllm", "transformers"]
MOE = Arch(name="moe-small", layers=8, hidden=1024, heads=16, kv_heads=4, head_dim=64, ffn=4096,
           vocab=32000, experts=16, shared_experts=0, experts_per_token=2, expert_ffn=1024)


def _floor_and_p99(load: ServeLoad, total: int, warmup: float) -> tuple[float, float]:
    rep = replica(load)
    return qb.ttft_p99_floor(load, rep, total, warmup), simulate(load, total, warmup=warmup).ttft_p99


def _tpot_floor_and_least(load: ServeLoad, total: int, warmup: float) -> tuple[float, float]:
    """The TPOT floor and the least TPOT of the simulation (its p50 and p99 are above it)."""
    r = simulate(load, total, warmup=warmup)
    return qb.tpot_p99_floor(load, replica(load)), min(r.tpot_p50, r.tpot_p99)


@st.composite
def closed_loops(draw):
    kw = dict(
        arch=draw(st.sampled_from([LLAMA_8B, MOE])), gpu=draw(st.sampled_from([H100, A100])),
        prompt=draw(st.integers(1, 4000)), output=draw(st.integers(1, 120)),
        engine=draw(st.sampled_from(ENGINES)),
        weights=draw(st.sampled_from(["bf16", "nf4"])),
        max_running=draw(st.sampled_from([0, 1, 2, 3, 8])),
        token_budget=draw(st.sampled_from([0, 256, 700, 2048])),
        kv_fraction=draw(st.sampled_from([0.0, 0.001, 0.01])),  # small pools preempt
        prefix_share=draw(st.sampled_from([0.0, 0.37])),  # prompts of fractional tokens
        users=draw(st.integers(1, 40)),
    )
    return ServeLoad(**kw)


@settings(max_examples=150, deadline=None)
@given(closed_loops(), st.integers(1, 120), st.sampled_from([0.1, 1.0 / 3.0, 0.5]))
def test_the_floor_is_never_above_the_simulated_p99(load, extra, warmup):
    total = load.users + extra
    try:
        floor, p99 = _floor_and_p99(load, total, warmup)
        tpot_floor, tpot = _tpot_floor_and_least(load, total, warmup)
    except ValueError:  # the model does not fit, or the pool cannot hold one prompt
        return
    assert floor <= p99
    assert tpot_floor <= tpot


@pytest.mark.slow
@settings(max_examples=25, deadline=None)
@given(st.sampled_from(ENGINES), st.integers(100, 600), st.sampled_from([4, 16, 64]),
       st.integers(200, 4000), st.integers(2, 80), st.sampled_from([0, 512, 2048]))
def test_the_floor_holds_for_long_queues(engine, users, slots, prompt, output, budget):
    """Hundreds of users on up to 64 slots, 3 requests each as a row simulates them: where
    the queue bound is used, it stays below the simulated p99."""
    load = ServeLoad(LLAMA_8B, H100, prompt=prompt, output=output, users=users, engine=engine,
                     max_running=slots, token_budget=budget)
    floor, p99 = _floor_and_p99(load, 3 * users, 1.0 / 3.0)
    assert floor <= p99


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("weights", ["bf16", "nf4"])
def test_a_queue_far_above_the_slots_is_waited_for(engine, weights):
    """Sixty users on two slots (one: a serial engine): the floor counts the queue, not only
    a request's own prefill, and stays below the simulated p99."""
    load = ServeLoad(LLAMA_8B, H100, prompt=1500, output=40, users=60, engine=engine,
                     weights=weights, max_running=2, token_budget=512)
    rep = replica(load)
    f = qb._Floor(load, rep)
    own = f.seconds(f.own)
    floor, p99 = _floor_and_p99(load, 180, 1.0 / 3.0)
    assert own * 10 < floor <= p99


def test_every_measured_request_sees_the_full_queue_only_when_proven():
    """Too few requests after every user's first one is in (a total just above the users):
    no queue is claimed, only a request's own prefill."""
    load = ServeLoad(LLAMA_8B, H100, prompt=1500, output=40, users=60, engine="vllm",
                     max_running=2, token_budget=512)
    rep = replica(load)
    f = qb._Floor(load, rep)
    floor, p99 = _floor_and_p99(load, 61, 0.1)
    assert floor == pytest.approx(f.seconds(f.own) * (1 - qb.ROUNDING_MARGIN)) and floor <= p99


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([LLAMA_8B, MOE]), st.sampled_from(["bf16", "fp8", "int4"]),
       st.sampled_from(["vllm", "sglang", "transformers"]),
       st.lists(st.tuples(*[st.floats(0.0, 5000.0)] * 6), min_size=2, max_size=4))
def test_a_step_carrying_several_steps_work_is_no_longer_than_they(arch, weights, engine, steps):
    """The work bound's premise: ``Replica.step_parts`` seconds are subadditive (without
    bitsandbytes' dequantization, which the bound leaves out)."""
    rep = replica(ServeLoad(arch, H100, prompt=100, output=10, users=1, engine=engine,
                            weights=weights, tp=2))
    step = rep.stepper()
    steps = [s for s in steps if s[0] + s[2] > 0]
    if not steps:
        return
    together = step(*(sum(s[i] for s in steps) for i in range(6)))[0]
    assert together <= sum(step(*s)[0] for s in steps) * (1 + 1e-12)


@pytest.mark.parametrize("arch", [LLAMA_8B, MOE])
@pytest.mark.parametrize("weights", ["bf16", "nf4", "int4"])
@pytest.mark.parametrize("engine", ["vllm", "transformers"])
def test_the_least_time_per_decode_is_at_one_or_all_slots(arch, weights, engine):
    """``_per_decode`` takes g(e) / e at e = 1 and e = slots only: the least over every e."""
    load = ServeLoad(arch, A100, prompt=700, output=30, users=1, engine=engine, weights=weights,
                     max_running=300)
    rep = replica(load)
    f = qb._Floor(load, dataclasses.replace(rep, engine=dataclasses.replace(rep.engine, serial=False)))
    step = rep.stepper()
    least = min(step(e, e * 701.0, 0, 0, 0, e)[0] / e for e in range(1, f.slots + 1))
    assert f.per_decode == pytest.approx(least, rel=1e-12)


def _read_back(text: str) -> Fraction:
    number, unit = text.split()
    return Fraction(Decimal(number)) * (1 if unit == "s" else Fraction(1, 1000))


@settings(max_examples=300, deadline=None)
@given(st.floats(1e-6, 1e6), st.sampled_from([None, 3, 4, 5, 6]))
def test_a_lower_bound_is_spelled_rounded_down(seconds, digits):
    text = latency_at_least(seconds, digits)
    assert _read_back(text) <= Fraction(seconds)


@pytest.mark.parametrize("value, text", [(41.96, "41.9 s"), (0.04196, "41 ms"), (0.00969, "9.6 ms"),
                                         (1.0, "1 s"), (0.9999, "999 ms")])
def test_a_lower_bound_reads_like_a_latency(value, text):
    assert latency_at_least(value) == text


def test_the_tpot_floor_is_one_decode_step_alone():
    load = ServeLoad(LLAMA_8B, H100, prompt=1500, output=40, users=60, engine="vllm")
    rep = replica(load)
    one = rep.step(1.0, 1501.0).seconds
    assert qb.tpot_p99_floor(load, rep) == one * (1 - qb.ROUNDING_MARGIN)
    assert qb.tpot_p99_floor(dataclasses.replace(load, output=1), rep) == 0.0


def _no_simulation(*args, **kwargs):
    raise AssertionError("simulated a plan the queue's floor decides")


def test_the_hang_plan_is_decided_without_simulating():
    """82,703 users pinned to one replica (248,109 simulated requests): the floor already
    misses the 0.097 ms limit, so no simulation runs; the reason says "at least"."""
    with mock.patch("planner.estimate.serve.simulate", _no_simulation):
        code, out, err = run_cli("solve", str(HANG), "--format", "json")
        assert code == 1, err
        row = json.loads(out)["workloads"][0]
        code, text, err = run_cli("solve", str(HANG), "--explain")
        code_est, est, err_est = run_cli("estimate", str(HANG))
    assert not row["fits"] and row["decided_by"] == "latency"
    assert row["service"]["ttft_p99_seconds"] is None  # not simulated: no figure
    assert row["service"]["ttft_mean_seconds"] > 1000
    [reason] = row["reasons"]
    assert reason.startswith("B200: best p99 TTFT is at least ") and "limit 0.097 ms" in reason
    assert "best p99 TTFT is at least" in text
    assert "p99 TTFT at least" in est, err_est


def test_a_tpot_p99_limit_below_one_decode_step_is_decided_without_simulating():
    """The fuzz plan with a p99 TPOT limit of 0.1 ms instead: no decode step is that short."""
    text = HANG.read_text(encoding="utf-8").replace("ttft_p99 <= 9.693894300220443e-05s",
                                                    "tpot_p99 <= 0.1ms")
    with mock.patch("planner.estimate.serve.simulate", _no_simulation):
        from support.solving import solve_text
        row = solve_text(text)["workloads"][0]
    assert not row["fits"] and row["service"]["tpot_p99_seconds"] is None
    [reason] = row["reasons"]
    assert reason.startswith("B200: best p99 TPOT is at least ") and "limit 0.1 ms" in reason
