"""Properties of the estimator that must hold for any architecture and layout."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.estimate import evaluate_serve, evaluate_train, lora_params, param_counts
from planner.estimate.memory import kv_bytes_per_token_per_gpu
from planner.estimate.types import Arch, Layout, ServeJob, TrainJob
from support.arch import A100_80G as GPU


@st.composite
def archs(draw):
    heads = draw(st.sampled_from([8, 16, 28, 32, 64]))
    kv = draw(st.sampled_from([h for h in (1, 2, 4, 8, heads) if heads % h == 0]))
    moe = draw(st.booleans())
    return Arch(name="x", layers=draw(st.integers(2, 64)), hidden=heads * 128, heads=heads, kv_heads=kv,
                head_dim=128, ffn=draw(st.integers(1, 8)) * 1024, vocab=draw(st.integers(1000, 160000)),
                tied=draw(st.booleans()), gated_mlp=draw(st.booleans()), qkv_bias=draw(st.booleans()),
                experts=8 if moe else 0, experts_per_token=2 if moe else 0, expert_ffn=512 if moe else 0,
                shared_experts=draw(st.integers(0, 1)) if moe else 0)


def train_jobs():
    return st.builds(
        lambda arch, method, opt, seq, gb: TrainJob(
            arch=arch, method=method, tokens=1e8, seq_len=seq, global_batch=gb, optimizer=opt,
            weights="nf4" if method == "qlora" else "bf16", lora_rank=16,
            lora_targets=("q", "k", "v", "o", "gate", "up", "down")),
        archs(), st.sampled_from(["full", "lora", "qlora"]),
        st.sampled_from(["adamw", "adamw-8bit", "paged-adamw", "sgd"]),
        st.sampled_from([512, 2048, 4096]), st.integers(1, 256))


layouts = st.builds(Layout, tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4]),
                    dp=st.sampled_from([1, 2, 4, 16]), zero=st.integers(0, 3),
                    recompute=st.sampled_from(["none", "selective", "full"]),
                    offload=st.sampled_from(["none", "optimizer", "all"]), micro_batch=st.integers(1, 4),
                    sequence_parallel=st.booleans(), flash_attention=st.booleans())

SHARDED = {  # components each degree divides
    "tp": ("weights", "gradients", "optimizer", "activations", "host"),
    "pp": ("weights", "gradients", "optimizer", "host"),
    "dp": ("weights", "gradients", "optimizer", "host"),
    "zero": ("weights", "gradients", "optimizer"),
}


@settings(max_examples=150, deadline=None)
@given(train_jobs(), layouts, st.sampled_from(sorted(SHARDED)))
def test_sharded_components_never_grow(job, layout, degree):
    before = evaluate_train(job, layout, GPU).memory
    bigger = getattr(layout, degree) + 1 if degree == "zero" else getattr(layout, degree) * 2
    if degree == "zero" and bigger > 3:
        return
    after = evaluate_train(job, dataclasses.replace(layout, **{degree: bigger}), GPU).memory
    for comp in SHARDED[degree]:
        assert getattr(after, comp) <= getattr(before, comp), (degree, comp)


@settings(max_examples=100, deadline=None)
@given(train_jobs(), layouts)
def test_more_gpus_never_lengthen_compute(job, layout):
    a = evaluate_train(job, layout, GPU)
    b = evaluate_train(job, dataclasses.replace(layout, dp=layout.dp * 2), GPU)
    assert b.gpus == 2 * a.gpus
    assert b.compute_seconds <= a.compute_seconds


@settings(max_examples=100, deadline=None)
@given(archs(), st.integers(1, 64), st.sampled_from([1024, 4096, 32768]),
       st.sampled_from([1, 2, 4, 8]), st.sampled_from(["bf16", "fp8"]))
def test_kv_pool_fills_the_usable_memory_whatever_the_users(arch, users, context, tp, kvp):
    """vLLM allocates its KV pool up to gpu_memory_utilization: the same pool for any load,
    within a token of the usable memory when the model fits."""
    def est(u):
        job = ServeJob(arch=arch, users=u, context=context, prompt=context // 2, weights="bf16",
                       kv_precision=kvp)
        return evaluate_serve(job, Layout(tp=tp), GPU)
    one, many = est(1), est(users)
    assert one.memory == many.memory
    if one.running_limit:
        per_token = kv_bytes_per_token_per_gpu(arch, kvp, tp, 1)
        assert 0 <= GPU.usable_bytes - one.memory.total < per_token + 8
        assert one.kv_tokens >= context


@settings(max_examples=100, deadline=None)
@given(archs(), st.sampled_from([1, 2, 4]), st.sampled_from(["bf16", "int4", "nf4", "fp8"]))
def test_serve_weights_shard_and_kv_capacity_grows_with_tp_and_pp(arch, tp, weights):
    job = ServeJob(arch=arch, users=8, context=4096, prompt=1024, weights=weights)
    base = evaluate_serve(job, Layout(tp=tp), GPU)
    for change in ({"tp": tp * 2}, {"pp": 2}):
        more = evaluate_serve(job, Layout(**({"tp": tp} | change)), GPU)
        assert more.memory.weights <= base.memory.weights
        assert more.kv_tokens >= base.kv_tokens


@settings(max_examples=100, deadline=None)
@given(archs(), st.integers(1, 128))
def test_lora_params_linear_in_rank_and_bounded(arch, rank):
    targets = ("q", "k", "v", "o", "gate", "up", "down")
    assert lora_params(arch, rank, targets) == rank * lora_params(arch, 1, targets)
    assert lora_params(arch, 1, ("q",)) < param_counts(arch).total


@settings(max_examples=60, deadline=None)
@given(archs(), st.integers(1, 64), st.sampled_from([1, 2, 4]))
def test_replicas_split_users(arch, users, r):
    """Each replica holds the same memory and carries ceil(users / r) of them: more
    replicas never lengthen the latency of the most loaded one."""
    job = ServeJob(arch=arch, users=users, context=2048, prompt=512, weights="bf16")
    one = evaluate_serve(job, Layout(replicas=1), GPU)
    many = evaluate_serve(job, Layout(replicas=r), GPU)
    assert many.memory == one.memory and many.gpus == r
    if one.running_limit:
        assert many.ttft_seconds <= one.ttft_seconds * (1 + 1e-9)
        assert many.tpot_seconds <= one.tpot_seconds * (1 + 1e-9)
        assert many.carried or not one.carried