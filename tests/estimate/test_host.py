"""Host CPU, RAM, NVMe and network of a row, worked by hand from docs/estimation.md sec 10."""

from __future__ import annotations

import dataclasses

import pytest

from planner.estimate import evaluate_serve, evaluate_train, host_resources, step_traffic
from planner.estimate.types import Arch, Layout, ServeJob, TrainJob
from support.arch import QWEN_7B, TINY, A100_80G as GPU

ALL = ("q", "k", "v", "o", "gate", "up", "down")
# DeepSeek-R1-Distill-Qwen-7B (docs/estimation.md sec 7): linear weights and everything else
LINEAR, OTHER = 6_525_288_448, 1_090_328_064
TOTAL = LINEAR + OTHER  # 7,615,616,512
LORA_64 = 161_480_704  # rank 64 on all seven targets
GPU_MEMORY = 81920 * 2**20  # the A100-80G's driver-reported bytes
GBPS = 1e9 / 8  # bytes/s in one Gbit/s


def _serve(layout: Layout, weights: str):
    job = ServeJob(arch=QWEN_7B, users=8, context=8192, prompt=6144, weights=weights)
    return host_resources(job, layout, GPU, evaluate_serve(job, layout, GPU))


def _train(job: TrainJob, layout: Layout, dataset_bytes: int = 10**9, gpu=GPU):
    return host_resources(job, layout, gpu, evaluate_train(job, layout, gpu), dataset_bytes)


def _nic_label(gbps: float) -> str:
    """The rule: the smallest standard NIC rate that carries the need; RDMA from 100 Gbps."""
    rate = next(r for r in (1, 10, 25, 50, 100, 200, 400, 800, 1600, 3200) if gbps <= r)
    return f"RDMA {rate}Gbps" if rate >= 100 else f"{rate}Gbps"


def test_serving_on_one_node():
    # two replicas of one GPU: 12 vCPUs and the device memory in host RAM per GPU; NVMe holds
    # one checkpoint: int4 linear weights with their group scales (0.51953125 B) + 16-bit rest
    host = _serve(Layout(replicas=2), "int4")
    assert host.cpu_cores == 2 * 12 and host.ram_bytes == 2 * GPU_MEMORY
    assert host.nvme_bytes == 5_570_747_392 == int(LINEAR * 0.51953125 + OTHER * 2)
    assert host.network == "none"
    assert _serve(Layout(replicas=2), "bf16").nvme_bytes == 2 * TOTAL == 15_231_233_024


def test_serving_across_nodes():
    # a replica of TP 8 x PP 2 spans two nodes: one checkpoint per node, activations between
    # the stages only; TP 16 all-reduces every layer across nodes
    pipeline = _serve(Layout(tp=8, pp=2), "bf16")
    assert pipeline.nvme_bytes == 2 * 2 * TOTAL and pipeline.network == "25Gbps"
    assert pipeline.cpu_cores == 16 * 12
    assert _serve(Layout(tp=16), "fp8").network == "RDMA 200Gbps"


def test_training_nvme_full_and_qlora():
    # full fine-tune on 16 GPUs (2 nodes): each node keeps the 1 GB dataset and the bf16 base;
    # 2 checkpoints of 7.6B trained parameters at 2 (bf16 weight) + 12 (AdamW state) bytes
    full = TrainJob(arch=QWEN_7B, method="full", tokens=25e7, seq_len=4096, global_batch=16)
    host = _train(full, Layout(dp=16, zero=3))
    assert host.nvme_bytes == 2 * (10**9 + 2 * TOTAL) + 2 * TOTAL * 14 == 245_699_728_384
    # QLoRA on 1 GPU: the nf4 base with double-quantization constants (0.515869140625 B per
    # linear weight) and 16-bit rest, two checkpoints of the adapters
    qlora = dataclasses.replace(full, method="qlora", weights="nf4", lora_rank=64, lora_targets=ALL)
    host = _train(qlora, Layout())
    assert host.nvme_bytes == 10**9 + 3_366_194_944 + 2 * OTHER + 2 * LORA_64 * 14 == 11_068_310_784
    # the optimizer's own state bytes: SGD keeps master + momentum (2 + 8), 8-bit Adam 2 + 6.0039
    sgd = _train(dataclasses.replace(qlora, optimizer="sgd"), Layout())
    assert sgd.nvme_bytes == 10**9 + 3_366_194_944 + 2 * OTHER + 2 * LORA_64 * 10
    adam8 = _train(dataclasses.replace(qlora, optimizer="adamw-8bit"), Layout())
    assert adam8.nvme_bytes == int(10**9 + 3_366_194_944 + 2 * OTHER + 2 * LORA_64 * (2 + 4 + 2 * (1 + 4 / 2048)))


