"""One value → base units, by the kind of its key (see ``keys.Key.kind``).

Each converter returns the plan fields the entry sets, e.g. ``dataset = 1GB``
→ ``{"dataset_bytes": 1000000000, "dataset_tokens": None}``.  Arithmetic is
done in Decimal so that ``1.5KiB`` is exactly 1536 and ``1.1B`` exactly
1100000000.
"""

from __future__ import annotations

import datetime
import re
from decimal import Context, Decimal, InvalidOperation, localcontext

from planner.errors import PlanTypeError
from planner.syntax.ast import Value
from planner.syntax.keys import DATASET_BYTES, DATASET_TOKENS, Key
from planner.syntax.suggest import did_you_mean
from planner.syntax.units import KIND_OF_UNIT, KIND_WORDS, UNITS, spell, suffix_hint, units_of

# The solver works in 64-bit integers (OR-Tools CP-SAT), so counts and bytes must fit.
MAX_INT = 2**63 - 1


def _found(value: Value) -> str:
    if value.kind == "quantity":
        unit_kind = KIND_OF_UNIT.get(value.unit or "", "")
        return f"`{value.text}` ({KIND_WORDS.get(unit_kind, 'a quantity')})"
    words = {
        "string": "a string", "number": "a plain number", "bool": "a boolean", "word": "the word",
        "list": "a list", "price": "a price per hour", "tokens": "a token count", "bad": "",
    }
    return f"{words[value.kind]} `{value.text}`".strip()


def _error(key: str, message: str, value: Value) -> PlanTypeError:
    return PlanTypeError(f"`{key}` {message}", value.span)


# A number's exponent beyond this is outside every key's range (the widest is
# 1e17): such a number is refused before any arithmetic, so none overflows.
_EXPONENT_LIMIT = 40


def _decimal(key: str, value: Value, spec: Key | None = None) -> Decimal:
    """The number as written, exactly; a number no key's range holds is an error here."""
    try:
        number = Decimal(value.number or "")
    except InvalidOperation:
        raise _error(key, f"cannot read the number `{value.text}`", value) from None
    if not number.is_finite():
        raise _error(key, f"cannot read the number `{value.text}`", value)
    if number and not -_EXPONENT_LIMIT <= number.adjusted() <= _EXPONENT_LIMIT:
        raise _out_of_range(key, spec, value)
    return number


def _scaled(key: str, value: Value, unit_kind: str, spec: Key | None = None) -> Decimal:
    number = _decimal(key, value, spec)
    if unit_kind == "number":
        return number
    factor = Decimal(repr(UNITS[unit_kind][value.unit]))
    # exact: enough digits for every digit written and the factor's
    with localcontext(Context(prec=len(number.as_tuple().digits) + 40, Emax=999, Emin=-999)):
        return number * factor


def _integer(key: str, number: Decimal, value: Value, spec: Key | None = None) -> int:
    if number != number.to_integral_value():
        raise _error(key, f"must be a whole number, got `{value.text}`", value)
    result = int(number)
    if result > MAX_INT:
        raise _out_of_range(key, spec, value)
    return result


def _real(key: str, number: Decimal, value: Value, spec: Key | None = None) -> float:
    result = float(number)
    if result != result or result in (float("inf"), float("-inf")):
        raise _out_of_range(key, spec, value)
    return result


def _unit_kind(key: str, value: Value, allowed: tuple[str, ...], what: str) -> str:
    """The unit kind of a numeric value among ``allowed`` ("number" = no unit), or an error."""
    if value.kind == "number" and "number" in allowed:
        return "number"
    if value.kind == "quantity" and KIND_OF_UNIT.get(value.unit) in allowed:
        return KIND_OF_UNIT[value.unit]
    units = "; ".join(units_of(k) for k in allowed if k != "number")
    if value.kind == "number":
        raise _error(key, f"needs a unit: {what}, one of {units}; found the plain number `{value.text}`", value)
    if value.kind == "quantity" or value.kind in ("price", "tokens"):
        unit = "tokens" if value.kind == "tokens" else value.unit
        allowed_words = units if units else "no unit"
        raise _error(key, f"takes {what}; found unit `{unit}` in `{value.text}`; units allowed: {allowed_words}", value)
    if value.kind == "bad":
        hint = suffix_hint(value.text)
        also = f"; {hint}" if hint else ""
        raise _error(key, f"cannot read `{value.text}`: expected {what} ({units or 'a plain number'}){also}", value)
    raise _error(key, f"takes {what}; found {_found(value)}", value)


