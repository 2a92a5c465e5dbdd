"""Parameter counts of a transformer from its shape (config.json fields).

Counts follow the module layout of the Hugging Face implementations
(LlamaForCausalLM / Qwen2ForCausalLM / OPTForCausalLM / DeepseekV3ForCausalLM):
every weight matrix and bias is counted once; tied embeddings once.
Linear weight matrices are kept apart from norms, biases and embeddings
because quantizers (GPTQ/AWQ/bitsandbytes) only quantize the former.
"""

from __future__ import annotations

from functools import lru_cache

from planner.estimate.types import Arch
from planner.frozen import frozen

# Module names a LoRA ``targets`` list may use (the PEFT target_modules of
# Llama/Qwen: q_proj k_proj v_proj o_proj gate_proj up_proj down_proj).
LORA_TARGET_NAMES = ("q", "k", "v", "o", "gate", "up", "down")


@frozen
class ParamCounts:
    """Parameter counts of one model, in parameters (not bytes)."""

    total: int  # every parameter held in memory
    active: int  # parameters used per token (MoE: shared + experts_per_token routed)
    embedding: int  # input embedding + learned positions + output head (0 head when tied)
    input_embedding: int  # vocab x hidden + learned positions
    head: int  # output projection; 0 when tied to the input embedding
    attention: int  # one layer's attention (weights, biases, q/k and MLA norms, sinks)
    attention_linear: int  # of which weight matrices
    dense_mlp: int  # one dense layer's MLP
    dense_mlp_linear: int
    expert: int  # one routed or shared expert (MoE), weights only
    router: int  # one MoE layer's router (weight, and bias when ``router_bias``)
    norms: int  # one layer's norms (``norms_per_layer`` of them)
    final_norm: int
    dense_layers: int  # count of layers with a dense MLP
    moe_layers: int  # count of layers with routed experts
    # sums over all layers, split the way sharding and quantization need them
    layers_linear: int  # weight matrices outside routed experts
    layers_other: int  # norms, biases, routers
    routed_linear: int  # all routed experts' weight matrices
    routed_active_linear: int  # experts_per_token of them, per token, all layers
    largest_linear: int  # the largest single weight matrix (dequantization buffer)

    @property
    def layers_total(self) -> int:
        return self.layers_linear + self.layers_other + self.routed_linear


def _attention(a: Arch) -> tuple[int, int, int]:
    """(weight matrices, biases and norms, largest matrix) of one attention block."""
    h = a.hidden
    if a.is_mla:
        # DeepSeek-V2/V3 MLA (modeling_deepseek.py DeepseekV3Attention):
        # q_a (h->q_lora) + q_a_layernorm + q_b (q_lora -> heads*(nope+rope)) or q_proj;
        # kv_a_proj_with_mqa (h -> kv_lora+rope) + kv_a_layernorm;
        # kv_b (kv_lora -> heads*(nope+v)); o (heads*v -> h).
        qk = a.qk_nope_dim + a.qk_rope_dim
        mats = []
        other = 0
        if a.q_lora_rank:
            mats += [h * a.q_lora_rank, a.q_lora_rank * a.heads * qk]
            other += a.q_lora_rank
        else:
            mats.append(h * a.heads * qk)
        mats.append(h * (a.kv_lora_rank + a.qk_rope_dim))
        other += a.kv_lora_rank
        mats.append(a.kv_lora_rank * a.heads * (a.qk_nope_dim + a.v_head_dim))
        mats.append(a.heads * a.v_head_dim * h)
        return sum(mats), other, max(mats)
    q = a.heads * a.head_dim
    kv = a.kv_heads * a.head_dim
    # a fused qkv_proj (Phi-3) holds the same weights as q, k and v apart
    mats = [h * (q + 2 * kv)] if a.fused_qkv else [h * q, h * kv, h * kv]
    mats.append(q * h)
    bias = 0
    if a.qkv_bias or a.linear_bias:
        bias += q + 2 * kv
    if a.linear_bias:
        bias += h
    if a.qk_norm:
        bias += 2 * a.head_dim  # Qwen3Attention / Gemma3Attention q_norm, k_norm: RMSNorm(head_dim)
    if a.sinks:
        bias += a.heads  # GptOssAttention.sinks: one logit per head
    return sum(mats), bias, max(mats)