def test_training_ram_holds_the_offloaded_state():
    job = TrainJob(arch=QWEN_7B, method="full", tokens=25e7, seq_len=4096, global_batch=16,
                   stack="deepspeed")
    layout = Layout(dp=8, zero=3, offload="optimizer")
    estimate = evaluate_train(job, layout, GPU)
    host = host_resources(job, layout, GPU, estimate, 10**9)
    # the optimizer state and the bf16 gradients of a ZeRO-3 partition, (12 + 2) bytes x
    # 7.6B / 8, sit in host memory (ZeRO-Offload)
    assert estimate.memory.host == int(14 * TOTAL / 8)
    assert host.ram_bytes == 8 * (GPU_MEMORY + int(14 * TOTAL / 8))
    assert host.network == "none"  # one node
    with pytest.raises(ValueError, match="dataset bytes"):
        host_resources(job, layout, GPU, estimate)


def test_data_parallel_gradients_across_nodes():
    # LoRA on 16 GPUs, DP 16 without ZeRO: one ring all-reduce of the bf16 adapter gradients
    # per step, 2 x 15/16 x 2 B x 161,480,704 per GPU. The ring crosses each of the 2 node
    # boundaries once: a node's 8 GPUs together send one GPU's bytes through its NICs.
    job = TrainJob(arch=QWEN_7B, method="lora", tokens=25e7, seq_len=4096, global_batch=16,
                   lora_rank=64, lora_targets=ALL, stack="hf")
    layout = Layout(dp=16, recompute="full")
    per_step = 2 * 15 / 16 * 2 * LORA_64
    assert per_step == 605_552_640
    assert step_traffic(job, layout, GPU).gradients == pytest.approx(per_step)
    assert step_traffic(job, layout, GPU).inter_node == pytest.approx(per_step / 8)
    seconds = evaluate_train(job, layout, GPU).seconds
    gbps = per_step * (25e7 / (16 * 4096)) * 8 / 1e9 / seconds
    assert _train(job, layout).network == _nic_label(gbps)


def test_only_what_crosses_nodes_counts():
    # PP 2 x DP 8 on 2 nodes: the DP group (tp x dp = 8) stays in a node; only the pipeline
    # boundary crosses: 2 (forward, backward) x v chunks x m micro-batches x 2sbh bytes,
    # m = 32 / 8 = 4, v = 2 interleaved chunks
    job = TrainJob(arch=TINY, method="full", tokens=1e9, seq_len=2000, global_batch=32)
    layout = Layout(pp=2, dp=8, zero=3, vpp=2)
    traffic = step_traffic(job, layout, GPU)
    pipeline = 2 * 2 * 4 * 2 * 2000 * 256
    assert traffic.pipeline == pipeline and traffic.param_gathers > 0 and traffic.gradients > 0
    assert traffic.inter_node == pipeline
    seconds = evaluate_train(job, layout, GPU).seconds
    gbps = 8 * pipeline * (1e9 / (32 * 2000)) * 8 / 1e9 / seconds
    assert _train(job, layout).network == _nic_label(gbps)


