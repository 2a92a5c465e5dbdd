"""Read a model's architecture from a local Hugging Face ``config.json`` text.

``read_config`` maps each family's field names onto the ``planner.plan.Model``
fields (base units, plan names) and returns them as a dict; the loader merges
that dict under whatever the plan's block writes itself. The mapping follows
the ``PretrainedConfig`` subclasses of ``transformers`` (LlamaConfig,
MistralConfig, MixtralConfig, Qwen2Config, Qwen2MoeConfig, DeepseekV2Config,
DeepseekV3Config, GPTNeoXConfig, OPTConfig): a field those classes default
when absent (``num_key_value_heads`` = heads, ``tie_word_embeddings``) is
defaulted the same way here; a field they require for the shape is required.

Nothing here touches the network: the caller reads the file and passes its text.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import re
from collections.abc import Callable

from planner.errors import PlanImportError, Span
from planner.syntax.limits import MAX_JSON_DEPTH

# torch_dtype (or "dtype" in transformers >= 4.56) -> plan precision.
_DTYPES = {
    "bfloat16": "bf16",
    "float16": "fp16",
    "half": "fp16",
    "float32": "fp32",
    "float": "fp32",
}


class _Unreadable:
    """A JSON value planner refuses: NaN, Infinity (not JSON), or a number too large to mean anything."""

    def __init__(self, text: str):
        self.text = text


def _number(text: str):
    value = float(text)
    return value if math.isfinite(value) else _Unreadable(text[:20])


def _integer(text: str):
    # Python refuses int() of more than 4300 digits; no model field comes near 30.
    return int(text) if len(text.lstrip("-")) <= 30 else _Unreadable(text[:20] + "…")


def quoted(value) -> str:
    """A JSON value for a message: numbers and short names as written, anything else by
    its kind, so that an error never copies a file's text into a log."""
    if isinstance(value, _Unreadable):
        return value.text
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str) and _NAME.fullmatch(value):
        return repr(value)
    kinds = {str: "a string", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


# Quoted from a config: a short lowercase name, as model types, dtypes and quantization
# methods are ("qwen2_moe", "bfloat16", "awq"); anything else is named by its kind.
_NAME = re.compile(r"[a-z0-9_.\-]{1,20}")


class _Config:
    """The parsed JSON object with error reporting that names the file and the field."""

    def __init__(self, path: str, data: dict, span: Span):
        self.path = path
        self.data = data
        self.span = span
        model_type = data.get("model_type", "")
        if not isinstance(model_type, str):
            raise self.fail(f"'model_type' is {quoted(model_type)}; expected a string")
        self.model_type = model_type

    def fail(self, message: str, hint: str | None = None) -> PlanImportError:
        return PlanImportError(f"{self.path}: {message}", self.span, hint)

    def need(self, key: str, needed: str) -> int:
        """A required positive integer field."""
        if key not in self.data or self.data[key] is None:
            raise self.fail(
                f"model_type {quoted(self.model_type)} config has no {key!r}"
                if _NAME.fullmatch(self.model_type) else f"config has no {key!r}",
                f"it is needed for {needed}; "
                "add it to the file or set the value in the model block",
            )
        return self._as_int(key, self.data[key])

    def opt_int(self, key: str, default: int | None) -> int | None:
        value = self.data.get(key)
        if value is None:
            return default
        return self._as_int(key, value)

    def int_list(self, key: str) -> list[int]:
        """An optional list of whole numbers (absent or null: empty)."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{key!r} is {quoted(value)}; expected a list of whole numbers")
        return [self._as_int(f"{key}[{i}]", item) for i, item in enumerate(value)]

    def _as_int(self, key: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise self.fail(f"{key!r} is {quoted(value)}; expected a whole number")
        if value < 0:
            raise self.fail(f"{key!r} is {quoted(value)}; expected a number >= 0")
        return int(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{key!r} is {quoted(value)}; expected true or false")
        return value


def _precision(c: _Config) -> str | None:
    """Native weight precision: the quantization config wins over the dtype it was saved in."""
    quant = c.data.get("quantization_config")
    if isinstance(quant, dict):
        raw = quant.get("quant_method", "")
        method = raw.lower() if isinstance(raw, str) else ""
        if method == "fp8" or str(quant.get("fmt", "")).lower().startswith("e4m3"):
            return "fp8"
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
            "supported: fp8, bitsandbytes 4/8-bit, and 4- or 8-bit gptq/awq; "
            "set `precision` in the model block",
        )
    dtype = c.data.get("torch_dtype", c.data.get("dtype"))
    if dtype is None:
        return None  # the catalog default (bf16) applies, as for a block that omits it
    name = dtype.removeprefix("torch.") if isinstance(dtype, str) else ""
    if name not in _DTYPES:
        raise c.fail(
            f"'torch_dtype' is {quoted(dtype)}, not a known weight dtype",
            f"expected one of {', '.join(sorted(_DTYPES))}",
        )
    return _DTYPES[name]


def _common(c: _Config, *, ffn_key: str = "intermediate_size") -> dict:
    """Fields every decoder family names the same way (Llama naming)."""
    heads = c.need("num_attention_heads", "the attention shape")
    hidden = c.need("hidden_size", "every weight matrix")
    out = {
        "layers": c.need("num_hidden_layers", "the layer count"),
        "hidden": hidden,
        "heads": heads,
        "kv_heads": c.opt_int("num_key_value_heads", heads),
        "ffn": c.need(ffn_key, "the MLP width"),
        "vocab": c.need("vocab_size", "the embedding size"),
        "tied": c.flag("tie_word_embeddings", False),
        "mlp": "gated",
        "norm": "rms",
        "positions": 0,
    }
    head_dim = c.opt_int("head_dim", None)
    if head_dim is not None and head_dim != hidden // heads:
        out["head_dim"] = head_dim
    max_pos = c.opt_int("max_position_embeddings", None)
    if max_pos is not None:
        out["max_context"] = max_pos
    precision = _precision(c)
    if precision is not None:
        out["precision"] = precision
    return out


def _llama(c: _Config) -> dict:
    out = _common(c)
    # LlamaConfig.attention_bias covers q, k, v and o; mlp_bias the MLP.
    bias = c.flag("attention_bias", False)
    if c.flag("mlp_bias", False):
        raise c.fail(
            "mlp_bias true is not supported", "no catalog family has MLP biases with SwiGLU"
        )
    out["qkv_bias"] = bias
    out["linear_bias"] = False
    return out


def _qwen2(c: _Config) -> dict:
    out = _common(c)
    out["qkv_bias"] = True  # Qwen2Attention: q/k/v projections carry a bias, o does not
    out["linear_bias"] = False
    return out


def _mixtral(c: _Config) -> dict:
    out = _llama(c)
    out.update(
        experts=c.need("num_local_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=out["ffn"],  # every Mixtral layer is MoE; intermediate_size is the expert width
        shared_experts=0,
        dense_layers=0,
    )
    return out


def _qwen2_moe(c: _Config) -> dict:
    out = _qwen2(c)
    expert_ffn = c.need("moe_intermediate_size", "the expert width")
    shared_width = c.opt_int("shared_expert_intermediate_size", 0)
    if shared_width % expert_ffn:
        raise c.fail(
            f"shared_expert_intermediate_size {shared_width} is not a multiple of "
            f"moe_intermediate_size {expert_ffn}",
            "the plan counts shared experts in units of the expert width",
        )
    # Layers listed in mlp_only_layers keep a dense MLP; only a leading run of them maps
    # onto `dense_layers`, and decoder_sparse_step must make every other layer sparse.
    step = c.opt_int("decoder_sparse_step", 1)
    dense = c.int_list("mlp_only_layers")
    if step != 1 or sorted(dense) != list(range(len(dense))):
        raise c.fail(
            f"decoder_sparse_step {step} / mlp_only_layers {dense} do not form a leading run "
            "of dense layers",
            "the plan models dense layers as the first `dense_layers` layers",
        )
    out.update(
        experts=c.need("num_experts", "the expert count"),
        experts_per_token=c.need("num_experts_per_tok", "the routed experts per token"),
        expert_ffn=expert_ffn,
        shared_experts=shared_width // expert_ffn,
        dense_layers=len(dense),
    )
    return out


def _deepseek(c: _Config) -> dict:
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


def _gpt_neox(c: _Config) -> dict:
    out = _common(c)
    # GPTNeoX: LayerNorm, 2-matrix GeLU MLP, biases on every linear (attention_bias default
    # true). rotary_pct and use_parallel_residual change neither the parameter count nor the
    # memory the planner models, so they are read by nothing here.
    out.update(mlp="plain", norm="layer", linear_bias=True, qkv_bias=c.flag("attention_bias", True))
    return out


def _opt(c: _Config) -> dict:
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


_FAMILIES: dict[str, Callable[[_Config], dict]] = {
    "llama": _llama,
    "mistral": _llama,
    "mixtral": _mixtral,
    "qwen2": _qwen2,
    "qwen2_moe": _qwen2_moe,
    "deepseek_v2": _deepseek,
    "deepseek_v3": _deepseek,
    "gpt_neox": _gpt_neox,
    "opt": _opt,
}

SUPPORTED_MODEL_TYPES = tuple(sorted(_FAMILIES))


def read_config(path: str, text: str, span: Span) -> dict:
    """The ``Model`` field values a Hugging Face config.json text describes.

    ``path`` names the file in messages; ``span`` is where the plan wrote
    ``config = "..."``. Raises ``PlanImportError`` for invalid JSON (with the
    JSON line and column; NaN and Infinity are not JSON), nesting deeper than
    ``MAX_JSON_DEPTH``, an unknown ``model_type``, a missing field, a field of
    the wrong type, or a value outside the range of the plan key it sets.
    Messages name the file and the JSON key, never copy the file's text.
    """
    depth = _nesting(text)
    if depth > MAX_JSON_DEPTH:
        raise PlanImportError(f"{path}: JSON nested {MAX_JSON_DEPTH + 1} or more levels deep; "
                              f"a config.json nests a few (limit {MAX_JSON_DEPTH})", span)
    try:
        data = json.loads(text, parse_constant=_Unreadable, parse_float=_number, parse_int=_integer)
    except json.JSONDecodeError as error:
        raise PlanImportError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}",
            span,
        ) from None
    if not isinstance(data, dict):
        raise PlanImportError(f"{path}: expected a JSON object, found {quoted(data)}", span)
    bad = _first_unreadable(data, "")
    if bad is not None:
        where, value = bad
        what = "which JSON does not allow" if value.text.lstrip("-") in ("NaN", "Infinity") else \
            "a number too large for any model field"
        raise PlanImportError(f"{path}: {where!r} is {value.text}, {what}", span)
    c = _Config(path, data, span)
    if "model_type" not in data:
        raise c.fail(
            "config has no 'model_type'",
            f"it names the architecture family; supported: {', '.join(SUPPORTED_MODEL_TYPES)}",
        )
    family = _FAMILIES.get(c.model_type)
    if family is None:
        close = difflib.get_close_matches(c.model_type, SUPPORTED_MODEL_TYPES, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise c.fail(
            f"'model_type' is {quoted(c.model_type)}, which is not supported",
            f"{guess}supported: {', '.join(SUPPORTED_MODEL_TYPES)}; "
            "or write the model's fields in the block",
        )
    fields = family(c)
    _check_ranges(c, fields)
    return fields


def _nesting(text: str) -> int:
    """How deep arrays and objects nest, strings left out: linear, no recursion."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    if not brackets:
        return 0
    return max(itertools.accumulate(1 if b in "[{" else -1 for b in brackets))


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _first_unreadable(value, where: str):
    """(JSON key path, value) of the first NaN, Infinity or huge number, or None."""
    stack = [(where, value)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, _Unreadable):
            return where, value
        if isinstance(value, dict):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value))))
    return None


