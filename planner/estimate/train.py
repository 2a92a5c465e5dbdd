"""Training: memory per GPU and run time of a layout (docs/estimation.md sec 3 and 5).

``evaluate_train`` runs three named steps over what one (job, GPU) pair shares
(``train_base``, computed once and cached, so that a layout costs a few dozen float
operations): the model states a GPU holds (``model_states``), the activations of its
stage (``train_activation_bytes``) and the time of the run (``train_time.step_time``).
``step_traffic`` gives the bytes per step by collective that the step time is timed
from, for sizing the host network (``planner.estimate.host``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.estimate import calibration
from planner.estimate import collectives as C
from planner.estimate import efficiency as E
from planner.estimate import memory as M
from planner.estimate import timing as T
from planner.estimate.arch import (
    lora_active_params,
    lora_intermediate_width,
    lora_param_split,
    param_counts,
)
from planner.estimate.common import attention_width, build, cached_per_job_and_gpu, check_layout
from planner.estimate.precision import bytes_per_param, unquantized_bytes
from planner.estimate.stage import HeaviestStage
from planner.estimate.train_time import RECOMPUTE_MODES, step_time, traffic
from planner.estimate.types import GpuSpec, Layout, Memory, StepTraffic, TrainEstimate, TrainJob

STACKS = ("megatron", "fsdp", "deepspeed", "hf")
TRAIN_PRECISIONS = ("bf16", "fp8")


# ---------------------------------------------------------------- per (job, GPU)
@dataclass
class TrainBase:
    """What one (job, GPU) pair's training estimates share, whatever the layout."""

    job: TrainJob
    gpu: GpuSpec
    stage: HeaviestStage
    optimizer_bytes: float  # K: optimizer state bytes per trained parameter
    grad_bytes: float  # bytes per gradient as the stack keeps and reduces it
    lora_dense: int  # trainable adapter parameters outside routed experts (0 for full)
    lora_routed: int  # trainable adapters on routed experts (they live with their experts)
    frozen_linear_bytes: float  # bytes per frozen linear weight (LoRA/QLoRA base)
    frozen_other_bytes: float  # bytes per frozen non-linear parameter
    dequantize: bool  # QLoRA-style: base weights dequantized to bf16 for every matmul
    flops_per_token: dict[str, float]  # by recompute mode
    flops_linear: dict[str, float]  # of which linear layers, by recompute mode
    flops_core: dict[str, float]  # of which the attention core, by recompute mode
    peak: float  # bf16 FLOP/s
    utilization: float
    steps: float  # optimizer steps of the run (fractional for less than one global batch)
    layer_params: float  # mean parameters of one layer
    layer_stored_bytes: float  # mean bytes of one layer as stored (frozen base at its precision)
    layers: int
    # activation terms of one sequence (micro-batch 1), bytes:
    activation_terms: dict[tuple[bool, bool], tuple[float, float]]  # (flash, selective) -> (kept, split)
    layer_input: float  # 2sh, what full recomputation keeps per layer
    lora_activations: float  # LoRA A-outputs per layer
    logits: float  # the loss's logits and temporaries (stack-dependent), before TP division
    token_ids: float
    host_link: float  # host <-> GPU bytes/s, one direction (CPU offload)
    fabric: C.Fabric
    gemms: tuple  # one layer's linear GEMMs (efficiency.layer_gemms)
    score_elements: float  # attention-score elements per token over all layers (unfused)
    elementwise: tuple[float, float]  # forward elementwise bytes per token, all layers: (hidden, split)
    loss_bytes: float  # cross-entropy traffic per token
    hbm_rate: float  # achieved HBM bytes/s of memory-bound kernels
    kv_bytes_per_token: float  # one layer's keys and values of one token, 16-bit
    _rates: dict = field(default_factory=dict)
    _links: dict = field(default_factory=dict)

    def links(self, layout: Layout) -> C.Groups:
        """The layout's collective groups with their timing figures (cached by shape, here
        without hashing the fabric: every layout of this base shares it)."""
        key = (layout.tp, layout.cp, layout.dp, layout.pp, layout.ep, layout.shard)
        hit = self._links.get(key)
        if hit is None:
            hit = self._links[key] = C.links(layout, self.fabric)
        return hit

    def rates(self, tokens: float, tp: int, ep: int, flash: bool) -> tuple[float, float]:
        """(linear, attention-core) FLOP/s one GPU reaches on a micro-batch of ``tokens``."""
        key = (tokens, tp, ep, flash)
        hit = self._rates.get(key)
        if hit is None:
            hit = self._rates[key] = _rates(self, tokens, tp, ep, flash)
        return hit