def _check_range(key: str, spec: Key, number, value: Value) -> None:
    if spec.or_zero and number == 0:
        return
    low_ok = spec.low is None or (number > spec.low if spec.low_open else number >= spec.low)
    high_ok = spec.high is None or number <= spec.high
    if not (low_ok and high_ok):
        raise _out_of_range(key, spec, value)
    if spec.power_of_two and (number < 1 or number & (number - 1)):
        raise _error(key, f"must be a power of two (1, 2, 4, 8, ...), got `{value.text}`", value)


def range_text(spec: Key) -> str:
    """The key's range in plan words, as messages and docs/language.md state it."""
    low = spell(spec.kind, spec.low) if spec.low is not None else None
    high = spell(spec.kind, spec.high) if spec.high is not None else None
    if low is None and high is None:
        return ""
    if spec.low_open:
        text = f"more than {low}" + (f" and at most {high}" if high else "")
    elif high is None:
        text = f"at least {low}"
    else:
        text = f"from {low} to {high}"
    return f"0, or {text}" if spec.or_zero else text


def _out_of_range(key: str, spec: Key | None, value: Value) -> PlanTypeError:
    if spec is None or (spec.low is None and spec.high is None):
        return _error(key, f"value `{value.text}` is out of range", value)
    return _error(key, f"must be {range_text(spec)}, got `{value.text}`", value)


def _name(key, spec, value):
    if value.kind not in ("string", "word"):
        raise _error(key, f"takes a name in double quotes; found {_found(value)}", value)
    name = text_of(value)
    if not name:
        raise _error(key, "takes a name; found an empty string", value)
    return name


def text_of(value: Value) -> str:
    """A string's content without its quotes; any other value's text as written."""
    from planner.syntax.nodes import unquote

    return unquote(value.text) if value.kind == "string" else value.text


def _text(key, spec, value):
    if value.kind != "string":
        raise _error(key, f'takes a string in double quotes, e.g. `{key} = "{value.text}"`; found {_found(value)}', value)
    text = text_of(value)
    if not text:
        raise _error(key, "takes a string; found an empty string", value)
    return text


def _currency(key, spec, value):
    code = _name(key, spec, value)
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise _error(key, f"takes a three-letter currency code such as \"USD\"; found `{value.text}`", value)
    return code


def _enum(key, spec, value):
    if value.kind not in ("string", "word"):
        raise _error(key, f"takes one of {', '.join(spec.choices)}; found {_found(value)}", value)
    word = text_of(value)
    if word not in spec.choices:
        raise _error(key, f"takes one of {', '.join(spec.choices)}; found `{word}`{did_you_mean(word, spec.choices)}", value)
    return word


def _bool(key, spec, value):
    if value.kind != "bool":
        raise _error(key, f"takes true or false; found {_found(value)}", value)
    return value.text == "true"


def _count(key, spec, value):
    kind = _unit_kind(key, value, ("number", "count"), "a count")
    number = _integer(key, _scaled(key, value, kind, spec), value, spec)
    _check_range(key, spec, number, value)
    return number


def _tokens(key, spec, value):
    if value.kind == "tokens":
        if value.unit and value.unit not in UNITS["count"]:
            raise _error(key, f"takes a token count; found unit `{value.unit}` in `{value.text}`; "
                         f"units allowed: {units_of('count')}", value)
        kind = "count" if value.unit else "number"
    else:
        kind = _unit_kind(key, value, ("number", "count"), "a token count (8k, 4096)")
    number = _integer(key, _scaled(key, value, kind, spec), value, spec)
    _check_range(key, spec, number, value)
    return number


