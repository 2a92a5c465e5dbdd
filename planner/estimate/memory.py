"""Memory formulas: model states (ZeRO), activations (Korthikanti), KV cache, overhead.

Pure functions of numbers; ``planner.estimate.train`` and ``planner.estimate.serve``
assemble them per layout.
All results are bytes.
"""

from __future__ import annotations

from planner.estimate.precision import kv_element_bytes, lookup
from planner.estimate.types import Arch

# ---------------------------------------------------------------- model states
# Bytes of optimizer state per trained parameter ("K" of the ZeRO paper, sec 3.1:
# mixed-precision Adam keeps an fp32 master copy, momentum and variance, K = 12).
# The 16-bit weight (2 bytes) and gradient (2 bytes) are counted apart, as the paper
# does: 2 + 2 + K = 16 bytes per trained parameter for adamw.
OPTIMIZER_STATE_BYTES: dict[str, float] = {
    # fp32 master 4 + m 4 + v 4 (ZeRO paper sec 3.1, K = 12)
    "adamw": 12.0,
    # paged optimizers (QLoRA sec 3) keep the same state in CUDA unified memory and page
    # it to the host only under memory pressure; the steady-state footprint is unchanged.
    "paged-adamw": 12.0,
    # bitsandbytes 8-bit Adam (Dettmers et al. 2022, arXiv:2110.02861): m and v as int8
    # with one fp32 absmax per block of 2048 values, plus the fp32 master copy:
    # 4 + 2 * (1 + 4/2048).
    "adamw-8bit": 4.0 + 2.0 * (1.0 + 4.0 / 2048),
    "paged-adamw-8bit": 4.0 + 2.0 * (1.0 + 4.0 / 2048),
    # SGD with momentum: fp32 master 4 + momentum 4.
    "sgd": 8.0,
}
WEIGHT_TRAIN_BYTES = 2.0  # bf16 working copy of a trained weight
GRAD_BYTES = 2.0  # bf16 gradient (reduced in 16 bit, ZeRO paper sec 3.1)
# Megatron accumulates and reduces gradients in an fp32 ``main_grad`` buffer (forced with bf16,
# megatron/training/arguments.py ``accumulate_allreduce_grads_in_fp32``); its own estimator
# counts 18 bytes per parameter, 6 + 12/dp with the distributed optimizer
# (megatron/training/theoretical_memory_usage.py). docs/estimation.md sec 3.
MEGATRON_GRAD_BYTES = 4.0


def grad_bytes(stack: str) -> float:
    """Bytes of a trained parameter's gradient as the stack keeps and reduces it."""
    return MEGATRON_GRAD_BYTES if stack == "megatron" else GRAD_BYTES


def optimizer_state_bytes(optimizer: str) -> float:
    return lookup(OPTIMIZER_STATE_BYTES, optimizer, "optimizer")


def zero_model_states(psi: float, nd: int, stage: int, k: float = 12.0,
                      grad: float = GRAD_BYTES) -> tuple[float, float, float]:
    """(weights, gradients, optimizer) bytes per device, ZeRO paper Table 1 / Figure 1.

    Baseline (2 + 2 + K)Psi; P_os: 2Psi + 2Psi + K Psi/Nd; P_os+g: 2Psi + (2 + K)Psi/Nd;
    P_os+g+p: (2 + 2 + K)Psi/Nd; ``grad`` bytes per gradient instead of 2 where the stack
    keeps them in fp32 (Megatron).
    """
    w = WEIGHT_TRAIN_BYTES * psi
    g = grad * psi
    o = k * psi
    if stage >= 1:
        o /= nd
    if stage >= 2:
        g /= nd
    if stage >= 3:
        w /= nd
    return w, g, o


# ---------------------------------------------------------------- activations
def layer_activation_terms(
    s: int,
    b: int,
    h: int,
    a: int,
    *,
    ffn: int | None = None,
    kv_heads: int | None = None,
    head_dim: int | None = None,
    gated: bool = False,
    dropout: bool = True,
    recompute: str = "none",
    flash: bool = False,
    fused_swiglu: bool = False,
) -> tuple[float, float]:
    """(kept whole under TP, split by TP) activation bytes of one layer, no recomputation
    or selective; see ``layer_activation_bytes``. ``fused_swiglu``: the SwiGLU kernel saves
    its input (gate and up) and recomputes silu (Megatron-Core fused_bias_swiglu.py), so the
    MLP keeps 3 tensors of f, not the 4 of an eager SwiGLU."""
    f = 4 * h if ffn is None else ffn
    d = h // a if head_dim is None else head_dim
    hq = a * d
    hkv = (a if kv_heads is None else kv_heads) * d
    sb = s * b
    masks = 2.0 * sb * h if dropout else 0.0  # 1 byte each, after attention and after MLP
    replicated = 4.0 * sb * h + 2.0 * sb * h + 2.0 * sb * h + masks  # norms, attn in, mlp in
    split = 2.0 * sb * (hq + hkv) + 2.0 * sb * hkv + 2.0 * sb * hq  # Q,K  V  proj-in
    split += (8.0 if gated and not fused_swiglu else 6.0 if gated else 4.0) * sb * f
    if flash:
        split += 4.0 * a * sb  # fp32 log-sum-exp per row (FlashAttention-2 saves it for backward)
    elif recompute != "selective":
        split += (5.0 if dropout else 2.0) * a * s * s * b
    return replicated, split


