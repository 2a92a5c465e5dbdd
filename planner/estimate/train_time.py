"""Training step time: compute, communication by collective, pipeline bubble, CPU offload
(docs/estimation.md sec 5).

``traffic`` gives the bytes one GPU sends per step by collective; ``step_time`` divides
them by the bandwidth the placement rule (``groups_across_nodes``) gives each, applies
the overlap rules, and adds the bubble and the offload transfers. The host network
(``planner.estimate.host``) sums the same bytes over what crosses nodes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.estimate import memory as M
from planner.estimate import timing as T
from planner.estimate.types import Layout

if TYPE_CHECKING:  # annotations only: train.py imports this module
    from planner.estimate.train import ModelStates, TrainBase

RECOMPUTE_MODES = ("none", "selective", "full")
# Per micro-batch, by recompute mode: passes over the weights (forward, backward, and the
# recomputed forward of full recomputation), as ZeRO-3 gathers, parameter offload and
# QLoRA dequantization make them; TP all-reduces and EP all-to-alls per layer (timing.py).
_REDONE = {"none": 0, "selective": 0, "full": 1}
WEIGHT_PASSES = {m: T.ZERO3_GATHERS + T.ZERO3_GATHERS_RECOMPUTE * _REDONE[m] for m in RECOMPUTE_MODES}
TP_ALLREDUCES = {m: T.TP_ALLREDUCES_PER_LAYER + T.TP_ALLREDUCES_RECOMPUTE * _REDONE[m] for m in RECOMPUTE_MODES}
EP_ALLTOALLS = {m: T.EP_ALLTOALLS_PER_LAYER + T.EP_ALLTOALLS_RECOMPUTE * _REDONE[m] for m in RECOMPUTE_MODES}


def groups_across_nodes(layout: Layout, gpus_per_node: int) -> tuple[bool, bool, bool, bool]:
    """Which collective groups span nodes, (data, tensor, expert, pipeline): the placement
    rule of docs/estimation.md sec 5 (TP innermost, then EP and DP, PP outermost)."""
    tp = layout.tp
    return (tp * layout.dp > gpus_per_node, tp > gpus_per_node, tp * layout.ep > gpus_per_node,
            tp * layout.pp * layout.dp > gpus_per_node)


def traffic(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
            virtual: int) -> tuple[float, float, float, float, float]:
    """Bytes one GPU sends per step: (gradients, ZeRO-3 parameter gathers, TP all-reduces,
    EP all-to-alls, pipeline boundaries); ``virtual`` pipeline chunks per GPU."""
    tp, pp, dp = layout.tp, layout.pp, layout.dp
    gradients = gathers = tensor = experts = pipeline = 0.0
    if dp > 1:
        expert_data_parallel = states.expert_data_parallel
        if layout.zero >= 3:
            # one reduce-scatter of the gradients per step; the parameters gathered in
            # every pass of every micro-batch
            gradients = T.ring_allgather_bytes(M.GRAD_BYTES * states.trained_dense, dp)
            if states.trained_routed:
                gradients += T.ring_allgather_bytes(M.GRAD_BYTES * states.trained_routed,
                                                    expert_data_parallel)
            gathers = micro_batches * T.zero3_gather_bytes(
                states.gather_dense, states.gather_routed, dp, expert_data_parallel,
                WEIGHT_PASSES[layout.recompute])
        else:
            # one all-reduce of the accumulated gradients per step; routed experts'
            # gradients are averaged only over the dp / ep ranks holding the same experts
            gradients = T.ring_allreduce_bytes(M.GRAD_BYTES * states.trained_dense, dp)
            if states.trained_routed:
                gradients += T.ring_allreduce_bytes(M.GRAD_BYTES * states.trained_routed,
                                                    expert_data_parallel)
    # one micro-batch's 16-bit hidden states, 2sbh
    hidden_states = base.layer_input * layout.micro_batch
    if tp > 1:
        tensor = TP_ALLREDUCES[layout.recompute] * (-(-base.layers // pp)) * micro_batches \
            * T.ring_allreduce_bytes(hidden_states, tp)
    arch = base.job.arch
    if layout.ep > 1 and arch.is_moe:
        moe_layers = -(-(arch.layers - arch.dense_layers) // pp)  # on the largest stage
        experts = EP_ALLTOALLS[layout.recompute] * moe_layers * micro_batches * T.expert_alltoall_bytes(
            base.job.seq_len * layout.micro_batch, arch.experts_per_token, arch.hidden, layout.ep)
    if pp > 1:
        # activations forward and their gradients backward at each of the v chunk boundaries
        pipeline = 2.0 * virtual * micro_batches * (hidden_states / tp)
    return gradients, gathers, tensor, experts, pipeline


def _offload_seconds_per_step(base: TrainBase, layout: Layout, states: ModelStates,
                              micro_batches: int, micro_compute: float) -> float:
    """Host-link traffic and the CPU optimizer step of ZeRO-Offload / ZeRO-Infinity."""
    if layout.zero >= 1:  # the optimizer state of this GPU's ZeRO partition
        optimizer_params = states.trained_dense / layout.dp \
            + states.trained_routed / states.expert_data_parallel
    else:
        optimizer_params = states.trained_dense + states.trained_routed
    # gradients leave while the last micro-batch's backward runs
    seconds = T.optimizer_offload_seconds(optimizer_params, M.GRAD_BYTES, M.WEIGHT_TRAIN_BYTES,
                                          base.host_link, T.BACKWARD_SHARE * micro_compute)
    if layout.offload == "all":
        seconds += micro_batches * T.param_offload_seconds(
            states.stored_weights, WEIGHT_PASSES[layout.recompute], base.host_link)
    return seconds


def step_time(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
              flops: float) -> tuple[float, float, float]:
    """(compute, exposed communication, pipeline bubble) seconds of the whole run."""
    pp = layout.pp
    steps = base.steps
    # matmul time at the GPU's utilization
    compute = flops / (layout.tp * pp * layout.dp * base.peak * base.utilization)
    virtual = 1  # pipeline chunks per GPU
    if pp > 1:
        stage_layers = -(-base.layers // pp)
        # stages run in lock-step: ceil(L/p) layers on the largest instead of L/p
        compute *= stage_layers * pp / base.layers
        virtual = T.virtual_stages(pp, micro_batches, stage_layers)
    if base.dequantize:
        # bitsandbytes dequantizes each whole weight to bf16 in every pass (read 4-bit,
        # write and read 16-bit)
        dequantize_seconds = WEIGHT_PASSES[layout.recompute] * states.linear_params \
            * (base.frozen_linear_bytes + 2.0 * 2.0) / base.gpu.hbm_bytes_per_s
        compute += dequantize_seconds * micro_batches * steps
    step_compute = compute / steps if steps > 0 else 0.0
    micro_compute = step_compute / micro_batches
    gradients, gathers, tensor, experts, pipeline = traffic(base, layout, states, micro_batches, virtual)
    gpu = base.gpu
    intra, inter = gpu.intra_node_bytes_per_s, gpu.inter_node_bytes_per_s
    data_across, tensor_across, expert_across, pipeline_across = groups_across_nodes(
        layout, gpu.gpus_per_node)
    communication = 0.0  # exposed seconds per step
    if layout.dp > 1:
        bandwidth = inter if data_across else intra
        if layout.zero >= 3:
            # each micro-batch's gathers hide behind its compute (prefetch) but for the excess
            communication += T.zero3_exposed_seconds(
                gathers / micro_batches / bandwidth, gradients / bandwidth, micro_compute, micro_batches)
        else:
            # bucketed all-reduce overlaps the backward pass: only the excess shows
            communication += max(0.0, gradients / bandwidth - T.BACKWARD_SHARE * step_compute)
    # TP and EP collectives sit inside each stage's passes (not overlapped), so they
    # lengthen the pipeline bubble too
    in_stage = tensor / (inter if tensor_across else intra) if tensor else 0.0
    if experts:
        in_stage += experts / (inter if expert_across else intra)
    communication += in_stage
    bubble = 0.0
    if pp > 1:
        communication += pipeline / (inter if pipeline_across else intra)
        # the bubble idles p - 1 stage passes of compute and in-stage communication per wave
        bubble = (compute + in_stage * steps) * T.bubble_fraction(pp, micro_batches, virtual)
    if layout.offload != "none":
        communication += _offload_seconds_per_step(base, layout, states, micro_batches, micro_compute)
    return compute, communication * steps, bubble
