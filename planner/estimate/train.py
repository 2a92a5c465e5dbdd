"""Training: memory per GPU and run time of a layout (docs/estimation.md sec 3 and 5).

``evaluate_train`` runs three named steps over what one (job, GPU) pair shares
(``train_base``, computed once and cached, so that a layout costs a few dozen float
operations): the model states a GPU holds (``model_states``), the activations of its
stage (``train_activation_bytes``) and the time of the run (``train_time.step_time``).
``step_traffic`` gives the bytes per step by collective that the step time is timed
from, for sizing the host network (``planner.estimate.host``).
"""

from __future__ import annotations

from dataclasses import dataclass

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
from planner.estimate.train_time import RECOMPUTE_MODES, groups_across_nodes, step_time, traffic
from planner.estimate.types import GpuSpec, Layout, Memory, StepTraffic, TrainEstimate, TrainJob



# ---------------------------------------------------------------- per (job, GPU)
@dataclass(frozen=True)
class TrainBase:
    """What one (job, GPU) pair's training estimates share, whatever the layout."""

    job: TrainJob
    gpu: GpuSpec
    stage: HeaviestStage
    optimizer_bytes: float  # K: optimizer state bytes per trained parameter
    lora_dense: int  # trainable adapter parameters outside routed experts (0 for full)
    lora_routed: int  # trainable adapters on routed experts (they live with their experts)
    frozen_linear_bytes: float  # bytes per frozen linear weight (LoRA/QLoRA base)
    frozen_other_bytes: float  # bytes per frozen non-linear parameter
    dequantize: bool  # QLoRA-style: base weights dequantized to bf16 for every matmul
    flops_per_token: dict[str, float]  # by recompute mode
    peak: float  # bf16 FLOP/s
    utilization: float
    steps: float  # optimizer steps of the run (fractional for less than one global batch)
    layer_params: float  # mean parameters of one layer
    layers: int
    # activation terms of one sequence (micro-batch 1), bytes:
    activation_terms: dict[tuple[bool, bool], tuple[float, float]]  # (flash, selective) -> (kept, split)
    layer_input: float  # 2sh, what full recomputation keeps per layer
    lora_activations: float  # LoRA A-outputs per layer
    logits: float  # output-layer input and fp32 logits, before TP division
    token_ids: float
    host_link: float  # host <-> GPU bytes/s, one direction (CPU offload)


def _matmul_params(job: TrainJob) -> float:
    # matmul parameters per token: the input embedding is a lookup, not a matmul
    counts = param_counts(job.arch)
    return counts.active - counts.input_embedding


def _lora_active(job: TrainJob) -> float:
    # a token passes through the adapters of its experts_per_token experts only
    if job.method == "full":
        return 0.0
    return lora_active_params(job.arch, job.lora_rank, tuple(job.lora_targets))


def _activation_terms(job: TrainJob) -> dict[tuple[bool, bool], tuple[float, float]]:
    """Per-layer (kept whole, split by TP) activation bytes of one sequence, by (flash, selective)."""
    arch = job.arch
    ffn = arch.ffn
    if arch.is_moe:
        # per token: the dense MLP (leading layers) or the routed + shared experts it uses
        ffn = max(arch.ffn if arch.dense_layers else 0,
                  arch.expert_ffn * (arch.experts_per_token + arch.shared_experts))
    return {
        (flash, selective): M.layer_activation_terms(
            job.seq_len, 1, arch.hidden, arch.heads, ffn=ffn, kv_heads=arch.kv_heads,
            head_dim=arch.head_dim, gated=arch.gated_mlp,
            dropout=False,  # modern decoder LLMs train without dropout (attention_dropout 0.0)
            recompute="selective" if selective else "none", flash=flash,
        )
        for flash in (False, True)
        for selective in (False, True)
    }


