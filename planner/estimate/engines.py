"""Serving engines and the kernels they run: the constants of the serving model.

An ``Engine`` holds what one serving engine does between and within steps: the CPU time
a step costs beyond its GPU work, how it fills a step (token budget, running sequences,
whether a prompt's prefill shares a step with decodes) and how it holds the KV cache.
The achieved fractions of the hardware (HBM bandwidth, tensor-core FLOP/s) and the
quantized-weight kernels are GPU and kernel properties shared by the engines.
Every constant is named here with a one-line pointer; docs/estimation.md, "Serving
under load", gives each one's source and the cases it was checked on.
"""

from __future__ import annotations

import math

from planner.estimate.memory import LARGE_GPU_BYTES, prefill_chunk_tokens
from planner.estimate.precision import NF4_BLOCK, lookup
from planner.estimate.types import GpuSpec
from planner.frozen import frozen

MiB = 1024**2
GiB = 1024**3

# ---------------------------------------------------------------- achieved HBM bandwidth
# Streaming reads of weights and KV by fused serving kernels: 0.90 of peak. vLLM FP8-KV blog
# (2026-04-22, v0.19.1, 1 x H100, Llama-3.1-8B, FlashAttention-3): ITL slope 4.37e-05 ms per
# cached token of 131,072 B = 3.00 TB/s of 3.35. See docs/estimation.md "Serving under load".
HBM_FRACTION = 0.90
# FP8 KV: slope 2.37e-05 ms per token of 65,536 B = 2.77 TB/s = 0.83 of 3.35 (same blog).
HBM_FRACTION_FP8_KV = 0.83
# PyTorch's own kernels at batch 1: gpt-fast README, Llama-2-7B bf16, 1397.31 GB/s on an
# A100-80GB (2039 GB/s) = 0.69. Used by the eager `transformers` engine.
HBM_FRACTION_EAGER = 0.69

# ---------------------------------------------------------------- achieved tensor-core FLOP/s
# Best-shape matmul: Maximum Achievable Matmul FLOPS (stas00/ml-engineering
# compute/accelerator/README.md at 744d01e), TFLOPS / datasheet by catalog GPU. H200's bf16
# row: "H200 is the same" as H100 SXM. GPUs without a measurement get the lowest measured value
# of their vendor (conservative), see ``gemm_fraction``.
MAMF_BF16 = {
    "A100-40G": 0.869, "A100-80G": 0.869,  # A100 SXM 271.2 / 312
    "A100-40G-PCIe": 0.811, "A100-80G-PCIe": 0.811,  # A100 PCIe 252.9 / 312
    "H100-SXM": 0.803, "H800": 0.803, "H200": 0.803,  # H100 SXM 794.5 / 989
    "GH200": 0.838, "B200": 0.776, "B300": 0.786, "GB200": 0.729,
    "MI300X": 0.514, "MI325X": 0.604, "MI355X": 0.680,
}
MAMF_FP8 = {
    "H100-SXM": 0.709, "H800": 0.709,  # 1402.6 / 1979
    "H200": 0.734, "GH200": 0.776, "B200": 0.763, "B300": 0.745, "GB200": 0.723,
}
MAMF_FLOOR = {"nvidia": {"bf16": 0.729, "fp8": 0.709}, "amd": {"bf16": 0.514, "fp8": 0.514}}
# Serving does not run the best shape. DeepGEMM README (deepseek-ai/DeepGEMM a6d97a1), "Normal
# GEMMs for dense models" on H800 (H100 SXM's tensor cores), the six M = 4096 rows: 1058, 990,
# 590, 1358, 1304, 1025 TFLOPS, median 1041 of 1979 = 0.526 against H100's FP8 MAMF of 0.709.
# We apply that ratio to every MAMF entry (the only serving-shape table we found is FP8 on
# Hopper; that the loss carries over to bf16 and other GPUs is an assumption).
SERVING_SHAPE_FACTOR = (1041.0 / 1979.0) / 0.709  # 0.742