def layer_activation_bytes(
    s: int,
    b: int,
    h: int,
    a: int,
    t: int = 1,
    *,
    ffn: int | None = None,
    kv_heads: int | None = None,
    head_dim: int | None = None,
    gated: bool = False,
    dropout: bool = True,
    sequence_parallel: bool = False,
    recompute: str = "none",
    flash: bool = False,
    fused_swiglu: bool = False,
) -> float:
    """Activation bytes one transformer layer keeps for backward, per micro-batch.

    Korthikanti et al. 2022 (arXiv:2205.05198) sec 4, generalized: 16-bit tensors,
    1-byte dropout masks. Attention stores its input (2sbh), Q and K (2sb(hq + hkv)),
    V (2sb hkv), the input of the output projection (2sb hq), and unless the s^2 terms are
    avoided, softmax output 2as^2b (+ dropout mask as^2b + dropout output 2as^2b).
    MLP stores its input (2sbh) and 2sbf per intermediate tensor: two for a plain MLP
    (fc1 output, activation output), four for SwiGLU (gate, up, silu(gate), product).
    Two norm inputs 4sbh; dropout masks sbh after attention and after the MLP.
    With GPT's shape (f = 4h, hkv = hq = h, plain MLP, dropout) this is the paper's
    sbh(34 + 5as/h); tensor parallel splits all but the norm/input/mask terms
    (sbh(10 + 24/t + 5as/(ht))); sequence parallel splits those too (sbh(34/t + 5as/(ht)));
    selective recomputation and flash attention drop the s^2 terms; full recomputation
    keeps only the layer input, 2sbh (Table 2).
    """
    if recompute == "full":
        full = 2.0 * s * b * h
        return full / t if sequence_parallel else full
    replicated, split = layer_activation_terms(
        s, b, h, a, ffn=ffn, kv_heads=kv_heads, head_dim=head_dim, gated=gated,
        dropout=dropout, recompute=recompute, flash=flash, fused_swiglu=fused_swiglu,
    )
    if sequence_parallel:
        return (replicated + split) / t
    return replicated + split / t


def lora_layer_activation_bytes(s: int, b: int, lora_width: int) -> float:
    """LoRA's extra activations per layer: the A-projection output (2 bytes) of every
    adapted matrix, kept for B's weight gradient (Hu et al. 2021: h = W0 x + B A x)."""
    return 2.0 * s * b * lora_width


def interleave_factor(pp: int, virtual: int) -> float:
    """Interleaved 1F1B keeps (1 + (p - 1)/(p v)) times the activations of 1F1B on the first
    stage (Korthikanti et al. 2022 sec 4.2.3; Megatron theoretical_memory_usage.py applies the
    penalty only when a virtual pipeline size is set). ``virtual`` is the layout's ``vpp``:
    1 is plain 1F1B, factor 1."""
    if pp <= 1 or virtual <= 1:
        return 1.0
    return 1.0 + (pp - 1) / (pp * virtual)


def embedding_input_bytes(s: int, b: int) -> float:
    """Token ids kept on the first stage: int64, 8 bytes per token
    (Megatron-LM megatron/training/theoretical_memory_usage.py, ``8 * s * b * p``)."""
    return 8.0 * s * b


def logits_bytes(s: int, b: int, h: int, vocab: int, t: int) -> float:
    """Output layer input and fp32 logits for the cross-entropy loss, vocab-parallel over TP:
    4sbh(1 + v/h)/t (Megatron-LM theoretical_memory_usage.py; Korthikanti sec 4.3)."""
    return 4.0 * s * b * (h + vocab) / t


# Stacks whose loss materialises the logits (Hugging Face transformers ``ForCausalLMLoss``,
# torchtitan and fms-fsdp ``cross_entropy(logits.float(), ...)``): at the backward peak, per
# token and vocabulary entry, the bf16 logits (2) kept by the model output, their fp32 upcast
# (4), the fp32 log-softmax saved for backward (4) and its fp32 gradient (4) = 14 bytes
# (transformers src/transformers/loss/loss_utils.py @0114da07; docs/estimation.md sec 3).
MATERIALISED_LOSS_BYTES_PER_VOCAB = 14.0


def materialised_logits_bytes(s: int, b: int, vocab: int, t: int) -> float:
    """Logits and loss temporaries of a stack without a fused cross-entropy, per micro-batch
    (split by TP when the head is vocab-parallel)."""
    return MATERIALISED_LOSS_BYTES_PER_VOCAB * s * b * vocab / t


# Allocator reserve beside the tensors a step holds: 5% of the activations, Megatron-LM's own
# margin ("buffer for optimizer and miscellaneous temporaries (5% overhead)",
# megatron/training/theoretical_memory_usage.py). No stack publishes a general fragmentation
# figure; case studies of the PyTorch caching allocator span 1.0-2.1x (docs/estimation.md sec 3).
ALLOCATOR_RESERVE_FRACTION = 0.05


