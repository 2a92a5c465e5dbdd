"""The typed plan: what a .plan file says, in base units, with source spans.

This module is the contract between the language (parser, checks, fmt), the
catalog (specs/) and the search. Values are in base units:

- counts and tokens: int
- bytes: int
- durations: seconds (float)
- prices: currency per GPU-hour (float); budgets: currency (float)
- FLOP/s and bytes/s: float
- fractions (usable, utilization): float in (0, 1]

A field left as ``None`` was not written; the resolver fills it from the
catalog (for GPUs and models) or from the documented default (for workloads).
``spans`` maps each written key to the span of its value, so later stages can
point at the exact text a problem comes from.
"""

# No ``from __future__ import annotations`` here: planner.record reads each field's
# annotation as an object to choose its conversion.
from typing import Literal

from planner.errors import Span
from planner.record import Record, field

Objective = Literal["cost", "gpus", "hours"]
Precision = Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4", "nf4"]
ServeWeights = Literal["bf16", "fp16", "fp8", "int8", "int4", "nf4", "auto"]
KvPrecision = Literal["bf16", "fp16", "fp8"]
Engine = Literal["vllm", "sglang", "trtllm", "transformers"]  # planner.estimate.engines.ENGINES
Method = Literal["full", "lora", "qlora"]
Optimizer = Literal["adamw", "adamw-8bit", "paged-adamw", "paged-adamw-8bit", "sgd"]
Recompute = Literal["none", "selective", "full"]
Offload = Literal["none", "optimizer", "all"]
LoraTarget = Literal["q", "k", "v", "o", "gate", "up", "down"]
Stack = Literal["megatron", "fsdp", "deepspeed", "hf"]
TrainPrecision = Literal["bf16", "fp8"]


class Node(Record):
    """A block of a plan: its span, and the span of every key written in it."""

    span: Span | None = field(None, repr=False)
    spans: dict[str, Span] = field(default_factory=dict, repr=False)

    def semantic(self) -> dict:
        """The block's meaning without positions: equal for parse(fmt(x)) and parse(x)."""
        return _strip_spans(self.model_dump())


def _strip_spans(value):
    if isinstance(value, dict):
        return {k: _strip_spans(v) for k, v in value.items() if k not in ("span", "spans")}
    if isinstance(value, (list, tuple)):
        return [_strip_spans(v) for v in value]
    return value


class Settings(Node):
    """``plan "name" { ... }``."""

    name: str
    objective: Objective = "cost"
    currency: str = "USD"
    budget: float | None = None  # ``budget <= 50000``: cap on total cost, in currency
    period: float | None = None  # seconds run rates are stated over; default one month (730 h)
    window: float | None = None  # seconds of time the pool is scheduled over; None: no schedule


class Gpu(Node):
    """``gpu "NAME" { ... }``: a catalog entry, or a plan's refinement of one."""

    name: str
    memory: int | None = None  # bytes, as the driver reports it
    usable: float | None = None  # fraction of memory a job may allocate
    bf16: float | None = None  # dense bf16/fp16 FLOP/s
    fp8: float | None = None  # dense fp8 FLOP/s (None: no fp8 tensor cores)
    int8: float | None = None  # dense int8 OP/s
    hbm: float | None = None  # memory bandwidth, bytes/s
    interconnect: float | None = None  # per-GPU bandwidth inside a node, bytes/s
    network: float | None = None  # per-GPU bandwidth between nodes, bytes/s
    per_node: int | None = None  # GPUs per node
    price: float | None = None  # currency per GPU-hour
    price_date: str | None = None  # when the price was taken, YYYY-MM-DD
    available: int | None = None  # offered to the solver when set; -1 = unlimited
    utilization: float | None = None  # achieved fraction of peak in training matmuls (large GEMMs)
    vendor: Literal["nvidia", "amd"] | None = None
    shapes: list[int] | None = None  # GPU counts of the instances sold; None: any count
    host_ram: int | None = None  # bytes of host RAM per node
    host_cpus: int | None = None  # host vCPUs per node
    host_nvme: int | None = None  # bytes of local NVMe per node (0: none)
    billing: Literal["second", "minute", "hour"] | None = None  # billing increment
    storage_read: float | None = None  # bytes/s per node, loading weights
    storage_write: float | None = None  # bytes/s per node, writing checkpoints
    interruptions: float | None = None  # spot: share of instances interrupted per month
    like: str | None = None  # another offer of this GPU type


