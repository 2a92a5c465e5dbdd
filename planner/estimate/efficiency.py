"""How fast training's kernels run: matmul efficiency by GEMM size, attention, memory-bound
softmax traffic, and the default utilization by GPU (docs/estimation.md sec 5, "Compute").

``utilization`` is the achieved fraction of the tensor-core peak in the matmuls of a training
step at large GEMMs (the kernels between them included); GEMMs of fewer FLOPs run at a
fraction of it read off measured cuBLASLt curves (``shape_factor``). Pure functions of numbers.
"""

from __future__ import annotations

import math

from planner.estimate.engines import (
    ATTENTION_FRACTION, HBM_FRACTION, HBM_FRACTION_EAGER, MAMF_BF16, MAMF_FLOOR, MAMF_FP8,
    attention_fraction,
)
from planner.estimate.types import Arch, GpuSpec

# ---------------------------------------------------------------- GEMM size
# cuBLASLt GEMM efficiency against GEMM FLOPs (2mnk), measured: Azure AI-benchmarking-guide
# Azure_Results/ND_A100_v4_results.md (A100-SXM4-80GB, FP16, CUDA 12.5) as (FLOPs, fraction of
# 312 TFLOP/s); ND_H100_v5_results.md (H100 SXM, FP8) as fractions of 1979 TFLOP/s
# (docs/estimation.md sec 5, "Compute"). H100 bf16 has no published size curve: the A100
# curve's shape is used for every bf16 GEMM (an assumption the docs state).
GEMM_CURVE_BF16 = ((2.15e9, 0.383), (4.50e9, 0.426), (17.2e9, 0.711), (137e9, 0.731),
                   (1100e9, 0.813), (8796e9, 0.822))
GEMM_CURVE_FP8 = ((2.15e9, 0.139), (4.50e9, 0.208), (17.2e9, 0.511), (137e9, 0.615),
                  (1100e9, 0.652), (8796e9, 0.696), (70369e9, 0.698))

# ---------------------------------------------------------------- utilization by GPU
# The A100's training utilization, derived from the 18 published A100 runs of Megatron-LM
# 2021 Table 1 and Korthikanti 2022 Table 5: the median of the utilizations at which this
# model reproduces each run with its bubble, communication, attention and memory-bound
# kernels (``python benchmarks/fidelity.py`` prints them; docs/estimation.md sec 5,
# "Compute"). Checked, not fitted, on the FSDP blog, Llama 3 Table 4, the Megatron-Core H100
# table and the float8 blog.
TRAIN_UTILIZATION_A100 = 0.706
# Other GPUs: the same share of their best-shape matmul (MAMF) as the A100's 0.869.
TRAIN_MATMUL_FRACTION = TRAIN_UTILIZATION_A100 / MAMF_BF16["A100-80G"]

# FlashAttention skips the masked half of a causal score matrix (Dao 2023, arXiv:2307.08691
# sec 3.1.1): half of the 4·s·width FLOPs per token and layer are executed.
CAUSAL_FRACTION = 0.5

# Bytes moved per attention-score element per micro-batch and layer by the unfused (pre-Flash)
# attention of Megatron-LM (fused scale-mask-softmax, separate dropout), 16-bit scores: forward
# QK^T writes S, softmax reads S and writes P, AV reads P (8); backward dP written, softmax
# backward reads dP and P and writes dS, dQ and dK read dS, dV reads P (14); dropout adds a
# read, a write and a 1-byte mask each way (5). docs/estimation.md sec 5, "Compute".
SCORE_BYTES_FORWARD = 8.0
SCORE_BYTES_BACKWARD = 14.0
SCORE_BYTES_DROPOUT = 5.0


