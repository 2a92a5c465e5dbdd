"""Plain data in and out of the estimator: no syntax, no spans, no I/O.

The resolver turns a plan into these; the search enumerates ``Layout``s and
asks the estimator for a ``TrainEstimate`` or ``ServeEstimate`` of each.
Units: bytes (int), FLOP/s and bytes/s (float), seconds (float), tokens (int).
"""

from __future__ import annotations

from planner.frozen import frozen


@frozen
class Arch:
    """A transformer's shape, as a Hugging Face config.json gives it."""

    name: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int  # dense MLP intermediate width
    vocab: int
    tied: bool = False
    gated_mlp: bool = True  # SwiGLU: gate, up, down; plain: up, down
    qkv_bias: bool = False
    norm: str = "rms"  # "rms" (weight only) or "layer" (weight and bias)
    positions: int = 0  # learned position embeddings (OPT); 0 for rotary
    linear_bias: bool = False  # every linear layer has a bias (OPT, GPT-NeoX, gpt-oss)
    qk_norm: bool = False  # RMSNorm(head_dim) on queries and keys (Qwen3, Gemma 3)
    norms_per_layer: int = 2  # Gemma 2/3: 4 (pre- and post-norm around attention and MLP)
    sinks: bool = False  # one learned attention-sink logit per head and layer (gpt-oss)
    router_bias: bool = False  # a bias per expert on the MoE router (gpt-oss)
    fused_qkv: bool = False  # q, k, v in one linear (Phi-3 qkv_proj): one LoRA adapter
    fused_gate_up: bool = False  # gate and up in one linear (Phi-3 gate_up_proj)
    precision: str = "bf16"  # native checkpoint precision
    max_context: int = 0
    # mixture of experts (experts == 0: dense)
    experts: int = 0
    shared_experts: int = 0
    experts_per_token: int = 0
    expert_ffn: int = 0
    dense_layers: int = 0  # leading layers with a dense MLP
    # multi-head latent attention (kv_lora_rank == 0: ordinary attention)
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_dim: int = 0
    qk_rope_dim: int = 0
    v_head_dim: int = 0

    @property
    def is_moe(self) -> bool:
        return self.experts > 0

    @property
    def is_mla(self) -> bool:
        return self.kv_lora_rank > 0


@frozen
class Factors:
    """Efficiency factors fitted to a fleet's own runs (docs/calibration.md); None keeps the
    model's default. Serving (per GPU type and engine): ``step_overhead`` seconds of CPU per
    step, ``hbm_fraction`` of HBM bandwidth reached by weight and KV reads,
    ``compute_fraction`` of the bf16 tensor-core peak reached by serving GEMMs. Training (per
    GPU type and stack): ``utilization`` (as ``GpuSpec.train_utilization``) and
    ``collective_efficiency``, the fraction of the GPU link a ring reaches inside a node."""

    step_overhead: float | None = None
    hbm_fraction: float | None = None
    compute_fraction: float | None = None
    utilization: float | None = None
    collective_efficiency: float | None = None


@frozen
class Calibrated:
    """The factors a GPU type runs at under one engine (``scope`` "engine") or training stack
    (``scope`` "stack")."""

    scope: str  # "engine" | "stack"
    target: str  # the engine or stack name
    factors: Factors


