"""The planner's serving model against the public serving measurements.

Each case is run with the published setup pinned: the GPU from the shipped catalog
(specs/gpus.plan through planner.resolve), the architecture from the data file where it has
one and from the catalog (specs/models.plan) where it does not, the TP degree, precision,
prompt and output lengths and the load (concurrency, burst or rate). ``serving_rows()``
returns one ``FidelityRow`` per published number: predicted / published - 1 is the error.

Groups:
* LitGPT single-GPU inference (public_cases.json): eager PyTorch, batch 1, tokens/s
  (engine ``transformers``).
* TensorRT-LLM max throughput v0.17 (public_cases_v2.json): every request queued at once;
  concurrency is the runtime's, bounded by KV memory and by the batch size trtllm-bench
  derives from the dataset (engines.trtllm_bench_limits); output tokens/s, analytic model.
* TensorRT-LLM online serving v0.14 (public_cases_v2.json): 500 requests at 2 requests/s
  (Poisson assumed; the source does not say) or all at once; mean TTFT, mean ITL and output
  tokens/s, simulation.
* vLLM latency tests on H200 (public_cases_v2.json, Buildkite build 9515 of 2024-10-28, the
  V0 engine): one batch of 8 prompts, end-to-end latency, simulation.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from planner.estimate.arch import param_counts
from planner.estimate.engines import trtllm_bench_kv_requests, trtllm_bench_limits
from planner.estimate.precision import kv_element_bytes
from planner.estimate.simulate import simulate
from planner.estimate.steady import steady_state
from planner.estimate.step import ServeLoad
from planner.estimate.types import Arch, GpuSpec
from planner.resolve.bridge import arch_from_model, gpu_spec
from planner.resolve.load import load_std
from support.paths import DATA

LITGPT = "LitGPT single-GPU inference"
TRT_MAX = "TensorRT-LLM max throughput v0.17"
TRT_ONLINE = "TensorRT-LLM online v0.14"
VLLM_LATENCY = "vLLM H200 latency"
GROUPS = (LITGPT, TRT_MAX, TRT_ONLINE, VLLM_LATENCY)

# GPU names as the sources print them -> catalog names.
GPU_NAMES = {
    "1 x A100-SXM4-40GB": "A100-40G", "H100 80GB HBM3": "H100-SXM", "H200 141GB HBM3": "H200",
    "H200 131GB HBM3": "H200", "H200": "H200", "L40S": "L40S", "A100-SXM4-80GB": "A100-80G",
}
# Models as the sources print them -> catalog names. "llama-3 70B" has Llama-3.1-70B's
# shape (the 3.1 release changed rope scaling and context, not the layers).
MODEL_NAMES = {
    "LLaMA v3.1 8B": "Llama-3.1-8B", "LLaMA 3.1 8B": "Llama-3.1-8B", "llama-3.1 8B": "Llama-3.1-8B",
    "LLaMA v3.1 70B": "Llama-3.1-70B", "LLaMA 3.1 70B": "Llama-3.1-70B", "llama-3 70B": "Llama-3.1-70B",
    "LLaMA v3.1 405B": "Llama-3.1-405B", "Mixtral 8x7B": "Mixtral-8x7B", "mixtral 8x7B": "Mixtral-8x7B",
}
# CodeLlama 34B: public_cases.json has no dimensions ("CodeLlama 34B dims not read"); LitGPT's
# own config, which ran the row (Lightning-AI/litgpt litgpt/config.py, "CodeLlama-34b-hf",
# from huggingface.co/codellama/CodeLlama-34b-hf config.json).
CODELLAMA_34B = Arch(name="CodeLlama-34B", layers=48, hidden=8192, heads=64, kv_heads=8,
                     head_dim=128, ffn=22016, vocab=32000)
# LitGPT generate/base.py (8641822) defaults: prompt "Hello, my name is" (6 Llama tokens with
# BOS), max_new_tokens 50, batch 1; tokens/s = 50 / (prefill + 49 decode steps).
LITGPT_PROMPT = 6
LITGPT_OUTPUT = 50
LITGPT_WEIGHTS = {"None": "bf16", "bnb.nf4": "nf4-nodq", "bnb.nf4-dq": "nf4"}
# perf-overview: "--kv_cache_free_gpu_mem_fraction 0.95" in the majority of cases.
TRT_BENCH_KV_FRACTION = 0.95
ONLINE_SEED = 0


@dataclass(frozen=True)
class FidelityRow:
    group: str
    case: str
    metric: str
    unit: str
    published: float
    predicted: float

    @property
    def error(self) -> float:
        return self.predicted / self.published - 1.0


@functools.lru_cache(maxsize=1)
def _catalog() -> tuple[dict[str, GpuSpec], dict[str, Arch]]:
    std = load_std()
    gpus = {g.name: gpu_spec(g) for g in std.gpus if g.name in set(GPU_NAMES.values())}
    models = {m.name: arch_from_model(m) for m in std.models}
    return gpus, models


def _gpu(printed: str, gpus: dict[str, GpuSpec] | None = None) -> GpuSpec:
    """The catalog GPU a source names, or ``gpus``' spec of it (a calibrated one)."""
    name = GPU_NAMES[printed]
    return (gpus or {}).get(name) or _catalog()[0][name]


