"""The proven floors of a replica's mean TTFT and TPOT (``steady_floor``, docs/estimation.md
9.10) are never above a carried steady state's, whatever the engine, load, budget, weights
and model; and an open rate's ``carried_serve`` is ``evaluate_serve``'s ``carried`` to the
bit, at the saturation rate itself too."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate.serve import (
    carried_serve, evaluate_serve, latency_floors_serve, replica_load, replica_max_rate,
)
from planner.estimate.steady import steady_state
from planner.estimate.steady_floor import mean_latency_floors
from planner.estimate.step import ServeLoad, replica
from planner.estimate.types import Arch, Layout, ServeJob

from support.serving import A100, H100, L40S, LLAMA_8B

ENGINES = ["vllm", "vllm-v0", "sglang", "trtllm", "transformers"]
MOE = Arch(name="moe-small", layers=8, hidden=1024, heads=16, kv_heads=4, head_dim=64, ffn=4096,
           vocab=32000, experts=16, shared_experts=0, experts_per_token=2, expert_ffn=1024)


@st.composite
def loads(draw):
    gpu = draw(st.sampled_from([H100, A100, L40S]))
    kw = dict(
        arch=draw(st.sampled_from([LLAMA_8B, MOE])), gpu=gpu,
        prompt=draw(st.integers(1, 9000)), output=draw(st.integers(1, 700)),
        engine=draw(st.sampled_from(ENGINES)),
        weights=draw(st.sampled_from(["bf16", "int8", "int4", "nf4"]
                                     + (["fp8"] if gpu.fp8_flops else []))),
        tp=draw(st.sampled_from([1, 2, 4])), pp=draw(st.sampled_from([1, 2])),
        prefix_share=draw(st.sampled_from([0.0, 0.37, 0.9])),  # prompts of fractional tokens
        # budgets below a prompt: vLLM V0 prefills it in one step of the budget
        token_budget=draw(st.sampled_from([0, 64, 700, 2048])),
        max_running=draw(st.sampled_from([0, 1, 3])),
    )
    if draw(st.booleans()):
        kw["users"] = draw(st.integers(1, 3000))
    else:
        kw["rate"] = draw(st.floats(1e-4, 300.0))
    return ServeLoad(**kw)


@settings(max_examples=300, deadline=None)
@given(loads())
def test_no_carried_state_is_below_its_floors(load):
    rep = replica(load)
    ttft, tpot = mean_latency_floors(load, rep)
    state = steady_state(load, rep)
    if not state.saturated:
        assert state.ttft_seconds >= ttft
        assert state.tpot_seconds >= tpot


def test_the_floors_are_close_at_light_load():
    """At a rate near 0 a request's TTFT is its own prefill (the floor: its work in one
    step, within 0.5%), and a short prompt's TPOT a step of one decode (the floor: a decode
    of no context, within 5%; a long prompt's share of the steps adds to it): a floor
    raised by that much would be above a state."""
    for engine in ENGINES:
        for prompt in (1, 500, 6000):
            load = ServeLoad(LLAMA_8B, H100, prompt=prompt, output=64, rate=1e-6, engine=engine)
            rep = replica(load)
            ttft, tpot = mean_latency_floors(load, rep)
            state = steady_state(load, rep)
            assert ttft <= state.ttft_seconds < 1.01 * ttft, (engine, prompt)
            assert tpot <= state.tpot_seconds, (engine, prompt)
            if prompt <= 500:
                assert state.tpot_seconds < 1.05 * tpot, (engine, prompt)


def test_one_output_token_has_no_tpot_floor():
    load = ServeLoad(LLAMA_8B, H100, prompt=300, output=1, rate=2.0)
    assert mean_latency_floors(load, replica(load))[1] == 0.0


def test_a_prompt_over_vllm_v0s_budget_is_floored_at_the_budget():
    """vLLM V0 (whole prompts in steps of their own) prefills a prompt over its token budget
    in one step of the budget: the floor counts that step's tokens, not the prompt's."""
    load = ServeLoad(LLAMA_8B, A100, prompt=8000, output=32, rate=1e-6, engine="vllm-v0",
                     token_budget=700)
    rep = replica(load)
    ttft, _ = mean_latency_floors(load, rep)
    state = steady_state(load, rep)
    assert ttft <= state.ttft_seconds < 1.01 * ttft


def _jobs():
    for rate, users in ((0.5, 0), (7.0, 0), (40.0, 0), (0.0, 3), (0.0, 700)):
        for engine in ENGINES:
            yield ServeJob(arch=LLAMA_8B, users=users, rate=rate, prompt=2000, output=200,
                           context=4096, weights="bf16", kv_precision="bf16", engine=engine)


def test_every_replica_count_is_at_or_above_the_shapes_floors():
    """What the search reads: one floor per (TP, PP), below every carried replica count."""
    for job in _jobs():
        for tp in (1, 2):
            ttft, tpot = latency_floors_serve(job, Layout(tp=tp), H100)
            for replicas in (1, 2, 3, 8, 40):
                est = evaluate_serve(job, Layout(tp=tp, replicas=replicas), H100)
                if est.carried:
                    assert est.ttft_seconds >= ttft and est.tpot_seconds >= tpot


@settings(max_examples=200, deadline=None)
@given(loads(), st.integers(1, 64))
def test_carried_serve_is_evaluate_serves_carried(load, replicas):
    job = ServeJob(arch=load.arch, users=load.users, rate=load.rate * replicas, prompt=load.prompt,
                   output=load.output, context=0, weights=load.weights,
                   kv_precision=load.kv, engine=load.engine, prefix_share=load.prefix_share)
    layout = Layout(tp=load.tp, pp=load.pp, replicas=replicas)
    found = carried_serve(job, layout, load.gpu)
    if job.rate > 0:
        assert found == evaluate_serve(job, layout, load.gpu).carried
    else:
        assert found is None


def test_carried_serve_at_the_saturation_rate():
    """At exactly replicas x the saturation rate the steady state is saturated; a hair below
    it, carried: the comparison is ``steady._open``'s, strict."""
    for engine in ENGINES:
        job = ServeJob(arch=LLAMA_8B, users=0, rate=1.0, prompt=1000, output=100,
                       context=2048, weights="bf16", kv_precision="bf16", engine=engine)
        cap = replica_max_rate(replica_load(job, Layout(), H100))
        for replicas in (1, 3):
            for rate in (cap * replicas, cap * replicas * (1 - 1e-12)):
                at = dataclasses.replace(job, rate=rate)
                layout = Layout(replicas=replicas)
                load = replica_load(at, layout, H100)
                expected = evaluate_serve(at, layout, H100).carried
                assert carried_serve(at, layout, H100) == expected
                assert expected == (load.rate < cap), (engine, replicas, rate)
