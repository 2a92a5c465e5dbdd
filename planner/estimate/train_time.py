"""Training step time: compute, communication by collective, pipeline bubble, CPU offload
(docs/estimation.md sec 5).

``traffic`` gives, per kind of collective, the bytes one GPU sends per step, the seconds
they take on the layout's groups (``collectives``) and the bytes that leave the GPU's node;
``step_time`` applies the overlap rules to the seconds and adds compute, the bubble and the
offload transfers. The host network (``planner.estimate.host``) sums the bytes that leave.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from planner.estimate import collectives as C
from planner.estimate import efficiency as E
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
# Context parallelism gathers the keys and values of the sequence before each attention
# forward and again in the backward, and reduce-scatters their gradients (Megatron-Core
# docs/user-guide/features/context_parallel.md): 3 collectives per layer, one more when the
# attention is recomputed (full or selective).
CP_COLLECTIVES = {"none": 3, "selective": 4, "full": 4}
# Data-parallel gradients are reduced in buckets of 25 MB (PyTorch DDP ``bucket_cap_mb``
# default; Li et al. 2020 sec 3.2.3): one collective's latency per bucket.
GRADIENT_BUCKET_BYTES = 25e6


class Comm(NamedTuple):
    """One kind of collective in a step: bytes a GPU sends, seconds, bytes leaving the node."""

    sent: float = 0.0
    seconds: float = 0.0
    inter: float = 0.0


_NONE = Comm()
_new = tuple.__new__  # builds a Comm without NamedTuple's keyword handling (hot path)


def _ring(sent: float, seconds: float, link: C.Link) -> Comm:
    return _new(Comm, (sent, seconds, sent * link.share))


def _gather(total: float, link: C.Link, count: float) -> tuple[float, float]:
    """(bytes sent, seconds) of ``count`` all-gathers (or reduce-scatters) that gather
    ``total`` bytes between them."""
    sent = (link.size - 1) / link.size * total
    return sent, count * link.gather_latency + sent / link.busbw


def _allreduce(total: float, link: C.Link, count: float) -> tuple[float, float]:
    """(bytes sent, seconds) of ``count`` all-reduces of ``total`` bytes between them."""
    sent = 2.0 * (link.size - 1) / link.size * total
    return sent, count * link.allreduce_latency + sent / link.busbw


def _add(a: Comm, sent: float, seconds: float, share: float) -> Comm:
    return _new(Comm, (a[0] + sent, a[1] + seconds, a[2] + sent * share))


def _buckets(nbytes: float) -> float:
    return max(1.0, -(-nbytes // GRADIENT_BUCKET_BYTES))


def _gradients(base: TrainBase, layout: Layout, states: ModelStates, L: C.Groups) -> Comm:
    """The step's gradient reduction: all-reduce (ZeRO 0-2), or ZeRO-3's reduce-scatter in
    the partition group (one per layer) and, under HSDP, an all-reduce of the shard across
    the replicas."""
    if L.data.size <= 1:
        return _NONE
    dense = base.grad_bytes * states.trained_dense
    routed = base.grad_bytes * states.trained_routed
    if layout.zero >= 3:
        layers = -(-base.layers // layout.pp)
        comm = _ring(*_gather(dense, L.shard, layers), L.shard)
        if L.replica.size > 1:
            part = dense / L.shard.size
            comm = _add(comm, *_allreduce(part, L.replica, _buckets(part)), L.replica.share)
        if routed and L.expert_data.size > 1:
            comm = _add(comm, *_gather(routed, L.expert_data, layers), L.expert_data.share)
        return comm
    comm = _ring(*_allreduce(dense, L.data, _buckets(dense)), L.data)
    if routed and L.expert_data.size > 1:
        comm = _add(comm, *_allreduce(routed, L.expert_data, _buckets(routed)), L.expert_data.share)
    return comm


def _gathers(base: TrainBase, layout: Layout, states: ModelStates, L: C.Groups) -> Comm:
    """ZeRO-3 parameter all-gathers of one micro-batch: each layer in every pass."""
    if layout.zero < 3 or L.data.size <= 1:
        return _NONE
    passes = WEIGHT_PASSES[layout.recompute]
    count = passes * -(-base.layers // layout.pp)
    comm = _ring(*_gather(passes * states.gather_dense, L.shard, count), L.shard)
    if states.gather_routed and L.expert_data.size > 1:
        comm = _add(comm, *_gather(passes * states.gather_routed, L.expert_data, count),
                    L.expert_data.share)
    return comm


def traffic(base: TrainBase, layout: Layout, states: ModelStates,
            micro_batches: int) -> tuple[Comm, Comm, Comm, Comm, Comm, Comm]:
    """Per step, by kind: (gradients, ZeRO-3 gathers of one micro-batch, TP, EP, PP, CP);
    the in-stage kinds (TP, EP, CP) and the pipeline for the whole step."""
    L = base.links(layout)
    tp, pp, m = layout.tp, layout.pp, micro_batches
    stage_layers = -(-base.layers // pp)
    tokens = layout.micro_batch * base.job.seq_len / layout.cp  # of a micro-batch on one GPU
    hidden_states = 2.0 * tokens * base.job.arch.hidden  # one micro-batch's 16-bit hidden states
    gradients = _gradients(base, layout, states, L)
    gathers = _gathers(base, layout, states, L)
    tensor = experts = pipeline = context = _NONE
    if tp > 1:
        count = TP_ALLREDUCES[layout.recompute] * stage_layers * m
        link = L.tensor
        sent = count * 2.0 * (tp - 1) / tp * hidden_states
        if layout.sp:  # a reduce-scatter and an all-gather for each all-reduce, same volume
            seconds = 2 * count * link.gather_latency + sent / link.busbw
        else:
            seconds = count * link.allreduce_latency + sent / link.busbw
        tensor = _ring(sent, seconds, link)
    arch = base.job.arch
    if layout.ep > 1 and arch.is_moe:
        count = EP_ALLTOALLS[layout.recompute] * -(-(arch.layers - arch.dense_layers) // pp) * m
        sent = count * T.expert_alltoall_bytes(tokens, arch.experts_per_token, arch.hidden, layout.ep)
        link = L.expert
        experts = _new(Comm, (sent, count * link.a2a_latency + sent / link.a2a_busbw,
                              sent * link.a2a_share))
    if layout.cp > 1:
        count = CP_COLLECTIVES[layout.recompute] * stage_layers * m
        split = 1 if arch.is_mla else tp  # the latent is not split by heads
        gathered = base.kv_bytes_per_token / split * tokens * layout.cp
        context = _ring(*_gather(count * gathered, L.context, count), L.context)
    if pp > 1:
        # activations forward and their gradients backward at each of the v chunk boundaries,
        # split over TP (Megatron's scatter/gather of the boundary tensors, Narayanan 2021 sec 4.1)
        count = 2.0 * layout.vpp * m
        sent = count * hidden_states / tp
        link = L.pipeline
        pipeline = _ring(sent, count * link.p2p_latency + sent / link.busbw, link)
    return gradients, gathers, tensor, experts, pipeline, context


def _offload_seconds_per_step(base: TrainBase, layout: Layout, states: ModelStates,
                              micro_batches: int, micro_compute: float) -> float:
    """Host-link traffic and the CPU optimizer step of ZeRO-Offload / ZeRO-Infinity."""
    seconds = 0.0
    if layout.offload != "none":
        if layout.zero >= 1:  # the optimizer state of this GPU's ZeRO partition
            optimizer_params = states.trained_dense / states.shard \
                + states.trained_routed / states.expert_data_parallel
        else:
            optimizer_params = states.trained_dense + states.trained_routed
        # gradients leave while the last micro-batch's backward runs
        seconds = T.optimizer_offload_seconds(optimizer_params, M.GRAD_BYTES, M.WEIGHT_TRAIN_BYTES,
                                              base.host_link, T.BACKWARD_SHARE * micro_compute)
        if layout.offload == "all":
            seconds += micro_batches * T.param_offload_seconds(
                states.stored_weights, WEIGHT_PASSES[layout.recompute], base.host_link)
    if states.paged:
        # a paged optimizer's spilled state comes in for the update and goes out again
        seconds += 2.0 * states.paged / base.host_link
    return seconds


def compute_seconds(base: TrainBase, layout: Layout, flops_tokens: float,
                    lin_rate: float | None = None) -> float:
    """Seconds of matmuls, attention and unfused softmax traffic for ``flops_tokens`` tokens
    on the layout's GPUs, at the pace of the largest pipeline stage. ``lin_rate`` replaces
    the linear layers' FLOP/s of the layout's micro-batch (``train_floor`` bounds with it:
    the micro-batch enters the result through that rate alone)."""
    job = base.job
    tokens_mb = layout.micro_batch * job.seq_len / layout.cp
    rate, core_rate = base.rates(tokens_mb, layout.tp, layout.ep, layout.flash_attention)
    if lin_rate is None:
        lin_rate = rate
    mode = layout.recompute
    per_token = base.flops_linear[mode] / lin_rate + base.flops_core[mode] / core_rate
    # memory-bound kernels: summed over the GPUs of a TP group, the hidden-state ones run on
    # every TP rank unless sequence parallelism splits them
    hidden, split = base.elementwise
    traffic_bytes = E.elementwise_passes(mode) * (hidden * (1 if layout.sp else layout.tp) + split) \
        + base.loss_bytes
    if not layout.flash_attention:
        traffic_bytes += base.score_elements * E.score_bytes(mode, job.dropout)
    per_token += traffic_bytes / base.hbm_rate
    seconds = flops_tokens * per_token / layout.gpus
    if layout.pp > 1:
        # stages run in lock-step: ceil(L/p) layers on the largest instead of L/p
        seconds *= -(-base.layers // layout.pp) * layout.pp / base.layers
    return seconds


def dequantize_seconds(base: TrainBase, layout: Layout, states: ModelStates) -> float:
    """Seconds per micro-batch bitsandbytes spends dequantizing each whole weight to bf16 in
    every pass (read 4-bit, write and read 16-bit); 0 without a quantized base."""
    if not base.dequantize:
        return 0.0
    return WEIGHT_PASSES[layout.recompute] * states.linear_params \
        * (base.frozen_linear_bytes + 2.0 * 2.0) / base.gpu.hbm_bytes_per_s


def step_time(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
              tokens: float, comms: tuple | None = None) -> tuple[float, float, float]:
    """(compute, exposed communication, pipeline bubble) seconds of the whole run; ``comms``:
    ``traffic``'s answer for these arguments, when already known."""
    compute, micro_compute = step_compute(base, layout, states, micro_batches, tokens)
    return timed_step(base, layout, states, micro_batches, compute, micro_compute,
                      T.bubble_fraction(layout.pp, micro_batches, layout.vpp), comms)