def _model(printed: str) -> Arch:
    return _catalog()[1][MODEL_NAMES[printed]]


def _groups(name: str) -> tuple[dict[str, dict], dict[str, dict]]:
    data = json.loads((DATA / name).read_text())
    return {g["group"]: g for g in data["groups"]}, data.get("architectures", {})


def _file_arch(name: str, spec: dict) -> Arch:
    return Arch(name=name, layers=spec["layers"], hidden=spec["hidden"], heads=spec["heads"],
                kv_heads=spec["kv_heads"], head_dim=spec["hidden"] // spec["heads"],
                ffn=spec["intermediate"], vocab=spec["vocab"])


def litgpt_rows() -> list[FidelityRow]:
    groups, archs = _groups("public_cases.json")
    group = groups["LitGPT single-GPU inference"]
    gpu = _gpu(group["common_setup"]["GPU"])
    rows = []
    for row in group["rows"]:
        spec = row["architecture"]
        arch = _file_arch(spec, archs[spec]) if isinstance(spec, str) else CODELLAMA_34B
        load = ServeLoad(arch, gpu, prompt=LITGPT_PROMPT, output=LITGPT_OUTPUT, users=1,
                         weights=LITGPT_WEIGHTS[row["setup"]["quantization"]],
                         engine="transformers")
        s = steady_state(load)
        rows.append(FidelityRow(LITGPT, row["id"], "tokens/s", "tok/s",
                                row["measured"]["tokens_per_s"], LITGPT_OUTPUT / s.latency_seconds))
    return rows


def _trt_bench_load(row: dict, gpus: dict[str, GpuSpec] | None = None) -> ServeLoad:
    """A v0.17 max-throughput row as trtllm-bench ran it: the engine built with the batch and
    token limits its tuning heuristic derives from the dataset, KV at 0.95 of free memory."""
    setup = row["setup"]
    arch, gpu = _model(row["architecture"]), _gpu(setup["GPU"], gpus)
    tp, pp = setup["TP"], setup["PP"]
    weights = "fp8" if setup["precision"] == "FP8" else "fp16"
    kv = "fp8" if setup["kv_cache"] == "FP8" else "fp16"
    isl, osl = setup["input_len"], setup["output_len"]
    kv_token = 2 * arch.layers * max(tp, arch.kv_heads) * arch.head_dim * kv_element_bytes(kv)
    requests = trtllm_bench_kv_requests(param_counts(arch).total, 1.0 if weights == "fp8" else 2.0,
                                        kv_token, tp * pp, gpu.memory_bytes, isl, osl,
                                        TRT_BENCH_KV_FRACTION)
    max_bs, max_tokens = trtllm_bench_limits(requests, isl, osl, pp)
    return ServeLoad(arch, gpu, prompt=isl, output=osl, users=setup["num_requests"], tp=tp, pp=pp,
                     weights=weights, kv=kv, engine="trtllm", max_running=max_bs,
                     token_budget=max_tokens, kv_fraction=TRT_BENCH_KV_FRACTION)


def _wanted(row: dict, cases: set[str] | None) -> bool:
    return cases is None or row["id"] in cases


