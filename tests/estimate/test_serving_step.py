"""The serving step model and engine constants, worked by hand from docs/estimation.md
("Serving under load")."""

from __future__ import annotations

import math

import pytest

from planner.estimate import engines as E
from planner.estimate.step import ServeLoad, replica
from planner.estimate.types import Arch, GpuSpec
from support.serving import H100, LLAMA_8B

# Parameters by hand: per layer q,o 4096^2, k,v 4096 x 1024, gate/up/down 3 x 4096 x 14336.
LAYER_LINEAR = 2 * 4096 * 4096 + 2 * 4096 * 1024 + 3 * 4096 * 14336  # 218,103,808
LINEAR = 32 * LAYER_LINEAR  # 6,979,321,856
NORMS = 32 * 2 * 4096 + 4096
EMBED = 128256 * 4096  # input embedding; the untied head is the same size


def test_vllm_overhead_is_the_intercept_less_the_weight_read():
    # 6.44 ms - 16.06 GB / (3.35 TB/s x 0.90) = 1.113 ms
    assert E.VLLM_STEP_OVERHEAD_S == pytest.approx(6.44e-3 - 16.06e9 / 3.015e12)
    assert E.VLLM_STEP_OVERHEAD_S == pytest.approx(1.113e-3, abs=1e-6)


def test_eager_dispatch_and_bitsandbytes_calls():
    assert E.EAGER_LAYER_DISPATCH_S == pytest.approx(39.216e-3 / 32, rel=1e-4)  # 25.5 tok/s
    assert E.BNB_NF4_CALL_S == pytest.approx((1 / 37.62 - 1 / 47.66) / 129, rel=2e-3)
    assert E.BNB_NF4_DQ_CALL_S == pytest.approx((1 / 30.87 - 1 / 47.66) / 129, rel=2e-3)


def test_serving_gemm_fraction():
    # DeepGEMM median 1041 of 1979 TFLOPS over H100's FP8 MAMF 0.709 -> 0.742 of best shape
    assert E.SERVING_SHAPE_FACTOR == pytest.approx(0.7419, abs=1e-4)
    assert E.gemm_fraction(H100, "fp8") == pytest.approx(1041 / 1979)
    assert E.gemm_fraction(H100, "bf16") == pytest.approx(0.803 * 0.7419, abs=1e-4)
    other = GpuSpec(**{**H100.__dict__, "name": "my-gpu"})
    assert E.gemm_fraction(other, "bf16") == pytest.approx(0.729 * 0.7419, abs=1e-4)


def test_one_decode_step_by_hand():
    """64 sequences of 1024 context decode one token each, vLLM, bf16 weights and KV."""
    rep = replica(ServeLoad(LLAMA_8B, H100, prompt=1000, output=100, users=64))
    # linear: 64 x 2 x (linear + norms) + 64 x 2 x head FLOPs; weights read once:
    # 2 B x (linear + norms + head), the input embedding is a row lookup
    flops = 64 * 2 * (LINEAR + NORMS) + 64 * 2 * EMBED
    weight_bytes = 2 * (LINEAR + NORMS + EMBED)
    t_linear = max(flops / (989.4e12 * 0.803 * 0.7419), weight_bytes / (3.35e12 * 0.90))
    assert weight_bytes == 15_009_849_344
    assert t_linear == pytest.approx(4.978e-3, rel=1e-3)  # the weight read decides
    # attention: 64 x 1024 cached tokens x 131,072 B (2 x 32 layers x 8 heads x 128 x 2 B)
    kv_bytes = 64 * 1024 * 131072
    kv_flops = 64 * 1024 * 4 * 4096 * 32
    t_attention = max(kv_flops / (989.4e12 * 0.75), kv_bytes / (3.35e12 * 0.90))
    assert t_attention == pytest.approx(2.849e-3, rel=1e-3)
    expected = 1.113e-3 + t_linear + t_attention  # 8.94 ms, no TP communication
    step = rep.step(decodes=64, decode_context=64 * 1024)
    assert step.seconds == pytest.approx(expected, rel=1e-3)
    assert step.seconds == pytest.approx(8.94e-3, rel=2e-3)
    # shares of the GPU: bytes / (HBM x step), FLOPs / (peak x step)
    assert step.bandwidth_share == pytest.approx((weight_bytes + kv_bytes) / 3.35e12 / expected,
                                                 rel=1e-3)
    assert step.compute_share == pytest.approx((flops / 989.4e12 + kv_flops / 989.4e12) / expected,
                                               rel=1e-3)


def test_prefill_chunk_is_compute_bound_and_tp_adds_all_reduces():
    load = ServeLoad(LLAMA_8B, H100, prompt=2048, output=10, users=1, tp=2)
    rep = replica(load)
    step = rep.step(decodes=0, decode_context=0, prefill=2048, prefill_kv=2048,
                    prefill_pairs=2048 * 2049 / 2, samples=1)
    flops = 2048 * 2 * (LINEAR + NORMS) / 2 + 2 * EMBED / 2
    t_linear = flops / (989.4e12 * 0.803 * 0.7419)
    pairs = 2048 * 2049 / 2 * 4 * 4096 * 32 / 2
    t_attention = max(pairs / (989.4e12 * 0.75), 2048 * 131072 / 2 / 3.015e12)
    # 2 all-reduces per layer of 2048 x 4096 x 2 B: 10 us + 2 (n-1)/n x bytes / (0.8 x 450 GB/s)
    t_ar = 64 * (10e-6 + 2048 * 4096 * 2 / (0.8 * 450e9))
    assert step.seconds == pytest.approx(1.113e-3 + t_linear + t_attention + t_ar, rel=1e-3)