@cached_per_job_and_gpu
def train_base(job: TrainJob, gpu: GpuSpec) -> TrainBase:
    arch = job.arch
    counts = param_counts(arch)
    if job.method not in ("full", "lora", "qlora"):
        raise ValueError(f"method must be full|lora|qlora, got {job.method!r}")
    optimizer_bytes = M.optimizer_state_bytes(job.optimizer)
    if job.method == "full":
        lora_dense = lora_routed = lora_width = 0
    else:
        targets = tuple(job.lora_targets)
        lora_dense, lora_routed = lora_param_split(arch, job.lora_rank, targets)
        lora_width = lora_intermediate_width(arch, job.lora_rank, targets)
    attention = T.attention_unit(arch.layers, attention_width(arch), job.seq_len)
    matmul_params, lora_active = _matmul_params(job), _lora_active(job)
    flops_per_token = {
        mode: T.train_flops_per_token(matmul_params, attention, job.method, mode, lora_active)
        for mode in RECOMPUTE_MODES
    }
    return TrainBase(
        job=job,
        gpu=gpu,
        stage=HeaviestStage(counts, arch.layers),
        optimizer_bytes=optimizer_bytes,
        lora_dense=lora_dense,
        lora_routed=lora_routed,
        frozen_linear_bytes=bytes_per_param(job.weights),
        frozen_other_bytes=unquantized_bytes(job.weights),
        dequantize=job.method != "full" and job.weights in ("nf4", "int4", "int8"),
        flops_per_token=flops_per_token,
        peak=gpu.bf16_flops,
        utilization=job.utilization if job.utilization is not None else gpu.train_utilization,
        steps=job.tokens / (job.global_batch * job.seq_len),
        layer_params=counts.layers_total / arch.layers,
        layers=arch.layers,
        activation_terms=_activation_terms(job),
        layer_input=2.0 * job.seq_len * arch.hidden,
        lora_activations=M.lora_layer_activation_bytes(job.seq_len, 1, lora_width),
        logits=M.logits_bytes(job.seq_len, 1, arch.hidden, arch.vocab, 1),
        token_ids=M.embedding_input_bytes(job.seq_len, 1),
        host_link=T.host_link_bytes_per_s(gpu.name),
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
    host: float  # bytes CPU offload puts in host memory
    stored_weights: float  # this GPU's parameters as stored (what parameter offload fetches)
    unsharded_weights: float  # the stage's parameters on one TP rank, unpartitioned
    trained_dense: float  # trained parameters on this GPU outside routed experts, before ZeRO
    trained_routed: float  # trained parameters of routed experts, before ZeRO
    gather_dense: float  # bytes of the dense parameters a ZeRO-3 all-gather assembles
    gather_routed: float  # bytes of the routed experts' parameters it assembles
    linear_params: float  # linear weights on this GPU (QLoRA dequantizes them per matmul)
    expert_data_parallel: int  # ranks ZeRO partitions routed experts over, dp / ep


def _full_states(base: TrainBase, zero: int, dp: int, expert_data_parallel: int, linear: float,
                 routed: float, other: float, embeddings: float) -> ModelStates:
    """Full training: every parameter trained, ZeRO Table 1 (routed experts over dp / ep)."""
    stage_params = linear + routed + other + embeddings
    trained_dense = stage_params - routed
    weights, gradients, optimizer = M.zero_model_states(trained_dense, dp, zero, base.optimizer_bytes)
    if routed:
        routed_weights, routed_gradients, routed_optimizer = M.zero_model_states(
            routed, expert_data_parallel, zero, base.optimizer_bytes)
        weights += routed_weights
        gradients += routed_gradients
        optimizer += routed_optimizer
    return ModelStates(
        weights,
        gradients,
        optimizer,
        0.0,  # host
        weights,  # stored
        M.WEIGHT_TRAIN_BYTES * stage_params,  # unsharded
        trained_dense,
        routed,  # trained routed
        # a ZeRO-3 all-gather assembles the stage's 16-bit parameters on one TP rank
        M.WEIGHT_TRAIN_BYTES * trained_dense,
        M.WEIGHT_TRAIN_BYTES * routed,
        linear + routed,
        expert_data_parallel,
    )


def _adapter_states(base: TrainBase, layout: Layout, expert_data_parallel: int, linear: float,
                    routed: float, other: float, embeddings: float) -> ModelStates:
    """LoRA / QLoRA: a frozen base at its stored precision, ZeRO Table 1 for the adapters."""
    tp, dp, zero = layout.tp, layout.dp, layout.zero
    share = (-(-base.layers // layout.pp)) / base.layers  # ceil(L/p) layers of L
    trained_dense = base.lora_dense * share / tp
    # adapters on routed experts live with their experts: divided by ep as well, and
    # ZeRO-partitioned over the expert-data-parallel group like them
    trained_routed = base.lora_routed * share / (tp * layout.ep)
    adapters, gradients, optimizer = M.zero_model_states(trained_dense, dp, zero, base.optimizer_bytes)
    if trained_routed:
        routed_adapters, routed_gradients, routed_optimizer = M.zero_model_states(
            trained_routed, expert_data_parallel, zero, base.optimizer_bytes)
        adapters += routed_adapters
        gradients += routed_gradients
        optimizer += routed_optimizer
    frozen_dense = linear * base.frozen_linear_bytes + (other + embeddings) * base.frozen_other_bytes
    frozen_experts = routed * base.frozen_linear_bytes
    frozen = frozen_dense + frozen_experts
    unsharded = frozen + M.WEIGHT_TRAIN_BYTES * (trained_dense + trained_routed)
    if zero >= 3:
        frozen = frozen_dense / dp + frozen_experts / expert_data_parallel
    stored = frozen + adapters
    weights = stored
    if base.dequantize:
        # one dequantized bf16 copy of the matrix being multiplied
        weights += 2.0 * base.stage.counts.largest_linear / tp
    return ModelStates(
        weights,
        gradients,
        optimizer,
        0.0,  # host
        stored,
        unsharded,
        trained_dense,
        trained_routed,
        # frozen weights travel at their stored precision, adapters in 16 bit
        frozen_dense + M.WEIGHT_TRAIN_BYTES * trained_dense,
        frozen_experts + M.WEIGHT_TRAIN_BYTES * trained_routed,
        linear + routed,
        expert_data_parallel,
    )


def model_states(base: TrainBase, layout: Layout) -> ModelStates:
    """Weights, gradients and optimizer states on one GPU of the heaviest stage, with the
    ZeRO-3 working set and CPU offload applied (docs/estimation.md sec 3)."""
    linear, routed, other, embeddings = base.stage.params_per_gpu(layout.tp, layout.pp, layout.ep)
    # expert-parallel groups form across DP ranks: dp / ep ranks hold the same experts
    # (DeepSpeed-MoE's expert-data-parallel group), so ZeRO shards routed experts over them
    expert_data_parallel = max(1, layout.dp // layout.ep)
    if base.job.method == "full":
        states = _full_states(base, layout.zero, layout.dp, expert_data_parallel,
                              linear, routed, other, embeddings)
    else:
        states = _adapter_states(base, layout, expert_data_parallel, linear, routed, other, embeddings)
    # ZeRO-3 gathers each layer's parameters and prefetches the next: two layers live
    working_set = 2.0 * M.WEIGHT_TRAIN_BYTES * base.layer_params / layout.tp
    if layout.zero >= 3 and layout.dp > 1:
        states.weights = min(states.unsharded_weights, states.weights + working_set)
    if layout.offload != "none":
        # ZeRO-Offload: the optimizer states live in host memory, the update runs on the CPU
        states.host = states.optimizer
        states.optimizer = 0.0
        if layout.offload == "all":
            # ZeRO-Infinity parameter offload: parameters too, a working set stays on the GPU
            states.host += states.weights
            states.weights = min(states.weights, working_set)
    return states


# ---------------------------------------------------------------- activations
def train_activation_bytes(base: TrainBase, layout: Layout, micro_batches: int) -> float:
    """Activation bytes on the heaviest pipeline stage (first or last).

    Per-layer terms are linear in the micro-batch, so ``train_base`` keeps them for
    one sequence (``activation_terms``) and this scales and divides them.
    """
    micro_batch, tp, pp = layout.micro_batch, layout.tp, layout.pp
    sequence_parallel = layout.sequence_parallel
    kept, split = base.activation_terms[(layout.flash_attention, layout.recompute == "selective")]
    # Korthikanti Table 2: sequence parallelism splits the terms TP keeps whole
    layer = micro_batch * ((kept + split) / tp if sequence_parallel else kept + split / tp)
    lora = micro_batch * base.lora_activations
    if layout.recompute == "full":
        # only the layer input stays per layer ...
        per_layer = micro_batch * base.layer_input / tp if sequence_parallel else micro_batch * base.layer_input
        # ... and the layer being recomputed holds its full activations during its backward
        recomputed = layer + lora
    else:
        per_layer = layer + lora
        recomputed = 0.0
    stage_layers = -(-base.layers // pp)  # ceil(L/p) on the largest stage
    logits = micro_batch * base.logits / tp  # vocab-parallel over TP
    token_ids = micro_batch * base.token_ids
    if pp == 1:
        return per_layer * stage_layers + recomputed + token_ids + logits
    # 1F1B's warm-up forwards min(pp, m) micro-batches through the first stage before its
    # first backward (Narayanan 2021 sec 2.2); interleaving adds (1 + (p-1)/(p v))
    virtual = T.virtual_stages(pp, micro_batches, stage_layers)
    in_flight = min(pp, micro_batches) * M.interleave_factor(pp, virtual)
    first = per_layer * stage_layers * in_flight + recomputed + token_ids * min(pp, micro_batches)
    last = per_layer * stage_layers + recomputed + logits
    return first if first > last else last


# ---------------------------------------------------------------- traffic
def step_traffic(job: TrainJob, layout: Layout, gpu: GpuSpec) -> StepTraffic:
    """Bytes one GPU of ``layout`` sends per optimizer step, by collective, and how many of
    them cross nodes: the traffic ``step_time`` times, for sizing the network."""
    check_layout(layout)
    base = train_base(job, gpu)
    micro_batches = -(-job.global_batch // (layout.dp * layout.micro_batch))
    virtual = T.virtual_stages(layout.pp, micro_batches, -(-base.layers // layout.pp))
    kinds = traffic(base, layout, model_states(base, layout), micro_batches, virtual)
    data, tensor, expert, pipeline = groups_across_nodes(layout, gpu.gpus_per_node)
    across = (data, data, tensor, expert, pipeline)
    return StepTraffic(*kinds, inter_node=sum((n for n, out in zip(kinds, across) if out), 0.0))


# ---------------------------------------------------------------- the estimate
def evaluate_train(job: TrainJob, layout: Layout, gpu: GpuSpec) -> TrainEstimate:
    """Per-GPU memory and run time of ``job`` laid out as ``layout`` on ``gpu``s."""
    check_layout(layout)
    base = train_base(job, gpu)
    states = model_states(base, layout)
    micro_batches = -(-job.global_batch // (layout.dp * layout.micro_batch))  # per step
    activations = train_activation_bytes(base, layout, micro_batches)
    memory = build(
        Memory,
        weights=int(states.weights),
        gradients=int(states.gradients),
        optimizer=int(states.optimizer),
        activations=int(activations),
        kv_cache=0,
        overhead=M.CUDA_CONTEXT_BYTES,
        host=int(states.host),
    )
    flops = job.tokens * base.flops_per_token[layout.recompute]
    compute, communication, bubble = step_time(base, layout, states, micro_batches, flops)
    return build(
        TrainEstimate,
        memory=memory,
        gpus=layout.tp * layout.pp * layout.dp,
        flops=flops,
        compute_seconds=compute,
        communication_seconds=communication,
        bubble_seconds=bubble,
    )
