"""Each architecture family's config.json fields, mapped onto ``planner.plan.Model`` fields.

The mapping follows the ``PretrainedConfig`` subclasses of ``transformers`` and the module
trees of their models (LlamaConfig, MistralConfig, MixtralConfig, Qwen2/Qwen2Moe/Qwen3/
Qwen3MoeConfig, Gemma2Config, Gemma3TextConfig, Phi3Config, GptOssConfig, Llama4TextConfig,
DeepseekV2/V3Config, GPTNeoXConfig, OPTConfig; docs/estimation.md section 1 lists what each
adds to the count): a field those classes default when absent (``num_key_value_heads`` =
heads, Gemma's ``tie_word_embeddings`` = true) is defaulted the same way here; a field they
need for the shape is required.
"""

from __future__ import annotations

from collections.abc import Callable

from planner.resolve.hffields import ConfigFields, quoted

# torch_dtype (or "dtype" in transformers >= 4.56) -> plan precision.
DTYPES = {
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "float32": "fp32",
    "float": "fp32",
}


def _precision(c: ConfigFields) -> str | None:
    """Native weight precision: the quantization config wins over the dtype it was saved in."""
    quant = c.object("quantization_config")
    if quant is not None:
        raw = quant.get("quant_method", "")
        method = raw.lower() if isinstance(raw, str) else ""
        if method == "fp8" or str(quant.get("fmt", "")).lower().startswith("e4m3"):
            return "fp8"
        if method == "mxfp4":
            # gpt-oss: MoE expert weights in MXFP4 (4-bit E2M1 values and one 8-bit scale per
            # 32, OCP MX spec v1.0), attention, router and embeddings in bf16. No plan
            # precision holds part of a model at 4 bits, so the weights are counted as bf16
            # (what transformers dequantizes them to without MXFP4 kernels) and said so.
            c.unmodelled_quantization = "mxfp4"
            c.warn("precision", f"{c.key('quantization_config')!r} is mxfp4 (MoE experts in 4-bit "
                   "MXFP4, the rest bf16), which no plan precision describes: weights are counted "
                   "as bf16; write `precision` in the model block to choose another")
            return None
        if method == "bitsandbytes":
            if quant.get("load_in_4bit"):
                # bitsandbytes "fp4" has no plan precision; int4 holds the same 4 bits a weight
                return "nf4" if quant.get("bnb_4bit_quant_type", "fp4") == "nf4" else "int4"
            if quant.get("load_in_8bit"):
                return "int8"
        bits = quant.get("bits", quant.get("w_bit"))
        if bits == 4:
            return "int4"
        if bits == 8:
            return "int8"
        raise c.fail(
            f"'quantization_config.quant_method' is {quoted(method) if method else '(none)'}, "
            "not a quantization planner understands",
            "supported: fp8, mxfp4 (read as bf16), bitsandbytes 4/8-bit, and 4- or 8-bit gptq/awq; "
            "set `precision` in the model block",
        )
    dtype = c.data.get("torch_dtype", c.data.get("dtype"))
    if dtype is None:
        return None  # the catalog default (bf16) applies, as for a block that omits it
    name = dtype.removeprefix("torch.") if isinstance(dtype, str) else ""
    if name not in DTYPES:
        raise c.fail(
            f"{c.key('torch_dtype')!r} is {quoted(dtype)}, not a known weight dtype",
            f"expected one of {', '.join(sorted(DTYPES))}",
        )
    return DTYPES[name]


def _max_context(c: ConfigFields, default: int | None) -> int | None:
    """The longest context: ``max_position_embeddings``, or factor x original from a RoPE
    scaling block when that is longer (Llama 3.1 states 131072 with llama3 factor 8 over
    8192; a YaRN block added to Qwen2.5's 32768 by its README allows 4 x 32768)."""
    longest = c.opt_int("max_position_embeddings", default)
    name = "rope_scaling" if c.data.get("rope_scaling") is not None else "rope_parameters"
    rope = c.object(name)
    if rope is None:
        return longest
    scaled = ConfigFields(c.path, rope, c.span, c.key(name) + ".")
    factor = scaled.opt_number("factor", None)
    original = scaled.opt_int("original_max_position_embeddings", None)
    if factor is None or original is None or factor < 1:
        return longest
    return max(longest or 0, int(factor * original))


