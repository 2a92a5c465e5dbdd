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
        lambda arch, method, opt, seq, gb, stack: TrainJob(
            arch=arch, method=method, tokens=1e8, seq_len=seq, global_batch=gb, optimizer=opt,
            weights="nf4" if method == "qlora" else "bf16", lora_rank=16,
            lora_targets=("q", "k", "v", "o", "gate", "up", "down"), stack=stack),
        archs(), st.sampled_from(["full", "lora", "qlora"]),
        st.sampled_from(["adamw", "adamw-8bit", "paged-adamw", "sgd"]),
        st.sampled_from([512, 2048, 4096]), st.integers(1, 256),
        st.sampled_from(["megatron", "fsdp", "deepspeed", "hf"]))


layouts = st.builds(Layout, tp=st.sampled_from([1, 2, 4, 8]), pp=st.sampled_from([1, 2, 4]),
                    dp=st.sampled_from([1, 2, 4, 16]), zero=st.integers(0, 3),
                    recompute=st.sampled_from(["none", "selective", "full"]),
                    offload=st.sampled_from(["none", "optimizer", "all"]), micro_batch=st.integers(1, 4),
                    sp=st.booleans(), cp=st.sampled_from([1, 2]), vpp=st.sampled_from([1, 2]),
                    shard=st.sampled_from([0, 2]), flash_attention=st.booleans())


def _estimate(job, layout, gpu=GPU):
    """The estimate, or None for a layout no estimate is defined for (the search never
    builds one: selective recomputation off Megatron, interleaving without a multiple of
    pp micro-batches, an HSDP group without ZeRO-3)."""
    try:
        return evaluate_train(job, layout, gpu)
    except ValueError:
        return None


SHARDED = {  # components each degree divides
    "tp": ("weights", "gradients", "optimizer", "activations", "host"),
    "pp": ("weights", "gradients", "optimizer", "host"),
    "dp": ("weights", "gradients", "optimizer", "host"),
    "cp": ("weights", "gradients", "optimizer", "activations", "host"),
    "zero": ("weights", "gradients", "optimizer"),
    "shard": ("weights", "gradients", "optimizer"),
}


def _bigger(layout: Layout, degree: str) -> Layout | None:
    if degree == "zero":
        return None if layout.zero >= 3 else dataclasses.replace(layout, zero=layout.zero + 1)
    if degree == "shard":  # a larger HSDP group, or full sharding over all dp x cp ranks
        return None if layout.shard == 0 else dataclasses.replace(layout, shard=0)
    return dataclasses.replace(layout, **{degree: getattr(layout, degree) * 2})


@settings(max_examples=200, deadline=None)
@given(train_jobs(), layouts, st.sampled_from(sorted(SHARDED)))
def test_sharded_components_never_grow(job, layout, degree):
    bigger = _bigger(layout, degree)
    before = _estimate(job, layout)
    after = None if bigger is None else _estimate(job, bigger)
    if before is None or after is None:
        return
    for comp in SHARDED[degree]:
        if comp in ("optimizer", "host") and job.optimizer.startswith("paged"):
            continue  # a paged optimizer spills what does not fit: its split is not monotone
        assert getattr(after.memory, comp) <= getattr(before.memory, comp), (degree, comp)


@settings(max_examples=100, deadline=None)
@given(train_jobs(), layouts)
def test_more_gpus_never_lengthen_compute(job, layout):
    a = _estimate(job, layout)
    b = _estimate(job, dataclasses.replace(layout, dp=layout.dp * 2))
    if a is None or b is None:
        return
    assert b.gpus == 2 * a.gpus
    assert b.compute_seconds <= a.compute_seconds


@settings(max_examples=150, deadline=None)
@given(train_jobs(), layouts, st.sampled_from(["intra_node_bytes_per_s", "inter_node_bytes_per_s"]))
def test_more_bandwidth_never_slows_a_step(job, layout, link):
    slow = _estimate(job, layout)
    if slow is None:
        return
    fast = evaluate_train(job, layout, dataclasses.replace(GPU, **{link: 2 * getattr(GPU, link)}))
    assert fast.seconds <= slow.seconds * (1 + 1e-12)


@settings(max_examples=150, deadline=None)
@given(train_jobs(), layouts, st.sampled_from([2, 4, 8]))
def test_hsdp_never_moves_more_inter_node_bytes_than_full_sharding(job, layout, shard):
    # HSDP as FSDP defines it (HYBRID_SHARD: "FULL_SHARD within a node"): the shard group
    # fits in a node. (A shard group that spans nodes can move more at one micro-batch a
    # step: it still crosses nodes and adds the all-reduce across replicas.)
    from planner.estimate import step_traffic

    if layout.tp * layout.cp * shard > GPU.gpus_per_node:
        return
    hsdp = dataclasses.replace(layout, zero=3, shard=shard, dp=max(layout.dp, shard * 2))
    full = dataclasses.replace(hsdp, shard=0)
    if _estimate(job, hsdp) is None or _estimate(job, full) is None:
        return
    assert step_traffic(job, hsdp, GPU).inter_node <= step_traffic(job, full, GPU).inter_node * (1 + 1e-12)


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