"""Pipeline schedule: interleaving (vpp) only when Megatron can run it, the bubble and
in-flight micro-batches with fewer micro-batches than stages.

Sources: Narayanan et al. 2021 (arXiv:2104.04473) sec 2.2: GPipe / 1F1B bubble (p-1)/m,
interleaved (p-1)/(v m); Megatron-Core schedules.py forward_backward_pipelining_with_interleaving
refuses a micro-batch count that is not a multiple of pp; Korthikanti et al. 2022
(arXiv:2205.05198) sec 4.2.3: the first stage holds p micro-batches, x (1 + (p-1)/(p v))
interleaved.
"""

from __future__ import annotations

import dataclasses

import pytest

from planner.estimate import evaluate_train
from planner.estimate import memory as M
from planner.estimate import timing as T
from planner.estimate.train import train_activation_bytes, train_base
from planner.estimate.types import Arch, Layout, TrainJob
from support.arch import A100_80G

ARCH = Arch(name="eight", layers=8, hidden=256, heads=4, kv_heads=2, head_dim=64, ffn=512, vocab=1000)
GPU = dataclasses.replace(A100_80G, price_per_hour=1.0)


def job(global_batch: int) -> TrainJob:
    return TrainJob(arch=ARCH, method="full", tokens=1e7, seq_len=512, global_batch=global_batch)


def test_interleaving_only_for_multiples_of_pp():
    assert T.interleaving_ok(4, 8, 4, 8)  # interleaved, 4 chunks
    assert not T.interleaving_ok(4, 8, 4, 2)  # a chunk needs a layer: 2 layers a stage
    assert not T.interleaving_ok(4, 6, 2, 8)  # 6 is not a multiple of 4
    assert not T.interleaving_ok(4, 2, 2, 8)  # fewer micro-batches than stages
    assert not T.interleaving_ok(1, 4, 2, 8)  # no pipeline
    assert T.interleaving_ok(4, 6, 1, 8)  # plain 1F1B runs with any m
    with pytest.raises(ValueError, match="vpp = 2"):
        evaluate_train(job(6), Layout(pp=4, vpp=2), GPU)


def test_bubble_fraction_by_hand():
    assert T.bubble_fraction(8, 16, 4) == pytest.approx(7 / 64)  # interleaved
    assert T.bubble_fraction(8, 12, 4) == pytest.approx(7 / 12)  # not a multiple: 1F1B
    assert T.bubble_fraction(8, 4, 4) == pytest.approx(7 / 4)  # m < p
    # one micro-batch through p stages takes p x its ideal time: bubble p - 1
    assert T.bubble_fraction(8, 1, 4) == pytest.approx(7.0)


@pytest.mark.parametrize("gb,v", [(2, 1), (6, 1), (8, 2)])
def test_train_bubble_uses_the_schedule_that_runs(gb, v):
    # pp 4, 2 layers per stage, micro-batch 1: m = global batch
    est = evaluate_train(job(gb), Layout(pp=4, vpp=v), GPU)
    assert est.bubble_seconds == pytest.approx(est.compute_seconds * 3 / (v * gb), rel=1e-12)


@pytest.mark.parametrize("gb,inflight,v", [(2, 2, 1), (6, 4, 1), (8, 4, 2)])
def test_first_stage_activations(gb, inflight, v):
    # first stage: min(m, p) micro-batches of its 2 layers, x the interleave factor
    # 1 + (p-1)/(p v) only when interleaved (Megatron's theoretical_memory_usage.py applies it
    # only with a virtual pipeline size), + token ids per micro-batch in flight (8 bytes a token)
    lay = Layout(pp=4, vpp=v)
    b = train_base(job(gb), GPU)
    one = train_activation_bytes(b, Layout(), 1)  # pp 1: 8 layers + ids + logits, one micro-batch
    # Megatron (the job's stack) fuses SwiGLU: 3 tensors of the MLP width are kept, not 4
    per_layer = M.layer_activation_bytes(512, 1, 256, 4, ffn=512, kv_heads=2, head_dim=64, gated=True,
                                         dropout=False, flash=True) - 2 * 512 * 512
    logits = M.logits_bytes(512, 1, 256, 1000, 1)
    assert one == pytest.approx(8 * per_layer + 8 * 512 + logits)
    factor = 1 + 3 / (4 * v) if v > 1 else 1.0
    assert M.interleave_factor(4, v) == factor
    want_first = per_layer * 2 * inflight * factor + 8 * 512 * inflight
    want_last = per_layer * 2 + logits
    got = train_activation_bytes(b, lay, gb)
    assert got == pytest.approx(max(want_first, want_last), rel=1e-12)


def test_bubble_covers_tp_communication_inside_the_stages():
    # one micro-batch (global batch 1): a stage's pass is its compute plus its TP all-reduces,
    # and the other p - 1 stages wait for both
    j = job(1)
    steps = 1e7 / 512
    est = evaluate_train(j, Layout(tp=2, pp=4), GPU)
    # 4 all-reduces per layer x 2 layers of 512 x 256 bf16 values, ring over 2 GPUs on
    # NVLink3 (bus bandwidth 232/300 x 300 GB/s), each with NCCL's latency 8.4 us + 2 steps
    # x 3.4 us (docs/estimation.md sec 5, "Collectives")
    one = 8.4e-6 + 2 * 3.4e-6 + 2 * (1 / 2) * (2 * 512 * 256) / 232e9
    tp_step = 4 * 2 * one
    assert est.bubble_seconds == pytest.approx((est.compute_seconds + tp_step * steps) * 3, rel=1e-9)
    # so with one sequence per step the pipeline gains nothing over TP alone
    alone = evaluate_train(j, Layout(tp=2), GPU)
    assert est.seconds > alone.seconds


def test_uneven_stages_go_at_the_pace_of_the_largest():
    # 61 layers (DeepSeek-V3's count): PP 16 and PP 17 both put 4 layers on the largest
    # stage, so the extra GPU buys no speed; PP 61 (one layer each) is the even split.
    from planner.estimate import evaluate_train
    from planner.estimate.types import Arch, GpuSpec, Layout, TrainJob

    arch = Arch(name="61", layers=61, hidden=1024, heads=16, kv_heads=16, head_dim=64,
                ffn=4096, vocab=32000)
    gpu = GpuSpec(name="A100-80G", memory_bytes=80 * 2**30, usable_fraction=0.9,
                  bf16_flops=312e12, fp8_flops=0.0, int8_flops=624e12, hbm_bytes_per_s=2.039e12,
                  intra_node_bytes_per_s=300e9, inter_node_bytes_per_s=50e9, gpus_per_node=8,
                  price_per_hour=2.0, train_utilization=0.5)
    job = TrainJob(arch=arch, method="full", tokens=1e9, seq_len=2048, global_batch=64)
    c = {pp: evaluate_train(job, Layout(pp=pp), gpu).compute_seconds for pp in (1, 16, 17, 61)}
    assert c[16] == pytest.approx(c[17], rel=1e-12)
    assert c[16] == pytest.approx(c[1] * 4 / 61, rel=1e-12)  # ideal c1/16 x (4 x 16 / 61)
    assert c[61] == pytest.approx(c[1] / 61, rel=1e-12)