class Model(Node):
    """``model "NAME" { ... }``: architecture, from the catalog, a config.json or the plan."""

    name: str
    like: str | None = None  # start from another model (catalog or plan)
    config: str | None = None  # path to a Hugging Face config.json, relative to the plan
    params: int | None = None  # published total, checked against the computed one
    layers: int | None = None
    hidden: int | None = None
    heads: int | None = None
    kv_heads: int | None = None
    head_dim: int | None = None  # default hidden / heads
    ffn: int | None = None  # dense MLP intermediate width
    vocab: int | None = None
    tied: bool | None = None  # input and output embeddings shared
    mlp: Literal["gated", "plain"] | None = None  # SwiGLU (3 matrices) or 2 matrices
    qkv_bias: bool | None = None
    linear_bias: bool | None = None  # every linear layer has a bias (OPT, GPT-NeoX)
    norm: Literal["rms", "layer"] | None = None
    norms_per_layer: int | None = None  # default 2; Gemma 2/3: 4
    qk_norm: bool | None = None  # RMSNorm on queries and keys (Qwen3, Gemma 3)
    sinks: bool | None = None  # learned attention-sink logits, one per head (gpt-oss)
    router_bias: bool | None = None  # a bias per expert on the MoE router (gpt-oss)
    fused_qkv: bool | None = None  # q, k, v in one linear (Phi-3), for LoRA
    fused_gate_up: bool | None = None  # gate and up in one linear (Phi-3), for LoRA
    positions: int | None = None  # learned position embeddings (OPT); None/0 for rotary
    max_context: int | None = None
    rope_scaling: float | None = None  # RoPE scaling factor the model is run with: context
    #                                    up to max_context x rope_scaling is allowed
    precision: Precision | None = None  # native weight precision of the checkpoint
    # mixture of experts
    experts: int | None = None  # routed experts per MoE layer (0: dense)
    shared_experts: int | None = None
    experts_per_token: int | None = None
    expert_ffn: int | None = None
    dense_layers: int | None = None  # leading layers with a dense MLP
    # multi-head latent attention (DeepSeek-V2/V3)
    q_lora_rank: int | None = None
    kv_lora_rank: int | None = None
    qk_nope_dim: int | None = None
    qk_rope_dim: int | None = None
    v_head_dim: int | None = None


class Layout(Node):
    """``layout { ... }`` inside a workload: any subset pinned, the solver picks the rest."""

    gpu: str | None = None
    count: int | None = None
    tp: int | None = None
    pp: int | None = None
    dp: int | None = None
    ep: int | None = None
    zero: Literal[0, 1, 2, 3] | None = None
    recompute: Recompute | None = None
    offload: Offload | None = None
    micro_batch: int | None = None
    replicas: int | None = None
    sp: bool | None = None  # Megatron sequence parallelism (training)
    cp: int | None = None  # context-parallel degree (training)
    shard: int | Literal["node"] | None = None  # ZeRO-3 partition group: HSDP (training)
    vpp: int | None = None  # interleaved pipeline stages per GPU (training)


class Workload(Node):
    name: str
    model: str
    gpus: list[str] | None = None  # restrict to these GPU types
    utilization: float | None = None  # override the GPU's default
    layout: Layout | None = None


class Serve(Workload):
    kind: Literal["serve"] = "serve"
    users: int | None = None  # concurrent requests (a closed loop); or ``rate``
    rate: float | None = None  # requests per second (open arrivals); or ``users``
    context: int | None = None  # the engine's max model length; default prompt + output
    prompt: int | None = None  # prompt tokens per request; default: documented
    output: int | None = None  # output tokens per request; default: documented
    prefix_cache: float | None = None  # share of prompt tokens found cached; default 0
    engine: Engine = "vllm"
    weights: ServeWeights = "auto"
    kv: KvPrecision | None = None  # KV-cache precision; default bf16
    tpot: float | None = None  # limit: seconds per output token (mean)
    ttft: float | None = None  # limit: seconds to first token (mean)
    tpot_p99: float | None = None  # limit: 99th percentile of TPOT (simulated)
    ttft_p99: float | None = None  # limit: 99th percentile of TTFT (simulated)
    duration: float | None = None  # seconds of service priced; default one month (730 h)
    checkpoint: str | None = None  # the checkpoint served (repo id or path); exports name it


def request_shape_problem(context: int | None, prompt: int | None,
                          output: int | None) -> tuple[str, str] | None:
    """(key at fault, what is wrong) with a service's request shape, or None: context must
    be written unless prompt and output both are, and hold a prompt and an output of at
    least one token each (docs/language.md, "serve keys")."""
    if context is None:
        if prompt is None or output is None:
            return "context", ("needs `context` (the engine's max model length), or both "
                               "`prompt` and `output`")
        return None
    if prompt is not None and output is not None and prompt + output > context:
        return "prompt", (f"`prompt` + `output` ({prompt} + {output} tokens) must fit in "
                          f"`context` ({context})")
    if prompt is not None and prompt >= context:
        return "prompt", (f"`prompt` ({prompt}) must be less than `context` ({context}): "
                          "a request needs room for at least one output token")
    if output is not None and output >= context:
        return "output", (f"`output` ({output}) must be less than `context` ({context}): "
                          "a request has at least one prompt token")
    return None