def trtllm_throughput_rows(gpus: dict[str, GpuSpec] | None = None,
                           cases: set[str] | None = None) -> list[FidelityRow]:
    """``gpus``: catalog specs to use instead (calibrated); ``cases``: only these ids."""
    groups, _ = _groups("public_cases_v2.json")
    rows = []
    for row in groups["TensorRT-LLM perf-overview max throughput (v0.17)"]["rows"]:
        if not _wanted(row, cases):
            continue
        s = steady_state(_trt_bench_load(row, gpus))
        rows.append(FidelityRow(TRT_MAX, row["id"], "output tokens/s", "tok/s",
                                row["measured"]["throughput_tokens_per_s"],
                                s.output_tokens_per_second))
    return rows


def trtllm_online_rows(gpus: dict[str, GpuSpec] | None = None,
                       cases: set[str] | None = None) -> list[FidelityRow]:
    groups, _ = _groups("public_cases_v2.json")
    rows = []
    for row in groups["TensorRT-LLM perf-overview online serving (v0.14.0)"]["rows"]:
        if not _wanted(row, cases):
            continue
        setup, measured = row["setup"], row["measured"]
        n = setup["requests"]
        load_kw = dict(users=n) if setup["QPS"] == "INF" else dict(rate=float(setup["QPS"]))
        load = ServeLoad(_model(row["architecture"]), _gpu(setup["GPU"], gpus), prompt=setup["input_len"],
                         output=setup["output_len"], tp=setup["TP"], engine="trtllm", **load_kw)
        r = simulate(load, requests=n, seed=ONLINE_SEED, warmup=0.0)
        rows.append(FidelityRow(TRT_ONLINE, row["id"], "mean TTFT", "ms",
                                measured["mean_TTFT_ms"], r.ttft_mean * 1e3))
        rows.append(FidelityRow(TRT_ONLINE, row["id"], "mean ITL", "ms",
                                measured["mean_ITL_ms"], r.itl_mean * 1e3))
        if setup["QPS"] == "INF":
            rows.append(FidelityRow(TRT_ONLINE, row["id"], "output tokens/s", "tok/s",
                                    measured["output_throughput_tok_per_s"],
                                    r.output_tokens_per_second))
    return rows


def vllm_latency_rows() -> list[FidelityRow]:
    """benchmark_latency: one batch of 8 prompts of 32 tokens, 128 tokens each, bf16, the V0
    engine of October 2024 (engine profile ``vllm-v0``); the wall time of the batch."""
    groups, _ = _groups("public_cases_v2.json")
    rows = []
    for row in groups["vLLM performance benchmark latency tests (H200)"]["rows"]:
        setup = row["setup"]
        batch = setup["batch_size"]
        load = ServeLoad(_model(row["architecture"]), _gpu(setup["GPU"]), prompt=setup["input_len"],
                         output=setup["output_len"], users=batch, tp=setup["TP"], engine="vllm-v0")
        r = simulate(load, requests=batch, seed=ONLINE_SEED)
        rows.append(FidelityRow(VLLM_LATENCY, row["id"], "batch latency", "ms",
                                row["measured"]["mean_latency_ms"], r.makespan_seconds * 1e3))
    return rows


def serving_rows() -> list[FidelityRow]:
    """Every public serving case, planner vs published."""
    return litgpt_rows() + trtllm_throughput_rows() + trtllm_online_rows() + vllm_latency_rows()


def case_gpus() -> dict[str, tuple[str, str]]:
    """case id -> (catalog GPU, engine) of every TensorRT-LLM case (the engine whose public
    cases cover one GPU type many times over: H100 and H200)."""
    groups, _ = _groups("public_cases_v2.json")
    out = {}
    for group in ("TensorRT-LLM perf-overview max throughput (v0.17)",
                  "TensorRT-LLM perf-overview online serving (v0.14.0)"):
        for row in groups[group]["rows"]:
            out[row["id"]] = (GPU_NAMES[row["setup"]["GPU"]], "trtllm")
    return out


def trtllm_rows(gpus: dict[str, GpuSpec] | None = None, cases: set[str] | None = None) -> list[FidelityRow]:
    return trtllm_throughput_rows(gpus, cases) + trtllm_online_rows(gpus, cases)


def catalog_gpu(name: str) -> GpuSpec:
    return _catalog()[0][name]
