"""The training frontier's time floors and skipped climbs change nothing.

planner.search.frontier finds, per GPU count, the fastest layout that fits memory in two
passes and leaves out the micro-batch climbs whose floor (planner.estimate.train_floor) is
above the fastest found. tests/support/frontier_reference.py is the one-pass walk it
replaced, which climbs every knob setting that fits. On random small training workloads
and GPU offers both must give the same frontier: the same candidate per GPU count, and
where nothing fits the same least-memory layout. Beside it, the floors themselves are
checked against the estimate of every size they bound, and the memory probe against
``evaluate_train``.
"""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.estimate import evaluate_train
from planner.estimate.common import build
from planner.estimate.train_floor import TimeFloors
from planner.estimate.train_probe import MemoryProbe
from planner.estimate.types import Layout
from planner.resolve.load import load_plan
from planner.resolve.variants import build_variants
from planner.search.frontier import find_frontier, knob_settings, micro_batch_sizes
from planner.search.space import (
    REFERENCE_TOKENS, dp_degrees, gpu_cap, pp_degrees, recompute_chain, sequence_parallel,
    tp_degrees,
)
from support.frontier_reference import reference_frontier

GPUS = ("L4", "A10G", "A100-80G", "H100-SXM")


@st.composite
def plans(draw) -> str:
    heads = draw(st.sampled_from([8, 12, 16, 32]))
    kv = draw(st.sampled_from([h for h in (1, 2, 4, 8, heads) if heads % h == 0]))
    layers = draw(st.integers(2, 40))
    hidden = heads * draw(st.sampled_from([64, 128]))
    model = (f'model "m" {{ layers = {layers}  hidden = {hidden}  heads = {heads}  '
             f'kv_heads = {kv}  ffn = {hidden * draw(st.sampled_from([2, 4]))}  vocab = 32000')
    if draw(st.integers(0, 3)) == 0:  # a small mixture of experts
        model += f"  experts = {draw(st.sampled_from([4, 8, 16]))}  experts_per_token = 2  expert_ffn = {hidden}"
    model += " }"
    method = draw(st.sampled_from(["full", "lora", "qlora"]))
    kind = "pretrain" if method == "full" and draw(st.booleans()) else "finetune"
    fields = ['model = "m"', f"dataset = {draw(st.sampled_from([10, 300, 5000]))}MB",
              f"seq_len = {draw(st.sampled_from([512, 2048, 4096, 6144]))}",
              f"batch = {draw(st.sampled_from([1, 4, 12, 16, 64, 256]))}"]
    if kind == "finetune":
        fields.append(f"method = {method}")
    if draw(st.booleans()):
        stacks = ["megatron", "fsdp", "deepspeed", "hf"] if method != "qlora" else ["hf", "deepspeed"]
        fields.append(f"stack = {draw(st.sampled_from(stacks))}")
    if draw(st.integers(0, 3)) == 0:
        fields.append(f"optimizer = {draw(st.sampled_from(['paged-adamw', 'adamw-8bit', 'sgd']))}")
    if kv % 2 == 0 and method != "qlora" and draw(st.integers(0, 4)) == 0:
        fields.append(f"layout {{ tp = {draw(st.sampled_from([1, 2]))} }}")  # a pinned degree
    lines = ['import "std"', 'plan "bounds" { objective = cost }', model,
             f'{kind} "w" {{ ' + "  ".join(fields) + " }"]
    for gpu in draw(st.lists(st.sampled_from(GPUS), min_size=1, max_size=2, unique=True)):
        lines.append(f'gpu "{gpu}" {{ available = {draw(st.sampled_from([1, 3, 8, 24, 64]))} }}')
    return "\n".join(lines) + "\n"


def _frontier_pairs(text: str):
    plan = load_plan("mem/bounds.plan", reader=lambda path: text)
    for variant in build_variants(plan):
        job = dataclasses.replace(variant.train_job, tokens=REFERENCE_TOKENS)
        for order, offer in enumerate(variant.offers):
            cap = gpu_cap(offer.available)
            yield variant, offer, order, cap, job


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_pruned_frontier_is_the_unpruned_one(text):
    for variant, offer, order, cap, job in _frontier_pairs(text):
        pruned = find_frontier(variant, offer, order, cap, job)
        reference, _ = reference_frontier(variant, offer, order, cap, job)
        assert pruned.by_count == reference.by_count, (text, offer.name)
        if not reference.by_count:
            assert pruned.least_memory == reference.least_memory, (text, offer.name)


def _layouts(variant, offer, job, cap):
    """Every (knob setting at its smallest micro-batch, its sizes) of the walk's space."""
    for tp in tp_degrees(variant, offer.spec):
        for pp in pp_degrees(variant):
            for dp in dp_degrees(variant, tp, pp, cap):
                sp = sequence_parallel(variant, tp)
                for ep, zero, offload, shard, vpp in knob_settings(variant, offer.spec, (tp, 1, pp, dp)):
                    for recompute in recompute_chain(variant):
                        base = Layout(tp=tp, pp=pp, dp=dp, ep=ep, zero=zero, recompute=recompute,
                                      offload=offload, sp=sp, shard=shard, vpp=vpp)
                        sizes = micro_batch_sizes(variant, job, base)
                        if sizes:
                            yield base, sizes


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_floors_bound_every_size_and_the_probe_is_the_estimate(text):
    for variant, offer, _, cap, job in _frontier_pairs(text):
        probe = MemoryProbe(job, offer.spec)
        floors = TimeFloors(job, offer.spec, probe.states)
        for base, sizes in _layouts(variant, offer, job, min(cap, 16)):
            cheap, full = floors.cheap(base, sizes), floors.full(base, sizes)
            for mb in sizes:
                layout = build(Layout, **{**base.__dict__, "micro_batch": mb})
                estimate = evaluate_train(job, layout, offer.spec)
                assert cheap <= estimate.seconds and full <= estimate.seconds, (text, layout)
                assert probe.memory(layout) == estimate.memory, (text, layout)