@frozen
class GpuSpec:
    """One GPU type as the solver may use it."""

    name: str
    memory_bytes: int  # as the driver reports it
    usable_fraction: float  # share of memory_bytes a job may allocate
    bf16_flops: float  # dense peak, FLOP/s
    fp8_flops: float  # 0.0 when the GPU has no fp8 tensor cores
    int8_flops: float
    hbm_bytes_per_s: float
    intra_node_bytes_per_s: float  # per GPU: NVLink / xGMI / PCIe
    inter_node_bytes_per_s: float  # per GPU: the network between nodes
    gpus_per_node: int
    price_per_hour: float  # currency per GPU-hour
    train_utilization: float  # achieved fraction of peak in a training step's matmuls
    vendor: str = "nvidia"
    # share of memory_bytes a training job may allocate: 1 unless the plan sets ``usable``
    # (training counts its CUDA context and allocator reserve as ``Memory.overhead``)
    train_usable_fraction: float = 1.0
    # what can be rented (docs/estimation.md sec 11): the GPU counts of the instances sold
    # (ascending, the largest = gpus_per_node; empty: any count, billed per GPU) and the
    # host of one node (None: not known, not checked)
    shapes: tuple[int, ...] = ()
    host_ram_bytes: int | None = None
    host_cpus: int | None = None
    host_nvme_bytes: int | None = None
    # billing and storage (None: the defaults of planner.estimate.rent, sec 12)
    billing_seconds: float | None = None  # increment: 1, 60 or 3600
    storage_read_bytes_per_s: float | None = None  # per node, loading weights
    storage_write_bytes_per_s: float | None = None  # per node, writing checkpoints
    interruptions_per_month: float | None = None  # spot: share of instances interrupted a month
    family: str | None = None  # the GPU type an offer is `like` (None: its own name)
    # factors fitted to measured runs, by engine or stack (planner.estimate.calibration)
    calibrations: tuple[Calibrated, ...] = ()

    @property
    def usable_bytes(self) -> int:
        return int(self.memory_bytes * self.usable_fraction)

    @property
    def train_usable_bytes(self) -> int:
        return int(self.memory_bytes * self.train_usable_fraction)


@frozen
class ServeJob:
    """A service: the load (``users`` concurrent requests, or ``rate`` requests/s) and the
    shape of a request (``prompt`` tokens in, ``output`` tokens out), on an engine whose
    longest sequence is ``context`` tokens."""

    arch: Arch
    users: int  # concurrent requests (a closed loop); 0 when ``rate`` is given
    context: int  # the engine's max model length, tokens
    prompt: int  # prompt tokens per request
    weights: str  # bf16 | fp16 | fp8 | int8 | int4 | nf4
    kv_precision: str = "bf16"  # bf16 | fp16 | fp8
    output: int = 0  # output tokens per request; 0: context - prompt
    rate: float = 0.0  # requests/s (open Poisson arrivals); 0 when ``users`` is given
    prefix_share: float = 0.0  # share of prompt tokens found in the prefix cache
    engine: str = "vllm"  # vllm | sglang | trtllm | transformers

    @property
    def output_tokens(self) -> int:
        return self.output or max(1, self.context - self.prompt)


@frozen
class TrainJob:
    """A training run: the model, the method, the tokens and the batch."""

    arch: Arch
    method: str  # "full" | "lora" | "qlora" (pretraining is "full")
    tokens: float  # tokens processed in the whole run (dataset x epochs)
    seq_len: int
    global_batch: int  # sequences per optimizer step
    optimizer: str = "adamw"  # adamw | adamw-8bit | paged-adamw | paged-adamw-8bit | sgd
    weights: str = "bf16"  # precision of the (frozen, for LoRA) base weights
    lora_rank: int = 0
    lora_targets: tuple[str, ...] = ()
    utilization: float | None = None  # overrides the GPU's train_utilization
    stack: str = "megatron"  # megatron | fsdp | deepspeed | hf: the memory terms that differ
    precision: str = "bf16"  # bf16 | fp8: the linear layers' matmuls (fp8: Transformer Engine)
    dropout: bool = False  # attention and hidden dropout (GPT-3-era runs; modern LLMs train without)