def step_compute(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
                 tokens: float) -> tuple[float, float]:
    """(compute seconds of the run, of one micro-batch): ``step_time``'s first part. Of the
    states it reads ``linear_params`` alone (dequantization)."""
    steps = base.steps
    compute = compute_seconds(base, layout, tokens)
    if base.dequantize:
        compute += dequantize_seconds(base, layout, states) * micro_batches * steps
    step_compute = compute / steps if steps > 0 else 0.0
    return compute, step_compute / micro_batches


def timed_step(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
               compute: float, micro_compute: float, bubble_fraction: float,
               comms: tuple | None = None) -> tuple[float, float, float]:
    """``step_time`` from the run's compute seconds, one micro-batch's and the bubble
    fraction. Every term is nonnegative, nondecreasing in ``compute``, ``micro_batches``
    (at a fixed micro-batches x micro-batch: the collectives' counts) and
    ``bubble_fraction``, and nonincreasing in ``micro_compute`` (what hides communication):
    ``train_floor`` relies on it to bound the time of several micro-batch sizes at once."""
    communication, bubble = exposed_step(base, layout, states, micro_batches, compute,
                                         micro_compute, bubble_fraction, comms)
    return offloaded_step(base, layout, states, micro_batches, compute, micro_compute,
                          communication, bubble)


