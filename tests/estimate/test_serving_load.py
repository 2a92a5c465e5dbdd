"""The steady-state serving model and the simulation: properties over random loads, agreement
of the two on steady loads, determinism."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate.engines import weight_kernel
from planner.estimate.simulate import simulate
from planner.estimate.steady import max_rate, steady_state
from planner.estimate.step import ServeLoad, replica
from planner.estimate.types import Arch

from support.serving import A100, H100, L40S, LLAMA_8B

ENGINES = ["vllm", "sglang", "trtllm", "transformers"]


@st.composite
def archs(draw):
    heads = draw(st.sampled_from([8, 16, 32, 64]))
    kv = draw(st.sampled_from([h for h in (1, 2, 8, heads) if heads % h == 0]))
    moe = draw(st.booleans())
    return Arch(name="x", layers=draw(st.integers(2, 48)), hidden=heads * 128, heads=heads,
                kv_heads=kv, head_dim=128, ffn=draw(st.integers(1, 8)) * 1024,
                vocab=draw(st.integers(1000, 160000)), tied=draw(st.booleans()),
                experts=8 if moe else 0, experts_per_token=2 if moe else 0,
                expert_ffn=1024 if moe else 0)


@st.composite
def loads(draw, users=True):
    kw = dict(
        arch=draw(archs()), gpu=draw(st.sampled_from([H100, A100, L40S])),
        prompt=draw(st.integers(1, 8000)), output=draw(st.integers(1, 2000)),
        tp=draw(st.sampled_from([1, 2, 4])), engine=draw(st.sampled_from(ENGINES)),
        weights=draw(st.sampled_from(["bf16", "fp8", "int8", "int4", "nf4"])),
        kv=draw(st.sampled_from(["bf16", "fp8"])),
        prefix_share=draw(st.sampled_from([0.0, 0.5])),
    )
    if users:
        kw["users"] = draw(st.integers(1, 3000))
    else:
        kw["rate"] = draw(st.floats(0.01, 200.0))
    return ServeLoad(**kw)


def _within_hardware(s) -> None:
    assert 0.0 <= s.compute_share <= 1.0
    assert 0.0 <= s.bandwidth_share <= 1.0


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(loads(), st.booleans())
def test_never_beyond_the_hardware(load, open_loop):
    if open_loop:
        load = dataclasses.replace(load, users=0, rate=max(0.01, load.users / 20.0))
    s = steady_state(load)
    _within_hardware(s)
    rep = replica(load)
    if rep.max_running:
        for decodes, prefill in ((1, 0), (rep.max_running, 0), (0, rep.token_budget)):
            step = rep.step(decodes, decodes * load.prompt, prefill, prefill, prefill * prefill / 2,
                            decodes + 1)
            assert step.compute_share <= 1.0 and step.bandwidth_share <= 1.0


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(loads(), st.integers(1, 500))
def test_more_users_never_lower_tpot_or_ttft(load, more):
    """More users never lower TPOT or TTFT; nor the throughput, but for bitsandbytes 4-bit,
    whose batch of two is slower in total than one (``test_bitsandbytes_...`` below)."""
    few = steady_state(load)
    many = steady_state(dataclasses.replace(load, users=load.users + more))
    assert many.tpot_seconds >= few.tpot_seconds * (1 - 1e-9)
    assert many.ttft_seconds >= few.ttft_seconds * (1 - 1e-9)
    if not weight_kernel(load.weights).dequant_bytes:
        assert many.requests_per_second >= few.requests_per_second * (1 - 1e-9)


def test_bitsandbytes_batching_lowers_throughput():
    """bitsandbytes runs a single token through its fused gemv_4bit and dequantizes every
    weight for two tokens or more, so two users get less in total than one, while an
    AWQ-class int4 kernel (Marlin) nearly doubles: as measured with vLLM 0.9.0.1 on an RTX
    6000 Ada (vllm-project/vllm issue #22780: gemma-3-27b bnb-4bit 20 tok/s alone, 9.4 with
    two requests; AWQ 30 -> 56.6) and with TGI on 4 x L4 (huggingface/text-generation-inference
    issue #800: bnb-nf4 60 ms per token alone, 160 ms at batch 2). The model gives the
    direction; its fall (5.6x per step) is steeper than the measured 2.1-4.3x."""
    def served(weights, users):
        load = ServeLoad(LLAMA_8B, L40S, prompt=1000, output=200, users=users, weights=weights)
        return steady_state(load)

    nf4 = [served("nf4", n) for n in (1, 2, 4)]
    int4 = [served("int4", n) for n in (1, 2)]
    assert nf4[1].output_tokens_per_second < nf4[0].output_tokens_per_second
    assert nf4[1].tpot_seconds > 3 * nf4[0].tpot_seconds
    assert nf4[2].output_tokens_per_second > nf4[1].output_tokens_per_second  # then batching pays
    assert int4[1].output_tokens_per_second > 1.8 * int4[0].output_tokens_per_second


def test_a_fractional_batch_dequantizes_in_proportion():
    """A steady state's mean step of 1.25 tokens is steps of one and two tokens, a quarter
    of them dequantizing: its cost lies a quarter of the way between the two."""
    rep = replica(ServeLoad(LLAMA_8B, L40S, prompt=100, output=100, users=2, weights="nf4"))
    one, two = rep.step(1, 100).seconds, rep.step(2, 200).seconds
    assert one < two / 3
    assert rep.step(1.25, 125).seconds == pytest.approx(one + 0.25 * (two - one), rel=1e-9)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(loads(users=False), st.floats(1.01, 5.0))
def test_a_higher_rate_never_lowers_latency(load, factor):
    low = steady_state(load)
    high = steady_state(dataclasses.replace(load, rate=load.rate * factor))
    assert high.tpot_seconds >= low.tpot_seconds * (1 - 1e-9)
    assert high.ttft_seconds >= low.ttft_seconds * (1 - 1e-9)
    assert high.saturated or not low.saturated


def test_shares_by_hand_at_saturation():
    """At saturation the shares are the mean step's FLOPs and bytes over its time."""
    load = ServeLoad(LLAMA_8B, H100, prompt=1000, output=1000, users=5000)
    s = steady_state(load)
    assert s.saturated and s.decoding == pytest.approx(replica(load).max_running)
    # decode-heavy 1000/1000: memory decides, and never more than 0.90 of the bandwidth
    assert 0.5 < s.bandwidth_share < 0.90
    assert s.compute_share < 0.6
    assert s.requests_per_second == pytest.approx(max_rate(load))


def test_open_rate_beyond_capacity_has_no_steady_state():
    load = ServeLoad(LLAMA_8B, H100, prompt=1000, output=250, rate=1.0)
    cap = max_rate(load)
    over = steady_state(dataclasses.replace(load, rate=cap * 1.01))
    assert over.saturated and math.isinf(over.ttft_seconds)
    assert over.requests_per_second == pytest.approx(cap)
    under = steady_state(dataclasses.replace(load, rate=cap * 0.5))
    assert not under.saturated and under.requests_per_second == pytest.approx(cap * 0.5)
    # Little's law: requests in the replica = rate x latency
    assert under.concurrency == pytest.approx(under.requests_per_second * under.latency_seconds)


def test_a_model_that_does_not_fit():
    big = dataclasses.replace(LLAMA_8B, layers=400)
    s = steady_state(ServeLoad(big, L40S, prompt=100, output=10, users=1))
    assert not s.fits and s.saturated and s.requests_per_second == 0.0


def test_single_stream_eager_is_cpu_bound():
    """transformers, one user: every step costs the eager launch time (39.2 ms for 32 layers),
    more than the 16 GB weight read on an A100 (16.06 GB / (2.039 TB/s x 0.69) = 11.4 ms)."""
    s = steady_state(ServeLoad(LLAMA_8B, A100, prompt=6, output=50, users=1,
                               engine="transformers"))
    assert s.tpot_seconds == pytest.approx(1 / 25.5, rel=1e-6)
    assert s.ttft_seconds == pytest.approx(1 / 25.5, rel=1e-6)


# ---------------------------------------------------------------- simulation

STEADY = [
    ("vllm", dict(rate=4.0)), ("vllm", dict(rate=15.0)), ("vllm", dict(users=32)),
    ("sglang", dict(rate=4.0)), ("sglang", dict(users=32)),
    ("trtllm", dict(rate=15.0)), ("transformers", dict(rate=0.05)),
]


@pytest.mark.slow
@pytest.mark.parametrize("engine,kw", STEADY)
def test_simulation_agrees_with_the_steady_state(engine, kw):
    """On steady loads the simulation's means fall within 10% (TPOT, throughput) of the
    analytic model, and its mean TTFT within 25% under Poisson arrivals (the M/D/1 queue of
    the prefill lane is an approximation). A closed loop of identical requests keeps the users
    that were prefilled together finishing together, so their prompts queue in clumps that
    the steady state (which spreads them) does not see: there TTFT agrees within 2.5x."""
    load = ServeLoad(LLAMA_8B, H100, prompt=800, output=200, engine=engine, **kw)
    s = steady_state(load)
    r = simulate(load, requests=600, seed=3)
    assert r.tpot_mean == pytest.approx(s.tpot_seconds, rel=0.10)
    assert r.requests_per_second == pytest.approx(s.requests_per_second, rel=0.10)
    if load.rate:
        assert r.ttft_mean == pytest.approx(s.ttft_seconds, rel=0.25)
    else:
        assert s.ttft_seconds / 2.5 <= r.ttft_mean <= s.ttft_seconds * 2.5
    assert r.ttft_p50 <= r.ttft_p90 <= r.ttft_p99
    assert r.tpot_p50 <= r.tpot_p90 <= r.tpot_p99
    assert 0.0 < r.compute_share <= 1.0 and 0.0 < r.bandwidth_share <= 1.0


def test_simulation_is_deterministic():
    load = ServeLoad(LLAMA_8B, H100, prompt=500, output=64, rate=8.0)
    first = simulate(load, requests=150, seed=7)
    assert repr(first) == repr(simulate(load, requests=150, seed=7))
    assert simulate(load, requests=150, seed=8) != first


def test_a_burst_counts_every_request():
    """8 prompts at once (vLLM's latency benchmark): the batch's wall time is one prefill
    step and 127 decode steps of 8."""
    load = ServeLoad(LLAMA_8B, H100, prompt=32, output=128, users=8, engine="vllm")
    rep = replica(load)
    r = simulate(load, requests=8)
    assert r.requests == 8 and r.preemptions == 0
    prefill = rep.step(0, 0, 8 * 32, 8 * 32, 8 * 32 * 33 / 2, 8).seconds
    decodes = sum(rep.step(8, 8 * (32 + g)).seconds for g in range(1, 128))
    assert r.makespan_seconds == pytest.approx(prefill + decodes, rel=1e-9)


def test_vllm_preempts_when_kv_runs_out():
    tight = dataclasses.replace(H100, memory_bytes=int(20.5 * 2**30))
    load = ServeLoad(LLAMA_8B, tight, prompt=500, output=1500, users=64, engine="vllm")
    r = simulate(load, requests=64)
    assert r.preemptions > 0 and r.requests == 64
    # TensorRT-LLM reserves a request's whole length at admission and never preempts
    r = simulate(dataclasses.replace(load, engine="trtllm"), requests=64)
    assert r.preemptions == 0 and r.requests == 64


def test_sglang_prefills_first_in_steps_of_its_own():
    """8 prompts of 3000 tokens at once, SGLang's 8192-token chunk: three prefill steps of
    8192, 8192 and 7616 tokens (the third prompt and the sixth cut at the chunk), no decode
    before the last prompt is in; the last first token comes at the end of the third."""
    load = ServeLoad(LLAMA_8B, H100, prompt=3000, output=20, users=8, engine="sglang")
    rep = replica(load)
    assert rep.token_budget == 8192

    def whole(n):  # causal pairs of n tokens
        return n * (n + 1) / 2

    def cut(n, start):  # pairs of n tokens after a prefix of ``start``
        return n * start + whole(n)

    steps = [
        rep.step(0, 0, 8192, 8192, 2 * whole(3000) + whole(2192), 2),
        rep.step(0, 0, 8192, 3000 + 3000 + 3000 + 1384,
                 cut(808, 2192) + 2 * whole(3000) + whole(1384), 3),
        rep.step(0, 0, 7616, 3000 + 3000 + 3000, cut(1616, 1384) + 2 * whole(3000), 3),
    ]
    r = simulate(load, requests=8)
    assert r.ttft_p99 == pytest.approx(sum(x.seconds for x in steps), rel=1e-9)
    assert r.ttft_p50 == pytest.approx(steps[0].seconds + steps[1].seconds, rel=1e-9)
