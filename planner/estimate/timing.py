"""Time formulas: training FLOPs, collectives, pipeline bubble, CPU offload, serving roofline.

Pure functions of numbers; ``planner.estimate.train`` and ``planner.estimate.serve``
assemble them per layout. FLOPs count a multiply-add as 2. Collectives are timed by
``planner.estimate.collectives``.
Derivations and sources: docs/estimation.md sec 5.
"""

from __future__ import annotations

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

# Expert parallelism: a dispatch and a combine all-to-all per MoE layer in the forward and
# again in the backward, two more under full recomputation; 16-bit activations, not
# overlapped (GShard sec 2.2, DeepSeek-V3 sec 3.2.2; docs/estimation.md sec 5, EP).
EP_ALLTOALLS_PER_LAYER = 4
EP_ALLTOALLS_RECOMPUTE = 2
EP_ACTIVATION_BYTES = 2

# ZeRO-3 / FSDP FULL_SHARD all-gather each layer's parameters in every pass of every
# micro-batch and reduce-scatter the gradients once per step (docs/estimation.md sec 5, ZeRO-3).
ZERO3_GATHERS = 2  # parameter all-gathers per micro-batch: forward, backward
ZERO3_GATHERS_RECOMPUTE = 1  # one more for the recomputed forward of full recomputation


def expert_alltoall_bytes(tokens: float, experts_per_token: int, hidden: int, ep: int) -> float:
    """Bytes one GPU sends in one all-to-all of ``tokens`` routed hidden states over ``ep``
    expert-parallel GPUs: of a token's experts_per_token copies, (ep-1)/ep leave the GPU."""
    if ep <= 1:
        return 0.0
    return tokens * experts_per_token * hidden * EP_ACTIVATION_BYTES * (ep - 1) / ep


def attention_unit(layers: int, attn_dim: int, seq: int) -> float:
    """L x H x Q x T of PaLM Appendix B (H x Q = the attention width)."""
    return float(layers) * attn_dim * seq


def train_flops_per_token(
    n: float, attn: float, method: str, recompute: str, n_lora: float = 0.0
) -> float:
    """Training FLOPs per token (``train_flops_split``, summed)."""
    linear, attention = train_flops_split(n, attn, method, recompute, n_lora)
    return linear + attention


def train_flops_split(
    n: float, attn: float, method: str, recompute: str, n_lora: float = 0.0
) -> tuple[float, float]:
    """Training FLOPs per token.

    Full: 6N + 12 L H Q T (Chowdhery et al. 2022, PaLM, arXiv:2204.02311 Appendix B;
    Narayanan et al. 2021 eq. 3 for the same count with recomputation).
    Full recomputation adds one forward: + 2N + 4 LHQT (8N in total, Narayanan 2021 sec 5.1).
    Selective recomputation re-runs the attention core only: + 4 LHQT (Korthikanti 2022 sec 5).
    LoRA / QLoRA: frozen weights need no weight gradient, so backward costs 2N instead of
    4N (the input-gradient half of Kaplan et al. 2020's 2x-forward backward): 4N, plus
    6 N_lora for the adapters; attention is unchanged.
    Returned as (linear-layer FLOPs, attention-core FLOPs) per token.
    """
    if method == "full":
        linear, core = 6.0 * n, 12.0 * attn
        if recompute == "full":
            linear, core = linear + 2.0 * n, core + 4.0 * attn
    else:
        linear, core = 4.0 * n + 6.0 * n_lora, 12.0 * attn
        if recompute == "full":
            linear, core = linear + 2.0 * n + 2.0 * n_lora, core + 4.0 * attn
    if recompute == "selective":
        core += 4.0 * attn
    return linear, core


def ring_allreduce_bytes(nbytes: float, n: int) -> float:
    """Ring all-reduce: each GPU sends (and receives) 2(n-1)/n x bytes (Patarasuk & Yuan 2009;
    NCCL tests' "bus bandwidth" definition, nccl-tests doc/PERFORMANCE.md)."""
    if n <= 1:
        return 0.0
    return 2.0 * (n - 1) / n * nbytes


def ring_allreduce_seconds(nbytes: float, n: int, bandwidth: float) -> float:
    """Ring all-reduce of ``nbytes`` over ``n`` GPUs at ``bandwidth`` bytes/s per GPU (serving)."""
    return ring_allreduce_bytes(nbytes, n) / bandwidth


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
    its ideal time: m = 1 gives p - 1); (p - 1)/(v m) for the interleaved schedule of
    ``virtual`` chunks per GPU, which needs m to be a multiple of p (``interleaving_ok``).
    """
    if pp <= 1:
        return 0.0
    m = max(1, micro_batches)
    if m % pp:
        virtual = 1
    return (pp - 1) / (virtual * m)


def interleaving_ok(pp: int, micro_batches: int, vpp: int, stage_layers: int) -> bool:
    """Can the interleaved schedule run ``vpp`` chunks per GPU? Megatron-Core needs the
    micro-batches to be a multiple of pp (schedules.py,
    ``forward_backward_pipelining_with_interleaving``), and every chunk the same number of
    layers (``--num-layers-per-virtual-pipeline-stage``): vpp divides a stage's layers."""
    if vpp <= 1:
        return True
    return pp > 1 and micro_batches % pp == 0 and stage_layers % vpp == 0


def roofline_seconds(nbytes: float, hbm: float, flops: float, peak: float) -> float:
    """Lower bound of a step: the slower of reading ``nbytes`` and computing ``flops``
    (Williams et al. 2009, the roofline model)."""
    return max(nbytes / hbm, flops / peak)


# ---------------------------------------------------------------- CPU offload
# Host <-> GPU bandwidth, one direction, per GPU, bytes/s, by host link: nvbandwidth
# measurements and PCIe generations (docs/estimation.md sec 5, CPU offload).
PCIE_GEN3_BYTES_PER_S = 12.5e9
PCIE_GEN4_BYTES_PER_S = 25.0e9
PCIE_GEN5_BYTES_PER_S = 50.0e9
NVLINK_C2C_BYTES_PER_S = 346.0e9

# GPU families by host link from their datasheets; the first match wins (GH200 before
# H200, GB200 before B200); anything else PCIe 4.0 (docs/estimation.md sec 5).
_HOST_LINKS = (
    (("GH200", "GB200", "GB300"), NVLINK_C2C_BYTES_PER_S),
    (("H100", "H200", "H800", "H20", "B100", "B200", "B300", "MI300", "MI325", "MI355"),
     PCIE_GEN5_BYTES_PER_S),
    (("V100", "T4", "P100", "P40"), PCIE_GEN3_BYTES_PER_S),
)

# Parameters per second one GPU's share of the host's cores updates with DeepSpeed's CPU
# Adam, from DeepSpeed's ZenFlow measurement of Llama-2-7B on 4 x A100 (docs/estimation.md sec 5).
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