# Attention kernels: FlashAttention-3 forward reaches 75% of H100 bf16 peak
# (arXiv:2407.08608 abstract); FlashAttention-2 50-73% on A100 (arXiv:2307.08691), lower end.
ATTENTION_FRACTION_HOPPER = 0.75
ATTENTION_FRACTION = 0.50
_HOPPER = ("H100", "H200", "H800", "H20", "GH200")

# ---------------------------------------------------------------- KV cache
# An engine that takes KV as tokens come (vLLM, SGLang) runs as many sequences as fit the
# cache but for 1% of the time: 2.326 standard deviations of their summed length (the 99th
# percentile of the normal distribution) above its mean (step.sequences_in_kv).
KV_SPREAD_Z = 2.326

# ---------------------------------------------------------------- communication
# Small-message all-reduce latency inside a node: vLLM's custom all-reduce on H100, 9.1-10.1 us
# at 512 B for TP 2/4/8 (sgl-project/sglang PR #2904 table); between nodes NCCL's floor of
# 46-48 us (NVIDIA/nccl issue #1244, 2 x 8 H20, IB NDR).
ALLREDUCE_LATENCY_INTRA_S = 10e-6
ALLREDUCE_LATENCY_INTER_S = 47e-6
# Ring all-reduce bus bandwidth: 365-370 of 450 GB/s NVLink on 8 x H100 (NVIDIA/nccl #1455).
BUS_BANDWIDTH_FRACTION = 0.8

# ---------------------------------------------------------------- quantized weight kernels
# bitsandbytes NF4 without double quantization: 4 bits + one fp32 absmax per 64 weights
# (QLoRA arXiv:2305.14314 sec 3: 32/64 = 0.5 bit per parameter). precision.NF4_BYTES is
# the double-quantized (QLoRA default) layout.
NF4_NODQ_BYTES = 0.5 + 4.0 / NF4_BLOCK
# bitsandbytes ``matmul_4bit``: a single-token input runs the fused gemv_4bit kernel; any
# other input is dequantized to a 16-bit copy (written, 2 B) that F.linear reads (2 B).
BNB_DEQUANT_BYTES = 4.0
# Extra CPU time per 4-bit linear call in eager PyTorch, LitGPT tutorials/quantize.md
# (982abcbc, A100 40GB, Falcon-7B, 32 x 4 linears + lm_head = 129): bf16 47.66 tok/s,
# nf4 37.62, nf4-dq 30.87 -> (1/37.62 - 1/47.66) / 129 and (1/30.87 - 1/47.66) / 129.
BNB_NF4_CALL_S = 43.4e-6
BNB_NF4_DQ_CALL_S = 88.5e-6


@frozen
class WeightKernel:
    """How a weight format runs: the tensor-core path of its GEMMs and its extra costs."""

    name: str
    path: str  # "bf16" | "fp8" | "int8": the peak its matmuls run at, where the GPU has it
    dequant_bytes: float = 0.0  # extra bytes per weight per multi-token step (dequantize)
    eager_call_s: float = 0.0  # extra CPU seconds per linear call in eager PyTorch


KERNELS = {
    "bf16": WeightKernel("bf16", "bf16"),
    "fp16": WeightKernel("fp16", "bf16"),
    # W8A8 on fp8 tensor cores (Hopper, Ada); vLLM runs fp8 as W8A16 (Marlin) on Ampere.
    "fp8": WeightKernel("fp8", "fp8"),
    "int8": WeightKernel("int8", "int8"),  # W8A8 int8 (SmoothQuant-class)
    # W4A16 (Marlin / AWQ-Marlin / GPTQ-Marlin): dequantized in registers, bf16 tensor cores.
    "int4": WeightKernel("int4", "bf16"),
    "nf4": WeightKernel("nf4", "bf16", BNB_DEQUANT_BYTES, BNB_NF4_DQ_CALL_S),  # double-quantized
    "nf4-nodq": WeightKernel("nf4-nodq", "bf16", BNB_DEQUANT_BYTES, BNB_NF4_CALL_S),
}


