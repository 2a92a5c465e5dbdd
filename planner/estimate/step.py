"""One replica of a served model: its KV capacity, its limits, and the time of one step.

A step of a continuous-batching engine runs every running sequence's next token (decodes)
and a chunk of prompt tokens (prefill) through the model once. Its time is

    CPU overhead + linear layers + attention + TP/PP communication

where the linear layers take max(FLOPs / (peak x GEMM fraction), weight bytes / (HBM x
bandwidth fraction)) -- the weights are read once per step whatever the batch -- and the
attention kernels take max(FLOPs / (peak x attention fraction), KV bytes / (HBM x bandwidth
fraction)). The two kernel classes run one after another in every layer, so their times add;
each is bounded by its own roofline (Williams et al. 2009), so a step never needs more than
the GPU's peak FLOP/s or HBM bandwidth. An eager engine (no CUDA graphs) launches kernels
from Python while the GPU runs: its step is max(CPU launch time, GPU time).
Pipeline stages run one after another for a step (no micro-batch overlap is assumed).
"""

from __future__ import annotations

import math

from planner.estimate import calibration
from planner.estimate import engines as E
from planner.estimate.arch import param_counts
from planner.estimate.memory import (
    CUDA_CONTEXT_BYTES,
    SERVE_CUDA_GRAPH_BYTES,
    kv_bytes_per_token_per_gpu,
    prefill_activation_bytes,
)
from planner.estimate.precision import KV_BYTES, bytes_per_param, lookup, unquantized_bytes
from planner.estimate.stage import HeaviestStage
from planner.estimate.types import Arch, GpuSpec
from planner.frozen import frozen


@frozen
class ServeLoad:
    """A served model on one replica layout, and the load it carries.

    Give ``users`` (a closed loop of that many concurrent requests, each sent as soon as
    the previous one finished) or ``rate`` (open Poisson arrivals, requests/s).
    ``max_running``, ``token_budget`` and ``kv_fraction`` override the engine's defaults
    (0 keeps them): a published run pins them, a plan does not. A plan sets ``context``
    (the engine starts only when one sequence of it fits the KV cache) and
    ``within_usable`` (its ``usable`` share of memory bounds every engine's pool).
    """

    arch: Arch
    gpu: GpuSpec
    prompt: int  # tokens per request
    output: int  # generated tokens per request
    users: int = 0
    rate: float = 0.0
    tp: int = 1
    pp: int = 1
    weights: str = "bf16"  # bf16 | fp16 | fp8 | int8 | int4 | nf4 | nf4-nodq
    kv: str = "bf16"  # bf16 | fp16 | fp8
    engine: str = E.DEFAULT_ENGINE
    prefix_share: float = 0.0  # share of prompt tokens found in the prefix cache
    max_running: int = 0
    token_budget: int = 0
    kv_fraction: float = 0.0  # share of the memory left after weights that holds KV
    context: int = 0  # the engine's max model length (0: the model's, or prompt + output)
    within_usable: bool = False  # the KV pool also keeps the GPU within its usable memory

    def __post_init__(self) -> None:
        if (self.users > 0) == (self.rate > 0):
            raise ValueError("give exactly one of users > 0 or rate > 0")
        if self.prompt < 1 or self.output < 1:
            raise ValueError("prompt and output must be at least 1 token")
        if not 0.0 <= self.prefix_share < 1.0:
            raise ValueError("prefix_share must be in [0, 1)")
        if self.tp < 1 or self.pp < 1:
            raise ValueError("tp and pp must be at least 1")
        E.weight_kernel(self.weights)
        lookup(KV_BYTES, self.kv, "KV precision")
        E.engine(self.engine)

    @property
    def prefill_tokens(self) -> float:
        """Prompt tokens computed per request (at least one: the last is always run)."""
        return max(1.0, self.prompt * (1.0 - self.prefix_share))