# ---------------------------------------------------------------- KV cache
def kv_bytes_per_token(arch: Arch, precision: str = "bf16") -> int:
    """KV-cache bytes one token takes in the whole model.

    Ordinary / grouped-query attention: 2 (K and V) x layers x kv_heads x head_dim x bytes
    (Kwon et al. 2023, vLLM paper sec 3: OPT-13B 2 x 5120 x 40 x 2 B = 819,200 B).
    MLA caches one latent of kv_lora_rank plus the decoupled rope key of qk_rope_dim per
    layer (DeepSeek-V2 arXiv:2405.04434 sec 2.1.2; ISCA'25 arXiv:2505.09343 Table 1:
    DeepSeek-V3 61 x (512 + 64) x 2 B = 70,272 B).
    """
    e = kv_element_bytes(precision)
    if arch.is_mla:
        return arch.layers * (arch.kv_lora_rank + arch.qk_rope_dim) * e
    return 2 * arch.layers * arch.kv_heads * arch.head_dim * e


def kv_bytes_per_token_per_gpu(arch: Arch, precision: str, tp: int, pp: int) -> int:
    """KV bytes per token on one GPU of a tp x pp replica.

    GQA: each TP rank holds ceil(kv_heads / tp) heads (vLLM replicates a KV head when
    tp > kv_heads). MLA: the latent is not split by heads, every TP rank holds the whole
    latent (vLLM: "For pure MLA tensor parallelism, each TP rank holds a replica of the
    latent KV payload", github vllm-project/vllm PR #48906). Layers split by PP.
    """
    e = kv_element_bytes(precision)
    layers = -(-arch.layers // pp)
    if arch.is_mla:
        return layers * (arch.kv_lora_rank + arch.qk_rope_dim) * e
    return 2 * layers * (-(-arch.kv_heads // tp)) * arch.head_dim * e


# ---------------------------------------------------------------- serving activations
# Tokens one prefill step processes at most: vLLM's chunked-prefill budget
# ``max_num_batched_tokens`` for the OpenAI server (vllm/engine/arg_utils.py,
# EngineArgs.get_batch_defaults): 8192 on GPUs with >= 70 GiB that are not A100s
# (H100, H200, MI300X), 2048 elsewhere (A100s included: vllm PR #17885).
MAX_BATCHED_TOKENS_LARGE = 8192
MAX_BATCHED_TOKENS = 2048
LARGE_GPU_BYTES = 70 * 1024**3


def prefill_chunk_tokens(gpu_name: str, memory_bytes: int) -> int:
    """vLLM's default ``max_num_batched_tokens`` for the OpenAI server on this GPU."""
    if memory_bytes >= LARGE_GPU_BYTES and "a100" not in gpu_name.lower():
        return MAX_BATCHED_TOKENS_LARGE
    return MAX_BATCHED_TOKENS


def prefill_activation_bytes(arch: Arch, tokens: int, seqs: int, tp: int) -> float:
    """Peak live activations of one inference forward over ``tokens`` tokens (no autograd).

    The residual stream and its normed copy (2 x 2Th) plus the larger of the attention
    working set (q,k,v output and attention output, split by TP) and the MLP working set
    (fused gate_up output and activation output: 3 x 2Tf/t gated, 2 x 2Tf/t plain), plus
    fp32 logits of the last token of each sequence (seqs x vocab x 4 bytes).
    """
    h = arch.hidden
    if arch.is_mla:
        hq = arch.heads * (arch.qk_nope_dim + arch.qk_rope_dim)
        hkv = arch.heads * (arch.qk_nope_dim + arch.v_head_dim)
    else:
        hq = arch.heads * arch.head_dim
        hkv = 2 * arch.kv_heads * arch.head_dim
    attn = 2.0 * tokens * (hq + hkv + hq) / tp
    width = arch.ffn if not arch.is_moe or arch.dense_layers else 0
    if arch.is_moe:
        width = max(width, arch.expert_ffn * (arch.experts_per_token + arch.shared_experts))
    mlp = 2.0 * tokens * width * (3 if arch.gated_mlp else 2) / tp
    return 4.0 * tokens * h + max(attn, mlp) + 4.0 * seqs * arch.vocab


# ---------------------------------------------------------------- overhead
# CUDA context and libraries outside the PyTorch allocator. vLLM reports this as
# "non_torch_memory" of 0.33-0.39 GiB (CUDA 12 with lazy module loading; vllm-project/vllm
# issues #14452 and #11251 logs); older CUDA without lazy loading shows ~723-800 MiB
# (discuss.pytorch.org threads 73021 and 81330). 512 MiB sits between.
CUDA_CONTEXT_BYTES = 512 * 1024**2

# vLLM captures CUDA graphs for decode batch sizes after sizing the KV cache; the logs
# report 0.21 GiB (Llama-3.2-1B, vllm PR #11349) and 0.36 GiB (gpustack/runner PR #251).
SERVE_CUDA_GRAPH_BYTES = 512 * 1024**2