# Memory-bound kernels between the matmuls, forward bytes per token and layer, 16-bit
# tensors (docs/estimation.md sec 5, "Compute", counted kernel by kernel). Megatron fuses them
# (Transformer Engine norms, fused rotary, fused bias-GeLU / SwiGLU, bias-dropout-add); the
# other stacks run the eager PyTorch modules of transformers (LlamaRMSNorm upcasts to fp32 and
# makes five passes, apply_rotary_pos_emb four per tensor, SwiGLU two kernels).
#   (norms + residual adds per h, rotary per (hq + hkv), GeLU per f, SwiGLU per f)
ELEMENTWISE_FUSED = (2 * 4.0 + 2 * 6.0, 4.0, 4.0, 6.0)
ELEMENTWISE_EAGER = (2 * 36.0 + 2 * 6.0, 16.0, 4.0, 10.0)
ELEMENTWISE_DROPOUT_BYTES = 10.0  # x h: dropout reads, writes and masks the hidden state twice
ELEMENTWISE_BACKWARD = 2.0  # backward bytes over forward bytes
# FlashAttention-2, which PyTorch's SDPA runs for the eager stacks, reaches 35% of an H100's
# peak (FlashAttention-3, arXiv:2407.08608, abstract); Megatron's Transformer Engine runs the
# cuDNN/FA-3-class kernel (engines.attention_fraction).
ATTENTION_FRACTION_FA2_HOPPER = 0.35
# The cross-entropy over the vocabulary in fp32, bytes per token and vocabulary entry: the
# forward's upcast (read 2, write 4), max (4), exp in place (8), sum (4), normalisation (8),
# the backward's softmax-minus-one-hot (8) and cast to 16 bit (6): 44
# (megatron/core/tensor_parallel/cross_entropy.py; the materialised losses of the other
# stacks make the same passes).
LOSS_BYTES_PER_VOCAB = 44.0


def elementwise_bytes(arch: Arch, ffn: float, dropout: bool, fused: bool) -> tuple[float, float]:
    """Forward bytes per token and layer of the memory-bound kernels: (on the hidden state,
    which sequence parallelism splits; on the heads and MLP width, which TP splits)."""
    hidden, rotary, gelu, swiglu = ELEMENTWISE_FUSED if fused else ELEMENTWISE_EAGER
    hidden += ELEMENTWISE_DROPOUT_BYTES if dropout else 0.0
    split = (swiglu if arch.gated_mlp else gelu) * ffn
    if not arch.positions and not arch.is_mla:
        split += rotary * (arch.heads + arch.kv_heads) * arch.head_dim
    return hidden * arch.hidden, split


def elementwise_passes(recompute: str) -> float:
    """Forward-equivalents of elementwise traffic per micro-batch: forward, backward, and the
    recomputed forward under full recomputation."""
    return 1.0 + ELEMENTWISE_BACKWARD + (1.0 if recompute == "full" else 0.0)


def mamf_fraction(name: str, vendor: str, table: str) -> float:
    """Best-shape matmul fraction of ``table`` ("bf16" | "fp8") peak for a GPU type: the
    serving model's MAMF table by catalog name or family, else the vendor's lowest."""
    values = MAMF_FP8 if table == "fp8" else MAMF_BF16
    if name in values:
        return values[name]
    upper = name.upper()
    pcie = "PCIE" in upper
    for key in sorted(values, key=len, reverse=True):
        family = key.split("-")[0].upper()
        if family in upper and ("PCIE" in key.upper()) == pcie:
            return values[key]
    return MAMF_FLOOR["amd" if vendor.lower() == "amd" else "nvidia"][table]


def mamf(gpu: GpuSpec, table: str) -> float:
    return mamf_fraction(gpu.name, gpu.vendor, table)


def default_utilization(name: str, vendor: str) -> float:
    """The training utilization of a GPU type when neither the plan nor its block sets one."""
    return mamf_fraction(name, vendor, "bf16") * TRAIN_MATMUL_FRACTION


def shape_factor(flops: float, curve=GEMM_CURVE_BF16) -> float:
    """Efficiency of a GEMM of ``flops`` over the curve's largest: log-linear interpolation,
    held at the ends."""
    top = curve[-1][1]
    if flops <= curve[0][0]:
        return curve[0][1] / top
    if flops >= curve[-1][0]:
        return 1.0
    for (f0, e0), (f1, e1) in zip(curve, curve[1:]):
        if flops <= f1:
            w = math.log(flops / f0) / math.log(f1 / f0)
            return (e0 + w * (e1 - e0)) / top
    return 1.0