def _rates(base: TrainBase, tokens: float, tp: int, ep: int, flash: bool) -> tuple[float, float]:
    job, gpu, u = base.job, base.gpu, base.utilization
    if job.precision == "fp8":
        peak, curve = gpu.fp8_flops, E.GEMM_CURVE_FP8
        u = u * E.mamf(gpu, "fp8") / E.mamf(gpu, "bf16")
    else:
        peak, curve = base.peak, E.GEMM_CURVE_BF16
    linear = peak * u * E.linear_efficiency(base.gemms, job.arch, tokens, tp, ep, curve)
    core = base.peak * base.utilization * E.attention_efficiency(gpu, flash, job.stack == "megatron")
    if flash:
        core /= E.CAUSAL_FRACTION  # the masked half of the scores is skipped
    return linear, core


def _matmul_params(job: TrainJob) -> float:
    # matmul parameters per token: the input embedding is a lookup, not a matmul; a tied
    # head is the embedding matrix used once more as the output projection
    counts = param_counts(job.arch)
    tied_head = job.arch.vocab * job.arch.hidden if job.arch.tied else 0
    return counts.active - counts.input_embedding + tied_head


def _lora_active(job: TrainJob) -> float:
    # a token passes through the adapters of its experts_per_token experts only
    if job.method == "full":
        return 0.0
    return lora_active_params(job.arch, job.lora_rank, tuple(job.lora_targets))


def _token_ffn(arch) -> float:
    """The MLP width a token passes through: the dense MLP, or (MoE) the larger of the
    leading dense MLP and its routed + shared experts."""
    if not arch.is_moe:
        return arch.ffn
    return max(arch.ffn if arch.dense_layers else 0,
               arch.expert_ffn * (arch.experts_per_token + arch.shared_experts))


def _activation_terms(job: TrainJob) -> dict[tuple[bool, bool], tuple[float, float]]:
    """Per-layer (kept whole, split by TP) activation bytes of one sequence, by (flash, selective)."""
    arch = job.arch
    ffn = _token_ffn(arch)
    return {
        (flash, selective): M.layer_activation_terms(
            job.seq_len, 1, arch.hidden, arch.heads, ffn=ffn, kv_heads=arch.kv_heads,
            head_dim=arch.head_dim, gated=arch.gated_mlp, dropout=job.dropout,
            recompute="selective" if selective else "none", flash=flash,
            fused_swiglu=job.stack == "megatron",
        )
        for flash in (False, True)
        for selective in (False, True)
    }


def _check_job(job: TrainJob, gpu: GpuSpec) -> None:
    if job.method not in ("full", "lora", "qlora"):
        raise ValueError(f"method must be full|lora|qlora, got {job.method!r}")
    if job.stack not in STACKS:
        raise ValueError(f"stack must be one of {STACKS}, got {job.stack!r}")
    if job.precision not in TRAIN_PRECISIONS:
        raise ValueError(f"training precision must be bf16|fp8, got {job.precision!r}")
    if job.precision == "fp8" and gpu.fp8_flops <= 0:
        raise ValueError(f"fp8 training needs fp8 tensor cores; {gpu.name} has none")


def _kv_bytes_per_token(job: TrainJob) -> float:
    arch = job.arch
    if arch.is_mla:
        return 2.0 * (arch.kv_lora_rank + arch.qk_rope_dim)
    return 2.0 * 2 * arch.kv_heads * arch.head_dim


