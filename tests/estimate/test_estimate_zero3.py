"""ZeRO-3 parameter all-gathers, and LoRA adapters on routed experts living with their experts.

Sources: ZeRO (Rajbhandari et al. 2020, arXiv:1910.02054) sec 7.2.2: per micro-batch two
all-gathers of the parameters (forward, backward) and one reduce-scatter of the gradients;
nccl-tests doc/PERFORMANCE.md: all-gather / reduce-scatter move (n-1)/n of the whole tensor;
NCCL v2.30.7 tuning.cc: the ring latency (docs/estimation.md sec 5, "Collectives");
DeepSpeed-MoE (arXiv:2201.05596 sec 5.3): experts are data-parallel over dp / ep ranks.
LoRA (Hu et al. 2021, arXiv:2106.09685 sec 4.1): r (in + out) parameters per adapted matrix.
"""

from __future__ import annotations

import dataclasses

import pytest

from planner.estimate import collectives as C
from planner.estimate import evaluate_train, lora_params, param_counts
from planner.estimate import timing as T
from planner.estimate.arch import lora_active_params, lora_param_split
from planner.estimate.types import Arch, Layout, TrainJob
from support.arch import A100_80G, TINY
from support.paths import DOCS

ALL = ("q", "k", "v", "o", "gate", "up", "down")
SLOW = dataclasses.replace(A100_80G, intra_node_bytes_per_s=1e9, inter_node_bytes_per_s=1e9, price_per_hour=1.0)
# the reviewer's cluster: A100-80G, NVLink 300 GB/s in a node of 8, 50 Gbps per GPU between nodes
A100 = dataclasses.replace(SLOW, intra_node_bytes_per_s=300e9, inter_node_bytes_per_s=50e9 / 8)
R1 = Arch(name="DeepSeek-R1", layers=61, hidden=7168, heads=128, kv_heads=128, head_dim=192, ffn=18432,
          vocab=129280, experts=256, shared_experts=1, experts_per_token=8, expert_ffn=2048,
          dense_layers=3, q_lora_rank=1536, kv_lora_rank=512, qk_nope_dim=128, qk_rope_dim=64,
          v_head_dim=128)
LLAMA_70B = Arch(name="DeepSeek-R1-Distill-Llama-70B", layers=80, hidden=8192, heads=64, kv_heads=8,
                 head_dim=128, ffn=28672, vocab=128256)


def lora_job(arch: Arch) -> TrainJob:
    # the DeepSeek-R1 table's fine-tunes: 1 GB of text, seq 4096, batch 256, LoRA r 64 on bf16,
    # on the LoRA default stack (Hugging Face PEFT: bf16 gradients)
    return TrainJob(arch=arch, method="lora", tokens=250e6, seq_len=4096, global_batch=256,
                    weights="bf16", lora_rank=64, lora_targets=ALL, stack="hf")


def test_allgather_volume():
    # 8 GB gathered over 4 ranks: each receives (and sends) the other 3/4, 6 GB
    assert C.gather_bytes(8e9, 4) == pytest.approx(6e9)
    assert C.gather_bytes(8e9, 1) == 0.0
    assert C.allreduce_bytes(8e9, 4) == pytest.approx(12e9)
    # micro-batches 1..m-1 show the gathers beyond their compute, the last adds the scatter
    assert T.zero3_exposed_seconds(3.0, 1.0, 2.0, 4) == pytest.approx(3 * 1.0 + 2.0)
    assert T.zero3_exposed_seconds(1.0, 0.5, 2.0, 4) == 0.0