# The JSON keys each whole-number field is read from, for messages (family spellings).
_ORIGIN = {
    "layers": ("num_hidden_layers",), "hidden": ("hidden_size",), "heads": ("num_attention_heads",),
    "kv_heads": ("num_key_value_heads", "num_attention_heads"), "head_dim": ("head_dim",),
    "ffn": ("intermediate_size", "ffn_dim"), "vocab": ("vocab_size",),
    "max_context": ("max_position_embeddings",), "positions": ("max_position_embeddings",),
    "experts": ("num_local_experts", "num_experts", "n_routed_experts"),
    "experts_per_token": ("num_experts_per_tok",),
    "expert_ffn": ("moe_intermediate_size", "intermediate_size"),
    "shared_experts": ("n_shared_experts", "shared_expert_intermediate_size"),
    "dense_layers": ("first_k_dense_replace", "mlp_only_layers"),
    "q_lora_rank": ("q_lora_rank",), "kv_lora_rank": ("kv_lora_rank",),
    "qk_nope_dim": ("qk_nope_head_dim",), "qk_rope_dim": ("qk_rope_head_dim",), "v_head_dim": ("v_head_dim",),
}


def _check_ranges(c: _Config, fields: dict) -> None:
    """Every whole-number field within the range of the plan key it sets (syntax.keys.MODEL)."""
    from planner.syntax.keys import MODEL
    from planner.syntax.values import range_text

    for field, value in fields.items():
        spec = MODEL.get(field)
        if spec is None or isinstance(value, bool) or not isinstance(value, int):
            continue
        low_ok = spec.low is None or value >= spec.low
        if low_ok and (spec.high is None or value <= spec.high):
            continue
        key = next((k for k in _ORIGIN.get(field, ()) if k in c.data), field)
        raise c.fail(f"{key!r} gives `{field} = {value}`; `{field}` must be {range_text(spec)}")