def _common(c: ConfigFields, *, ffn_key: str = "intermediate_size", tied: bool = False,
            head_dim: int | None = None, max_context: int | None = None,
            kv_heads: int | None = None) -> dict:
    """Fields every decoder family names the same way (Llama naming); ``tied``, ``head_dim``,
    ``max_context`` and ``kv_heads`` are the family's defaults for an absent field (kv_heads:
    the head count unless the family says otherwise)."""
    heads = c.need("num_attention_heads", "the attention shape")
    hidden = c.need("hidden_size", "every weight matrix")
    out = {
        "layers": c.need("num_hidden_layers", "the layer count"),
        "hidden": hidden,
        "heads": heads,
        "kv_heads": c.opt_int("num_key_value_heads", kv_heads or heads),
        "ffn": c.need(ffn_key, "the MLP width"),
        "vocab": c.need("vocab_size", "the embedding size"),
        "tied": c.flag("tie_word_embeddings", tied),
        "mlp": "gated",
        "norm": "rms",
        "positions": 0,
    }
    head = c.opt_int("head_dim", head_dim)
    # heads = 0 (e.g. 1e-3082, read as 0.0) is refused by the range check that follows
    if head is not None and heads > 0 and head != hidden // heads:
        out["head_dim"] = head
    longest = _max_context(c, max_context)
    if longest is not None:
        out["max_context"] = longest
    precision = _precision(c)
    if precision is not None:
        out["precision"] = precision
    return out


def _llama(c: ConfigFields) -> dict:
    # MistralConfig, MixtralConfig and MinistralConfig default num_key_value_heads to 8,
    # LlamaConfig to the head count
    out = _common(c, kv_heads=8 if c.model_type in ("mistral", "mixtral", "ministral") else None)
    # LlamaConfig.attention_bias covers q, k, v and o; mlp_bias the MLP.
    bias = c.flag("attention_bias", False)
    if c.flag("mlp_bias", False):
        raise c.fail(
            "mlp_bias true is not supported", "no catalog family has MLP biases with SwiGLU"
        )
    out["qkv_bias"] = bias
    out["linear_bias"] = False
    return out


def _qwen2(c: ConfigFields) -> dict:
    out = _common(c)
    out["qkv_bias"] = True  # Qwen2Attention: q/k/v projections carry a bias, o does not
    out["linear_bias"] = False
    return out


def _qwen3(c: ConfigFields) -> dict:
    # Qwen3Attention: q/k/v/o biases only with attention_bias (false in every release),
    # and q_norm, k_norm = RMSNorm(head_dim); not Qwen2's fixed q/k/v biases.
    out = _common(c)
    out.update(qkv_bias=c.flag("attention_bias", False), linear_bias=False, qk_norm=True)
    return out