class Train(Workload):
    dataset_bytes: int | None = None  # exactly one of dataset_bytes / dataset_tokens
    dataset_tokens: int | None = None
    bytes_per_token: float | None = None  # converts dataset bytes to tokens
    epochs: float = 1
    seq_len: int | None = None
    batch: int | None = None  # global batch, sequences per optimizer step
    optimizer: Optimizer = "adamw"
    stack: Stack | None = None  # training stack; default by method (estimate.defaults)
    precision: TrainPrecision = "bf16"  # the linear layers' matmuls: bf16, or fp8 (TE style)
    deadline: float | None = None  # limit: seconds
    budget: float | None = None  # limit: currency for this workload
    every: float | None = None  # seconds between runs of a recurring job; None: one-off
    runs: int | None = None  # runs per period of a recurring job (instead of ``every``)
    start_after: float | None = None  # seconds after the window's start a run may begin
    checkpoint_every: float | None = None  # seconds of training between checkpoint saves


class Finetune(Train):
    kind: Literal["finetune"] = "finetune"
    method: Method = "lora"
    rank: int | None = None
    targets: list[LoraTarget] | None = None
    weights: Precision | None = None  # base weights; default bf16 (full/lora), nf4 (qlora)


class Pretrain(Train):
    kind: Literal["pretrain"] = "pretrain"


class Sweep(Node):
    """``sweep "target".key = [v1, v2, ...]``; target may be a glob over workload names.

    ``updates`` hold, per value, the workload fields it sets, converted to
    base units as the key's field holds them (``dataset = 1GB`` sets
    ``{"dataset_bytes": 10**9, "dataset_tokens": None}``), to apply with
    ``workload.model_copy(update=...)``; ``labels`` the text as written
    (``"1GB"``), used in output.
    """

    target: str
    key: str
    updates: list[dict]
    labels: list[str]


class Measured(Node):
    """``measured "NAME" { ... }``: a run of a workload of the plan on a fully pinned layout,
    and what it measured (written, or read ``from`` a vLLM benchmark result file). The
    figures are in base units (seconds, tokens/s, requests/s, bytes, a fraction); after
    loading, the file's figures are filled in (``sources`` says where each came from)."""

    name: str
    workload: str
    layout: Layout | None = None
    engine: Engine | None = None  # serving: default the workload's
    stack: Stack | None = None  # training: default the workload's
    weights: Literal["bf16", "fp16", "fp8", "int8", "int4", "nf4"] | None = None
    # the run's load and request shape: default the result file's, else the workload's
    users: int | None = None
    rate: float | None = None
    prompt: int | None = None
    output: int | None = None
    # figures
    tokens_per_second: float | None = None  # output tokens/s (serving), tokens/s (training)
    requests_per_second: float | None = None
    ttft: float | None = None  # mean, seconds
    ttft_p50: float | None = None
    ttft_p99: float | None = None
    tpot: float | None = None  # mean, seconds
    tpot_p50: float | None = None
    tpot_p99: float | None = None
    itl: float | None = None  # mean inter-token latency, seconds
    step_time: float | None = None  # seconds per optimizer step
    peak_memory: int | None = None  # bytes per GPU
    mfu: float | None = None  # model FLOPs / (time x GPUs x bf16 peak)
    source: str | None = None  # `from = "FILE"`: a `vllm bench serve --save-result` JSON
    date: str | None = None  # YYYY-MM-DD
    sources: dict[str, str] = field(default_factory=dict)  # figure -> file it was read from


class Calibration(Node):
    """``calibration "NAME" { ... }``: efficiency factors fitted to measured runs of one GPU
    type under one serving engine or training stack (docs/calibration.md)."""

    name: str
    gpu: str
    engine: Engine | None = None
    stack: Stack | None = None
    step_overhead: float | None = None  # seconds per step
    hbm_fraction: float | None = None
    compute_fraction: float | None = None
    utilization: float | None = None
    collective_efficiency: float | None = None
    runs: int | None = None  # measured runs fitted
    residual: float | None = None  # typical |error| left after the fit, a fraction
    date: str | None = None  # the latest run's date

    @property
    def scope(self) -> tuple[str, str]:
        """("engine", name) or ("stack", name)."""
        return ("engine", self.engine) if self.engine is not None else ("stack", self.stack or "")


class Import(Node):
    path: str  # as written: "std" or a path relative to the importing file


class Plan(Node):
    """One file's content (before imports are merged) or a resolved plan."""

    file: str
    settings: Settings | None = None
    imports: list[Import] = field(default_factory=list)
    gpus: list[Gpu] = field(default_factory=list)
    models: list[Model] = field(default_factory=list)
    workloads: list[Serve | Finetune | Pretrain] = field(default_factory=list)
    sweeps: list[Sweep] = field(default_factory=list)
    measured: list[Measured] = field(default_factory=list)
    calibrations: list[Calibration] = field(default_factory=list)