@frozen
class StepCost:
    """The time of one serving step, and its compute and memory time at peak."""

    seconds: float
    compute_seconds: float  # the step's FLOPs at the GPU's full peak (per GPU)
    memory_seconds: float  # the step's bytes at full HBM bandwidth (per GPU)

    @property
    def compute_share(self) -> float:
        return self.compute_seconds / self.seconds if self.seconds else 0.0

    @property
    def bandwidth_share(self) -> float:
        return self.memory_seconds / self.seconds if self.seconds else 0.0


def _attn_dim(a: Arch) -> int:
    """Width of the attention score and value products (heads x head size)."""
    if a.is_mla:
        return a.heads * (a.qk_nope_dim + a.qk_rope_dim + a.v_head_dim) // 2
    return a.heads * a.head_dim


def _linear_calls(a: Arch) -> int:
    """Linear modules one forward calls, Hugging Face layout (q, k, v, o; gate, up, down)."""
    pc = param_counts(a)
    attn = (5 if a.q_lora_rank else 4) if a.is_mla else 4
    per_mlp = 3 if a.gated_mlp else 2
    moe = (a.experts_per_token + a.shared_experts) * per_mlp + 1 if a.is_moe else 0
    return a.layers * attn + pc.dense_layers * per_mlp + pc.moe_layers * moe + 1


