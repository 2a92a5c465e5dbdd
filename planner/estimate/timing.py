"""Time formulas: training FLOPs, collectives, pipeline bubble, serving roofline.

Pure functions of numbers; ``planner.estimate.evaluate`` assembles them per layout.
FLOPs count a multiply-add as 2.
"""

from __future__ import annotations

# Interleaved 1F1B with v model chunks per GPU divides the bubble by v (Narayanan et al.
# 2021, arXiv:2104.04473 sec 2.2.2: bubble (p-1)/(v m)); Megatron-LM's recommended
# schedule and the one Llama 3 used (arXiv:2407.21783 sec 3.3.2). We assume v = 4 chunks
# (capped at the layers a stage holds); the activation memory carries the matching
# (1 + (p-1)/(p v)) factor (planner.estimate.memory.interleave_factor).
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


def bubble_fraction(pp: int, micro_batches: int, virtual: int) -> float:
    """Pipeline bubble over ideal compute: (p - 1)/(v m) (Narayanan et al. 2021 sec 2.2)."""
    if pp <= 1:
        return 0.0
    return (pp - 1) / (virtual * max(1, micro_batches))


def roofline_seconds(nbytes: float, hbm: float, flops: float, peak: float) -> float:
    """Lower bound of a step: the slower of reading ``nbytes`` and computing ``flops``
    (Williams et al. 2009, the roofline model)."""
    return max(nbytes / hbm, flops / peak)
