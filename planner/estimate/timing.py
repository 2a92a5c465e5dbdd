"""Time formulas: training FLOPs, collectives, pipeline bubble, CPU offload, serving roofline.

Pure functions of numbers; ``planner.estimate.evaluate`` assembles them per layout.
FLOPs count a multiply-add as 2.
"""

from __future__ import annotations

# Interleaved 1F1B with v model chunks per GPU divides the bubble by v (Narayanan et al.
# 2021, arXiv:2104.04473 sec 2.2.2: bubble (p-1)/(v m)); Megatron-LM's recommended
# schedule and the one Llama 3 used (arXiv:2407.21783 sec 3.3.2). We assume v = 4 chunks
# (capped at the layers a stage holds); the activation memory carries the matching
# (1 + (p-1)/(p v)) factor (planner.estimate.memory.interleave_factor). Megatron runs the
# interleaved schedule only when the micro-batches are a multiple of p (Megatron-Core
# megatron/core/pipeline_parallel/schedules.py, forward_backward_pipelining_with_interleaving:
# "number of microbatches is not divisible by pipeline-model-parallel-size when using
# interleaved schedule" is an error); otherwise the schedule is plain 1F1B (v = 1).
PIPELINE_VIRTUAL_STAGES = 4

# Data-parallel gradient reduction runs in buckets while backward proceeds (Li et al. 2020,
# "PyTorch Distributed", VLDB, arXiv:2006.15704 sec 3.2.3; DeepSpeed ZeRO and FSDP
# prefetch likewise): only the part longer than the backward pass is exposed. Backward is
# two thirds of a step's matmul FLOPs (4N of 6N, Kaplan et al. 2020 sec 2.1).
BACKWARD_SHARE = 2.0 / 3.0

# Megatron tensor parallelism: two all-reduces in the forward and two in the backward of
# every layer (Shoeybi et al. 2019, arXiv:1909.08053 sec 3, Figure 4); full recomputation
# repeats the forward's two. Sequence parallelism replaces each by a reduce-scatter and an
# all-gather of the same volume (Korthikanti et al. 2022 sec 4.2.2).
TP_ALLREDUCES_PER_LAYER = 4
TP_ALLREDUCES_RECOMPUTE = 2

# Expert parallelism: every MoE layer sends each token's hidden state to the GPUs holding
# its experts and brings the outputs back, an all-to-all "dispatch" and "combine" in the
# forward and again (the gradients) in the backward (Lepikhin et al. 2020, GShard,
# arXiv:2006.16668 sec 2.2; Rajbhandari et al. 2022, DeepSpeed-MoE, arXiv:2201.05596
# sec 5.3; DeepSeek-V3 arXiv:2412.19437 sec 3.2.2); full recomputation repeats the
# forward's two. Activations travel in 16 bit (EP_ACTIVATION_BYTES); of a token's
# experts_per_token copies, (ep-1)/ep leave the GPU on average. Not overlapped with compute
# (DeepSeek-V3's DualPipe hides it with a schedule of its own that we do not assume).
EP_ALLTOALLS_PER_LAYER = 4
EP_ALLTOALLS_RECOMPUTE = 2
EP_ACTIVATION_BYTES = 2

# ZeRO-3 (DeepSpeed stage 3) and FSDP FULL_SHARD keep 1/n of every parameter and all-gather
# each layer's parameters before its forward and again before its backward (and before a
# recomputed forward), every micro-batch: ZeRO paper (Rajbhandari et al. 2020,
# arXiv:1910.02054) sec 7.2.2, "3 Psi per step" for one micro-batch = 2 all-gathers of the
# parameters + 1 reduce-scatter of the gradients; DeepSpeed and FSDP free the gathered
# parameters after use and gather again for the next micro-batch. The gradients are
# reduce-scattered once per step, at the accumulation boundary (Psi, not the 2 Psi of an
# all-reduce): FSDP's no_sync accumulation and Llama 3's FSDP ("synchronizes after each
# training step", arXiv:2407.21783 sec 3.3.2). DeepSpeed stage 3 instead reduce-scatters after
# every micro-batch's backward (github deepspeedai/DeepSpeed issue #2252), one more Psi per
# extra micro-batch that we do not count. Prefetching overlaps the next layer's all-gather
# with this layer's compute (DeepSpeed ``stage3_prefetch_bucket_size``; PyTorch docs "FSDP
# Notes: FSDP Prefetch Nuances": layer i+1's all-gather overlaps layer i's forward), so each
# micro-batch exposes only the traffic time beyond its own compute.
ZERO3_GATHERS = 2  # parameter all-gathers per micro-batch: forward, backward
ZERO3_GATHERS_RECOMPUTE = 1  # one more for the recomputed forward of full recomputation


def expert_alltoall_seconds(tokens: float, experts_per_token: int, hidden: int, ep: int,
                            bandwidth: float) -> float:
    """One all-to-all of ``tokens`` routed hidden states over ``ep`` expert-parallel GPUs."""
    if ep <= 1:
        return 0.0
    nbytes = tokens * experts_per_token * hidden * EP_ACTIVATION_BYTES * (ep - 1) / ep
    return nbytes / bandwidth