@frozen
class Layout:
    """One way to lay a job out on GPUs of one type.

    Training uses tp x cp x pp x dp GPUs; serving uses tp x pp GPUs per replica and
    ``replicas`` replicas, each holding ceil(users / replicas) sequences.
    """

    tp: int = 1
    pp: int = 1
    dp: int = 1
    ep: int = 1  # expert parallel degree (MoE), within tp x dp
    zero: int = 0  # 0..3
    recompute: str = "none"  # none | selective | full
    offload: str = "none"  # none | optimizer | all
    micro_batch: int = 1
    replicas: int = 1
    sp: bool = False  # Megatron sequence parallelism (training, tp > 1)
    cp: int = 1  # context-parallel degree (training)
    shard: int = 0  # ZeRO-3 partition group (HSDP): 0 = all dp x cp ranks
    vpp: int = 1  # interleaved pipeline stages per GPU (virtual pipeline)
    flash_attention: bool = True

    @property
    def gpus(self) -> int:
        """GPUs of the layout: training's tp x cp x pp x dp (serving: per replica, x replicas)."""
        return self.tp * self.cp * self.pp * self.dp


@frozen
class Memory:
    """Bytes per GPU by component, and bytes an offload puts in host memory (per GPU)."""

    weights: int = 0
    gradients: int = 0
    optimizer: int = 0
    activations: int = 0
    kv_cache: int = 0
    overhead: int = 0
    host: int = 0

    @property
    def total(self) -> int:
        return (
            self.weights
            + self.gradients
            + self.optimizer
            + self.activations
            + self.kv_cache
            + self.overhead
        )

    def components(self) -> dict[str, int]:
        return {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "activations": self.activations,
            "kv_cache": self.kv_cache,
            "overhead": self.overhead,
            "total": self.total,
        }


@frozen
class TrainEstimate:
    """Memory per GPU and the time of a training run on one layout."""

    memory: Memory
    gpus: int
    flops: float  # FLOPs of the whole run, recomputation included
    compute_seconds: float
    communication_seconds: float  # exposed DP / TP / PP communication and CPU-offload transfers
    bubble_seconds: float  # pipeline bubble

    @property
    def seconds(self) -> float:
        return self.compute_seconds + self.communication_seconds + self.bubble_seconds

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


@frozen
class ServeEstimate:
    """A service on one layout in steady state (docs/estimation.md sec 9): the latencies of
    its most loaded replica, the throughput and hardware shares of all of them."""

    memory: Memory  # per GPU, the KV cache as the engine allocates it
    gpus: int
    ttft_seconds: float  # mean time to first token
    tpot_seconds: float  # mean time per output token after the first
    tokens_per_second: float  # output tokens per second, all replicas
    requests_per_second: float = 0.0  # all replicas
    capacity_requests_per_second: float = 0.0  # the most all replicas sustain
    compute_share: float = 0.0  # of the GPUs' peak FLOP/s, over wall time
    bandwidth_share: float = 0.0  # of the GPUs' HBM bandwidth, over wall time
    carried: bool = True  # every user's request runs / the rate is below capacity
    running_limit: int = 0  # requests one replica runs at once (engine cap, KV memory)
    concurrency: float = 0.0  # requests in the most loaded replica (Little's law)
    kv_tokens: int = 0  # KV capacity of one replica, tokens


@frozen
class ServePercentiles:
    """A seeded simulation of the most loaded replica (docs/estimation.md sec 9.5)."""

    ttft_p50: float
    ttft_p99: float
    tpot_p50: float
    tpot_p99: float
    requests: int  # requests the percentiles cover


@frozen
class StepTraffic:
    """Bytes one GPU sends per optimizer step, by collective (ring volumes, nccl-tests)."""

    gradients: float  # DP all-reduce (ZeRO 0-2) or ZeRO-3 reduce-scatter of the gradients
    param_gathers: float  # ZeRO-3 parameter all-gathers, every pass of every micro-batch
    tensor: float  # TP all-reduces inside the stage's passes
    experts: float  # EP all-to-alls of the stage's MoE layers
    pipeline: float  # activations and their gradients at the pipeline chunk boundaries
    context: float  # CP all-gathers and reduce-scatters of keys and values
    inter_node: float  # of these, the bytes that leave the GPU's node (ring: 1/local of a group's)


@frozen
class HostResources:
    """What the hosts of a whole row need: planning floors, not measurements."""

    cpu_cores: int
    ram_bytes: int
    nvme_bytes: int
    network: str  # "none", "25Gbps", "RDMA 200Gbps", ...