def test_tiny_zero3_by_hand():
    # TINY: 2,873,600 parameters, 4 layers; full fine-tune with bf16 gradients (DeepSpeed),
    # dp 4 in one node whose GPUs talk at 1 GB/s: a link that slow is PCIe-class, so the ring
    # reaches 28/64 of it (0.4375 GB/s) and each gather costs NCCL's 8.4 us + 3 PCIe steps of
    # 5.7 us. One all-gather per layer and pass, one reduce-scatter per layer and step.
    psi = 2_873_600
    assert param_counts(TINY).total == psi
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8, stack="deepspeed")
    est = evaluate_train(job, Layout(dp=4, zero=3), SLOW)
    steps = 1e6 / (8 * 128)
    m = 8 // 4
    c = est.compute_seconds / steps / m  # one micro-batch of compute
    busbw, latency = 28 / 64 * 1e9, 8.4e-6 + 3 * 5.7e-6
    gather = 2 * 4 * latency + 2 * (2 * psi) * 3 / 4 / busbw  # 2 passes x 4 layers
    scatter = 4 * latency + (2 * psi) * 3 / 4 / busbw  # bf16 gradients, once per step
    assert gather == pytest.approx(19.9087e-3, rel=1e-5) and scatter == pytest.approx(9.9543e-3, rel=1e-5)
    assert c < gather  # the slow link cannot hide behind this tiny model's compute
    want = (m - 1) * (gather - c) + (gather + scatter - c)
    assert est.communication_seconds == pytest.approx(want * steps, rel=1e-9)
    # full recomputation gathers a third time
    redo = evaluate_train(job, Layout(dp=4, zero=3, recompute="full"), SLOW)
    c3 = redo.compute_seconds / steps / m
    g3 = 1.5 * gather
    assert redo.communication_seconds == pytest.approx(((m - 1) * (g3 - c3) + (g3 + scatter - c3)) * steps)


def test_zero3_costs_more_than_zero2_on_a_slow_link():
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    two = evaluate_train(job, Layout(dp=4, zero=2), SLOW)
    three = evaluate_train(job, Layout(dp=4, zero=3), SLOW)
    assert three.communication_seconds > two.communication_seconds
    assert three.memory.weights < two.memory.weights


def test_reviewer_r1_tp8_dp64_zero3():
    # 671B parameters in bf16 (1,342 GB) + 26.8B adapters (53.6 GB), / tp 8, x 63/64, x 2
    # passes. TP 8 fills each node, so each of the 64 DP ranks sits on its own node: the ring
    # uses one NIC per rank at 0.96 x 6.25 GB/s (rails), and each of the 2 x 61 per-layer
    # gathers pays 8.4 us + 63 network steps x 14 us: about 57 s of all-gathers per
    # micro-batch against well under a second of compute
    job = lora_job(R1)
    est = evaluate_train(job, Layout(tp=8, dp=64, zero=3), A100)
    stage = (param_counts(R1).total + lora_params(R1, 64, ALL)) * 2 / 8
    assert stage / 1e9 == pytest.approx(174.45, abs=0.005)
    gather = 2 * 61 * (8.4e-6 + 63 * 14e-6) + 2 * stage * 63 / 64 / (0.96 * 6.25e9)
    assert gather == pytest.approx(57.35, abs=0.01)
    steps = 250e6 / (256 * 4096)
    m = 256 // 64
    c = est.compute_seconds / steps / m
    assert c < 2.0
    assert est.communication_seconds / steps / m > gather - c  # exposed: the link is the bottleneck
    assert est.hours > 14.0
    # a pipeline over the slow network instead moves activations, not weights: far faster
    pp = evaluate_train(job, Layout(tp=8, pp=16, dp=4, zero=1, recompute="full"), A100)
    assert pp.hours < est.hours / 3


def test_reviewer_llama70b_tp8_dp8_zero3():
    # 70.55B bf16 = 141.1 GB + 1.66 GB adapters, / 8, x 7/8, x 2 passes at 0.96 x 6.25 GB/s
    # per rail, + 2 x 80 gathers of 8.4 us + 7 network steps of 14 us: 5.22 s
    job = lora_job(LLAMA_70B)
    est = evaluate_train(job, Layout(tp=8, dp=8, zero=3), A100)
    stage = (param_counts(LLAMA_70B).total + lora_params(LLAMA_70B, 64, ALL)) * 2 / 8
    gather = 2 * 80 * (8.4e-6 + 7 * 14e-6) + 2 * stage * 7 / 8 / (0.96 * 6.25e9)
    assert gather == pytest.approx(5.222, abs=0.001)
    steps = 250e6 / (256 * 4096)
    c = est.compute_seconds / steps / 32
    assert c < gather
    pp = evaluate_train(job, Layout(tp=8, pp=8, dp=1), A100)
    assert pp.hours < est.hours / 2