def attention_unit(layers: int, attn_dim: int, seq: int) -> float:
    """L x H x Q x T of PaLM Appendix B (H x Q = the attention width)."""
    return float(layers) * attn_dim * seq


def train_flops_per_token(
    n: float, attn: float, method: str, recompute: str, n_lora: float = 0.0
) -> float:
    """Training FLOPs per token.

    Full: 6N + 12 L H Q T (Chowdhery et al. 2022, PaLM, arXiv:2204.02311 Appendix B;
    Narayanan et al. 2021 eq. 3 for the same count with recomputation).
    Full recomputation adds one forward: + 2N + 4 LHQT (8N in total, Narayanan 2021 sec 5.1).
    Selective recomputation re-runs the attention core only: + 4 LHQT (Korthikanti 2022 sec 5).
    LoRA / QLoRA: frozen weights need no weight gradient, so backward costs 2N instead of
    4N (the input-gradient half of Kaplan et al. 2020's 2x-forward backward): 4N, plus
    6 N_lora for the adapters; attention is unchanged.
    """
    if method == "full":
        f = 6.0 * n + 12.0 * attn
        if recompute == "full":
            f += 2.0 * n + 4.0 * attn
    else:
        f = 4.0 * n + 6.0 * n_lora + 12.0 * attn
        if recompute == "full":
            f += 2.0 * n + 2.0 * n_lora + 4.0 * attn
    if recompute == "selective":
        f += 4.0 * attn
    return f


def ring_allreduce_seconds(nbytes: float, n: int, bandwidth: float) -> float:
    """Ring all-reduce: each GPU sends and receives 2(n-1)/n x bytes (Patarasuk & Yuan 2009;
    NCCL tests' "bus bandwidth" definition, nccl-tests doc/PERFORMANCE.md)."""
    if n <= 1:
        return 0.0
    return 2.0 * (n - 1) / n * nbytes / bandwidth


def virtual_stages(pp: int, micro_batches: int, layers_per_stage: int) -> int:
    """Model chunks per GPU the pipeline schedule uses: PIPELINE_VIRTUAL_STAGES (capped at the
    layers a stage holds) when the interleaved schedule can run, i.e. the micro-batches are a
    multiple of pp (Megatron-Core's condition, see above), else 1 (plain 1F1B)."""
    if pp <= 1 or micro_batches % pp:
        return 1
    return min(PIPELINE_VIRTUAL_STAGES, max(1, layers_per_stage))


def ring_allgather_seconds(nbytes: float, n: int, bandwidth: float) -> float:
    """Ring all-gather of a tensor of ``nbytes`` (whole) held 1/n per GPU: each GPU receives
    (n-1)/n x bytes (nccl-tests doc/PERFORMANCE.md: all-gather and reduce-scatter bus
    bandwidth = algorithm bandwidth x (n-1)/n). A reduce-scatter moves the same volume."""
    if n <= 1:
        return 0.0
    return (n - 1) / n * nbytes / bandwidth


def zero3_gather_seconds(dense_bytes: float, routed_bytes: float, dp: int, edp: int,
                         passes: int, bandwidth: float) -> float:
    """ZeRO-3 parameter all-gathers of one micro-batch on one GPU: ``passes`` gathers of the
    stage's parameters, ``dense_bytes`` over the dp ranks and the routed experts'
    ``routed_bytes`` over the ``edp`` = dp / ep ranks that hold the same experts."""
    return passes * (ring_allgather_seconds(dense_bytes, dp, bandwidth)
                     + ring_allgather_seconds(routed_bytes, edp, bandwidth))


def zero3_exposed_seconds(gather: float, reduce_scatter: float, micro_compute: float,
                          micro_batches: int) -> float:
    """Exposed ZeRO-3 communication per step: each micro-batch's all-gathers (``gather``)
    hide behind its own compute (``micro_compute``) and show only beyond it; the step's one
    gradient reduce-scatter runs in the last micro-batch's backward, with its gathers."""
    early = gather - micro_compute if gather > micro_compute else 0.0
    last = gather + reduce_scatter - micro_compute
    return (micro_batches - 1) * early + (last if last > 0.0 else 0.0)


def bubble_fraction(pp: int, micro_batches: int, virtual: int) -> float:
    """Pipeline bubble over ideal compute (Narayanan et al. 2021 sec 2.2): (p - 1)/m for
    GPipe and 1F1B, whatever m (with m < p, one micro-batch crossing p stages takes p times
    its ideal time: m = 1 gives p - 1); (p - 1)/(v m) for the interleaved schedule, which
    runs only when m is a multiple of p (``virtual_stages``), so ``virtual`` counts only then.
    """
    if pp <= 1:
        return 0.0
    m = max(1, micro_batches)
    if m % pp:
        virtual = 1
    return (pp - 1) / (virtual * m)