def weight_kernel(weights: str) -> WeightKernel:
    return lookup(KERNELS, weights, "serving weight format")


def linear_peak(gpu: GpuSpec, kernel: WeightKernel) -> tuple[float, str]:
    """(peak FLOP/s, MAMF table) the linear layers of ``kernel`` run at on ``gpu``."""
    if kernel.path == "fp8" and gpu.fp8_flops > 0:
        return gpu.fp8_flops, "fp8"
    if kernel.path == "int8" and gpu.int8_flops > 0:
        # no int8 MAMF measurement: the GPU's 8-bit (fp8) fraction where it has fp8
        return gpu.int8_flops, "fp8" if gpu.fp8_flops > 0 else "bf16"
    return gpu.bf16_flops, "bf16"


def best_matmul_fraction(gpu: GpuSpec, table: str) -> float:
    """Best-shape matmul share of ``table`` ("bf16" | "fp8") peak on ``gpu`` (MAMF)."""
    best = (MAMF_FP8 if table == "fp8" else MAMF_BF16).get(gpu.name)
    if best is None:
        best = MAMF_FLOOR["amd" if gpu.vendor.lower() == "amd" else "nvidia"][table]
    return best


def gemm_fraction(gpu: GpuSpec, table: str) -> float:
    """Achieved share of ``table`` ("bf16" | "fp8") peak for serving GEMMs on ``gpu``."""
    return best_matmul_fraction(gpu, table) * SERVING_SHAPE_FACTOR


def attention_fraction(gpu: GpuSpec) -> float:
    name = gpu.name.upper()
    return ATTENTION_FRACTION_HOPPER if any(h in name for h in _HOPPER) else ATTENTION_FRACTION


# ---------------------------------------------------------------- engines
# vLLM V1 per-step CPU time beyond the GPU work: the FP8-KV blog's concurrency-1 ITL intercept
# for Llama-3.1-8B on an H100 (6.44 ms) less its weight read, 16.06 GB / (3.35 TB/s x 0.90).
VLLM_STEP_OVERHEAD_S = 6.44e-3 - 16.06e9 / (3.35e12 * HBM_FRACTION)  # 1.11 ms
# vLLM V0 (<= v0.7, single-step scheduling): "Each highlighted redbox is about 4ms of GPU
# bubble ... incurred on every decode" (vllm-project/vllm issue #6854, Llama 3 8B, H100).
VLLM_V0_STEP_OVERHEAD_S = 4.0e-3
# vLLM OpenAI-server max_num_seqs (vllm/engine/arg_utils.py 99d7eb5d): 1024 on >= 70 GiB
# GPUs that are not A100s, 256 elsewhere; V0 EngineArgs default 256.
VLLM_MAX_SEQS_LARGE = 1024
VLLM_MAX_SEQS = 256
# V0 without chunked prefill: max_num_batched_tokens = max(max_model_len, 2048).
VLLM_V0_MIN_BATCHED_TOKENS = 2048
# SGLang's overlap scheduler (on by default) hides CPU scheduling behind the GPU: "no single
# idle time on the GPU" (LMSYS blog "SGLang v0.4", 2024-12-04).
SGLANG_STEP_OVERHEAD_S = 0.0
# SGLang chunked_prefill_size by GPU memory (python/sglang/srt/server_args.py,
# _handle_gpu_memory_settings): < 35 GiB 2048, < 60 GiB 4096, < 160 GiB 8192, else 16384.
SGLANG_CHUNK_BY_MEMORY = ((35 * GiB, 2048), (60 * GiB, 4096), (160 * GiB, 8192))
SGLANG_CHUNK_LARGEST = 16384
# SGLang cuda_graph_max_bs by memory (same function), for its reserved memory.
SGLANG_GRAPH_BS_BY_MEMORY = ((20 * GiB, 8, 8), (35 * GiB, 24, 80), (60 * GiB, 32, 160),
                             (160 * GiB, 256, 512))
