"""Expert parallelism in training: ZeRO shards experts over dp / ep, and the all-to-all costs time.

Sources: DeepSpeed-MoE (Rajbhandari et al. 2022, arXiv:2201.05596 sec 5.3): expert-parallel
groups are formed across data-parallel ranks, and dp / ep ranks hold the same experts (the
expert-data-parallel group) over which ZeRO partitions expert states. GShard (Lepikhin et
al. 2020 sec 2.2): an all-to-all dispatch and combine per MoE layer, forward and backward.
"""

from __future__ import annotations

import pytest

from planner.estimate import evaluate_train, param_counts
from planner.estimate import timing as T
from planner.estimate.types import Arch, GpuSpec, Layout, TrainJob

MOE = Arch(name="moe-small", layers=8, hidden=1024, heads=16, kv_heads=4, head_dim=64, ffn=4096,
           vocab=32000, experts=16, shared_experts=0, experts_per_token=2, expert_ffn=1024)
GPU = GpuSpec(name="A100-80G", memory_bytes=80 * 2**30, usable_fraction=0.9, bf16_flops=312e12,
              fp8_flops=0.0, int8_flops=624e12, hbm_bytes_per_s=2.039e12,
              intra_node_bytes_per_s=300e9, inter_node_bytes_per_s=50e9, gpus_per_node=8,
              price_per_hour=2.0, train_utilization=0.5)


def job(method: str = "full") -> TrainJob:
    return TrainJob(arch=MOE, method=method, tokens=1e8, seq_len=2048, global_batch=64,
                    lora_rank=16 if method != "full" else 0,
                    lora_targets=("q", "k", "v", "o") if method != "full" else ())


@pytest.mark.parametrize("method", ["full", "lora"])
def test_zero3_holds_one_copy_of_the_weights_whatever_ep(method):
    # Under ZeRO-3 the 8 GPUs together hold the model once: EP moves experts around but
    # must not divide them a second time (the bug: routed / ep / dp).
    one = evaluate_train(job(method), Layout(dp=8, zero=3, ep=1), GPU).memory.weights
    four = evaluate_train(job(method), Layout(dp=8, zero=3, ep=4), GPU).memory.weights
    total = param_counts(MOE).total * 2  # bf16 bytes of the whole model
    assert four == pytest.approx(one, rel=1e-12)
    assert four * 8 >= total


def test_without_zero_ep_divides_the_experts():
    pc = param_counts(MOE)
    one = evaluate_train(job(), Layout(dp=8, zero=0, ep=1), GPU).memory.weights
    four = evaluate_train(job(), Layout(dp=8, zero=0, ep=4), GPU).memory.weights
    # each GPU holds a quarter of the routed experts: 2 bytes x 3/4 of the routed parameters fewer
    assert one - four == pytest.approx(2 * pc.routed_linear * 3 / 4, rel=1e-9)


def test_expert_alltoall_time_hand_worked():
    # one micro-batch of 2048 tokens, 2 experts each, hidden 1024, bf16, ep = 4 inside a node:
    # 2048 x 2 x 1024 x 2 B x 3/4 = 6,291,456 B per all-to-all. NVLink3's all-to-all bus
    # bandwidth is the ring's 232/300 of 300 GB/s x 320/370 (GTC25: all-to-all over ring),
    # plus NCCL's 8.4 us + one 3.4 us step: 43.16 us each
    from planner.estimate.train import model_states, train_base
    from planner.estimate.train_time import traffic

    assert T.expert_alltoall_bytes(2048, 2, 1024, 4) == pytest.approx(6291456)
    layout = Layout(dp=8, zero=1, ep=4)
    base = train_base(job(), GPU)
    experts = traffic(base, layout, model_states(base, layout), 8)[3]
    one = 8.4e-6 + 3.4e-6 + 6291456 / (232e9 * 320 / 370)
    assert one == pytest.approx(43.16e-6, rel=1e-3)
    # 4 all-to-alls x 8 MoE layers x 8 micro-batches a step
    assert experts.seconds == pytest.approx(4 * 8 * 8 * one, rel=1e-12)
    assert experts.sent == pytest.approx(4 * 8 * 8 * 6291456) and experts.inter == 0.0
