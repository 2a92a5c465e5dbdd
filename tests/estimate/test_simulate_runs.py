"""The simulation's runs of identical steps (``_fast_forward``) against stepping one
iteration at a time: same requests, same clock, same percentiles, whatever the engine, the
load, the slots, the token budget and the KV pool."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate import simulate as sim_module
from planner.estimate.simulate import simulate
from planner.estimate.step import ServeLoad

from support.serving import A100, H100, LLAMA_8B

# every engine that batches (a serial engine never runs two requests, so it has no runs)
ENGINES = ["vllm", "vllm-v0", "sglang", "trtllm"]


def _stepped(load: ServeLoad, requests: int, seed: int = 0):
    """The simulation with every step taken one by one."""
    saved = sim_module._Sim._fast_forward
    sim_module._Sim._fast_forward = lambda self: False
    try:
        return simulate(load, requests=requests, seed=seed)
    finally:
        sim_module._Sim._fast_forward = saved


def _counted(load: ServeLoad, requests: int, seed: int = 0):
    """The simulation as shipped, and how many times its loop went round."""
    saved, calls = sim_module._Sim.step, [0]

    def step(self):
        calls[0] += 1
        return saved(self)

    sim_module._Sim.step = step
    try:
        return simulate(load, requests=requests, seed=seed), calls[0]
    finally:
        sim_module._Sim.step = saved


def _same(jumped, stepped) -> None:
    for field in dataclasses.fields(jumped):
        a, b = getattr(jumped, field.name), getattr(stepped, field.name)
        if isinstance(a, int):
            assert a == b, field.name
        elif math.isnan(b):
            assert math.isnan(a), field.name
        else:
            assert a == pytest.approx(b, rel=1e-9, abs=1e-12), field.name


@st.composite
def loads(draw):
    kw = dict(
        arch=LLAMA_8B, gpu=draw(st.sampled_from([H100, A100])),
        prompt=draw(st.integers(1, 6000)), output=draw(st.integers(1, 300)),
        engine=draw(st.sampled_from(ENGINES)),
        max_running=draw(st.sampled_from([0, 1, 3, 8])),
        token_budget=draw(st.sampled_from([0, 256, 700, 2048])),
        kv_fraction=draw(st.sampled_from([0.0, 0.001, 0.01])),  # small pools preempt
        prefix_share=draw(st.sampled_from([0.0, 0.37])),  # prompts of fractional tokens
    )
    if draw(st.booleans()):
        kw["users"] = draw(st.integers(1, 24))
    else:
        kw["rate"] = draw(st.floats(0.05, 40.0))
    return ServeLoad(**kw)


@pytest.mark.slow
@settings(max_examples=120, deadline=None)
@given(loads(), st.integers(5, 40))
def test_runs_agree_with_stepping(load, requests):
    try:
        stepped = _stepped(load, requests)
    except ValueError:  # the model does not fit, or the pool cannot hold one prompt
        with pytest.raises(ValueError):
            simulate(load, requests=requests)
        return
    _same(simulate(load, requests=requests), stepped)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_long_prompt_cut_at_the_budget_runs_at_once(engine):
    """Prompts of 20,000 tokens at a 512-token budget, two users: 40 chunks a prompt, each
    step alike until the last chunk (beside the other user's decodes on a mixed engine). The
    runs take a few loop rounds per request where stepping takes one per step, and agree."""
    load = ServeLoad(LLAMA_8B, H100, prompt=20000, output=400, users=2, engine=engine,
                     token_budget=512)
    jumped, rounds = _counted(load, 12)
    _same(jumped, _stepped(load, 12))
    assert rounds * 10 < jumped.steps


def test_waiting_behind_full_slots_runs_at_once():
    """Eight users on two running slots: six requests always wait, none can join until one
    finishes, so the decodes between completions are one run each."""
    load = ServeLoad(LLAMA_8B, H100, prompt=100, output=2000, users=8, engine="vllm",
                     max_running=2)
    jumped, rounds = _counted(load, 16)
    _same(jumped, _stepped(load, 16))
    assert rounds * 50 < jumped.steps



class _Shrinking:
    """A replica whose decode steps get shorter as contexts grow (no engine does this): the
    window ``_before_arrival`` narrows its search to rests on steps growing, so here it
    must notice and search the whole range."""

    def __init__(self, rep):
        self.rep = rep

    def __getattr__(self, name):
        return getattr(self.rep, name)

    def step_parts(self, dec, dec_ctx, pre, pre_kv, pairs, samples):
        return (0.05 / (1.0 + dec_ctx / 1000.0), 0.0, 0.0)


@pytest.mark.parametrize("gap", [0.001, 0.04, 0.3, 1.7, 12.0])
def test_the_steps_before_an_arrival_whatever_the_step_lengths(gap):
    load = ServeLoad(LLAMA_8B, H100, prompt=100, output=5000, users=4, engine="vllm")
    sim = sim_module._Sim(load, sim_module.replica(load), 8, 0)
    sim.rep = _Shrinking(sim.rep)
    sim.parts = sim.rep.step_parts  # the simulation's steps come from its ``parts``
    sim.running = [sim_module._Req(0.0, 100.0) for _ in range(4)]
    for r in sim.running:
        r.computed, r.generated = r.todo, 1
    sim.arrivals.append(gap)
    k, d, c0 = 4000, 4, 4 * 101.0
    elapsed, expect = 0.0, 1  # step n starts after the n - 1 before it
    for n in range(2, k + 1):
        elapsed += sim.rep.step_parts(d, c0 + (n - 2) * d, 0, 0, 0, d)[0]
        if elapsed >= gap:
            break
        expect = n
    assert sim._before_arrival(k) == expect
