"""Per-layout estimates: memory per GPU and time, for training and serving.

What does not depend on the layout is computed once per (job, gpu) and cached
(``_train_base`` / ``_serve_base``), so that ``evaluate_*`` is a few dozen
arithmetic operations: the search calls them for every candidate layout.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from planner.estimate import memory as M
from planner.estimate import timing as T
from planner.estimate.arch import (
    ParamCounts,
    lora_active_params,
    lora_intermediate_width,
    lora_param_split,
    param_counts,
)
from planner.estimate.precision import bytes_per_param, unquantized_bytes
from planner.estimate.types import (
    Arch,
    GpuSpec,
    Layout,
    Memory,
    ServeEstimate,
    ServeJob,
    TrainEstimate,
    TrainJob,
)

_CACHE_LIMIT = 4096


def _cached_per_job_and_gpu(build):
    """``build(job, gpu)`` memoised by the identity of its two arguments.

    The search asks for the same (job, gpu) base for every layout it tries. The entry
    keeps the job and the gpu themselves, so an id reused after garbage collection
    cannot return another object's base.
    """
    cache: dict[tuple[int, int], tuple] = {}

    def cached(job, gpu):
        key = (id(job), id(gpu))
        hit = cache.get(key)
        if hit is not None and hit[0] is job and hit[1] is gpu:
            return hit[2]
        base = build(job, gpu)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = (job, gpu, base)
        return base

    return functools.wraps(build)(cached)


def _build(cls, **fields):
    """An instance of a frozen dataclass from all of its fields, without its __init__.

    The search builds millions of estimates; a frozen dataclass's generated __init__
    sets each field through object.__setattr__, which costs more than the arithmetic
    of an estimate. Equality, hashing and repr still come from the fields.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def _attn_dim(a: Arch) -> int:
    """Width of the attention score/value products (H x Q of PaLM Appendix B)."""
    if a.is_mla:
        # QK^T over nope+rope dims, AV over v dims: their mean width per head
        return a.heads * (a.qk_nope_dim + a.qk_rope_dim + a.v_head_dim) // 2
    return a.heads * a.head_dim


_RECOMPUTE = frozenset(("none", "selective", "full"))
_OFFLOAD = frozenset(("none", "optimizer", "all"))


def _check_layout(layout: Layout) -> None:
    if (
        layout.recompute in _RECOMPUTE
        and layout.offload in _OFFLOAD
        and 0 <= layout.zero <= 3
        and layout.tp >= 1 and layout.pp >= 1 and layout.dp >= 1 and layout.ep >= 1
        and layout.micro_batch >= 1 and layout.replicas >= 1
    ):
        return
    if min(layout.tp, layout.pp, layout.dp, layout.ep, layout.micro_batch, layout.replicas) < 1:
        raise ValueError(f"layout degrees must be >= 1: {layout}")
    if layout.zero not in (0, 1, 2, 3):
        raise ValueError(f"zero must be 0..3, got {layout.zero}")
    if layout.recompute not in _RECOMPUTE:
        raise ValueError(f"recompute must be none|selective|full, got {layout.recompute!r}")
    if layout.offload not in _OFFLOAD:
        raise ValueError(f"offload must be none|optimizer|all, got {layout.offload!r}")


