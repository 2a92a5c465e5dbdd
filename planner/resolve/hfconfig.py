"""Read a model's architecture from a local Hugging Face ``config.json`` text.

``read_config`` maps each family's field names onto the ``planner.plan.Model``
fields (base units, plan names) and returns them as a dict; the loader merges
that dict under whatever the plan's block writes itself. The families and their
mappings are in ``planner.resolve.hffamilies``; reading a field with an error that
names the file and the key is ``planner.resolve.hffields``. Multimodal wrappers
(Gemma 3, Mistral 3, Llama 4) are read from their ``text_config``.

Nothing here touches the network: the caller reads the file and passes its text.
"""

from __future__ import annotations

import difflib
import itertools
import json
import re

from planner.errors import PlanImportError, Span
from planner.frozen import frozen
from planner.resolve.hffamilies import FAMILIES, WRAPPERS
from planner.resolve.hffields import ConfigFields, Unreadable, integer, number, quoted
from planner.syntax.limits import MAX_JSON_DEPTH

SUPPORTED_MODEL_TYPES = tuple(sorted(set(FAMILIES) | set(WRAPPERS)))

__all__ = ["ConfigInfo", "SUPPORTED_MODEL_TYPES", "quoted", "read_config", "read_config_info"]


@frozen
class ConfigInfo:
    """What one config.json says: the model fields, and what else the plan should know."""

    fields: dict
    warnings: tuple[tuple[str, str], ...] = ()  # (model field that settles it, message)
    extra_weights: str | None = None  # weights in the checkpoint outside the counted model
    unmodelled_quantization: str | None = None  # e.g. "mxfp4": read as bf16


def read_config(path: str, text: str, span: Span) -> dict:
    """The ``Model`` field values a Hugging Face config.json text describes
    (``read_config_info(...).fields``)."""
    return read_config_info(path, text, span).fields


def read_config_info(path: str, text: str, span: Span) -> ConfigInfo:
    """The ``Model`` field values a Hugging Face config.json text describes, with notes.

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
        data = json.loads(text, parse_constant=Unreadable, parse_float=number, parse_int=integer)
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
    c = ConfigFields(path, data, span)
    if "model_type" not in data:
        raise c.fail(
            "config has no 'model_type'",
            f"it names the architecture family; supported: {', '.join(SUPPORTED_MODEL_TYPES)}",
        )
    if c.model_type in WRAPPERS:
        c = _text_config(c)
    family = FAMILIES.get(c.model_type)
    if family is None:
        close = difflib.get_close_matches(c.model_type, SUPPORTED_MODEL_TYPES, n=1)
        guess = f"did you mean {close[0]!r}? " if close else ""
        raise c.fail(
            f"{c.key('model_type')!r} is {quoted(c.model_type)}, which is not supported",
            f"{guess}supported: {', '.join(SUPPORTED_MODEL_TYPES)}; "
            "or write the model's fields in the block",
        )
    fields = family(c)
    _check_ranges(c, fields)
    return ConfigInfo(fields, tuple(c.warnings), c.extra_weights, c.unmodelled_quantization)


def _text_config(outer: ConfigFields) -> ConfigFields:
    """The language model of a multimodal wrapper: its ``text_config``, with the dtype and
    quantization the wrapper states for the whole checkpoint when the text part has none."""
    text = outer.object("text_config")
    if text is None:
        raise outer.fail(f"model_type {quoted(outer.model_type)} config has no 'text_config'",
                         "the language model's fields are read from it")
    inherited = {k: outer.data[k] for k in ("torch_dtype", "dtype", "quantization_config")
                 if k in outer.data and k not in text}
    if "torch_dtype" in text or "dtype" in text:
        inherited.pop("torch_dtype", None)
        inherited.pop("dtype", None)
    inner = ConfigFields(outer.path, {"model_type": WRAPPERS[outer.model_type], **text, **inherited},
                         outer.span, "text_config.")
    inner.extra_weights = f"the vision tower of the {outer.model_type} checkpoint (vision_config)"
    return inner


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
        if isinstance(value, Unreadable):
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
    "ffn": ("intermediate_size_mlp", "intermediate_size", "ffn_dim"), "vocab": ("vocab_size",),
    "max_context": ("max_position_embeddings",), "positions": ("max_position_embeddings",),
    "experts": ("num_local_experts", "num_experts", "n_routed_experts"),
    "experts_per_token": ("num_experts_per_tok",),
    "expert_ffn": ("moe_intermediate_size", "intermediate_size"),
    "shared_experts": ("n_shared_experts", "shared_expert_intermediate_size"),
    "dense_layers": ("first_k_dense_replace", "mlp_only_layers"),
    "q_lora_rank": ("q_lora_rank",), "kv_lora_rank": ("kv_lora_rank",),
    "qk_nope_dim": ("qk_nope_head_dim",), "qk_rope_dim": ("qk_rope_head_dim",), "v_head_dim": ("v_head_dim",),
}


def _check_ranges(c: ConfigFields, fields: dict) -> None:
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
        key = c.key(next((k for k in _ORIGIN.get(field, ()) if k in c.data), field))
        raise c.fail(f"{key!r} gives `{field} = {value}`; `{field}` must be {range_text(spec)}")