def test_a_network_bound_run_needs_the_bandwidth_its_time_assumes():
    # ZeRO-3 over 32 GPUs (4 nodes) on a slow network, short sequences: every micro-batch's
    # gathers outlast its compute, so the step is all network time. Each ring gets the node's
    # eight 50 Gbps NICs at 0.96 of line rate: 384 Gbps less the collectives' latency, which
    # rounds up to the node's 400 Gbps -- never more than its NICs
    slow = dataclasses.replace(GPU, inter_node_bytes_per_s=50 * GBPS)
    job = TrainJob(arch=QWEN_7B, method="full", tokens=1e8, seq_len=512, global_batch=64,
                   stack="deepspeed")
    layout = Layout(dp=32, zero=3)
    estimate = evaluate_train(job, layout, slow)
    traffic = step_traffic(job, layout, slow)
    steps = 1e8 / (64 * 512)
    need = 8 * traffic.inter_node * steps * 8 / 1e9 / estimate.seconds
    assert 0.9 * 384 < need <= 384
    assert _train(job, layout, gpu=slow).network == "RDMA 400Gbps"


def test_traffic_is_what_the_step_time_times():
    # with nothing to overlap, the exposed communication is the traffic over its bus
    # bandwidth (NVLink3 ring: 232/300 of the link) plus NCCL's latency per collective
    job = TrainJob(arch=TINY, method="full", tokens=1e8, seq_len=2048, global_batch=8)
    steps = 1e8 / (8 * 2048)
    busbw = 232 / 300 * GPU.intra_node_bytes_per_s
    tp = Layout(tp=4)  # 4 all-reduces of 2sbh per layer, 2(n-1)/n of it sent, NVLink
    traffic = step_traffic(job, tp, GPU)
    assert traffic.tensor == 4 * 4 * 8 * (2 * 3 / 4 * 2 * 2048 * 256)
    latency = 4 * 4 * 8 * (8.4e-6 + 2 * 3 * 3.4e-6)  # 2(n-1) ring steps each
    assert evaluate_train(job, tp, GPU).communication_seconds == pytest.approx(
        (traffic.tensor / busbw + latency) * steps, rel=1e-12)
    pp = Layout(pp=2, vpp=2)  # 8 micro-batches, a multiple of 2: 2 chunks a GPU
    traffic = step_traffic(job, pp, GPU)
    assert traffic.pipeline == 2 * 2 * 8 * 2 * 2048 * 256
    latency = 2 * 2 * 8 * (8.4e-6 + 3.4e-6)  # one step per send
    assert evaluate_train(job, pp, GPU).communication_seconds == pytest.approx(
        (traffic.pipeline / busbw + latency) * steps, rel=1e-12)


def test_expert_all_to_alls_across_nodes():
    # MoE, EP 16 over 2 nodes with TP 1 and DP 16: per MoE layer and micro-batch 4 all-to-alls
    # of s x k x h x 2 B x 15/16, of which 8 of the 15 peers sit on the other node; the DP
    # ring spans nodes too, and a node's 8 GPUs send one GPU's gradient bytes across
    moe = Arch(name="moe", layers=4, hidden=512, heads=8, kv_heads=8, head_dim=64, ffn=1024,
               vocab=1000, experts=16, experts_per_token=2, expert_ffn=256)
    job = TrainJob(arch=moe, method="full", tokens=1e8, seq_len=1024, global_batch=32)
    layout = Layout(dp=16, ep=16)
    traffic = step_traffic(job, layout, GPU)
    assert traffic.experts == 4 * 4 * 2 * (1024 * 2 * 512 * 2 * 15 / 16)
    assert traffic.inter_node == pytest.approx(traffic.experts * 8 / 15 + traffic.gradients / 8)
    assert _train(job, Layout(dp=8, ep=8)).network == "none"


def test_tensor_parallel_across_nodes_needs_rdma():
    job = TrainJob(arch=TINY, method="full", tokens=1e8, seq_len=2048, global_batch=8)
    traffic = step_traffic(job, Layout(tp=16), GPU)
    assert traffic.inter_node == traffic.tensor / 8 > 0
    assert _train(job, Layout(tp=16)).network.startswith("RDMA ")