def _mlp(a: Arch, width: int) -> tuple[int, int, int]:
    """(weight matrices, biases, largest matrix) of one MLP of intermediate ``width``."""
    h = a.hidden
    n = 3 if a.gated_mlp else 2  # SwiGLU: gate, up, down; plain: fc1, fc2
    bias = (width * (n - 1) + h) if a.linear_bias else 0
    largest = 2 * h * width if a.fused_gate_up and a.gated_mlp else h * width
    return n * h * width, bias, largest


@lru_cache(maxsize=512)
def param_counts(arch: Arch) -> ParamCounts:
    """Total and active parameters, with the parts sharding and quantization need."""
    a = arch
    h = a.hidden
    att_lin, att_other, att_max = _attention(a)
    norm_per = 2 if a.norm == "layer" else 1  # LayerNorm has weight and bias
    norms = a.norms_per_layer * norm_per * h
    final_norm = norm_per * h

    dense_lin, dense_bias, dense_max = _mlp(a, a.ffn)
    if a.is_moe:
        dense_layers = min(a.dense_layers, a.layers)
        moe_layers = a.layers - dense_layers
        expert_lin, expert_bias, expert_max = _mlp(a, a.expert_ffn)
        router = a.experts * h + (a.experts if a.router_bias else 0)
    else:
        dense_layers, moe_layers = a.layers, 0
        expert_lin = expert_bias = expert_max = 0
        router = 0

    layers_linear = a.layers * att_lin + dense_layers * dense_lin
    layers_linear += moe_layers * a.shared_experts * expert_lin
    layers_other = a.layers * (att_other + norms) + dense_layers * dense_bias
    layers_other += moe_layers * (router + (a.shared_experts + a.experts) * expert_bias)
    routed_linear = moe_layers * a.experts * expert_lin
    routed_active = moe_layers * a.experts_per_token * expert_lin

    input_embedding = a.vocab * h + a.positions * h
    head = 0 if a.tied else a.vocab * h
    embedding = input_embedding + head

    total = layers_linear + layers_other + routed_linear + final_norm + embedding
    routed_bias_active = moe_layers * (a.experts - a.experts_per_token) * expert_bias
    active = total - routed_linear + routed_active - routed_bias_active
    largest = max(att_max, dense_max if dense_layers else 0, expert_max)
    return ParamCounts(
        total=total,
        active=active,
        embedding=embedding,
        input_embedding=input_embedding,
        head=head,
        attention=att_lin + att_other,
        attention_linear=att_lin,
        dense_mlp=dense_lin + dense_bias,
        dense_mlp_linear=dense_lin,
        expert=expert_lin,
        router=router,
        norms=norms,
        final_norm=final_norm,
        dense_layers=dense_layers,
        moe_layers=moe_layers,
        layers_linear=layers_linear,
        layers_other=layers_other,
        routed_linear=routed_linear,
        routed_active_linear=routed_active,
        largest_linear=largest,
    )


def _target_shapes(a: Arch, target: str) -> list[tuple[int, int, int, bool]]:
    """(in, out, count over the whole model, routed) of the linear layers one LoRA target
    names; ``routed`` marks adapters on routed experts, which live with their experts."""
    h, L = a.hidden, a.layers
    if target in ("q", "k", "v", "o"):
        if a.is_mla:
            # MLA has no k/v projections: "k" adapts kv_a_proj_with_mqa and "v" kv_b_proj,
            # the two linears that produce keys and values from the latent.
            qk = a.qk_nope_dim + a.qk_rope_dim
            if target == "q":
                if a.q_lora_rank:
                    return [(h, a.q_lora_rank, L, False), (a.q_lora_rank, a.heads * qk, L, False)]
                return [(h, a.heads * qk, L, False)]
            if target == "k":
                return [(h, a.kv_lora_rank + a.qk_rope_dim, L, False)]
            if target == "v":
                return [(a.kv_lora_rank, a.heads * (a.qk_nope_dim + a.v_head_dim), L, False)]
            return [(a.heads * a.v_head_dim, h, L, False)]
        q = a.heads * a.head_dim
        kv = a.kv_heads * a.head_dim
        return {"q": [(h, q, L, False)], "k": [(h, kv, L, False)], "v": [(h, kv, L, False)],
                "o": [(q, h, L, False)]}[target]
    if target == "qkv":  # a fused qkv_proj: one adapter whatever of q, k, v is named
        return [(h, (a.heads + 2 * a.kv_heads) * a.head_dim, L, False)]
    # MLP targets: dense layers, and every shared and routed expert of MoE layers
    # (PEFT matches the expert modules by the same names).
    if target == "gate" and not a.gated_mlp:
        return []
    pc = param_counts(a)
    out: list[tuple[int, int, int, bool]] = []
    widths = [(a.ffn, pc.dense_layers, False)]
    if a.is_moe:
        widths.append((a.expert_ffn, pc.moe_layers * a.shared_experts, False))
        widths.append((a.expert_ffn, pc.moe_layers * a.experts, True))
    for width, count, routed in widths:
        if count == 0:
            continue
        if target == "gate_up":  # a fused gate_up_proj: one adapter of twice the width
            out.append((h, 2 * width, count, routed))
        elif target in ("gate", "up"):
            out.append((h, width, count, routed))
        else:
            out.append((width, h, count, routed))
    return out