def test_r1_lora_split_by_hand():
    dense, routed = lora_param_split(R1, 64, ALL)
    # routed: 58 MoE layers x 256 experts x 3 matrices x 64 x (7168 + 2048)
    assert routed == 58 * 256 * 3 * 64 * (7168 + 2048) == 26_273_120_256
    assert dense + routed == lora_params(R1, 64, ALL) == 26_778_521_600
    # a token passes through 8 of the 256 experts' adapters
    assert lora_active_params(R1, 64, ALL) == dense + routed * 8 / 256 == 1_326_436_352
    # a dense model has no routed adapters
    assert lora_param_split(LLAMA_70B, 64, ALL)[1] == 0


@pytest.mark.parametrize("ep", [1, 2, 8])
def test_r1_expert_adapters_divided_by_tp_times_ep(ep):
    dense, routed = lora_param_split(R1, 64, ALL)
    est = evaluate_train(lora_job(R1), Layout(tp=8, dp=64, ep=ep, zero=0), A100)
    # ZeRO-0: bf16 gradients of every adapter this GPU holds
    assert est.memory.gradients == int(2 * (dense / 8 + routed / (8 * ep)))
    # ZeRO-1: the optimizer state is partitioned over dp for dense adapters, dp / ep for experts'
    one = evaluate_train(lora_job(R1), Layout(tp=8, dp=64, ep=ep, zero=1), A100)
    assert one.memory.optimizer == int(12 * (dense / 8 / 64 + routed / (8 * ep) / (64 // ep)))


def test_moe_lora_flops_count_active_adapters():
    job = lora_job(R1)
    est = evaluate_train(job, Layout(tp=8, pp=16, dp=2), A100)
    pc = param_counts(R1)
    n = pc.active - pc.input_embedding
    attn = T.attention_unit(61, 128 * (128 + 64 + 128) // 2, 4096)
    want = 250e6 * (4 * n + 6 * 1_326_436_352 + 12 * attn)
    assert est.flops == pytest.approx(want, rel=1e-12)


def test_docs_numbers():
    # docs/estimation.md sec 5 (ZeRO-3) and sec 7 (the Llama-70B-class example across 4 nodes)
    doc = (DOCS / "estimation.md").read_text()
    r1 = evaluate_train(lora_job(R1), Layout(tp=8, dp=64, zero=3), A100)
    l70 = evaluate_train(lora_job(LLAMA_70B), Layout(tp=8, dp=8, zero=3), A100)
    l70pp = evaluate_train(lora_job(LLAMA_70B), Layout(tp=8, pp=8, dp=1), A100)
    for text in (f"{r1.hours:.2f} h", f"{l70.hours:.2f} h", f"{l70pp.hours:.2f} h", "57.35 s", "174.45 GB"):
        assert text in doc, text
    assert (f"{r1.hours:.2f}", f"{l70.hours:.2f}", f"{l70pp.hours:.2f}") == ("15.33", "11.45", "4.00")
    a100_40 = dataclasses.replace(A100, name="A100-40G", memory_bytes=40960 * 2**20, hbm_bytes_per_s=1555e9,
                                  inter_node_bytes_per_s=25e9)
    job = dataclasses.replace(lora_job(LLAMA_70B), global_batch=64)
    hours = [evaluate_train(job, Layout(dp=32, zero=3, recompute="full", offload=o), a100_40).hours
             for o in ("none", "optimizer", "all")]
    assert [f"{h:.2f}" for h in hours] == ["7.23", "7.25", "7.53"]
    for h in hours:
        assert f"{h:.2f} h" in doc
    # 3 gathers x 142.76 GB x 31/32 per micro-batch: at one GPU's 25 GB/s 16.6 s; on the
    # ring that uses each node's eight NICs (0.96 x 8 x 25 GB/s) 2.16 s
    stage = (param_counts(LLAMA_70B).total + lora_params(LLAMA_70B, 64, ALL)) * 2
    assert 3 * stage * 31 / 32 / 25e9 == pytest.approx(16.6, abs=0.05)
    assert 3 * stage * 31 / 32 / (0.96 * 8 * 25e9) == pytest.approx(2.16, abs=0.005)
