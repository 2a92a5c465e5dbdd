"""Training compute, worked by hand from its sources (docs/estimation.md sec 5, "Compute").

Sources: Azure AI-benchmarking-guide cuBLASLt GEMM tables (A100 FP16, H100 FP8); the MAMF
table of stas00/ml-engineering; FlashAttention-2/3 (arXiv:2307.08691, 2407.08608);
Megatron-LM's fused kernels (bytes per token of the memory-bound kernels).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from planner.estimate import efficiency as E
from planner.estimate import evaluate_train
from planner.estimate.types import Layout, TrainJob
from support.arch import A100_80G, TINY

H100 = dataclasses.replace(A100_80G, name="H100-SXM", bf16_flops=989e12, fp8_flops=1979e12,
                           hbm_bytes_per_s=3.35e12, intra_node_bytes_per_s=450e9)


def test_gemm_size_factor_from_the_cublas_table():
    # Azure ND A100 v4 cuBLASLt FP16: 2048^3 (17.2 GFLOP) 0.711, 4096^3 (137 GFLOP) 0.731 of
    # 312 TF; the plateau 16384^3 0.822. Between two points: log-linear.
    assert E.shape_factor(1e9) == pytest.approx(0.383 / 0.822)  # held at the smallest
    assert E.shape_factor(17.2e9) == pytest.approx(0.711 / 0.822)
    mid = math.sqrt(17.2e9 * 137e9)  # half way in log
    assert E.shape_factor(mid) == pytest.approx((0.711 + 0.731) / 2 / 0.822)
    assert E.shape_factor(1e14) == 1.0
    assert E.shape_factor(2.15e9, E.GEMM_CURVE_FP8) == pytest.approx(0.139 / 0.698)


def test_compute_of_tiny_by_hand():
    # TINY (4 layers, h 256, 4 heads, 2 KV heads, SwiGLU 512, vocab 1000, untied) on an A100
    # at utilization 0.5, 128-token micro-batches, Megatron, FlashAttention, no recomputation.
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    est = evaluate_train(job, Layout(), A100_80G)
    n = 2_873_600 - 256_000  # matmul parameters: all but the input embedding
    linear = 6 * n  # FLOPs per token
    core = 12 * 4 * 256 * 128  # 12 L H Q T
    # every GEMM of a 128-token micro-batch (QKV 2 x 128 x 512 x 256 = 33.6 MFLOP, ...) is
    # smaller than the table's first point: 0.383 / 0.822 of the utilization
    linear_rate = 312e12 * 0.5 * 0.383 / 0.822
    # FlashAttention-2 on A100 reaches 0.50 of peak against the best matmul's 0.869, and
    # skips the masked half of the causal scores
    core_rate = 312e12 * 0.5 * (0.50 / 0.869) / 0.5
    # memory-bound kernels per token and layer (forward): norms and residual adds 20 h, SwiGLU
    # 6 f, rotary 4 (hq + hkv); x 3 for forward and backward; the cross-entropy 44 V
    layer = 20 * 256 + 6 * 512 + 4 * (4 + 2) * 64
    traffic = 3 * 4 * layer + 44 * 1000
    assert traffic == 160_736
    per_token = linear / linear_rate + core / core_rate + traffic / (2039e9 * 0.90)
    assert est.compute_seconds == pytest.approx(1e6 * per_token, rel=1e-12)
    assert est.flops == pytest.approx(1e6 * (linear + core), rel=1e-12)


def test_unfused_attention_moves_the_scores():
    # without FlashAttention (Megatron 2021-22) the s x s scores are written and read: 8 bytes
    # an element forward, 14 backward, + 5 each way with dropout; selective recomputation
    # redoes the forward's
    assert E.score_bytes("none", False) == 22 and E.score_bytes("none", True) == 32
    assert E.score_bytes("selective", True) == 45 and E.score_bytes("full", False) == 30
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    flash = evaluate_train(job, Layout(), A100_80G)
    plain = evaluate_train(job, Layout(flash_attention=False), A100_80G)
    # core at the matmuls' rate on every score (no causal skip), + 4 layers x 4 heads x 128
    # scores a token x 22 bytes
    core = 12 * 4 * 256 * 128
    extra = core / (312e12 * 0.5) - core / (312e12 * 0.5 * (0.50 / 0.869) / 0.5) \
        + 4 * 4 * 128 * 22 / (2039e9 * 0.90)
    assert plain.compute_seconds - flash.compute_seconds == pytest.approx(1e6 * extra, rel=1e-9)


def test_a_tied_head_keeps_its_matmul():
    # a tied model's output projection is the embedding matrix used as a matmul: the same
    # FLOPs per token as the untied model, whose head is a separate matrix
    tied = dataclasses.replace(TINY, tied=True)
    job = TrainJob(arch=TINY, method="full", tokens=1e6, seq_len=128, global_batch=8)
    untied_flops = evaluate_train(job, Layout(), A100_80G).flops
    tied_flops = evaluate_train(dataclasses.replace(job, arch=tied), Layout(), A100_80G).flops
    assert tied_flops == untied_flops
    assert untied_flops == pytest.approx(1e6 * (6 * (2_873_600 - 256_000) + 12 * 4 * 256 * 128))


def test_fp8_runs_the_linear_layers_on_fp8_tensor_cores():
    # H100: the linear GEMMs at 1979 TF x utilization x MAMF fp8 / bf16 (0.709 / 0.803) x the
    # FP8 cuBLASLt size curve; attention and the memory-bound kernels as in bf16
    arch = dataclasses.replace(TINY, hidden=8192, heads=64, kv_heads=8, head_dim=128, ffn=28672)
    job = TrainJob(arch=arch, method="full", tokens=1e9, seq_len=4096, global_batch=64,
                   utilization=0.6)
    layout = Layout(micro_batch=4)
    bf16 = evaluate_train(job, layout, H100)
    fp8 = evaluate_train(dataclasses.replace(job, precision="fp8"), layout, H100)
    assert fp8.flops == bf16.flops and fp8.memory == bf16.memory
    # 16384 tokens x 8192 x 28672 MLP GEMMs (7.7 TFLOP) sit near both plateaus: fp8's linear
    # time is about (989 x 0.803) / (1979 x 0.709) = 0.57 of bf16's
    ratio = (989 * 0.803) / (1979 * 0.709)
    assert 1 / fp8.compute_seconds * bf16.compute_seconds == pytest.approx(1 / ratio, rel=0.15)
    assert fp8.compute_seconds < bf16.compute_seconds
    with pytest.raises(ValueError, match="fp8 tensor cores"):
        evaluate_train(dataclasses.replace(job, precision="fp8"), layout, A100_80G)


def test_eager_stacks_move_more_bytes_between_the_matmuls():
    # transformers' RMSNorm upcasts and makes five passes (36 h a norm, not 4 h), its rotary
    # four per tensor (16 (hq + hkv), not 4), SwiGLU two kernels (10 f, not 6); and PyTorch's
    # eager kernels stream at 0.69 of HBM, not 0.90
    fused = E.elementwise_bytes(TINY, 512, False, True)
    eager = E.elementwise_bytes(TINY, 512, False, False)
    assert fused == (20 * 256, 6 * 512 + 4 * 6 * 64)
    assert eager == (84 * 256, 10 * 512 + 16 * 6 * 64)
    assert E.hbm_rate(A100_80G, False) / E.hbm_rate(A100_80G, True) == pytest.approx(0.69 / 0.90)