def _mixtral(c: ConfigFields) -> dict:
    out = _llama(c)
    out.update(
        experts=c.need("num_local_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=out["ffn"],  # every Mixtral layer is MoE; intermediate_size is the expert width
        shared_experts=0,
        dense_layers=0,
    )
    return out


def _leading_dense(c: ConfigFields, dense: list[int], what: str) -> int:
    """The count of dense layers when they are the first ones; an error otherwise."""
    if sorted(dense) != list(range(len(dense))):
        raise c.fail(f"{what} do not form a leading run of dense layers",
                     "the plan models dense layers as the first `dense_layers` layers")
    return len(dense)


def _qwen_moe_layers(c: ConfigFields) -> int:
    # Layers listed in mlp_only_layers keep a dense MLP; only a leading run of them maps
    # onto `dense_layers`, and decoder_sparse_step must make every other layer sparse.
    step = c.opt_int("decoder_sparse_step", 1)
    dense = c.int_list("mlp_only_layers")
    what = f"decoder_sparse_step {step} / mlp_only_layers {dense}"
    return _leading_dense(c, dense if step == 1 else [-1], what)


def _qwen2_moe(c: ConfigFields) -> dict:
    out = _qwen2(c)
    expert_ffn = c.need("moe_intermediate_size", "the expert width")
    shared_width = c.opt_int("shared_expert_intermediate_size", 0)
    if expert_ffn < 1:  # a width of 0 sizes no expert (and divides nothing)
        raise c.fail(f"'moe_intermediate_size' is {expert_ffn}; expected a whole number >= 1",
                     "it is needed for the expert width")
    if shared_width % expert_ffn:
        raise c.fail(
            f"shared_expert_intermediate_size {shared_width} is not a multiple of "
            f"moe_intermediate_size {expert_ffn}",
            "the plan counts shared experts in units of the expert width",
        )
    out.update(
        experts=c.need("num_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=expert_ffn,
        shared_experts=shared_width // expert_ffn,
        dense_layers=_qwen_moe_layers(c),
    )
    return out


def _qwen3_moe(c: ConfigFields) -> dict:
    # Qwen3MoeSparseMoeBlock: routed experts and a router without bias, no shared expert;
    # intermediate_size is only the width a dense (mlp_only) layer would have.
    out = _qwen3(c)
    out.update(
        experts=c.need("num_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=c.need("moe_intermediate_size", "the expert width"),
        shared_experts=0,
        dense_layers=_qwen_moe_layers(c),
    )
    return out


def _gemma2(c: ConfigFields) -> dict:
    # Gemma2Config defaults: tie_word_embeddings true, head_dim 256, vocab 256000,
    # max_position_embeddings 8192. Gemma2DecoderLayer has four RMSNorms (input,
    # post_attention, pre_feedforward, post_feedforward); GeGLU has gate, up, down.
    if c.data.get("vocab_size") is None:
        c.data = {**c.data, "vocab_size": 256000}
    out = _common(c, tied=True, head_dim=256, max_context=8192)
    out.update(qkv_bias=c.flag("attention_bias", False), linear_bias=False, norms_per_layer=4)
    return out


def _gemma3_text(c: ConfigFields) -> dict:
    # Gemma3TextConfig defaults (configuration_gemma3.py): vocab_size 262208, head_dim 256,
    # max_position_embeddings 131072, tie_word_embeddings true; the published 27B
    # text_config omits vocab_size and max_position_embeddings. Four norms per layer as
    # Gemma 2, and q_norm, k_norm (RMSNorm(head_dim)).
    if c.data.get("vocab_size") is None:
        c.data = {**c.data, "vocab_size": 262208}
    out = _common(c, tied=True, head_dim=256, max_context=131072)
    out.update(qkv_bias=c.flag("attention_bias", False), linear_bias=False, norms_per_layer=4,
               qk_norm=True)
    return out


def _phi3(c: ConfigFields) -> dict:
    # Phi3Attention: one qkv_proj, no biases; Phi3MLP: one gate_up_proj (same counts as
    # separate matrices; LoRA adapts each fused matrix once).
    out = _common(c)
    out.update(qkv_bias=c.flag("attention_bias", False), linear_bias=False,
               fused_qkv=True, fused_gate_up=True)
    return out


def _gpt_oss(c: ConfigFields) -> dict:
    # GptOssAttention: q/k/v/o with biases (attention_bias true) and `sinks` [heads];
    # GptOssTopKRouter: weight [E, h] and bias [E]; GptOssExperts: gate_up_proj [E, h, 2F]
    # + bias [E, 2F], down_proj [E, F, h] + bias [E, h]. Every layer is MoE.
    out = _common(c, head_dim=64)
    bias = c.flag("attention_bias", True)
    out.update(
        qkv_bias=bias, linear_bias=bias, sinks=True, router_bias=True,
        experts=c.need("num_local_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=out["ffn"], shared_experts=0, dense_layers=0,
    )
    return out


def _llama4_text(c: ConfigFields) -> dict:
    # Llama4TextMoe: routed experts of width intermediate_size, one shared expert of the
    # same width, a router without bias; dense layers use intermediate_size_mlp. MoE layers:
    # `moe_layers`, else every interleave_moe_layer_step-th layer (Scout: step 1, all).
    # qk_norm is an L2 norm without weights.
    out = _common(c, ffn_key="intermediate_size_mlp", head_dim=128)
    layers = out["layers"]
    if c.data.get("moe_layers") is not None:
        moe = c.int_list("moe_layers")
    else:
        step = c.opt_int("interleave_moe_layer_step", 1) or 1
        moe = list(range(step - 1, layers, step))
    dense = sorted(set(range(layers)) - set(moe))
    out.update(
        qkv_bias=c.flag("attention_bias", False), linear_bias=False,
        experts=c.need("num_local_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=c.need("intermediate_size", "the expert width"),
        shared_experts=1,
        dense_layers=_leading_dense(c, dense, "the MoE layers (interleave_moe_layer_step / "
                                    "moe_layers)"),
    )
    return out


def _deepseek(c: ConfigFields) -> dict:
    out = _common(c)
    out["qkv_bias"] = c.flag("attention_bias", False)
    out["linear_bias"] = False
    freq = c.opt_int("moe_layer_freq", 1)
    if freq != 1:
        raise c.fail(
            f"moe_layer_freq {freq} is not supported",
            "every layer after the leading dense ones must be MoE",
        )
    routed = c.opt_int("n_routed_experts", None)
    if routed:
        out.update(
            experts=routed,
            shared_experts=c.opt_int("n_shared_experts", 0),
            experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
            expert_ffn=c.need("moe_intermediate_size", "the expert width"),
            dense_layers=c.opt_int("first_k_dense_replace", 0),
        )
    if c.opt_int("num_nextn_predict_layers", 0):
        c.extra_weights = "the multi-token-prediction layers (num_nextn_predict_layers)"
    out.update(
        # q_lora_rank null (DeepSeek-V2-Lite) means queries are not compressed.
        q_lora_rank=c.opt_int("q_lora_rank", 0),
        kv_lora_rank=c.need("kv_lora_rank", "multi-head latent attention (the KV latent width)"),
        qk_nope_dim=c.need("qk_nope_head_dim", "multi-head latent attention"),
        qk_rope_dim=c.need("qk_rope_head_dim", "multi-head latent attention"),
        v_head_dim=c.need("v_head_dim", "multi-head latent attention"),
    )
    out.pop("head_dim", None)  # MLA head sizes are the qk/v dims above
    return out


def _gpt_neox(c: ConfigFields) -> dict:
    out = _common(c)
    # GPTNeoX: LayerNorm, 2-matrix GeLU MLP, biases on every linear (attention_bias default
    # true). rotary_pct and use_parallel_residual change neither the parameter count nor the
    # memory the planner models, so they are read by nothing here.
    out.update(mlp="plain", norm="layer", linear_bias=True, qkv_bias=c.flag("attention_bias", True))
    return out


def _opt(c: ConfigFields) -> dict:
    out = _common(c, ffn_key="ffn_dim")
    out["kv_heads"] = out["heads"]  # OPT has no grouped-query attention
    proj = c.opt_int("word_embed_proj_dim", out["hidden"])
    if proj != out["hidden"]:
        raise c.fail(
            f"word_embed_proj_dim {proj} differs from hidden_size {out['hidden']}",
            "the project_in/project_out layers of such OPT models (opt-350m) are not modelled",
        )
    # do_layer_norm_before (pre- or post-LN) moves the norms, not their parameter count.
    bias = c.flag("enable_bias", True)
    max_pos = c.need("max_position_embeddings", "the learned position table")
    out.update(
        mlp="plain",
        norm="layer",
        linear_bias=bias,
        qkv_bias=bias,
        tied=c.flag("tie_word_embeddings", True),
        # OPTLearnedPositionalEmbedding allocates max_position_embeddings + 2 rows (offset 2).
        positions=max_pos + 2,
        max_context=max_pos,
    )
    return out


FAMILIES: dict[str, Callable[[ConfigFields], dict]] = {
    "llama": _llama,
    "mistral": _llama,
    # Ministral-8B's own class (transformers MinistralConfig): Mistral's shape, no biases,
    # sliding-window layers that change no parameter
    "ministral": _llama,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "qwen3": _qwen3,
    "qwen3_moe": _qwen3_moe,
    "gemma2": _gemma2,
    "gemma3_text": _gemma3_text,
    "phi3": _phi3,
    "gpt_oss": _gpt_oss,
    "llama4_text": _llama4_text,
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "gpt_neox": _gpt_neox,
    "opt": _opt,
}

# Multimodal wrappers: the language model's fields are in `text_config` (of the model type
# given), the vision tower beside it is not part of the count.
WRAPPERS: dict[str, str] = {
    "gemma3": "gemma3_text",  # Gemma3ForConditionalGeneration: SigLIP tower + projector
    "mistral3": "mistral",  # Mistral3ForConditionalGeneration (Mistral-Small 3.x, Magistral): Pixtral
    "llama4": "llama4_text",  # Llama4ForConditionalGeneration: vision encoder + projector
}