def _modules(arch: Arch, targets: tuple[str, ...]) -> list[str]:
    """The linear modules ``targets`` adapt: the plan's names, with q/k/v one ``qkv`` module
    and gate/up one ``gate_up`` module where the model fuses them (Phi-3: PEFT targets
    ``qkv_proj`` and ``gate_up_proj``, so naming any part adapts the whole matrix)."""
    names = set(targets)
    for t in names:
        if t not in LORA_TARGET_NAMES:
            raise ValueError(f"unknown LoRA target {t!r}; expected one of {LORA_TARGET_NAMES}")
    if arch.fused_qkv and not arch.is_mla and names & {"q", "k", "v"}:
        names = (names - {"q", "k", "v"}) | {"qkv"}
    if arch.fused_gate_up and arch.gated_mlp and names & {"gate", "up"}:
        names = (names - {"gate", "up"}) | {"gate_up"}
    return sorted(names)


@lru_cache(maxsize=512)
def lora_param_split(arch: Arch, rank: int, targets: tuple[str, ...]) -> tuple[int, int]:
    """Trainable LoRA parameters as (dense, routed experts): rank x (in + out) for every
    targeted linear (A and B), Hu et al. 2021 (LoRA, arXiv:2106.09685) sec 4.1.

    Adapters on routed experts are kept apart because they live with their experts: expert
    parallelism divides them by ep as it divides the experts, and ZeRO partitions them over
    the expert-data-parallel group (dp / ep), not over dp.
    """
    dense = routed = 0
    for t in _modules(arch, targets):
        for d_in, d_out, count, is_routed in _target_shapes(arch, t):
            n = rank * (d_in + d_out) * count
            if is_routed:
                routed += n
            else:
                dense += n
    return dense, routed


def lora_params(arch: Arch, rank: int, targets: tuple[str, ...]) -> int:
    """Trainable LoRA parameters: rank x (in + out) for every targeted linear (A and B).

    Hu et al. 2021 (LoRA, arXiv:2106.09685) sec 4.1: W0 + BA with B in R^{d x r},
    A in R^{r x k}, so r x (d + k) trainable parameters per adapted matrix.
    """
    dense, routed = lora_param_split(arch, rank, targets)
    return dense + routed


def lora_active_params(arch: Arch, rank: int, targets: tuple[str, ...]) -> float:
    """LoRA parameters one token passes through: the dense adapters and, of the routed
    experts' adapters, those of its experts_per_token experts (k / experts of them); the
    N_lora of the FLOPs count, as N is the active parameters for MoE."""
    dense, routed = lora_param_split(arch, rank, targets)
    if not routed:
        return float(dense)
    return dense + routed * arch.experts_per_token / arch.experts


def lora_intermediate_width(arch: Arch, rank: int, targets: tuple[str, ...]) -> int:
    """Per layer: rank x (adapted matrices per layer), the LoRA A-output activations' width."""
    n = 0
    for t in _modules(arch, targets):
        if t in ("q", "k", "v", "o", "qkv"):
            n += len(_target_shapes(arch, t))
        elif t in ("gate", "up", "down", "gate_up") and (t != "gate" or arch.gated_mlp):
            # per token only the dense MLP or the active experts see the input
            n += 1 if not arch.is_moe else (arch.experts_per_token + arch.shared_experts)
    return rank * n