def _quantity_of(unit_kind: str, what: str, integral: bool):
    def convert(key, spec, value):
        if _zero_admitted(spec, value):
            return 0 if integral else 0.0  # nothing needs no unit
        kind = _unit_kind(key, value, (unit_kind,), what)
        scaled = _scaled(key, value, kind, spec)
        if integral:
            # Whole bytes: 1.1KiB is 1126.4 B, read as 1126 (a fraction of a byte means nothing).
            number = _integer(key, scaled.to_integral_value() if scaled >= 1 else scaled, value, spec)
        else:
            number = _real(key, scaled, value, spec)
        _check_range(key, spec, number, value)
        return number

    return convert


def _zero_admitted(spec: Key, value: Value) -> bool:
    """A plain 0 for a key whose range holds 0 (a calibrated `step_overhead = 0`)."""
    if value.kind != "number" or spec.low != 0 or spec.low_open:
        return False
    try:
        return Decimal(value.number or "") == 0
    except InvalidOperation:
        return False


def _fraction(key, spec, value):
    kind = _unit_kind(key, value, ("number", "percent"), "a fraction (0.4) or a percentage (40%)")
    number = _real(key, _scaled(key, value, kind, spec), value, spec)
    _check_range(key, spec, number, value)
    return number


def _share(key, spec, value):
    """A share that may be 0 (a fraction or a percentage within the key's range)."""
    kind = _unit_kind(key, value, ("number", "percent"), "a share (0.5) or a percentage (50%)")
    number = _real(key, _scaled(key, value, kind), value)
    _check_range(key, spec, number, value)
    return number


def _checked_real(key, spec, value):
    """The value's number as written (no unit scaling), as a float within the key's range."""
    number = _real(key, _decimal(key, value, spec), value, spec)
    _check_range(key, spec, number, value)
    return number


def _price(key, spec, value):
    if value.kind != "price":
        if value.kind == "number":
            raise _error(key, f"is a price per GPU-hour: write `{value.text}/h` (or `{value.text} USD/h`)", value)
        raise _error(key, f"takes a price per GPU-hour (1.79/h, 1.79 USD/h); found {_found(value)}", value)
    return _checked_real(key, spec, value)


def _money(key, spec, value):
    if value.kind != "number":
        raise _error(key, f"takes an amount of money as a plain number (e.g. 500); found {_found(value)}", value)
    return _checked_real(key, spec, value)


def _throughput(key, spec, value):
    """Per second, as the key's name says: a plain number (2450, 2.4k) or a rate (2450/s, 3000/min)."""
    kind = _unit_kind(key, value, ("number", "count", "rate"), "a number per second (2450, 2.4k or 2450/s)")
    number = _real(key, _scaled(key, value, kind, spec), value, spec)
    _check_range(key, spec, number, value)
    return number


def _plain_real(key, spec, value):
    if value.kind != "number":
        raise _error(key, f"takes a plain number; found {_found(value)}", value)
    return _checked_real(key, spec, value)


def _available(key, spec, value):
    if value.kind == "word" and value.text == "unlimited":
        return -1
    if value.kind in ("word", "string"):
        raise _error(key, f"takes a count or `unlimited`; found {_found(value)}{did_you_mean(value.text, ['unlimited'])}", value)
    return _count(key, spec, value)


def _shard(key, spec, value):
    if value.kind == "word" and value.text == "node":
        return "node"
    if value.kind in ("word", "string"):
        raise _error(key, f"takes a count or `node`; found {_found(value)}{did_you_mean(value.text, ['node'])}", value)
    return _count(key, spec, value)


def _zero(key, spec, value):
    if value.kind != "number":
        raise _error(key, f"takes a ZeRO stage 0, 1, 2 or 3; found {_found(value)}", value)
    number = _integer(key, _decimal(key, value, spec), value, spec)
    _check_range(key, spec, number, value)
    return number