@dataclass(frozen=True)
class _Shard:
    """Parameters of the heaviest pipeline stage before TP/EP/DP division."""

    pc: ParamCounts
    layers: int

    def stage(self, tp: int, pp: int, ep: int) -> tuple[float, float, float, float]:
        """(layer linear, routed linear, layer other, embeddings) params on one GPU."""
        pc = self.pc
        share = (-(-self.layers // pp)) / self.layers
        lin = pc.layers_linear * share / tp
        routed = pc.routed_linear * share / (tp * ep)
        other = pc.layers_other * share / tp
        if pp == 1:
            emb = (pc.input_embedding + pc.head + pc.final_norm) / tp
        else:
            # first stage holds the input embedding, last the head (a copy when tied)
            emb = max(pc.input_embedding, pc.head or pc.input_embedding) / tp
        return lin, routed, other, emb


# ====================================================================== training
@dataclass(frozen=True)
class _TrainBase:
    job: TrainJob
    gpu: GpuSpec
    shard: _Shard
    k: float  # optimizer bytes per trained parameter
    lora: int  # trainable adapter parameters outside routed experts (0 for full)
    lora_routed: int  # trainable adapters on routed experts (they live with their experts)
    lora_width: int
    frozen_q: float  # bytes per frozen linear weight (LoRA/QLoRA base)
    frozen_o: float  # bytes per frozen non-linear parameter
    dequant: bool  # QLoRA-style: base weights dequantized for every matmul
    flops_per_token: dict[str, float]
    peak: float
    util: float
    steps: float
    layer_params: float  # mean parameters of one layer
    layers: int
    # activation terms for one sequence (micro-batch 1), bytes:
    act_terms: dict[tuple[bool, bool], tuple[float, float]]  # (flash, selective) -> (kept, split)
    layer_input: float  # 2sh, what full recomputation keeps per layer
    lora_act: float  # LoRA A-outputs per layer
    logits: float  # output-layer input and fp32 logits, before TP division
    ids: float  # token ids
    host_bw: float  # host <-> GPU bytes/s, one direction (CPU offload)
    notes: tuple[str, ...]


@_cached_per_job_and_gpu
def _train_base(job: TrainJob, gpu: GpuSpec) -> _TrainBase:
    a = job.arch
    pc = param_counts(a)
    if job.method not in ("full", "lora", "qlora"):
        raise ValueError(f"method must be full|lora|qlora, got {job.method!r}")
    k = M.optimizer_state_bytes(job.optimizer)
    notes: list[str] = []
    if job.method == "full":
        lora = lora_routed = width = 0
        lora_active = 0.0
    else:
        targets = tuple(job.lora_targets)
        lora, lora_routed = lora_param_split(a, job.lora_rank, targets)
        # a token passes through the adapters of its experts_per_token experts only
        lora_active = lora_active_params(a, job.lora_rank, targets)
        width = lora_intermediate_width(a, job.lora_rank, targets)
    dequant = job.method != "full" and job.weights in ("nf4", "int4", "int8")
    if dequant:
        notes.append(f"{job.weights} base weights dequantized to bf16 for every matmul")
    # matmul parameters per token: the input embedding is a lookup, not a matmul
    n = pc.active - pc.input_embedding
    attn = T.attention_unit(a.layers, _attn_dim(a), job.seq_len)
    fpt = {r: T.train_flops_per_token(n, attn, job.method, r, lora_active)
           for r in ("none", "selective", "full")}
    util = job.utilization if job.utilization is not None else gpu.train_utilization
    steps = job.tokens / (job.global_batch * job.seq_len)
    sl = job.seq_len
    ffn = a.ffn
    if a.is_moe:
        # per token: the dense MLP (leading layers) or the routed + shared experts it uses
        ffn = max(a.ffn if a.dense_layers else 0, a.expert_ffn * (a.experts_per_token + a.shared_experts))
    terms = {
        (flash, sel): M.layer_activation_terms(
            sl, 1, a.hidden, a.heads, ffn=ffn, kv_heads=a.kv_heads, head_dim=a.head_dim,
            gated=a.gated_mlp,
            dropout=False,  # modern decoder LLMs train without dropout (attention_dropout 0.0)
            recompute="selective" if sel else "none", flash=flash,
        )
        for flash in (False, True)
        for sel in (False, True)
    }
    return _TrainBase(
        job=job,
        gpu=gpu,
        shard=_Shard(pc, a.layers),
        k=k,
        lora=lora,
        lora_routed=lora_routed,
        lora_width=width,
        frozen_q=bytes_per_param(job.weights),
        frozen_o=unquantized_bytes(job.weights),
        dequant=dequant,
        flops_per_token=fpt,
        peak=gpu.bf16_flops,
        util=util,
        steps=steps,
        layer_params=pc.layers_total / a.layers,
        layers=a.layers,
        act_terms=terms,
        layer_input=2.0 * sl * a.hidden,
        lora_act=M.lora_layer_activation_bytes(sl, 1, width),
        logits=M.logits_bytes(sl, 1, a.hidden, a.vocab, 1),
        ids=M.embedding_input_bytes(sl, 1),
        host_bw=T.host_link_bytes_per_s(gpu.name),
        notes=tuple(notes),
    )


def train_activation_bytes(b: _TrainBase, lay: Layout, micro_batches: int) -> float:
    """Activation bytes on the heaviest pipeline stage (first or last).

    Per-layer terms are linear in the micro-batch, so ``_train_base`` keeps them for
    one sequence (``act_terms``) and this scales and divides them.
    """
    mb = lay.micro_batch
    tp, pp = lay.tp, lay.pp
    sp = lay.sequence_parallel
    rc = lay.recompute
    rep, split = b.act_terms[(lay.flash_attention, rc == "selective")]
    kept = mb * ((rep + split) / tp if sp else rep + split / tp)
    lora = mb * b.lora_act
    if rc == "full":
        per_layer = mb * b.layer_input / tp if sp else mb * b.layer_input
        # the layer being recomputed holds its full activations during its backward
        work = kept + lora
    else:
        per_layer = kept + lora
        work = 0.0
    ls = -(-b.layers // pp)
    logits = mb * b.logits / tp
    ids = mb * b.ids
    if pp == 1:
        return per_layer * ls + work + ids + logits
    # interleaved only when the micro-batches are a multiple of pp (timing.virtual_stages);
    # the first stage holds min(pp, m) micro-batches: 1F1B's warm-up forwards p of them before
    # the first backward, fewer when there are fewer (Narayanan et al. 2021 sec 2.2)
    v = T.virtual_stages(pp, micro_batches, ls)
    inflight = min(pp, micro_batches) * M.interleave_factor(pp, v)
    first = per_layer * ls * inflight + work + ids * min(pp, micro_batches)
    last = per_layer * ls + work + logits
    return first if first > last else last


def evaluate_train(job: TrainJob, layout: Layout, gpu: GpuSpec) -> TrainEstimate:
    """Per-GPU memory and run time of ``job`` laid out as ``layout`` on ``gpu``s."""
    _check_layout(layout)
    b = _train_base(job, gpu)
    tp, pp, dp = layout.tp, layout.pp, layout.dp
    zero = layout.zero
    gpus = tp * pp * dp
    ls = -(-job.arch.layers // pp)  # layers on the largest pipeline stage
    lin, routed, other, emb = b.shard.stage(tp, pp, layout.ep)
    stage_params = lin + routed + other + emb

    # ---- model states (ZeRO Table 1 for the trained parameters)
    # Expert parallelism forms its groups across data-parallel ranks: dp / ep ranks hold the
    # same experts (DeepSpeed-MoE's expert-data-parallel group, Rajbhandari et al. 2022,
    # arXiv:2201.05596 sec 5.3), so ZeRO shards routed experts over dp / ep, the rest over dp.
    edp = max(1, dp // layout.ep)
    if job.method == "full":
        trained_dense, trained_routed = stage_params - routed, routed
        w, g, o = M.zero_model_states(trained_dense, dp, zero, b.k)
        we, ge, oe = M.zero_model_states(trained_routed, edp, zero, b.k)
        w, g, o = w + we, g + ge, o + oe
        shard_w = w  # parameter bytes this GPU stores (and, offloaded, fetches per pass)
        unsharded_w = M.WEIGHT_TRAIN_BYTES * stage_params
        # parameter bytes of the stage (one TP rank) a ZeRO-3 all-gather assembles
        gather_dense = M.WEIGHT_TRAIN_BYTES * trained_dense
        gather_routed = M.WEIGHT_TRAIN_BYTES * trained_routed
    else:
        share = ls / job.arch.layers
        # adapters on routed experts live with their experts: divided by ep as well, and
        # ZeRO-partitioned over the expert-data-parallel group like them
        trained_dense = b.lora * share / tp
        trained_routed = b.lora_routed * share / (tp * layout.ep)
        lw, g, o = M.zero_model_states(trained_dense, dp, zero, b.k)
        lwe, ge, oe = M.zero_model_states(trained_routed, edp, zero, b.k)
        lw, g, o = lw + lwe, g + ge, o + oe
        frozen_dense = lin * b.frozen_q + (other + emb) * b.frozen_o
        frozen_experts = routed * b.frozen_q
        frozen = frozen_dense + frozen_experts
        trained = trained_dense + trained_routed
        unsharded_w = frozen + M.WEIGHT_TRAIN_BYTES * trained
        w = (frozen_dense / dp + frozen_experts / edp if zero >= 3 else frozen) + lw
        shard_w = w  # stored (QLoRA: quantized) parameters, without the bf16 dequant copy
        # frozen weights travel at their stored precision, adapters in 16 bit
        gather_dense = frozen_dense + M.WEIGHT_TRAIN_BYTES * trained_dense
        gather_routed = frozen_experts + M.WEIGHT_TRAIN_BYTES * trained_routed
        if b.dequant:
            # one dequantized bf16 copy of the matrix being multiplied
            w += 2.0 * b.shard.pc.largest_linear / tp
    # ZeRO-3 gathers each layer's full parameters for its forward/backward, prefetching
    # the next one: two layers live (DeepSpeed stage3 prefetch / FSDP forward prefetch).
    live = 2.0 * M.WEIGHT_TRAIN_BYTES * b.layer_params / tp
    if zero >= 3 and dp > 1:
        w = min(unsharded_w, w + live)
    host = 0.0
    notes = b.notes
    if layout.offload != "none":
        # ZeRO-Offload (Ren et al. 2021, arXiv:2101.06840): optimizer states (fp32 master,
        # m, v) live in host memory and the update runs on the CPU.
        host += o
        o = 0.0
        if layout.offload == "all":
            # ZeRO-Infinity parameter offload: parameters too, a working set stays on the GPU
            host += w
            w = min(w, live)
            if zero < 3:
                notes = b.notes + ("parameter offload needs ZeRO-3 (DeepSpeed offload_param)",)

    m = -(-job.global_batch // (dp * layout.micro_batch))
    act = train_activation_bytes(b, layout, m)
    mem = _build(
        Memory,
        weights=int(w),
        gradients=int(g),
        optimizer=int(o),
        activations=int(act),
        kv_cache=0,
        overhead=M.CUDA_CONTEXT_BYTES,
        host=int(host),
    )

    # ---- time
    fpt = b.flops_per_token[layout.recompute]
    flops = job.tokens * fpt
    compute = flops / (gpus * b.peak * b.util)
    if pp > 1:
        # Stages run in lock-step, so a pipeline goes at the pace of its largest stage
        # (Narayanan et al. 2021 sec 2.2): with ceil(L/p) layers there instead of L/p,
        # the ideal time scales by ceil(L/p) x p / L (1 when p divides L).
        compute *= ls * pp / job.arch.layers
    steps = b.steps
    if b.dequant:
        # bitsandbytes MatMul4Bit dequantizes the whole weight to bf16 in forward and in
        # backward (bitsandbytes/autograd/_functions.py): read 4-bit + write/read 16-bit.
        passes = 3 if layout.recompute == "full" else 2
        deq = passes * (lin + routed) * (b.frozen_q + 2.0 * 2.0) / gpu.hbm_bytes_per_s
        compute += deq * m * steps
    per_node = gpu.gpus_per_node
    comm_step = 0.0
    step_compute = compute / steps if steps > 0 else 0.0
    m_compute = step_compute / m  # one micro-batch's compute on this GPU
    if dp > 1:
        bw = gpu.intra_node_bytes_per_s if tp * dp <= per_node else gpu.inter_node_bytes_per_s
        if zero >= 3:
            # parameter all-gathers in every pass of every micro-batch, hidden behind that
            # micro-batch's compute (prefetch) but for the excess, and one reduce-scatter of
            # the gradients per step (timing.ZERO3_GATHERS)
            passes = T.ZERO3_GATHERS + (T.ZERO3_GATHERS_RECOMPUTE if layout.recompute == "full" else 0)
            gather = T.zero3_gather_seconds(gather_dense, gather_routed, dp, edp, passes, bw)
            scatter = T.ring_allgather_seconds(M.GRAD_BYTES * trained_dense, dp, bw)
            scatter += T.ring_allgather_seconds(M.GRAD_BYTES * trained_routed, edp, bw)
            comm_step += T.zero3_exposed_seconds(gather, scatter, m_compute, m)
        else:
            # one all-reduce of the accumulated gradients per step; routed experts' gradients
            # are averaged only over the dp / ep ranks holding the same experts
            t_dp = T.ring_allreduce_seconds(M.GRAD_BYTES * trained_dense, dp, bw)
            t_dp += T.ring_allreduce_seconds(M.GRAD_BYTES * trained_routed, edp, bw)
            comm_step += max(0.0, t_dp - T.BACKWARD_SHARE * step_compute)
    # TP and EP collectives sit inside each stage's forward and backward (not overlapped), so
    # they lengthen a micro-batch's pass through a stage and hence the pipeline bubble too
    stage_comm = 0.0
    if tp > 1:
        bw = gpu.intra_node_bytes_per_s if tp <= per_node else gpu.inter_node_bytes_per_s
        n_ar = T.TP_ALLREDUCES_PER_LAYER + (T.TP_ALLREDUCES_RECOMPUTE if layout.recompute == "full" else 0)
        msg = 2.0 * job.seq_len * layout.micro_batch * job.arch.hidden
        stage_comm += n_ar * ls * m * T.ring_allreduce_seconds(msg, tp, bw)
    if layout.ep > 1 and job.arch.is_moe:
        bw = gpu.intra_node_bytes_per_s if tp * layout.ep <= per_node else gpu.inter_node_bytes_per_s
        moe_layers = -(-(job.arch.layers - job.arch.dense_layers) // pp)
        n_a2a = T.EP_ALLTOALLS_PER_LAYER + (T.EP_ALLTOALLS_RECOMPUTE if layout.recompute == "full" else 0)
        tokens = job.seq_len * layout.micro_batch
        stage_comm += n_a2a * moe_layers * m * T.expert_alltoall_seconds(
            tokens, job.arch.experts_per_token, job.arch.hidden, layout.ep, bw)
    comm_step += stage_comm
    bubble = 0.0
    if pp > 1:
        v = T.virtual_stages(pp, m, ls)
        bw = gpu.intra_node_bytes_per_s if gpus <= per_node else gpu.inter_node_bytes_per_s
        # activations forward and their gradients backward at each of the v chunk boundaries
        comm_step += 2.0 * v * m * (2.0 * job.seq_len * layout.micro_batch * job.arch.hidden / tp) / bw
        # the bubble idles p - 1 stage-passes per micro-batch wave: of compute and of the
        # TP/EP communication inside each pass (Narayanan 2021 sec 2.2: (p-1)(t_f + t_b))
        bubble = (compute + stage_comm * steps) * T.bubble_fraction(pp, m, v)
    if layout.offload != "none":
        # CPU offload: host traffic and the CPU optimizer step (timing.py, ZeRO-Offload /
        # ZeRO-Infinity); reported with communication. The optimizer state of a GPU covers
        # its ZeRO partition of the trained parameters (all of them under ZeRO-0); gradients
        # leave while the last micro-batch's backward runs.
        if zero >= 1:
            opt_params = trained_dense / dp + trained_routed / edp
        else:
            opt_params = trained_dense + trained_routed
        comm_step += T.optimizer_offload_seconds(
            opt_params, M.GRAD_BYTES, M.WEIGHT_TRAIN_BYTES, b.host_bw,
            T.BACKWARD_SHARE * m_compute,
        )
        if layout.offload == "all":
            passes = T.ZERO3_GATHERS + (T.ZERO3_GATHERS_RECOMPUTE if layout.recompute == "full" else 0)
            comm_step += m * T.param_offload_seconds(shard_w, passes, b.host_bw)
    return _build(
        TrainEstimate,
        memory=mem,
        gpus=gpus,
        flops=flops,
        compute_seconds=compute,
        communication_seconds=comm_step * steps,
        bubble_seconds=bubble,
        notes=notes,
    )


def model_flops(job: TrainJob) -> float:
    """Model FLOPs of the run without recomputation (what MFU figures count)."""
    return job.tokens * _model_fpt(job)


def _model_fpt(job: TrainJob) -> float:
    a = job.arch
    pc = param_counts(a)
    n = pc.active - pc.input_embedding
    lora = lora_active_params(a, job.lora_rank, tuple(job.lora_targets)) if job.method != "full" else 0
    return T.train_flops_per_token(n, T.attention_unit(a.layers, _attn_dim(a), job.seq_len),
                                   job.method, "none", lora)


# ====================================================================== serving
@dataclass(frozen=True)
class _ServeBase:
    job: ServeJob
    gpu: GpuSpec
    shard: _Shard
    q: float  # bytes per linear weight
    o: float  # bytes per other parameter
    peak: float
    util: float
    n_mm: float  # matmul parameters per token (active, without the input embedding)
    attn_dim: int
    routed_frac: float  # share of routed experts one decode step touches
    chunk: int  # prefill token budget per step
    notes: tuple[str, ...]


def _serve_peak(weights: str, gpu: GpuSpec) -> float:
    # fp8 (W8A8-FP8) and int8 (W8A8) checkpoints run their matmuls on fp8/int8 tensor cores
    # where the GPU has them; weight-only int4/nf4 dequantize to bf16 (W4A16).
    if weights == "fp8" and gpu.fp8_flops > 0:
        return gpu.fp8_flops
    if weights == "int8" and gpu.int8_flops > 0:
        return gpu.int8_flops
    return gpu.bf16_flops


@_cached_per_job_and_gpu
def _serve_base(job: ServeJob, gpu: GpuSpec) -> _ServeBase:
    a = job.arch
    pc = param_counts(a)
    weights = a.precision if job.weights == "auto" else job.weights
    notes = []
    if a.is_moe and a.experts:
        notes.append("MoE decode reads only the experts its batch routes to")
    return _ServeBase(
        job=job,
        gpu=gpu,
        shard=_Shard(pc, a.layers),
        q=bytes_per_param(weights),
        o=unquantized_bytes(weights),
        peak=_serve_peak(weights, gpu),
        util=gpu.train_utilization,
        n_mm=pc.active - pc.input_embedding,
        attn_dim=_attn_dim(a),
        routed_frac=(a.experts_per_token / a.experts) if a.is_moe and a.experts else 0.0,
        chunk=M.prefill_chunk_tokens(gpu.name, gpu.memory_bytes),
        notes=tuple(notes),
    )


def evaluate_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> ServeEstimate:
    """Per-GPU memory, TTFT, TPOT and throughput of ``job`` served as ``layout`` on ``gpu``s.

    Each of ``layout.replicas`` replicas uses tp x pp GPUs and holds
    ceil(users / replicas) sequences of ``context`` tokens.
    """
    _check_layout(layout)
    b = _serve_base(job, gpu)
    a = job.arch
    tp, pp, r = layout.tp, layout.pp, layout.replicas
    seqs = -(-job.users // r)
    # experts: tensor-sliced over TP, or spread over the same GPUs by expert parallelism;
    # either way a GPU of the replica holds 1/tp of them.
    lin, routed, other, emb = b.shard.stage(tp, pp, 1)
    w_routed = routed * b.q
    weights = lin * b.q + w_routed + (other + emb) * b.o
    kv_tok = M.kv_bytes_per_token_per_gpu(a, job.kv_precision, tp, pp)
    kv = kv_tok * seqs * job.context
    chunk = min(seqs * job.prompt, b.chunk)
    act = M.prefill_activation_bytes(a, max(chunk, 1), min(seqs, max(chunk, 1)), tp)
    mem = _build(
        Memory,
        weights=int(weights),
        gradients=0,
        optimizer=0,
        activations=int(act),
        kv_cache=int(kv),
        overhead=M.CUDA_CONTEXT_BYTES + M.SERVE_CUDA_GRAPH_BYTES,
        host=0,
    )
    per_node = gpu.gpus_per_node
    bw_tp = gpu.intra_node_bytes_per_s if tp <= per_node else gpu.inter_node_bytes_per_s
    hbm = gpu.hbm_bytes_per_s

    # ---- prefill of one prompt: compute-bound, stages run one after another
    p = job.prompt
    f_pre = 2.0 * b.n_mm * p + 2.0 * a.layers * b.attn_dim * p * p  # causal: half of 4 L HQ T^2
    t_pre = max(f_pre / (tp * b.peak * b.util), pp * weights / hbm)
    if tp > 1:
        t_pre += 2 * a.layers * T.ring_allreduce_seconds(2.0 * p * a.hidden, tp, bw_tp)

    # ---- one decode step of the replica's whole batch
    if b.routed_frac:
        touched = 1.0 - (1.0 - b.routed_frac) ** seqs  # expected share of experts hit
        read_w = weights - w_routed * (1.0 - touched)
    else:
        read_w = weights
    f_dec = seqs * (2.0 * b.n_mm + 4.0 * a.layers * b.attn_dim * job.context)
    tpot = T.roofline_seconds(pp * (read_w + kv), hbm, f_dec, tp * b.peak)
    if tp > 1:
        tpot += 2 * a.layers * T.ring_allreduce_seconds(2.0 * seqs * a.hidden, tp, bw_tp)
    return _build(
        ServeEstimate,
        memory=mem,
        gpus=tp * pp * r,
        ttft_seconds=t_pre,
        tpot_seconds=tpot,
        tokens_per_second=r * seqs / tpot,
        notes=b.notes,
    )