@cached_per_job_and_gpu
def train_base(job: TrainJob, gpu: GpuSpec) -> TrainBase:
    arch = job.arch
    _check_job(job, gpu)
    counts = param_counts(arch)
    optimizer_bytes = M.optimizer_state_bytes(job.optimizer)
    if job.method == "full":
        lora_dense = lora_routed = lora_width = 0
    else:
        targets = tuple(job.lora_targets)
        lora_dense, lora_routed = lora_param_split(arch, job.lora_rank, targets)
        lora_width = lora_intermediate_width(arch, job.lora_rank, targets)
    attention = T.attention_unit(arch.layers, attention_width(arch), job.seq_len)
    matmul_params, lora_active = _matmul_params(job), _lora_active(job)
    split = {mode: T.train_flops_split(matmul_params, attention, job.method, mode, lora_active)
             for mode in RECOMPUTE_MODES}
    frozen_linear = bytes_per_param(job.weights)
    frozen_other = unquantized_bytes(job.weights)
    layers_linear = counts.layers_linear + counts.routed_linear
    if job.method == "full":
        layer_stored = M.WEIGHT_TRAIN_BYTES * counts.layers_total / arch.layers
    else:
        layer_stored = (layers_linear * frozen_linear + counts.layers_other * frozen_other
                        + M.WEIGHT_TRAIN_BYTES * (lora_dense + lora_routed)) / arch.layers
    if job.stack == "megatron":
        logits = M.logits_bytes(job.seq_len, 1, arch.hidden, arch.vocab, 1)
    else:
        logits = M.materialised_logits_bytes(job.seq_len, 1, arch.vocab, 1)
    return TrainBase(
        job=job,
        gpu=gpu,
        stage=HeaviestStage(counts, arch.layers),
        optimizer_bytes=optimizer_bytes,
        grad_bytes=M.grad_bytes(job.stack),
        lora_dense=lora_dense,
        lora_routed=lora_routed,
        frozen_linear_bytes=frozen_linear,
        frozen_other_bytes=frozen_other,
        dequantize=job.method != "full" and job.weights in ("nf4", "int4", "int8"),
        flops_per_token={mode: sum(split[mode]) for mode in RECOMPUTE_MODES},
        flops_linear={mode: split[mode][0] for mode in RECOMPUTE_MODES},
        flops_core={mode: split[mode][1] for mode in RECOMPUTE_MODES},
        peak=gpu.bf16_flops,
        utilization=job.utilization if job.utilization is not None
        else calibration.train_utilization(gpu, job.stack),
        steps=job.tokens / (job.global_batch * job.seq_len),
        layer_params=counts.layers_total / arch.layers,
        layer_stored_bytes=layer_stored,
        layers=arch.layers,
        activation_terms=_activation_terms(job),
        layer_input=2.0 * job.seq_len * arch.hidden,
        lora_activations=M.lora_layer_activation_bytes(job.seq_len, 1, lora_width),
        logits=logits,
        token_ids=M.embedding_input_bytes(job.seq_len, 1),
        host_link=T.host_link_bytes_per_s(gpu.name),
        fabric=calibration.fabric(gpu, job.stack),
        gemms=E.layer_gemms(arch),
        score_elements=float(arch.layers) * arch.heads * job.seq_len,
        elementwise=tuple(arch.layers * x for x in E.elementwise_bytes(
            arch, _token_ffn(arch), job.dropout, job.stack == "megatron")),
        loss_bytes=E.LOSS_BYTES_PER_VOCAB * arch.vocab,
        hbm_rate=E.hbm_rate(gpu, job.stack == "megatron"),
        kv_bytes_per_token=_kv_bytes_per_token(job),
    )


def model_flops(job: TrainJob) -> float:
    """Model FLOPs of the run without recomputation (what MFU figures count)."""
    attention = T.attention_unit(job.arch.layers, attention_width(job.arch), job.seq_len)
    return job.tokens * T.train_flops_per_token(
        _matmul_params(job), attention, job.method, "none", _lora_active(job))


# ---------------------------------------------------------------- model states
@dataclass(slots=True)
class ModelStates:
    """Model-state bytes on one GPU of the heaviest stage, and the parameter counts the
    step time needs. Mutable, built positionally (keywords cost more than the arithmetic):
    ``model_states`` fills it in steps and nothing keeps it."""

    weights: float  # on the GPU: stored parameters, ZeRO-3 working set, dequantization buffer
    gradients: float
    optimizer: float
    host: float  # bytes CPU offload (or a paged optimizer) puts in host memory
    stored_weights: float  # this GPU's parameters as stored (what parameter offload fetches)
    unsharded_weights: float  # the stage's parameters on one TP rank, unpartitioned
    trained_dense: float  # trained parameters on this GPU outside routed experts, before ZeRO
    trained_routed: float  # trained parameters of routed experts, before ZeRO
    gather_dense: float  # bytes of the dense parameters a ZeRO-3 all-gather assembles
    gather_routed: float  # bytes of the routed experts' parameters it assembles
    linear_params: float  # linear weights on this GPU (QLoRA dequantizes them per matmul)
    expert_data_parallel: int  # ranks ZeRO partitions routed experts over, dp x cp / ep
    shard: int  # ranks ZeRO partitions the rest over: dp x cp, or the HSDP group
    paged: float = 0.0  # bytes of a paged optimizer's state spilled to the host