@frozen
class Replica:
    """What one replica's steps share: rates, bytes and FLOPs per token, limits."""

    engine: E.Engine
    tp: int
    pp: int
    weight_bytes_per_gpu: float  # on the most loaded GPU (the largest pipeline stage)
    activation_bytes: float  # peak of a full step's activations per GPU
    kv_bytes_per_gpu: float  # the KV pool the engine allocates, per GPU
    kv_tokens: int  # KV capacity of the replica, tokens
    token_budget: int
    max_running: int  # running sequences the engine and KV memory allow for this load
    dense_read: float  # bytes per step per TP rank (all stages), excluding routed experts
    routed_read: float  # all routed experts' bytes per TP rank
    dequant_dense: float  # extra bytes per multi-token step (bitsandbytes dequantization)
    dequant_routed: float
    route_keep: float  # 1 - experts_per_token / experts (0 for dense models)
    flops_per_token: float  # linear FLOPs per token per TP rank, without the output head
    head_flops: float  # output-head FLOPs per sampled token per TP rank
    pair_flops: float  # attention FLOPs per (query, key) pair per TP rank, all layers
    kv_token_bytes: float  # KV bytes per cached token per TP rank, all layers
    linear_peak: float
    linear_rate: float  # peak x GEMM fraction
    attention_peak: float
    attention_rate: float
    hbm: float
    weight_rate: float  # HBM x bandwidth fraction
    kv_rate: float
    hidden: int
    layers: int
    ar_latency: float
    ar_bandwidth: float
    pp_latency: float
    pp_bandwidth: float
    cpu_seconds: float  # per-step overhead, or eager launch time per step

    def step_parts(self, decodes: float, decode_context: float, prefill: float,
                   prefill_kv: float, prefill_pairs: float, samples: float) -> tuple[float, float, float]:
        """(seconds, compute seconds at peak, memory seconds at peak) of one step.

        ``decode_context``: KV tokens the decoding sequences read; ``prefill_kv``: KV tokens
        the prefill chunks read and write (their prefix and themselves); ``prefill_pairs``:
        the chunks' causal (query, key) pairs; ``samples``: rows of logits computed.
        """
        return self.stepper()(decodes, decode_context, prefill, prefill_kv, prefill_pairs, samples)

    def stepper(self):
        """``step_parts`` as a plain function of the same arguments (built once per replica:
        a steady state calls it some seventy times)."""
        step = self.__dict__.get("_step")
        if step is None:
            # kept in the instance's __dict__, which the dataclass's equality, hash and
            # repr do not read (written directly: the dataclass is frozen)
            step = self.__dict__["_step"] = self._stepper()
        return step

    def _stepper(self):
        """``step_parts`` with this replica's figures bound as locals: a steady state or a
        simulation asks for thousands of steps, and reading a dozen fields per step cost as
        much as its arithmetic."""
        route_keep, dense_read, routed_read = self.route_keep, self.dense_read, self.routed_read
        dequant_dense, dequant_routed = self.dequant_dense, self.dequant_routed
        flops_per_token, head_flops = self.flops_per_token, self.head_flops
        linear_rate, weight_rate = self.linear_rate, self.weight_rate
        kv_token_bytes, pair_flops = self.kv_token_bytes, self.pair_flops
        attention_rate, kv_rate = self.attention_rate, self.kv_rate
        linear_peak, attention_peak, hbm = self.linear_peak, self.attention_peak, self.hbm
        cpu_seconds, eager = self.cpu_seconds, self.engine.eager
        hidden, tp, pp = self.hidden, self.tp, self.pp
        # communication: two all-reduces of the step's activations per layer (Megatron TP,
        # Shoeybi et al. 2019 sec 3) and one send per pipeline boundary, 16-bit activations;
        # the leading factors of each product are the ones the expressions start with
        ring_share = 2.0 * (tp - 1) / tp
        reduces, ar_latency, ar_bandwidth = 2 * self.layers, self.ar_latency, self.ar_bandwidth
        boundaries, pp_latency, pp_bandwidth = pp - 1, self.pp_latency, self.pp_bandwidth

        dequant = bool(dequant_dense or dequant_routed)
        talks = tp > 1 or pp > 1
        # (``x if x >= y else y`` is ``max(x, y)`` without the call; a dense model's
        # lin_bytes is dense_read + routed_read x 0, and gpu + 0 communication, the same
        # floats)

        def step(decodes, decode_context, prefill, prefill_kv, prefill_pairs, samples):
            tokens = decodes + prefill
            if tokens <= 0:
                return 0.0, 0.0, 0.0
            if route_keep:
                touched = 1.0 - route_keep ** tokens
                lin_bytes = dense_read + routed_read * touched
            else:
                touched = 0.0
                lin_bytes = dense_read
            if dequant:
                lin_bytes += dequantizing_share(tokens) * (dequant_dense + dequant_routed * touched)
            lin_flops = tokens * flops_per_token + samples * head_flops
            t_flops, t_bytes = lin_flops / linear_rate, lin_bytes / weight_rate
            t_lin = t_bytes if t_bytes > t_flops else t_flops
            att_bytes = (decode_context + prefill_kv) * kv_token_bytes
            att_flops = (decode_context + prefill_pairs) * pair_flops
            t_flops, t_bytes = att_flops / attention_rate, att_bytes / kv_rate
            gpu = t_lin + (t_bytes if t_bytes > t_flops else t_flops)
            if talks:
                nbytes = 2.0 * tokens * hidden
                comm = 0.0
                if tp > 1:
                    comm += reduces * (ar_latency + ring_share * nbytes / ar_bandwidth)
                if pp > 1:
                    comm += boundaries * (pp_latency + nbytes / pp_bandwidth)
                gpu += comm
            if eager:
                seconds = gpu if gpu > cpu_seconds else cpu_seconds
            else:
                seconds = cpu_seconds + gpu
            compute = lin_flops / linear_peak + att_flops / attention_peak
            return seconds, compute, (lin_bytes + att_bytes) / hbm

        return step

    def step(self, decodes: float, decode_context: float, prefill: float = 0.0,
             prefill_kv: float = 0.0, prefill_pairs: float = 0.0,
             samples: float | None = None) -> StepCost:
        s = decodes if samples is None else samples
        return StepCost(*self.step_parts(decodes, decode_context, prefill, prefill_kv,
                                         prefill_pairs, s))


def dequantizing_share(tokens: float) -> float:
    """Share of steps of ``tokens`` tokens that dequantize (bitsandbytes: every step of two
    tokens or more; one token runs the fused ``gemv_4bit``). A steady state's mean step
    holds a fractional count: its steps hold the two integers around it, so the share
    is the linear interpolation between them (0 at one token, 1 from two)."""
    return min(1.0, max(0.0, tokens - 1.0))