def roofline_seconds(nbytes: float, hbm: float, flops: float, peak: float) -> float:
    """Lower bound of a step: the slower of reading ``nbytes`` and computing ``flops``
    (Williams et al. 2009, the roofline model)."""
    return max(nbytes / hbm, flops / peak)


# ---------------------------------------------------------------- CPU offload
# Host <-> GPU bandwidth, one direction, per GPU, bytes/s, by the GPU's host link.
# PCIe 4.0 x16: NVIDIA nvbandwidth measures 25.13 GB/s host_to_device on an A100-SXM4-40GB
# (github NVIDIA/nvbandwidth issue #42), 80% of the link's 31.5 GB/s. PCIe 5.0 doubles and
# PCIe 3.0 halves the per-lane rate (32 / 16 / 8 GT/s, all 128b/130b), so 50 and 12.5 GB/s;
# H100 measures 52.8 GB/s device_to_host and 57 GB/s host_to_device (nvbandwidth issues #24,
# #6). Grace-Hopper/Blackwell superchips reach the host over NVLink-C2C: 346 GB/s
# host_to_device measured on a GH200 (nvbandwidth issue #23). Per GPU: GPUs that share a PCIe
# switch uplink (DGX A100 pairs two per switch) see less when both transfer at once.
PCIE_GEN3_BYTES_PER_S = 12.5e9
PCIE_GEN4_BYTES_PER_S = 25.0e9
PCIE_GEN5_BYTES_PER_S = 50.0e9
NVLINK_C2C_BYTES_PER_S = 346.0e9

# GPU families by host link; the first match wins (GH200 before H200, GB200 before B200).
# Datasheets: V100 and T4 PCIe 3.0; A100, A10/A10G, L4, L40S, RTX 30/40, RTX A6000, MI250X
# PCIe 4.0; H100/H200/H800/H20, B200, MI300X/MI325X PCIe 5.0. Anything else: PCIe 4.0.
_HOST_LINKS = (
    (("GH200", "GB200", "GB300"), NVLINK_C2C_BYTES_PER_S),
    (("H100", "H200", "H800", "H20", "B100", "B200", "B300", "MI300", "MI325", "MI355"),
     PCIE_GEN5_BYTES_PER_S),
    (("V100", "T4", "P100", "P40"), PCIE_GEN3_BYTES_PER_S),
)

# Parameters per second one GPU's share of the host's cores updates with DeepSpeed's CPU Adam
# (DeepSpeedCPUAdam, AVX-vectorised and multithreaded; 5-7x torch.optim.Adam on the CPU,
# DeepSpeed ZeRO-Offload tutorial). Measured: for Llama-2-7B (6.74e9 parameters) on 4 x A100
# "the CPU path can take longer than 4s" per step (DeepSpeed blogs/deepspeed-zenflow/README.md,
# "CPU-Induced GPU Stalls"): 1.68e9 parameters per GPU, less 0.13 s to send 2-byte parameters
# back at PCIE_GEN4_BYTES_PER_S, is 0.43e9 parameters/s per GPU; rounded down to 0.4e9.
CPU_ADAM_PARAMS_PER_S = 0.4e9


def host_link_bytes_per_s(gpu_name: str) -> float:
    """Host <-> GPU bandwidth in one direction for this GPU family (bytes/s, see above)."""
    name = gpu_name.upper()
    for families, bandwidth in _HOST_LINKS:
        if any(f in name for f in families):
            return bandwidth
    return PCIE_GEN4_BYTES_PER_S


def optimizer_offload_seconds(
    params: float, grad_bytes: float, weight_bytes: float, host_bw: float, backward: float
) -> float:
    """Exposed seconds per optimizer step of ZeRO-Offload (Ren et al. 2021, arXiv:2101.06840
    sec 4.1, Figure 2) for the ``params`` trained parameters whose optimizer state this GPU
    keeps on the host: 16-bit gradients GPU -> CPU (streamed while ``backward`` runs, so only
    the excess shows), CPU Adam over the parameters, updated 16-bit parameters CPU -> GPU.
    The paper's optional one-step delayed update is not assumed: the CPU step and the
    parameter copy sit on the critical path, as in DeepSpeed's default schedule.
    """
    to_host = grad_bytes * params / host_bw
    exposed = to_host - backward if to_host > backward else 0.0
    return exposed + params / CPU_ADAM_PARAMS_PER_S + weight_bytes * params / host_bw


def param_offload_seconds(param_bytes: float, passes: int, host_bw: float) -> float:
    """Seconds per micro-batch to bring this GPU's parameter shard (``param_bytes``) from the
    host for each of ``passes`` passes (forward, backward, and the recomputed forward),
    ZeRO-Infinity parameter offload (Rajbhandari et al. 2021, arXiv:2104.07857 sec 4): its
    bandwidth-centric efficiency ait*bw / (ait*bw + peak) counts the transfer time on top of
    compute, i.e. not hidden."""
    return passes * param_bytes / host_bw