def _date(key, spec, value):
    text = _text(key, spec, value)
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        datetime.date.fromisoformat(text)
    except ValueError:
        raise _error(key, f'takes a date "YYYY-MM-DD"; found `{value.text}`', value) from None
    return text


def _list_of(item):
    def convert(key, spec, value):
        if value.kind != "list":
            raise _error(key, f"takes a list such as [{value.text}]; found {_found(value)}", value)
        if not value.items:
            raise _error(key, "takes a list with at least one element; found `[]`", value)
        out = []
        for element in value.items:
            converted = item(key, spec, element)
            if converted in out:
                raise _error(key, f"lists `{element.text}` twice", element)
            out.append(converted)
        return out

    return convert


def _dataset(key, spec, value):
    if value.kind == "tokens":
        return {"dataset_tokens": _tokens(key, DATASET_TOKENS, value), "dataset_bytes": None}
    if value.kind == "quantity" and KIND_OF_UNIT.get(value.unit) == "count":
        raise PlanTypeError(
            f"`{key} = {value.text}` is ambiguous: write `{value.text} tokens` for tokens "
            f"or `{value.number}GB` for bytes", value.span)
    if value.kind == "number":
        raise _error(key, f"needs a unit: bytes (`{value.text}GB`) or tokens (`{value.text} tokens`)", value)
    kind = _unit_kind(key, value, ("bytes",), "bytes (1GB) or tokens (250M tokens)")
    number = _integer(key, _scaled(key, value, kind, DATASET_BYTES), value, DATASET_BYTES)
    _check_range(key, DATASET_BYTES, number, value)
    return {"dataset_bytes": number, "dataset_tokens": None}


CONVERTERS = {
    "name": _name,
    "text": _text,
    "currency": _currency,
    "enum": _enum,
    "bool": _bool,
    "count": _count,
    "tokens": _tokens,
    "bytes": _quantity_of("bytes", "bytes", integral=True),
    "duration": _quantity_of("duration", "a duration", integral=False),
    "flops": _quantity_of("flops", "FLOP/s", integral=False),
    "bandwidth": _quantity_of("bandwidth", "a bandwidth", integral=False),
    "rate": _quantity_of("rate", "a request rate", integral=False),
    "throughput": _throughput,
    "share": _share,
    "fraction": _fraction,
    "price": _price,
    "money": _money,
    "real": _plain_real,
    "available": _available,
    "shard": _shard,
    "zero": _zero,
    "date": _date,
    "count_list": _list_of(_count),
    "name_list": _list_of(_name),
    "enum_list": _list_of(_enum),
    "dataset": _dataset,
}


# Converted values by what decides them: the key, the key's spec (compared by identity) and
# the value as written; never its span, which only errors read, and errors are not kept.
# A generated fleet repeats its values thousands of times (`context = 8192`), and the
# Decimal arithmetic was 40% of converting one (0.14 s of 10,000 workloads). Bounded, for
# `planner lsp`, which converts for as long as it runs.
_CONVERTED: dict[tuple, tuple[Key, dict]] = {}
_CONVERTED_MAX = 4096


def convert_value(key: str, spec: Key, value: Value) -> dict:
    """The plan field updates ``key = value`` makes (a new dict each call); raises PlanTypeError."""
    if value.kind == "list":  # its items have spans of their own, and its result is a list
        return _convert_value(key, spec, value)
    written = (key, value.kind, value.text, value.number, value.unit)
    known = _CONVERTED.get(written)
    if known is not None and known[0] is spec:
        return dict(known[1])
    result = _convert_value(key, spec, value)
    if len(_CONVERTED) >= _CONVERTED_MAX:
        _CONVERTED.clear()
    _CONVERTED[written] = (spec, result)
    return dict(result)


def _convert_value(key: str, spec: Key, value: Value) -> dict:
    if value.kind == "list" and spec.kind not in ("name_list", "enum_list", "count_list"):
        raise _error(key, f"takes a single value, not a list; found `{value.text}`", value)
    result = CONVERTERS[spec.kind](key, spec, value)
    if isinstance(result, dict):
        return result
    return {spec.field or key: result}