def _zero_states(base: TrainBase, dense: float, routed: float, shard: int, edp: int,
                 zero: int) -> tuple[float, float, float]:
    """ZeRO Table 1 for ``dense`` trained parameters over ``shard`` ranks and ``routed`` over
    the ``edp`` ranks holding the same experts: (weights, gradients, optimizer) bytes."""
    weights, gradients, optimizer = M.zero_model_states(dense, shard, zero, base.optimizer_bytes,
                                                        base.grad_bytes)
    if routed:
        w, g, o = M.zero_model_states(routed, edp, zero, base.optimizer_bytes, base.grad_bytes)
        weights, gradients, optimizer = weights + w, gradients + g, optimizer + o
    return weights, gradients, optimizer


def _full_states(base: TrainBase, layout: Layout, shard: int, edp: int, linear: float,
                 routed: float, other: float, embeddings: float) -> ModelStates:
    """Full training: every parameter trained, ZeRO Table 1 (routed experts over dp / ep)."""
    stage_params = linear + routed + other + embeddings
    trained_dense = stage_params - routed
    weights, gradients, optimizer = _zero_states(base, trained_dense, routed, shard, edp, layout.zero)
    return ModelStates(
        weights, gradients, optimizer, 0.0,
        weights,  # stored
        M.WEIGHT_TRAIN_BYTES * stage_params,  # unsharded
        trained_dense,
        routed,  # trained routed
        # a ZeRO-3 all-gather assembles the stage's 16-bit parameters on one TP rank
        M.WEIGHT_TRAIN_BYTES * trained_dense,
        M.WEIGHT_TRAIN_BYTES * routed,
        linear + routed,
        edp,
        shard,
    )


