"""Reading fields out of a parsed Hugging Face ``config.json``, with errors that name the
file and the JSON key (``planner.resolve.hfconfig`` parses the text; the family mappers of
``planner.resolve.hffamilies`` read through ``ConfigFields``)."""

from __future__ import annotations

import json
import math
import re

from planner.errors import PlanImportError, Span


class Unreadable:
    """A JSON value planner refuses: NaN, Infinity (not JSON), or a number too large to mean anything."""

    def __init__(self, text: str):
        self.text = text


def number(text: str):
    value = float(text)
    return value if math.isfinite(value) else Unreadable(text[:20])


def integer(text: str):
    # Python refuses int() of more than 4300 digits; no model field comes near 30.
    return int(text) if len(text.lstrip("-")) <= 30 else Unreadable(text[:20] + "…")


# Quoted from a config: a short lowercase name, as model types, dtypes and quantization
# methods are ("qwen2_moe", "bfloat16", "awq"); anything else is named by its kind.
NAME = re.compile(r"[a-z0-9_.\-]{1,20}")


def quoted(value) -> str:
    """A JSON value for a message: numbers and short names as written, anything else by
    its kind, so that an error never copies a file's text into a log."""
    if isinstance(value, Unreadable):
        return value.text
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str) and NAME.fullmatch(value):
        return repr(value)
    kinds = {str: "a string", list: "a list", dict: "an object"}
    return kinds.get(type(value), type(value).__name__)


class ConfigFields:
    """One JSON object of a config (the file, or its ``text_config``), read field by field.

    ``prefix`` is where the object sits in the file (``"text_config."``), so that a message
    names the key as the file spells it.
    """

    def __init__(self, path: str, data: dict, span: Span, prefix: str = ""):
        self.path = path
        self.data = data
        self.span = span
        self.prefix = prefix
        model_type = data.get("model_type", "")
        if not isinstance(model_type, str):
            raise self.fail(f"{self.key('model_type')!r} is {quoted(model_type)}; expected a string")
        self.model_type = model_type
        # what the reading found besides the fields (planner.resolve.hfconfig.ConfigInfo)
        self.warnings: list[tuple[str, str]] = []  # (plan field it concerns, message)
        self.extra_weights: str | None = None  # what the checkpoint holds beyond the counted model
        self.unmodelled_quantization: str | None = None  # a quantization no plan precision holds

    def warn(self, field: str, message: str) -> None:
        """A fact the plan should hear about: ``field`` is the model key that settles it."""
        self.warnings.append((field, f"{self.path}: {message}"))

    def key(self, name: str) -> str:
        """``name`` as the file spells its path."""
        return self.prefix + name

    def fail(self, message: str, hint: str | None = None) -> PlanImportError:
        return PlanImportError(f"{self.path}: {message}", self.span, hint)

    def need(self, key: str, needed: str) -> int:
        """A required positive integer field."""
        if key not in self.data or self.data[key] is None:
            raise self.fail(
                f"model_type {quoted(self.model_type)} config has no {self.key(key)!r}"
                if NAME.fullmatch(self.model_type) else f"config has no {self.key(key)!r}",
                f"it is needed for {needed}; "
                "add it to the file or set the value in the model block",
            )
        return self.as_int(key, self.data[key])

    def opt_int(self, key: str, default: int | None) -> int | None:
        value = self.data.get(key)
        if value is None:
            return default
        return self.as_int(key, value)

    def opt_number(self, key: str, default: float | None) -> float | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{self.key(key)!r} is {quoted(value)}; expected a number")
        return float(value)

    def int_list(self, key: str) -> list[int]:
        """An optional list of whole numbers (absent or null: empty)."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{self.key(key)!r} is {quoted(value)}; expected a list of whole numbers")
        return [self.as_int(f"{key}[{i}]", item) for i, item in enumerate(value)]

    def as_int(self, key: str, value) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise self.fail(f"{self.key(key)!r} is {quoted(value)}; expected a whole number")
        if value < 0:
            raise self.fail(f"{self.key(key)!r} is {quoted(value)}; expected a number >= 0")
        return int(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(f"{self.key(key)!r} is {quoted(value)}; expected true or false")
        return value

    def object(self, key: str) -> dict | None:
        """An optional JSON object (absent or null: None)."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.fail(f"{self.key(key)!r} is {quoted(value)}; expected an object")
        return value
