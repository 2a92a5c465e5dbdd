"""Which keys each block accepts: value kind, units, range, default.

This table is the single place the language's keys are defined; the
converter (``convert.py``) reads it, ``docs/language.md`` documents it (a test
checks that every key here appears there), and enum choices come from the
``Literal`` types of ``planner.plan`` so the two cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import get_args

from planner import plan
from planner.frozen import frozen

WORKLOAD_KINDS = ("serve", "finetune", "pretrain")
BLOCK_KINDS = ("plan", "gpu", "model") + WORKLOAD_KINDS + ("measured", "calibration")
LIMIT_KEYS = ("budget", "deadline", "tpot", "ttft", "tpot_p99", "ttft_p99")
# Blocks whose LIMIT_KEYS are limits (`<=`); elsewhere a key of the same name is a value (a
# measured run's `ttft = 120ms`).
LIMITED_BLOCKS = ("plan",) + WORKLOAD_KINDS


def is_limit(kind: str, key: str) -> bool:
    """Whether ``key`` of a ``kind`` block is written as a limit (``key <= value``)."""
    return key in LIMIT_KEYS and kind in LIMITED_BLOCKS


@frozen
class Key:
    """One key: ``kind`` names the converter (see ``convert.CONVERTERS``).

    ``low``/``high`` bound the converted value, in base units; ``low_open``
    makes the lower bound exclusive, ``or_zero`` also admits 0 below ``low``.
    Every numeric key has both bounds: far beyond any real fleet, model or
    job, but finite, so that no value can overflow a time or a cost later
    (docs/language.md, "Ranges").  ``field`` is the plan field it sets
    (default: the key).
    """

    kind: str
    default: str = "not set"
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    or_zero: bool = False
    choices: tuple[str, ...] = ()
    field: str | None = None
    power_of_two: bool = False
    sweepable: bool = True
    doc: str = ""


def _choices(literal) -> tuple[str, ...]:
    return tuple(str(c) for c in get_args(literal))


def _count(default: str = "not set", low: float = 1, high: float = 10**6, doc: str = "", **kw) -> Key:
    return Key("count", default=default, low=low, high=high, doc=doc, **kw)


# A job may allocate at least a tenth of a GPU's memory (drivers and runtimes take a few
# percent; no GPU reserves 90 %), and reach at least 1 % of its peak FLOP/s.
_USABLE = dict(low=0.1, high=1.0)
_UTILIZATION = dict(low=0.01, high=1.0)
# Bounds shared by several keys, in base units.
_MONEY = dict(low=0.0, low_open=True, high=1e15)  # budgets, in the plan's currency
_FLOPS = dict(low=1e11, high=1e17)  # 0.1 TFLOPS (a CPU) to 100 PFLOPS (50x a B200)
_BANDWIDTH = dict(low=1.25e7, high=1e15)  # 0.1 Gbps to 1000 TB/s
_TOKENS = dict(low=1, high=10**8)  # 100M tokens: 10x the longest context published (10M)
_LONG = dict(low=0.0, low_open=True, high=36500 * 86400.0)  # durations: up to 100 years
_DIM = 10**6  # widths and ranks of a model (the largest published: 53248)

PLAN = {
    "objective": Key("enum", "cost", choices=_choices(plan.Objective), doc="what the solver minimises"),
    "currency": Key("currency", '"USD"', doc="currency of prices and budgets (three capital letters)"),
    "budget": Key("money", **_MONEY, doc="limit: the period's total cost of every workload"),
    "period": Key("duration", "730h (one month)", **_LONG,
                  doc="the period run rates are stated over: services and recurring jobs cost so much per period"),
    # at least one schedule step (a minute, planner.units.SCHEDULE_STEPS_PER_HOUR)
    "window": Key("duration", "not set: no schedule", low=60.0, high=_LONG["high"],
                  doc="schedule the jobs on the offered GPUs over this much time (each run's start and end)"),
}

GPU = {
    "memory": Key("bytes", low=2**20, high=2**44, doc="device memory as the driver reports it"),
    "usable": Key("fraction", "serving 0.9 (DEFAULT_USABLE_FRACTION); training all of it", doc="fraction of memory a job may allocate", **_USABLE),
    "bf16": Key("flops", **_FLOPS, doc="dense bf16/fp16 tensor FLOP/s"),
    "fp8": Key("flops", **_FLOPS, or_zero=True, doc="dense fp8 FLOP/s; 0 or unset: no fp8 tensor cores"),
    "int8": Key("flops", **_FLOPS, or_zero=True, doc="dense int8 OP/s"),
    "hbm": Key("bandwidth", **_BANDWIDTH, doc="memory bandwidth"),
    "interconnect": Key("bandwidth", **_BANDWIDTH, doc="per-GPU bandwidth inside a node (NVLink, Infinity Fabric, PCIe)"),
    "network": Key("bandwidth", **_BANDWIDTH, doc="per-GPU bandwidth between nodes"),
    "per_node": _count(high=1024, doc="GPUs per node"),
    "price": Key("price", low=0.0, high=1e6, doc="price per GPU-hour"),
    "price_date": Key("date", doc="when the price was taken, YYYY-MM-DD"),
    "available": Key("available", "not offered", low=1, high=10**6,
                     doc="GPUs the solver may use (a count or `unlimited`); unset: not offered"),
    "utilization": Key("fraction", "the GPU's MAMF × 0.706 / 0.869 (0.706 on A100)",
                       doc="achieved fraction of peak in training matmuls (large GEMMs)", **_UTILIZATION),
    "vendor": Key("enum", choices=("nvidia", "amd"), doc="maker, for default utilization"),
    # what can be rented (docs/estimation.md sec 11): whole instances, the node's host
    "shapes": Key("count_list", "any count (billed per GPU)", low=1, high=1024,
                  doc="GPU counts of the instances sold, e.g. [1, 2, 4, 8]; the largest is a node (`per_node`)"),
    "host_ram": Key("bytes", low=2**20, high=2**50, doc="host RAM of one node (`per_node` GPUs)"),
    "host_cpus": _count(high=10**5, doc="host vCPUs of one node"),
    "host_nvme": Key("bytes", low=2**20, high=2**50, or_zero=True, doc="local NVMe of one node; 0: none"),
    "billing": Key("enum", "second (after a one-minute minimum)", choices=("second", "minute", "hour"),
                   doc="the increment a run is billed in"),
    "storage_read": Key("bandwidth", "0.89GB/s (STORAGE_READ_BYTES_PER_S)", **_BANDWIDTH,
                        doc="per node: the rate weights load at from storage"),
    "storage_write": Key("bandwidth", "3.4GB/s (STORAGE_WRITE_BYTES_PER_S)", **_BANDWIDTH,
                         doc="per node: the rate checkpoints are written at"),
    "interruptions": Key("share", "0 (on demand)", low=0.0, high=1.0,
                         doc="spot: the share of instances interrupted per month (AWS Spot Advisor buckets)"),
    "like": Key("name", doc="another offer of that GPU type: start from its block (own price and availability)"),
}

_PRECISIONS = _choices(plan.Precision)

MODEL = {
    "like": Key("name", doc="start from another model (catalog or plan) and change what follows"),
    "config": Key("text", doc="a Hugging Face config.json, a snapshot directory holding one (both relative to "
                              "this file), or `hf:ORG/NAME` in the local Hugging Face cache"),
    "params": _count(high=10**14, doc="published total parameters, checked against the computed count"),
    "layers": _count(high=10**4, doc="transformer layers"),
    "hidden": _count(high=_DIM, doc="hidden size"),
    "heads": _count(high=10**4, doc="attention heads"),
    "kv_heads": _count("heads", high=10**4, doc="key/value heads (GQA); equal to heads for MHA"),
    "head_dim": _count("hidden / heads", high=10**4, doc="width of one attention head"),
    "ffn": _count(high=_DIM, doc="dense MLP intermediate width"),
    "vocab": _count(high=10**7, doc="vocabulary size"),
    "tied": Key("bool", "false", doc="input and output embeddings shared"),
    "mlp": Key("enum", "gated", choices=("gated", "plain"), doc="gated: SwiGLU, 3 matrices; plain: 2"),
    "qkv_bias": Key("bool", "false", doc="biases on the q, k, v projections"),
    "linear_bias": Key("bool", "false", doc="a bias on every linear layer (OPT, GPT-NeoX)"),
    "norm": Key("enum", "rms", choices=("rms", "layer"), doc="RMSNorm (weight) or LayerNorm (weight and bias)"),
    "norms_per_layer": _count("2", high=16, doc="norms in one layer (Gemma 2/3: 4, before and after attention and MLP)"),
    "qk_norm": Key("bool", "false", doc="an RMSNorm on queries and keys in every layer (Qwen3, Gemma 3)"),
    "sinks": Key("bool", "false", doc="a learned attention-sink logit per head in every layer (gpt-oss)"),
    "router_bias": Key("bool", "false", doc="a bias per expert on the MoE router (gpt-oss)"),
    "fused_qkv": Key("bool", "false", doc="q, k and v are one linear layer (Phi-3 qkv_proj); LoRA adapts it once"),
    "fused_gate_up": Key("bool", "false", doc="gate and up are one linear layer (Phi-3 gate_up_proj); LoRA adapts it once"),
    "positions": _count("0", low=0, high=10**8, doc="learned position embeddings (OPT); 0 for rotary"),
    "max_context": Key("tokens", low=1, high=10**9, doc="longest context the model supports"),
    "rope_scaling": Key("real", "1 (none)", low=1.0, high=1024.0,
                        doc="RoPE scaling factor the model is run with (YaRN, linear): context up to "
                            "max_context × rope_scaling is allowed"),
    "precision": Key("enum", "bf16", choices=_PRECISIONS, doc="native weight precision of the checkpoint"),
    "experts": _count("0", low=0, high=10**5, doc="routed experts per MoE layer; 0: dense"),
    "shared_experts": _count("0", low=0, high=10**3, doc="always-active experts per MoE layer"),
    "experts_per_token": _count("0", low=0, high=10**3, doc="routed experts each token uses"),
    "expert_ffn": _count("0", low=0, high=_DIM, doc="intermediate width of one expert"),
    "dense_layers": _count("0", low=0, high=10**4, doc="leading layers with a dense MLP in a MoE model"),
    "q_lora_rank": _count("0", low=0, high=_DIM, doc="MLA query compression rank (DeepSeek-V2/V3)"),
    "kv_lora_rank": _count("0", low=0, high=_DIM, doc="MLA key/value latent rank; 0: ordinary attention"),
    "qk_nope_dim": _count("0", low=0, high=10**4, doc="MLA per-head query/key width without rotary"),
    "qk_rope_dim": _count("0", low=0, high=10**4, doc="MLA per-head rotary width"),
    "v_head_dim": _count("0", low=0, high=10**4, doc="MLA per-head value width"),
}

WORKLOAD = {
    "model": Key("name", "required", doc="the model block this workload runs"),
    "gpus": Key("name_list", "every offered GPU", sweepable=False, doc="GPU types the solver may choose from"),
    "utilization": Key("fraction", "the GPU's", doc="overrides the GPU's training utilization", **_UTILIZATION),
}

SERVE = {
    **WORKLOAD,
    "users": _count("`users` or `rate`", high=10**7, doc="concurrent requests: each user sends the next when the last is answered"),
    "rate": Key("rate", "`users` or `rate`", low=0.0, low_open=True, high=1e6, doc="requests per second, arriving at random (Poisson)"),
    "context": Key("tokens", "prompt + output", low=2, high=10**8, doc="the engine's max model length: the longest prompt + output it admits"),
    "prompt": Key("tokens", "context − output, or 0.75 × context", **_TOKENS, doc="prompt tokens per request"),
    "output": Key("tokens", "context − prompt", **_TOKENS, doc="output tokens per request"),
    "prefix_cache": Key("share", "0", low=0.0, high=0.99, doc="share of prompt tokens found in the engine's prefix cache"),
    "engine": Key("enum", "vllm", choices=_choices(plan.Engine), doc="the serving engine: its scheduling, step overhead and memory rules"),
    "weights": Key("enum", "auto", choices=_choices(plan.ServeWeights), doc="weight precision served; auto lets the solver choose"),
    "kv": Key("enum", "bf16", choices=_choices(plan.KvPrecision), doc="KV-cache precision"),
    "tpot": Key("duration", low=0.0, low_open=True, high=86400.0, doc="limit: mean time per output token"),
    "ttft": Key("duration", low=0.0, low_open=True, high=86400.0, doc="limit: mean time to first token"),
    "tpot_p99": Key("duration", low=0.0, low_open=True, high=86400.0, doc="limit: 99th percentile of the time per output token (simulated)"),
    "ttft_p99": Key("duration", low=0.0, low_open=True, high=86400.0, doc="limit: 99th percentile of the time to first token (simulated)"),
    "duration": Key("duration", "the plan's `period`", **_LONG,
                    doc="hours of service per period (the whole period by default)"),
    "checkpoint": Key("text", "the model's base repository (a warning on export)",
                      doc="the checkpoint served: a Hugging Face repo id or a local path (vLLM's MODEL)"),
}

TRAIN = {
    **WORKLOAD,
    "dataset": Key("dataset", "required", doc="training data: bytes (1GB) or tokens (250M tokens)"),
    "bytes_per_token": Key("real", "4.0 (BYTES_PER_TOKEN)", low=0.1, high=100.0, doc="converts dataset bytes to tokens"),
    "epochs": Key("real", "1", low=0.0, low_open=True, high=1000.0, doc="passes over the dataset"),
    "seq_len": Key("tokens", "4096 finetune, 8192 pretrain", **_TOKENS, doc="tokens per training sequence"),
    "batch": _count("16 sequences finetune; 4Mi tokens / seq_len pretrain", doc="global batch, sequences per optimizer step"),
    "optimizer": Key("enum", "adamw", choices=_choices(plan.Optimizer), doc="optimizer, for its memory"),
    "stack": Key("enum", "megatron pretrain, deepspeed full, hf lora/qlora (DEFAULT_STACK)",
                 choices=_choices(plan.Stack), doc="training stack: the memory terms and kernels that differ"),
    "precision": Key("enum", "bf16", choices=_choices(plan.TrainPrecision),
                     doc="matmul precision of the linear layers; fp8 needs fp8 tensor cores"),
    "deadline": Key("duration", **_LONG, doc="limit: wall-clock time of the run"),
    "budget": Key("money", **_MONEY, doc="limit: cost of this workload (one run)"),
    "every": Key("duration", "not set: one run (one-off)", **_LONG, sweepable=False,
                 doc="the job repeats at this interval (7d): a run rate; each run ends before the next"),
    "runs": _count("not set", high=10_000, sweepable=False,
                   doc="the job repeats this many times per period (instead of `every`)"),
    "checkpoint_every": Key("duration", "Young's optimum sqrt(2 × save time × MTBF)", **_LONG,
                            doc="training time between checkpoint saves (one more at the end)"),
    "start_after": Key("duration", "0", low=1.0, or_zero=True, high=_LONG["high"], sweepable=False,
                       doc="a run starts no earlier than this after the window's start (after each repeat's start); needs a plan `window`"),
}

FINETUNE = {
    **TRAIN,
    "method": Key("enum", "lora", choices=_choices(plan.Method), doc="full fine-tuning, LoRA or QLoRA"),
    "rank": _count("64 (DEFAULT_LORA_RANK)", high=10**5, doc="LoRA rank (lora and qlora only)"),
    "targets": Key("enum_list", "all seven (DEFAULT_LORA_TARGETS)", choices=_choices(plan.LoraTarget), sweepable=False,
                   doc="modules LoRA adapts (lora and qlora only)"),
    "weights": Key("enum", "bf16 (nf4 for qlora)", choices=_PRECISIONS, doc="precision of the frozen base weights"),
}

PRETRAIN = dict(TRAIN)

LAYOUT = {
    "gpu": Key("name", doc="GPU type"),
    "count": _count(doc="GPUs in total: tp × cp × pp × dp for training, tp × pp × replicas for serving"),
    "tp": _count(high=1024, power_of_two=True, doc="tensor-parallel degree; a power of two"),
    "pp": _count(high=1024, doc="pipeline-parallel stages"),
    "dp": _count(doc="data-parallel degree (training)"),
    "ep": _count(high=10**5, doc="expert-parallel degree (MoE), within tp × dp"),
    "zero": Key("zero", low=0, high=3, doc="ZeRO stage 0-3 (training)"),
    "recompute": Key("enum", choices=_choices(plan.Recompute), doc="activation recomputation (training)"),
    "offload": Key("enum", choices=_choices(plan.Offload), doc="CPU offload (training)"),
    "micro_batch": _count(doc="sequences per micro-batch (training)"),
    "replicas": _count(doc="model copies, each serving a share of the users (serving)"),
    "sp": Key("bool", "true when tp > 1", doc="Megatron sequence parallelism (training, tp > 1)"),
    "cp": _count("1, more only when a sequence does not fit", high=1024, doc="context-parallel degree (training)"),
    "shard": Key("shard", "all dp × cp ranks", low=1, high=10**6,
                 doc="ZeRO-3 partition group (HSDP): a count, or `node` (training)"),
    "vpp": _count("searched: 1, 2, 4, 8", high=1024, doc="interleaved pipeline stages per GPU (training, pp > 1)"),
}
# A measured run (docs/calibration.md): the workload it ran, how, and what it measured.
# Figures are positive and finite; the ranges are the language's (far past any real run).
_FIGURE = dict(low=0.0, low_open=True)
_LATENCY = dict(**_FIGURE, high=86400.0)
MEASURED_FIGURES = ("tokens_per_second", "requests_per_second", "ttft", "ttft_p50", "ttft_p99",
                    "tpot", "tpot_p50", "tpot_p99", "itl", "step_time", "peak_memory", "mfu")
SERVE_FIGURES = MEASURED_FIGURES[:9]
TRAIN_FIGURES = ("tokens_per_second", "step_time", "peak_memory", "mfu")
MEASURED = {
    "workload": Key("name", "required", doc="the serve, finetune or pretrain block the run ran"),
    "engine": Key("enum", "the workload's", choices=_choices(plan.Engine),
                  doc="the serving engine the run used"),
    "stack": Key("enum", "the workload's", choices=_choices(plan.Stack),
                 doc="the training stack the run used"),
    "weights": Key("enum", "the workload's", choices=_choices(plan.ServeWeights)[:-1],
                   doc="weight precision served"),
    "users": _count("the result file's, else the workload's", high=10**7,
                    doc="the run's concurrent requests (vLLM `--max-concurrency`)"),
    "rate": Key("rate", "the result file's, else the workload's", low=0.0, low_open=True, high=1e6,
                doc="the run's request rate, Poisson arrivals (vLLM `--request-rate`)"),
    "prompt": Key("tokens", "the result file's, else the workload's", **_TOKENS,
                  doc="the run's prompt tokens per request"),
    "output": Key("tokens", "the result file's, else the workload's", **_TOKENS,
                  doc="the run's output tokens per request"),
    "tokens_per_second": Key("throughput", **_FIGURE, high=1e12,
                             doc="measured: output tokens/s (serving), tokens/s of all GPUs (training)"),
    "requests_per_second": Key("throughput", **_FIGURE, high=1e6, doc="measured: requests completed per second"),
    "ttft": Key("duration", **_LATENCY, doc="measured: mean time to first token"),
    "ttft_p50": Key("duration", **_LATENCY, doc="measured: median time to first token"),
    "ttft_p99": Key("duration", **_LATENCY, doc="measured: 99th percentile of the time to first token"),
    "tpot": Key("duration", **_LATENCY, doc="measured: mean time per output token after the first"),
    "tpot_p50": Key("duration", **_LATENCY, doc="measured: median time per output token"),
    "tpot_p99": Key("duration", **_LATENCY, doc="measured: 99th percentile of the time per output token"),
    "itl": Key("duration", **_LATENCY, doc="measured: mean inter-token latency"),
    "step_time": Key("duration", **_LATENCY, doc="measured: seconds per optimizer step"),
    "peak_memory": Key("bytes", low=2**20, high=2**44, doc="measured: peak memory per GPU"),
    "mfu": Key("fraction", low=0.0, low_open=True, high=1.0,
               doc="measured: model FLOPs utilization (6N + 12·L·H·Q·T per token over bf16 peak)"),
    "from": Key("text", field="source", doc="a `vllm bench serve --save-result` JSON file, relative to this file"),
    "date": Key("date", "the result file's", doc="when the run was made, YYYY-MM-DD"),
}

# Factors fitted to measured runs (docs/calibration.md): the language's ranges; the sourced
# bounds of each factor, which depend on the GPU, are checked when the plan is loaded.
CALIBRATION = {
    "gpu": Key("name", "required", doc="the GPU type the factors were fitted on"),
    "engine": Key("enum", "`engine` or `stack`", choices=_choices(plan.Engine),
                  doc="the serving engine the factors hold for"),
    "stack": Key("enum", "`engine` or `stack`", choices=_choices(plan.Stack),
                 doc="the training stack the factors hold for"),
    "step_overhead": Key("duration", "the engine's", low=0.0, high=1.0,
                         doc="CPU time per serving step not hidden behind GPU work"),
    "hbm_fraction": Key("fraction", "the engine's", **_UTILIZATION,
                        doc="achieved fraction of HBM bandwidth in weight and KV reads"),
    "compute_fraction": Key("fraction", "the GPU's MAMF × 0.742", **_UTILIZATION,
                            doc="achieved fraction of the bf16 tensor-core peak in serving GEMMs"),
    "utilization": Key("fraction", "the GPU's", **_UTILIZATION,
                       doc="achieved fraction of peak in training matmuls (large GEMMs)"),
    "collective_efficiency": Key("fraction", "the link's nccl-tests fraction", **_UTILIZATION,
                                 doc="achieved fraction of the GPU link in a ring inside a node"),
    "runs": _count(doc="measured runs the factors were fitted to"),
    "residual": Key("share", low=0.0, high=1e6,
                    doc="typical error left after the fit: exp(RMS of the log errors) − 1"),
    "date": Key("date", doc="the date of the latest run fitted, YYYY-MM-DD"),
}
SERVE_FACTOR_KEYS = ("step_overhead", "hbm_fraction", "compute_fraction")
TRAIN_FACTOR_KEYS = ("utilization", "collective_efficiency")

# `dataset` is bytes or tokens; each has its own range.
DATASET_BYTES = Key("bytes", low=1, high=10**17)  # 100 PB
DATASET_TOKENS = Key("dataset_tokens", low=1, high=10**16)  # 10,000T tokens: 250x the largest published run
TRAIN_ONLY_LAYOUT = ("dp", "zero", "recompute", "offload", "micro_batch", "sp", "cp", "shard", "vpp")
SERVE_ONLY_LAYOUT = ("replicas",)

KEYS: dict[str, dict[str, Key]] = {
    "plan": PLAN,
    "gpu": GPU,
    "model": MODEL,
    "serve": SERVE,
    "finetune": FINETUNE,
    "pretrain": PRETRAIN,
    "layout": LAYOUT,
    "measured": MEASURED,
    "calibration": CALIBRATION,
}


def sweep_keys() -> dict[str, Key]:
    """Keys a sweep may vary: every workload key, enum choices united across kinds."""
    return dict(_sweep_keys())  # a copy: the table is built once (every sweep statement asks)


@functools.cache
def _sweep_keys() -> dict[str, Key]:
    merged: dict[str, Key] = {}
    for kind in WORKLOAD_KINDS:
        for name, key in KEYS[kind].items():
            if name in merged and key.choices:
                choices = merged[name].choices + tuple(c for c in key.choices if c not in merged[name].choices)
                merged[name] = dataclasses.replace(key, choices=choices)
            else:
                merged.setdefault(name, key)
    return merged
