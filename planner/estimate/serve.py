"""Serving: memory per GPU, TTFT, TPOT and throughput of a layout (docs/estimation.md sec 4, 5).

What does not depend on the layout is computed once per (job, GPU) (``serve_base``),
so that ``evaluate_serve`` is a few dozen float operations.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.estimate import memory as M
from planner.estimate import timing as T
from planner.estimate.arch import param_counts
from planner.estimate.common import attention_width, build, cached_per_job_and_gpu, check_layout
from planner.estimate.precision import bytes_per_param, unquantized_bytes
from planner.estimate.stage import HeaviestStage
from planner.estimate.types import GpuSpec, Layout, Memory, ServeEstimate, ServeJob


@dataclass(frozen=True)
class ServeBase:
    """What one (job, GPU) pair's serving estimates share, whatever the layout."""

    job: ServeJob
    gpu: GpuSpec
    stage: HeaviestStage
    linear_bytes: float  # bytes per linear weight at the served precision
    other_bytes: float  # bytes per other parameter (embeddings, norms, biases)
    peak: float  # FLOP/s of the tensor cores the weights run on
    utilization: float
    matmul_params: float  # per token: active parameters without the input embedding
    attention_width: int
    routed_fraction: float  # share of routed experts one token uses (0: dense)
    prefill_chunk: int  # prefill token budget per step


def serve_peak(weights: str, gpu: GpuSpec) -> float:
    """Peak FLOP/s for matmuls with ``weights``: fp8 (W8A8-FP8) and int8 (W8A8) run on
    fp8/int8 tensor cores where the GPU has them; int4/nf4 dequantize to bf16 (W4A16)."""
    if weights == "fp8" and gpu.fp8_flops > 0:
        return gpu.fp8_flops
    if weights == "int8" and gpu.int8_flops > 0:
        return gpu.int8_flops
    return gpu.bf16_flops


@cached_per_job_and_gpu
def serve_base(job: ServeJob, gpu: GpuSpec) -> ServeBase:
    arch = job.arch
    counts = param_counts(arch)
    weights = arch.precision if job.weights == "auto" else job.weights
    return ServeBase(
        job=job,
        gpu=gpu,
        stage=HeaviestStage(counts, arch.layers),
        linear_bytes=bytes_per_param(weights),
        other_bytes=unquantized_bytes(weights),
        peak=serve_peak(weights, gpu),
        utilization=gpu.train_utilization,
        matmul_params=counts.active - counts.input_embedding,
        attention_width=attention_width(arch),
        routed_fraction=(arch.experts_per_token / arch.experts) if arch.is_moe and arch.experts else 0.0,
        prefill_chunk=M.prefill_chunk_tokens(gpu.name, gpu.memory_bytes),
    )


def evaluate_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> ServeEstimate:
    """Per-GPU memory, TTFT, TPOT and throughput of ``job`` served as ``layout`` on ``gpu``s.

    Each of ``layout.replicas`` replicas uses tp x pp GPUs and holds
    ceil(users / replicas) sequences of ``context`` tokens.
    """
    check_layout(layout)
    base = serve_base(job, gpu)
    arch = job.arch
    tp, pp, replicas = layout.tp, layout.pp, layout.replicas
    sequences = -(-job.users // replicas)  # per replica
    # experts: tensor-sliced over TP, or spread over the same GPUs by expert parallelism;
    # either way a GPU of the replica holds 1/tp of them.
    linear, routed, other, embeddings = base.stage.params_per_gpu(tp, pp, 1)
    routed_weights = routed * base.linear_bytes
    weights = linear * base.linear_bytes + routed_weights + (other + embeddings) * base.other_bytes
    kv = M.kv_bytes_per_token_per_gpu(arch, job.kv_precision, tp, pp) * sequences * job.context
    chunk = max(min(sequences * job.prompt, base.prefill_chunk), 1)
    activations = M.prefill_activation_bytes(arch, chunk, min(sequences, chunk), tp)
    memory = build(
        Memory,
        weights=int(weights),
        gradients=0,
        optimizer=0,
        activations=int(activations),
        kv_cache=int(kv),
        overhead=M.CUDA_CONTEXT_BYTES + M.SERVE_CUDA_GRAPH_BYTES,
        host=0,
    )
    tp_bandwidth = gpu.intra_node_bytes_per_s if tp <= gpu.gpus_per_node else gpu.inter_node_bytes_per_s
    hbm = gpu.hbm_bytes_per_s

    # prefill of one prompt: compute-bound, stages run one after another
    prompt = job.prompt
    # causal attention: half of PaLM's 4 L HQ T^2
    prefill_flops = 2.0 * base.matmul_params * prompt + 2.0 * arch.layers * base.attention_width * prompt * prompt
    ttft = max(prefill_flops / (tp * base.peak * base.utilization), pp * weights / hbm)
    if tp > 1:
        ttft += 2 * arch.layers * T.ring_allreduce_seconds(2.0 * prompt * arch.hidden, tp, tp_bandwidth)

    # one decode step of the replica's whole batch
    if base.routed_fraction:
        touched = 1.0 - (1.0 - base.routed_fraction) ** sequences  # expected share of experts hit
        weights_read = weights - routed_weights * (1.0 - touched)
    else:
        weights_read = weights
    decode_flops = sequences * (2.0 * base.matmul_params + 4.0 * arch.layers * base.attention_width * job.context)
    tpot = T.roofline_seconds(pp * (weights_read + kv), hbm, decode_flops, tp * base.peak)
    if tp > 1:
        tpot += 2 * arch.layers * T.ring_allreduce_seconds(2.0 * sequences * arch.hidden, tp, tp_bandwidth)
    return build(
        ServeEstimate,
        memory=memory,
        gpus=tp * pp * replicas,
        ttft_seconds=ttft,
        tpot_seconds=tpot,
        tokens_per_second=replicas * sequences / tpot,
    )