SGLANG_GRAPH_BS_LARGEST = 512
# SGLang max_running_requests = min(KV tokens // 2, clamp(KV tokens / context x 512, 2048, 4096)).
SGLANG_REQ_POOL_MIN = 2048
SGLANG_REQ_POOL_MAX = 4096
# TensorRT-LLM: no published per-step overhead was found; we take vLLM V1's (an assumption).
TRTLLM_STEP_OVERHEAD_S = VLLM_STEP_OVERHEAD_S
# TensorRT-LLM BuildConfig defaults (tensorrt_llm/builder.py 008b2b8d).
TRTLLM_MAX_BATCH = 2048
TRTLLM_MAX_NUM_TOKENS = 8192
# KV cache = free_gpu_memory_fraction x memory left after weights; docs: default 0.9.
TRTLLM_KV_FREE_FRACTION = 0.90
# Eager PyTorch (no CUDA graphs): the CPU launches each layer's kernels. gpt-fast's eager
# starting point runs LLaMA-7B at 25.5 tok/s on an A100, "heavily CPU overhead bound"
# (pytorch.org blog "Accelerating Generative AI with PyTorch II: GPT, Fast"): 39.2 ms / 32.
EAGER_LAYER_DISPATCH_S = 1.0 / 25.5 / 32


@frozen
class Engine:
    """How a serving engine schedules its steps (docs/estimation.md sec 9)."""

    name: str
    step_overhead_s: float  # CPU seconds per step not hidden behind GPU work
    mixed: bool  # prefill shares a step with the running decodes (else prefill steps alone)
    chunked: bool  # a prompt longer than the step's budget is split over steps
    reserve_output: bool  # KV for prompt + output held from admission (never preempts)
    serial: bool = False  # one request at a time, no batching (plain generate)
    eager: bool = False  # kernels launched one by one from Python; CPU overlaps GPU
    hbm_fraction: float = HBM_FRACTION
    kv_free_fraction: float = 0.0  # > 0: KV = this share of memory left after the weights


VLLM = Engine("vllm", VLLM_STEP_OVERHEAD_S, mixed=True, chunked=True, reserve_output=False)
VLLM_V0 = Engine("vllm-v0", VLLM_V0_STEP_OVERHEAD_S, mixed=False, chunked=False,
                 reserve_output=False)
SGLANG = Engine("sglang", SGLANG_STEP_OVERHEAD_S, mixed=False, chunked=True, reserve_output=False)
TRTLLM = Engine("trtllm", TRTLLM_STEP_OVERHEAD_S, mixed=True, chunked=False, reserve_output=True,
                kv_free_fraction=TRTLLM_KV_FREE_FRACTION)
TRANSFORMERS = Engine("transformers", 0.0, mixed=False, chunked=False, reserve_output=True,
                      serial=True, eager=True, hbm_fraction=HBM_FRACTION_EAGER)

# What a plan may name. vllm-v0 is kept to check the model against measurements made with it.
ENGINES = {e.name: e for e in (VLLM, SGLANG, TRTLLM, TRANSFORMERS)}
PROFILES = {**ENGINES, VLLM_V0.name: VLLM_V0}
DEFAULT_ENGINE = "vllm"


def engine(name: str) -> Engine:
    return lookup(PROFILES, name, "serving engine")


def _large(gpu: GpuSpec) -> bool:
    return gpu.memory_bytes >= LARGE_GPU_BYTES and "a100" not in gpu.name.lower()


def token_budget(eng: Engine, gpu: GpuSpec, max_context: int) -> int:
    """Tokens one step may carry (prefill chunk plus decodes), the engine's default."""
    if eng.name == "vllm":
        return prefill_chunk_tokens(gpu.name, gpu.memory_bytes)
    if eng.name == "vllm-v0":
        return max(max_context, VLLM_V0_MIN_BATCHED_TOKENS)
    if eng.name == "sglang":
        for below, chunk in SGLANG_CHUNK_BY_MEMORY:
            if gpu.memory_bytes < below:
                return chunk
        return SGLANG_CHUNK_LARGEST
    if eng.name == "trtllm":
        return TRTLLM_MAX_NUM_TOKENS
    return max(max_context, 1)  # transformers: the whole prompt in one forward