def _adapter_states(base: TrainBase, layout: Layout, shard: int, edp: int, linear: float,
                    routed: float, other: float, embeddings: float) -> ModelStates:
    """LoRA / QLoRA: a frozen base at its stored precision, ZeRO Table 1 for the adapters."""
    tp = layout.tp
    share = (-(-base.layers // layout.pp)) / base.layers  # ceil(L/p) layers of L
    trained_dense = base.lora_dense * share / tp
    # adapters on routed experts live with their experts: divided by ep as well, and
    # ZeRO-partitioned over the expert-data-parallel group like them
    trained_routed = base.lora_routed * share / (tp * layout.ep)
    adapters, gradients, optimizer = _zero_states(base, trained_dense, trained_routed, shard, edp,
                                                  layout.zero)
    frozen_dense = linear * base.frozen_linear_bytes + (other + embeddings) * base.frozen_other_bytes
    frozen_experts = routed * base.frozen_linear_bytes
    frozen = frozen_dense + frozen_experts
    unsharded = frozen + M.WEIGHT_TRAIN_BYTES * (trained_dense + trained_routed)
    if layout.zero >= 3:
        frozen = frozen_dense / shard + frozen_experts / edp
    stored = frozen + adapters
    weights = stored
    if base.dequantize:
        # one dequantized bf16 copy of the matrix being multiplied
        weights += 2.0 * base.stage.counts.largest_linear / tp
    return ModelStates(
        weights, gradients, optimizer, 0.0,
        stored,
        unsharded,
        trained_dense,
        trained_routed,
        # frozen weights travel at their stored precision, adapters in 16 bit
        frozen_dense + M.WEIGHT_TRAIN_BYTES * trained_dense,
        frozen_experts + M.WEIGHT_TRAIN_BYTES * trained_routed,
        linear + routed,
        edp,
        shard,
    )


def model_states(base: TrainBase, layout: Layout) -> ModelStates:
    """Weights, gradients and optimizer states on one GPU of the heaviest stage, with the
    ZeRO-3 working set and CPU offload applied (docs/estimation.md sec 3)."""
    linear, routed, other, embeddings = base.stage.params_per_gpu(layout.tp, layout.pp, layout.ep)
    # ZeRO partitions over the dp x cp ranks of a stage (Megatron's data-parallel group with
    # context parallelism), or over the HSDP group; expert-parallel groups form across them,
    # so dp x cp / ep ranks hold the same experts (DeepSpeed-MoE's expert-data-parallel group)
    shard = C.shard_size(layout)
    edp = max(1, layout.dp // layout.ep) * layout.cp
    if base.job.method == "full":
        states = _full_states(base, layout, shard, edp, linear, routed, other, embeddings)
    else:
        states = _adapter_states(base, layout, shard, edp, linear, routed, other, embeddings)
    # ZeRO-3 gathers each layer's parameters, as stored, and prefetches the next: two live
    working_set = 2.0 * base.layer_stored_bytes / layout.tp
    if layout.zero >= 3 and shard > 1:
        states.weights = min(states.unsharded_weights, states.weights + working_set)
    if layout.offload != "none":
        # ZeRO-Offload: optimizer states and gradients live in host memory, the update runs
        # on the CPU (DeepSpeed's estimate_zero2/zero3_model_states_mem_needs with
        # cpu_offload: only the 16-bit parameters, and ZeRO-3's largest-layer buffer, stay)
        states.host = states.optimizer + states.gradients
        states.optimizer = states.gradients = 0.0
        if layout.offload == "all":
            # ZeRO-Infinity parameter offload: parameters too, a working set stays on the GPU
            states.host += states.weights
            states.weights = min(states.weights, working_set)
    return states


# ---------------------------------------------------------------- activations
def train_activation_bytes(base: TrainBase, layout: Layout, micro_batches: int) -> float:
    """Activation bytes on the heaviest pipeline stage (first or last).

    Per-layer terms are linear in the micro-batch, so ``train_base`` keeps them for
    one sequence (``activation_terms``) and this scales and divides them; context
    parallelism gives each GPU 1/cp of every sequence.
    """
    tp, pp, sp = layout.tp, layout.pp, layout.sp
    sequences = layout.micro_batch / layout.cp
    kept, split = base.activation_terms[(layout.flash_attention, layout.recompute == "selective")]
    # Korthikanti Table 2: sequence parallelism splits the terms TP keeps whole
    layer = sequences * ((kept + split) / tp if sp else kept + split / tp)
    lora = sequences * base.lora_activations
    if layout.recompute == "full":
        # only the layer input stays per layer ...
        per_layer = sequences * base.layer_input / (tp if sp else 1)
        # ... and the layer being recomputed holds its full activations during its backward
        recomputed = layer + lora
    else:
        per_layer = layer + lora
        recomputed = 0.0
    stage_layers = -(-base.layers // pp)  # ceil(L/p) on the largest stage
    logits = sequences * base.logits / tp  # vocab-parallel over TP
    token_ids = sequences * base.token_ids
    if pp == 1:
        return per_layer * stage_layers + recomputed + token_ids + logits
    # 1F1B's warm-up forwards min(pp, m) micro-batches through the first stage before its
    # first backward (Narayanan 2021 sec 2.2); interleaving adds (1 + (p-1)/(p v))
    in_flight = min(pp, micro_batches) * M.interleave_factor(pp, layout.vpp)
    first = per_layer * stage_layers * in_flight + recomputed + token_ids * min(pp, micro_batches)
    last = per_layer * stage_layers + recomputed + logits
    return first if first > last else last


# ---------------------------------------------------------------- checks and traffic
def _check_train_layout(base: TrainBase, layout: Layout, micro_batches: int) -> None:
    """ValueError for a layout no training estimate is defined for (the search never builds one)."""
    check_layout(layout)
    if layout.recompute == "selective" and base.job.stack != "megatron":
        raise ValueError("selective recomputation is Megatron's (stack = megatron)")
    if layout.vpp == 1 and not layout.shard:
        return
    stage_layers = -(-base.layers // layout.pp)
    if not T.interleaving_ok(layout.pp, micro_batches, layout.vpp, stage_layers):
        raise ValueError(f"vpp = {layout.vpp} needs pp > 1, micro-batches ({micro_batches}) a "
                         f"multiple of pp = {layout.pp} and to divide the {stage_layers} layers "
                         "of a stage")
    if layout.shard and (layout.zero < 3 or (layout.dp * layout.cp) % layout.shard):
        raise ValueError(f"shard = {layout.shard} needs ZeRO-3 and must divide dp x cp")


def _micro_batches(job: TrainJob, layout: Layout) -> int:
    return -(-job.global_batch // (layout.dp * layout.micro_batch))


def step_traffic(job: TrainJob, layout: Layout, gpu: GpuSpec) -> StepTraffic:
    """Bytes one GPU of ``layout`` sends per optimizer step, by collective, and how many of
    them leave its node: the traffic ``step_time`` times, for sizing the network."""
    base = train_base(job, gpu)
    micro_batches = _micro_batches(job, layout)
    _check_train_layout(base, layout, micro_batches)
    gradients, gathers, tensor, experts, pipeline, context = traffic(
        base, layout, model_states(base, layout), micro_batches)
    per_step = (gradients, gathers, tensor, experts, pipeline, context)
    scale = (1, micro_batches, 1, 1, 1, 1)  # the gathers are one micro-batch's
    return StepTraffic(
        gradients=gradients.sent, param_gathers=gathers.sent * micro_batches, tensor=tensor.sent,
        experts=experts.sent, pipeline=pipeline.sent, context=context.sent,
        inter_node=sum(c.inter * k for c, k in zip(per_step, scale)),
    )


# ---------------------------------------------------------------- the estimate
def _paged_spill(base: TrainBase, states: ModelStates, activations: float, overhead: float) -> None:
    """A paged optimizer (bitsandbytes, CUDA unified memory) keeps its state on the GPU while
    it fits and pages the rest to the host (QLoRA sec 3): spill what does not fit."""
    if not base.job.optimizer.startswith("paged"):
        return
    total = states.weights + states.gradients + states.optimizer + activations + overhead
    over = total - base.gpu.train_usable_bytes
    if over > 0:
        spill = min(states.optimizer, over)
        states.optimizer -= spill
        states.host += spill
        states.paged = spill


def _memory(base: TrainBase, layout: Layout, micro_batches: int) -> tuple[ModelStates, Memory]:
    """The model states (a paged optimizer's spill applied) and the memory per GPU."""
    _check_train_layout(base, layout, micro_batches)
    states = model_states(base, layout)
    return states, memory_of(base, states, train_activation_bytes(base, layout, micro_batches))


def activation_overhead(activations: float) -> float:
    """The CUDA context and the allocator's reserve beside ``activations`` bytes."""
    return M.CUDA_CONTEXT_BYTES + M.ALLOCATOR_RESERVE_FRACTION * activations


def memory_of(base: TrainBase, states: ModelStates, activations: float) -> Memory:
    """The memory per GPU of ``states`` and ``activations``; applies a paged optimizer's
    spill to ``states``."""
    overhead = activation_overhead(activations)
    _paged_spill(base, states, activations, overhead)
    return build(
        Memory,
        weights=int(states.weights),
        gradients=int(states.gradients),
        optimizer=int(states.optimizer),
        activations=int(activations),
        kv_cache=0,
        overhead=int(overhead),
        host=int(states.host),
    )


def evaluate_train(job: TrainJob, layout: Layout, gpu: GpuSpec,
                   known: tuple | None = None) -> TrainEstimate:
    """Per-GPU memory and run time of ``job`` laid out as ``layout`` on ``gpu``s. ``known``:
    the model states (a paged optimizer's spill applied), the memory and the traffic
    (``train_time.traffic``) of ``layout`` on ``gpu`` for a job that differs from ``job``
    in its tokens alone, taken as they are (none of them reads the tokens:
    ``train_base`` derives ``steps`` alone from them)."""
    base = train_base(job, gpu)
    micro_batches = _micro_batches(job, layout)  # per step
    comms = None
    if known is None:
        states, memory = _memory(base, layout, micro_batches)
    else:
        states, memory, comms = known
    flops = job.tokens * base.flops_per_token[layout.recompute]
    compute, communication, bubble = step_time(base, layout, states, micro_batches, job.tokens,
                                               comms)
    return build(
        TrainEstimate,
        memory=memory,
        gpus=layout.gpus,
        flops=flops,
        compute_seconds=compute,
        communication_seconds=communication,
        bubble_seconds=bubble,
    )