def test_moe_reads_the_experts_the_step_touches():
    mixtral = Arch(name="Mixtral", layers=32, hidden=4096, heads=32, kv_heads=8, head_dim=128,
                   ffn=14336, vocab=32000, experts=8, experts_per_token=2, expert_ffn=14336)
    rep = replica(ServeLoad(mixtral, H100, prompt=100, output=10, users=1, weights="fp8", kv="fp8",
                            tp=2))
    # one token touches 2 of 8 experts, eight tokens 1 - (6/8)^8 = 90% of them (expected share)
    assert rep.route_keep == pytest.approx(0.75)
    routed = 32 * 8 * 3 * 4096 * 14336 * 1.000244140625 / 2  # fp8 with block scales, per TP rank
    assert rep.routed_read == pytest.approx(routed)
    for tokens, share in ((1, 0.25), (8, 1 - 0.75**8)):
        step = rep.step(tokens, 100 * tokens)
        weights = step.memory_seconds * 3.35e12 - 100 * tokens * rep.kv_token_bytes
        assert weights == pytest.approx(rep.dense_read + routed * share, rel=1e-9)


def test_bitsandbytes_dequantizes_when_a_step_has_more_than_one_token():
    rep = replica(ServeLoad(LLAMA_8B, H100, prompt=100, output=10, users=1, weights="nf4"))
    assert rep.dequant_dense == pytest.approx(LINEAR * 4.0)  # write 2 B + read 2 B per weight
    single, double = rep.step(1, 100), rep.step(2, 200)
    assert double.memory_seconds - single.memory_seconds > LINEAR * 4.0 / 3.35e12


def test_trtllm_bench_limits_by_hand():
    # 516.3 requests fit the KV: batch rounded up to 128 x 5 = 640; 1032 tokens -> the 2048 floor
    assert E.trtllm_bench_limits(516.3, 1000, 1000, 1) == (640, 2048)
    # 190 requests of 5000/500: 64 <= 32 x 6 = 192; 190 x 11 = 2090 -> 256 x 9 = 2304
    assert E.trtllm_bench_limits(190.0, 5000, 500, 1) == (192, 2304)
    # prefill-heavy: 500 x 17 = 8500 -> 1024 x 9 = 9216
    assert E.trtllm_bench_limits(500.0, 2048, 128, 1) == (512, 9216)


def test_engine_defaults():
    assert E.token_budget(E.VLLM, H100, 131072) == 8192
    a100 = GpuSpec(**{**H100.__dict__, "name": "A100-80G", "memory_bytes": 81920 * 2**20})
    assert E.token_budget(E.VLLM, a100, 131072) == 2048  # A100s excluded (vllm PR #17885)
    assert E.max_sequences(E.VLLM, H100, 10**6, 131072) == 1024
    assert E.max_sequences(E.VLLM, a100, 10**6, 131072) == 256
    assert E.token_budget(E.SGLANG, H100, 131072) == 8192
    # SGLang: min(KV // 2, clamp(KV / context x 512, 2048, 4096))
    assert E.max_sequences(E.SGLANG, H100, 400_000, 131072) == 2048
    assert E.max_sequences(E.SGLANG, H100, 3000, 4096) == 1500
    with pytest.raises(ValueError, match="serving engine"):
        E.engine("tgi")


def test_kv_capacity_and_running_limit():
    rep = replica(ServeLoad(LLAMA_8B, H100, prompt=1000, output=1000, users=1))
    weights = 2 * (LINEAR + NORMS + 2 * EMBED)
    assert rep.weight_bytes_per_gpu == pytest.approx(weights)
    free = 0.9 * 81559 * 2**20 - weights
    # activations of an 8192-token prefill, CUDA context and graphs come off the free memory
    assert rep.kv_tokens < free / 131072
    assert rep.kv_tokens > (free - 4e9) / 131072
    # vLLM holds N sequences of mean length prompt + output / 2 = 1500 tokens, their sum
    # within the cache but 1% of the time: N x 1500 + 2.326 x 1000 x sqrt(N / 12) <= KV
    n = rep.max_running
    assert n * 1500 + 2.326 * 1000 * math.sqrt(n / 12) <= rep.kv_tokens
    assert (n + 1) * 1500 + 2.326 * 1000 * math.sqrt((n + 1) / 12) > rep.kv_tokens
    assert n >= 0.97 * math.floor(rep.kv_tokens / 1500)  # hundreds of sequences: nearly the mean
    # TensorRT-LLM reserves each request whole at admission
    trt = replica(ServeLoad(LLAMA_8B, H100, prompt=1000, output=1000, users=1, engine="trtllm"))
    assert trt.max_running == min(2048, trt.kv_tokens // 2000)


def test_load_checks_its_inputs():
    with pytest.raises(ValueError, match="exactly one"):
        ServeLoad(LLAMA_8B, H100, prompt=10, output=10)
    with pytest.raises(ValueError, match="exactly one"):
        ServeLoad(LLAMA_8B, H100, prompt=10, output=10, users=2, rate=1.0)
    with pytest.raises(ValueError, match="weight format"):
        ServeLoad(LLAMA_8B, H100, prompt=10, output=10, users=2, weights="int3")
    with pytest.raises(ValueError, match="prefix_share"):
        ServeLoad(LLAMA_8B, H100, prompt=10, output=10, users=2, prefix_share=1.0)