def exposed_step(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
                 compute: float, micro_compute: float, bubble_fraction: float,
                 comms: tuple | None = None) -> tuple[float, float]:
    """``timed_step``'s first part: (exposed communication seconds per step before CPU
    offload, the run's bubble). It reads of the layout what ``traffic`` reads, of the
    states the parameter counts ``traffic`` sends (trained and gathered, dense and routed):
    neither offload nor a ZeRO stage below 3 (``train_probe`` and ``train_floor`` share it
    between the layouts that differ in those alone). ``comms``: ``traffic``'s answer, when
    already known (it reads neither the tokens nor the steps)."""
    pp = layout.pp
    if comms is None:
        comms = traffic(base, layout, states, micro_batches)
    gradients, gathers, tensor, experts, pipeline, context = comms
    communication = 0.0  # exposed seconds per step
    if layout.zero >= 3:
        # each micro-batch's gathers hide behind its compute (prefetch) but for the excess;
        # the gradient reduction runs in the last micro-batch's backward
        communication += T.zero3_exposed_seconds(gathers.seconds, gradients.seconds,
                                                 micro_compute, micro_batches)
    else:
        # bucketed reduction overlaps the last micro-batch's backward: only the excess shows
        communication += max(0.0, gradients.seconds - T.BACKWARD_SHARE * micro_compute)
    # TP, EP and CP collectives sit inside each stage's passes (not overlapped), so they
    # lengthen the pipeline bubble too
    in_stage = tensor.seconds + experts.seconds + context.seconds
    communication += in_stage
    bubble = 0.0
    if pp > 1:
        communication += pipeline.seconds
        # the bubble idles p - 1 stage passes of compute and in-stage communication per wave
        bubble = (compute + in_stage * base.steps) * bubble_fraction
    return communication, bubble


def offloaded_step(base: TrainBase, layout: Layout, states: ModelStates, micro_batches: int,
                   compute: float, micro_compute: float, communication: float, bubble: float,
                   ) -> tuple[float, float, float]:
    """``timed_step``'s last part: ``exposed_step``'s communication with the CPU offload's
    transfers added, over the run."""
    communication += _offload_seconds_per_step(base, layout, states, micro_batches, micro_compute)
    return compute, communication * base.steps, bubble