def max_sequences(eng: Engine, gpu: GpuSpec, kv_tokens: int, max_context: int) -> int:
    """Running sequences the engine allows before KV memory limits it."""
    if eng.name == "vllm":
        return VLLM_MAX_SEQS_LARGE if _large(gpu) else VLLM_MAX_SEQS
    if eng.name == "vllm-v0":
        return VLLM_MAX_SEQS
    if eng.name == "sglang":
        pool = int(kv_tokens / max(max_context, 1) * 512)
        pool = min(max(pool, SGLANG_REQ_POOL_MIN), SGLANG_REQ_POOL_MAX)
        return max(1, min(kv_tokens // 2, pool))
    if eng.name == "trtllm":
        return TRTLLM_MAX_BATCH
    return 1


def sglang_reserved_bytes(gpu: GpuSpec, tp: int, pp: int) -> int:
    """Memory SGLang keeps out of its static pool (server_args.py _handle_gpu_memory_settings):
    512 MiB + 1.5 x max(chunk, 2048) MiB + 2 x cuda_graph_max_bs MiB + tp x pp / 8 GiB,
    at least 10 GiB on GPUs of more than 60 GiB."""
    mem = gpu.memory_bytes
    chunk = token_budget(SGLANG, gpu, 0)
    graph_bs = SGLANG_GRAPH_BS_LARGEST
    for below, small_tp, large_tp in SGLANG_GRAPH_BS_BY_MEMORY:
        if mem < below:
            graph_bs = small_tp if tp < 4 else large_tp
            break
    reserved = 512 * MiB + 1.5 * max(chunk, 2048) * MiB + 2 * graph_bs * MiB + tp * pp / 8 * GiB
    if mem > 60 * GiB:
        reserved = max(reserved, 10 * GiB)
    return int(reserved)


def trtllm_bench_limits(kv_requests: float, prompt: int, output: int, pp: int) -> tuple[int, int]:
    """(max_batch_size, max_num_tokens) ``trtllm-bench build`` derives from a dataset
    (tensorrt_llm/bench/build/tuning.py 04cba882, ``finetune_setting``): the KV-limited
    request count rounded up (at least 64), and batch x (1 + ISL/OSL) tokens (at least 2048,
    at most 32768)."""
    raw_bs = min(kv_requests, 4096) / pp
    raw_tokens = min(raw_bs * (1 + prompt / output), 32768)
    if raw_bs < 256:
        max_bs = max(64, 32 * math.ceil(raw_bs / 32))
    elif raw_bs < 1024:
        max_bs = 128 * math.ceil(raw_bs / 128)
    else:
        max_bs = 256 * math.ceil(raw_bs / 256)
    if raw_tokens < 4096:
        max_tokens = max(2048, 256 * math.ceil(raw_tokens / 256))
    elif raw_tokens < 8192:
        max_tokens = 512 * math.ceil(raw_tokens / 512)
    else:
        max_tokens = 1024 * math.ceil(raw_tokens / 1024)
    return max_bs, max_tokens


def trtllm_bench_kv_requests(param_count: float, weight_bytes: float, kv_bytes_per_token: float,
                             gpus: int, memory_bytes: int, prompt: int, output: int,
                             fraction: float = 0.95) -> float:
    """KV-limited requests of ``calc_engine_setting`` (same file): fraction x (device memory x
    GPUs - parameters x bytes) / (KV bytes per token x (ISL + OSL)), all in GiB."""
    available = memory_bytes * gpus / GiB - param_count * weight_bytes / GiB
    return available * fraction / (kv_bytes_per_token / GiB * (prompt + output))
