"""The serving estimate's shortcuts give the same floats as the plain way: the step with its
branches settled per replica, a steady state's kept rounds and last step, a decode run's
shared steps (docs/estimation.md 9.8, "Speed")."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate import simulate as sim_module
from planner.estimate import steady as steady_module
from planner.estimate.simulate import simulate
from planner.estimate.steady import steady_state
from planner.estimate.step import ServeLoad, dequantizing_share, replica
from planner.estimate.types import Arch

from support.serving import A100, H100, LLAMA_8B

MOE = Arch(name="moe-small", layers=8, hidden=1024, heads=16, kv_heads=4, head_dim=64, ffn=4096,
           vocab=32000, experts=16, shared_experts=0, experts_per_token=2, expert_ffn=1024)


def _plain_step(r):
    """``Replica.step_parts`` as one expression per part, every branch taken at run time."""
    def step(decodes, decode_context, prefill, prefill_kv, prefill_pairs, samples):
        tokens = decodes + prefill
        if tokens <= 0:
            return 0.0, 0.0, 0.0
        touched = 1.0 - r.route_keep ** tokens if r.route_keep else 0.0
        lin_bytes = r.dense_read + r.routed_read * touched
        if r.dequant_dense or r.dequant_routed:
            lin_bytes += dequantizing_share(tokens) * (r.dequant_dense + r.dequant_routed * touched)
        lin_flops = tokens * r.flops_per_token + samples * r.head_flops
        t_lin = max(lin_flops / r.linear_rate, lin_bytes / r.weight_rate)
        att_bytes = (decode_context + prefill_kv) * r.kv_token_bytes
        att_flops = (decode_context + prefill_pairs) * r.pair_flops
        t_att = max(att_flops / r.attention_rate, att_bytes / r.kv_rate)
        nbytes = 2.0 * tokens * r.hidden
        comm = 0.0
        if r.tp > 1:
            comm += 2 * r.layers * (r.ar_latency + 2.0 * (r.tp - 1) / r.tp * nbytes / r.ar_bandwidth)
        if r.pp > 1:
            comm += (r.pp - 1) * (r.pp_latency + nbytes / r.pp_bandwidth)
        gpu = t_lin + t_att + comm
        seconds = max(r.cpu_seconds, gpu) if r.engine.eager else r.cpu_seconds + gpu
        compute = lin_flops / r.linear_peak + att_flops / r.attention_peak
        return seconds, compute, (lin_bytes + att_bytes) / r.hbm
    return step


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([LLAMA_8B, MOE]), st.sampled_from([H100, A100]),
       st.sampled_from(["bf16", "int8", "int4", "nf4"]),
       st.sampled_from(["vllm", "sglang", "trtllm", "transformers"]),
       st.sampled_from([(1, 1), (2, 1), (1, 2), (4, 2)]),
       st.lists(st.floats(0.0, 1e6), min_size=6, max_size=6))
def test_the_step_is_the_plain_formula_to_the_bit(arch, gpu, weights, engine, tp_pp, args):
    if gpu is A100 and weights == "fp8":
        return
    rep = replica(ServeLoad(arch, gpu, prompt=100, output=10, users=1, engine=engine,
                            weights=weights, tp=tp_pp[0], pp=tp_pp[1]))
    assert rep.stepper()(*args) == _plain_step(rep)(*args)


@st.composite
def loads(draw):
    kw = dict(
        arch=draw(st.sampled_from([LLAMA_8B, MOE])), gpu=draw(st.sampled_from([H100, A100])),
        prompt=draw(st.integers(1, 8000)), output=draw(st.integers(1, 600)),
        engine=draw(st.sampled_from(["vllm", "vllm-v0", "sglang", "trtllm", "transformers"])),
        weights=draw(st.sampled_from(["bf16", "nf4"])),
        prefix_share=draw(st.sampled_from([0.0, 0.37])),
    )
    if draw(st.booleans()):
        kw["users"] = draw(st.integers(1, 3000))
    else:
        kw["rate"] = draw(st.floats(0.01, 200.0))
    return ServeLoad(**kw)


def _without_kept_steps(monkeypatch):
    """A steady state that works out every round and step afresh."""
    monkeypatch.setattr(steady_module._Model, "round_at", lambda self, d: self._round(d))
    plain = steady_module._Model.step

    def step(self, decodes, prefill, chunk):
        self._last = (None, None)
        return plain(self, decodes, prefill, chunk)

    monkeypatch.setattr(steady_module._Model, "step", step)
    monkeypatch.setattr(steady_module, "_remembered", lambda f: f)


@settings(max_examples=80, deadline=None)
@given(loads())
def test_a_steady_state_is_the_same_without_its_kept_rounds(load):
    from _pytest.monkeypatch import MonkeyPatch

    rep = replica(load)
    kept = steady_state(load, rep)
    with MonkeyPatch.context() as mp:
        _without_kept_steps(mp)
        fresh = steady_state(load, rep)
    assert dataclasses.astuple(kept) == dataclasses.astuple(fresh) or \
        repr(kept) == repr(fresh)  # nan != nan: the same figures print the same


@settings(max_examples=40, deadline=None)
@given(loads(), st.integers(20, 120))
def test_a_simulation_is_the_same_without_shared_run_steps(load, requests):
    """``_decode_parts`` keeps each step of a run it is asked for; working each out afresh
    gives the same clock, to the bit."""
    from _pytest.monkeypatch import MonkeyPatch

    load = dataclasses.replace(load, max_running=8, users=min(load.users, 40)) if load.users \
        else dataclasses.replace(load, max_running=8)
    try:
        kept = simulate(load, requests=requests)
    except ValueError:
        return
    def afresh(self):  # the run's batch does not change while its steps are asked for
        def parts(j):
            d = float(len(self.running))
            c0 = float(sum(self.load.prompt + r.generated for r in self.running))
            return self.parts(d, c0 + j * d, 0.0, 0.0, 0.0, d)
        return parts

    with MonkeyPatch.context() as mp:
        mp.setattr(sim_module._Sim, "_decode_parts", afresh)
        fresh = simulate(load, requests=requests)
    assert repr(kept) == repr(fresh)