def per_sequence_kv(load: ServeLoad, eng: E.Engine) -> float:
    """KV tokens one running sequence holds: its whole length where the engine reserves it
    at admission (TensorRT-LLM GUARANTEED_NO_EVICT), else its mean length while it runs."""
    if eng.reserve_output:
        return float(load.prompt + load.output)
    return load.prompt + load.output / 2.0


def sequences_in_kv(load: ServeLoad, eng: E.Engine, kv_tokens: int) -> int:
    """Running sequences ``kv_tokens`` hold. An engine that reserves a whole sequence at
    admission holds kv / (prompt + output). One that takes KV as tokens come holds more: a
    running sequence is as long as its prompt plus a share of its output spread evenly over
    [0, output], so N of them hold N (prompt + output/2) tokens on average with a standard
    deviation of output sqrt(N / 12). N is the most whose sum stays within the cache but
    for 1% of the time (``KV_SPREAD_Z`` deviations above the mean): a few long requests
    are not packed as if they were always half done (docs/estimation.md 9.1)."""
    if eng.reserve_output:
        return int(kv_tokens // (load.prompt + load.output))
    mean = load.prompt + load.output / 2.0
    spread = E.KV_SPREAD_Z * load.output / math.sqrt(12.0)
    root = (-spread + math.sqrt(spread * spread + 4.0 * mean * kv_tokens)) / (2.0 * mean)
    n = int(root * root)
    while n > 0 and n * mean + spread * math.sqrt(n) > kv_tokens:  # floating-point edge
        n -= 1
    return n


def _kv_tokens(load: ServeLoad, eng: E.Engine, weights_gpu: float, act: float) -> int:
    """KV tokens the replica holds: what the engine leaves on its most loaded GPU after the
    weights, the activations of a full step, CUDA context and graphs (every GPU holds the
    same number of KV blocks, vLLM's and SGLang's pools are sized on the smallest)."""
    gpu = load.gpu
    overhead = CUDA_CONTEXT_BYTES + SERVE_CUDA_GRAPH_BYTES
    within = gpu.usable_bytes - weights_gpu - act - overhead
    if eng.name == "sglang" and not load.kv_fraction:
        free = gpu.memory_bytes - E.sglang_reserved_bytes(gpu, load.tp, load.pp) - weights_gpu
    elif load.kv_fraction or eng.kv_free_fraction:
        rest = gpu.memory_bytes - weights_gpu - act - overhead
        free = (load.kv_fraction or eng.kv_free_fraction) * rest
    else:
        free = within
    if load.within_usable:
        free = min(free, within)
    per_token = kv_bytes_per_token_per_gpu(load.arch, load.kv, load.tp, load.pp)
    return int(free // per_token) if free > 0 else 0


def heaviest_weight_bytes(arch: Arch, weights: str, tp: int, pp: int) -> float:
    """Weight bytes on the most loaded GPU of a replica: the largest pipeline stage
    (``stage.HeaviestStage``), linear weights at ``weights``, the rest in 16 bit."""
    q = E.NF4_NODQ_BYTES if weights == "nf4-nodq" else bytes_per_param(weights)
    linear, routed, other, embeddings = HeaviestStage(param_counts(arch), arch.layers) \
        .params_per_gpu(tp, pp, 1)
    return (linear + routed) * q + (other + embeddings) * unquantized_bytes("bf16")


def replica(load: ServeLoad) -> Replica:
    """The per-step constants of ``load``'s replica (see the module docstring)."""
    a, gpu, tp, pp = load.arch, load.gpu, load.tp, load.pp
    eng = E.engine(load.engine)
    kern = E.weight_kernel(load.weights)
    pc = param_counts(a)
    q = E.NF4_NODQ_BYTES if load.weights == "nf4-nodq" else bytes_per_param(load.weights)
    o = unquantized_bytes("bf16")
    other = pc.total - pc.layers_linear - pc.routed_linear
    weights_gpu = heaviest_weight_bytes(a, load.weights, tp, pp)
    max_context = load.context or a.max_context or (load.prompt + load.output)
    budget = load.token_budget or E.token_budget(eng, gpu, max_context)
    most = load.max_running or E.max_sequences(eng, gpu, 2**62, max_context)
    act = prefill_activation_bytes(a, max(1, budget), max(1, min(budget, most)), tp)
    kv_tokens = _kv_tokens(load, eng, weights_gpu, act)
    cap = load.max_running or E.max_sequences(eng, gpu, kv_tokens, max_context)
    fits = kv_tokens >= max(load.context, load.prompt + load.output)
    running = min(cap, sequences_in_kv(load, eng, kv_tokens)) if fits else 0

    lin_peak, table = E.linear_peak(gpu, kern)
    att_peak = gpu.bf16_flops
    hbm_frac = calibration.hbm_fraction(gpu, eng)
    kv_frac = min(hbm_frac, E.HBM_FRACTION_FP8_KV) if load.kv == "fp8" else hbm_frac
    intra = tp * pp <= gpu.gpus_per_node
    link = gpu.intra_node_bytes_per_s if tp <= gpu.gpus_per_node else gpu.inter_node_bytes_per_s
    pp_link = gpu.intra_node_bytes_per_s if intra else gpu.inter_node_bytes_per_s
    cpu = calibration.step_overhead(gpu, eng)
    if eng.eager:
        cpu = a.layers * E.EAGER_LAYER_DISPATCH_S + _linear_calls(a) * kern.eager_call_s
    return Replica(
        engine=eng, tp=tp, pp=pp,
        weight_bytes_per_gpu=weights_gpu, activation_bytes=act,
        kv_bytes_per_gpu=kv_tokens * kv_bytes_per_token_per_gpu(a, load.kv, tp, pp),
        kv_tokens=kv_tokens, token_budget=budget, max_running=running,
        # the input embedding is a lookup of T rows; a tied one is read whole for the logits
        dense_read=(pc.layers_linear * q + (other - (0 if a.tied else pc.input_embedding)) * o) / tp,
        routed_read=pc.routed_linear * q / tp,
        dequant_dense=pc.layers_linear * kern.dequant_bytes / tp,
        dequant_routed=pc.routed_linear * kern.dequant_bytes / tp,
        route_keep=(1.0 - a.experts_per_token / a.experts) if a.is_moe else 0.0,
        flops_per_token=2.0 * (pc.active - pc.input_embedding - pc.head) / tp,
        head_flops=2.0 * pc.head / tp if pc.head else 2.0 * pc.input_embedding / tp,
        pair_flops=4.0 * _attn_dim(a) * a.layers / tp,
        kv_token_bytes=float(kv_bytes_per_token_per_gpu(a, load.kv, tp, 1)),
        linear_peak=lin_peak,
        linear_rate=lin_peak * calibration.gemm_fraction(gpu, eng, table),
        attention_peak=att_peak,
        attention_rate=att_peak * E.attention_fraction(gpu),
        hbm=gpu.hbm_bytes_per_s,
        weight_rate=gpu.hbm_bytes_per_s * hbm_frac,
        kv_rate=gpu.hbm_bytes_per_s * kv_frac,
        hidden=a.hidden, layers=a.layers,
        ar_latency=E.ALLREDUCE_LATENCY_INTRA_S if tp <= gpu.gpus_per_node else E.ALLREDUCE_LATENCY_INTER_S,
        ar_bandwidth=link * E.BUS_BANDWIDTH_FRACTION,
        pp_latency=E.ALLREDUCE_LATENCY_INTRA_S if intra else E.ALLREDUCE_LATENCY_INTER_S,
        pp_bandwidth=pp_link * E.BUS_BANDWIDTH_FRACTION,
        cpu_seconds=cpu,
    )