def layer_gemms(arch: Arch) -> tuple[tuple[float, float, float, bool], ...]:
    """One layer's linear GEMMs as (K, N, per-token share, routed): the inner and output
    widths before TP, and which are routed-expert GEMMs (they see k·ep/E of the tokens)."""
    h = arch.hidden
    if arch.is_mla:
        qk = arch.qk_nope_dim + arch.qk_rope_dim
        attention = [(h, arch.kv_lora_rank + arch.qk_rope_dim),
                     (arch.kv_lora_rank, arch.heads * (arch.qk_nope_dim + arch.v_head_dim)),
                     (arch.heads * arch.v_head_dim, h)]
        if arch.q_lora_rank:
            attention += [(h, arch.q_lora_rank), (arch.q_lora_rank, arch.heads * qk)]
        else:
            attention.append((h, arch.heads * qk))
    else:
        q, kv = arch.heads * arch.head_dim, arch.kv_heads * arch.head_dim
        attention = [(h, q + 2 * kv), (q, h)]
    n_in = 2 if arch.gated_mlp else 1
    out = [(k, n, 1.0, False) for k, n in attention]
    if not arch.is_moe or arch.dense_layers:
        share = 1.0 if not arch.is_moe else arch.dense_layers / arch.layers
        out += [(h, arch.ffn, share * n_in, False), (arch.ffn, h, share, False)]
    if arch.is_moe:
        share = (arch.layers - arch.dense_layers) / arch.layers
        shared = arch.shared_experts * arch.expert_ffn
        if shared:
            out += [(h, shared, share * n_in, False), (shared, h, share, False)]
        out += [(h, arch.expert_ffn, share * n_in * arch.experts_per_token, True),
                (arch.expert_ffn, h, share * arch.experts_per_token, True)]
    return tuple(out)


def linear_efficiency(gemms, arch: Arch, tokens: float, tp: int, ep: int, curve) -> float:
    """FLOPs-weighted efficiency over the curve's best of a layer's linear GEMMs, on one GPU,
    for a micro-batch of ``tokens`` tokens: TP splits the head and MLP dimension (the larger
    of K and N), a routed expert sees tokens·k·ep/E of them."""
    flops = seconds = 0.0
    for k, n, share, routed in gemms:
        m = tokens * arch.experts_per_token * ep / arch.experts if routed else tokens
        if n >= k:
            n = n / tp
        else:
            k = k / tp
        gemm = 2.0 * m * n * k
        weight = 2.0 * n * k * share  # the GEMM's FLOPs per token of the micro-batch
        flops += weight
        seconds += weight / shape_factor(gemm, curve)
    return flops / seconds if seconds else 1.0


def attention_efficiency(gpu: GpuSpec, flash: bool, fused: bool) -> float:
    """Attention core over the matmuls: FlashAttention's achieved share of peak (engines:
    FA-2 on A100, FA-3 on Hopper; FA-2 on Hopper for the eager stacks) over the GPU's
    best-shape matmul; unfused attention runs its QK^T and AV as batched GEMMs (1: the
    matmuls' utilization)."""
    if not flash:
        return 1.0
    share = attention_fraction(gpu)
    if not fused and share > ATTENTION_FRACTION_FA2_HOPPER and share != ATTENTION_FRACTION:
        share = ATTENTION_FRACTION_FA2_HOPPER
    return min(1.0, share / mamf(gpu, "bf16"))


def score_bytes(recompute: str, dropout: bool) -> float:
    """Bytes per attention-score element per micro-batch and layer, unfused attention."""
    forward = SCORE_BYTES_FORWARD + (SCORE_BYTES_DROPOUT if dropout else 0.0)
    backward = SCORE_BYTES_BACKWARD + (SCORE_BYTES_DROPOUT if dropout else 0.0)
    redo = forward if recompute in ("full", "selective") else 0.0
    return forward + backward + redo


def hbm_rate(gpu: GpuSpec, fused: bool) -> float:
    """Achieved HBM bandwidth of the memory-bound kernels, bytes/s: fused kernels stream at
    engines.HBM_FRACTION, PyTorch's eager kernels at engines.HBM_FRACTION_EAGER."""
    return gpu.hbm_bytes_per_s * (HBM_FRACTION if fused else HBM_FRACTION_EAGER)
