"""Unit suffixes: what each one measures and its factor to the base unit.

Base units: counts and tokens (1), bytes (1), seconds, FLOP/s, bytes/s,
requests/s, fraction (1 = 100 %).  Decimal byte prefixes are SI (1 KB = 1000 B); binary
ones are IEC 80000-13 (1 KiB = 1024 B).  Network links are quoted in bits per
second (1 Gbps = 1e9 bit/s = 1.25e8 B/s).
"""

from __future__ import annotations

import re

# unit kind → {suffix: factor to the base unit}
UNITS: dict[str, dict[str, float]] = {
    "count": {"K": 1e3, "k": 1e3, "M": 1e6, "B": 1e9, "T": 1e12},
    "bytes": {
        "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15,
        "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "TiB": 2**40, "PiB": 2**50,
    },
    "duration": {"ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0},
    "percent": {"%": 0.01},
    "flops": {"TFLOPS": 1e12, "PFLOPS": 1e15},
    "bandwidth": {"GB/s": 1e9, "TB/s": 1e12, "Gbps": 1e9 / 8},
    "rate": {"/s": 1.0, "/min": 1.0 / 60.0},  # requests per second
}

KIND_OF_UNIT: dict[str, str] = {unit: kind for kind, table in UNITS.items() for unit in table}

KIND_WORDS = {
    "count": "a count (8k, 1.5M, 7B)",
    "bytes": "bytes (512MB, 1GB, 80GiB)",
    "duration": "a duration (50ms, 2s, 30min, 24h, 30d, 2w)",
    "percent": "a percentage (40%)",
    "flops": "FLOP/s (312TFLOPS, 2PFLOPS)",
    "bandwidth": "a bandwidth (900GB/s, 3.35TB/s, 200Gbps)",
    "rate": "a request rate (20/s, 1200/min)",
    "price": "a price per GPU-hour (1.79/h, 1.79 USD/h)",
    "tokens": "tokens (250M tokens)",
    "number": "a plain number",
}

ALL_UNITS = frozenset(KIND_OF_UNIT) | {"tokens", "/h"}


def units_of(kind: str) -> str:
    """The suffixes of a unit kind, for messages."""
    if kind == "price":
        return "/h, USD/h"
    if kind == "tokens":
        return "<count> tokens"
    if kind == "number":
        return "no unit"
    return ", ".join(UNITS[kind])


def spell(kind: str, value: float) -> str:
    """A base-unit ``value`` of a key of ``kind`` (see ``keys.Key.kind``) in plan words:
    ``spell("bytes", 2**44)`` is ``16TiB``, ``spell("duration", 86400)`` is ``1d``."""
    if kind == "price":
        return f"{_plain(value)}/h"
    if value == 0:
        return "0"
    if kind == "dataset_tokens":
        return spell("count", value) + " tokens"
    table = {"tokens": "count", "available": "count", "shard": "count"}.get(kind, kind)
    if kind == "fraction":
        return f"{value * 100:g}%"
    if table not in UNITS:
        return _plain(value)
    # the largest unit that gives a whole number (counts: plain below a million);
    # a value below every unit is a fraction of the smallest
    units = sorted(UNITS[table].items(), key=lambda item: -item[1])
    if table == "count" and value < 10**6:
        return _plain(value)
    for unit, factor in units:
        if value >= factor and float(value / factor).is_integer():
            return f"{_plain(value / factor)}{unit}"
    for unit, factor in units:
        if value >= factor:
            return f"{value / factor:g}{unit}"
    if table in ("count", "bytes"):
        return _plain(value)
    return f"{value / units[-1][1]:g}{units[-1][0]}"


def _plain(value: float) -> str:
    if float(value).is_integer() and abs(value) < 10**9:
        return str(int(value))
    return f"{value:g}".replace("e+", "e")


# Suffixes people write that are not units, and what they meant (``suffix_hint``).
_COUNT_WORDS = {"b": "B", "bn": "B", "bil": "B", "billion": "B", "t": "T", "tn": "T",
                "trillion": "T", "m": "M", "mn": "M", "mil": "M", "million": "M",
                "thousand": "k"}
_NAMES = {"B": "billion (10^9)", "T": "trillion (10^12)", "M": "million (10^6)", "k": "thousand (10^3)"}
_DURATION_WORDS = {"sec": "s", "secs": "s", "second": "s", "seconds": "s", "mins": "min",
                   "minute": "min", "minutes": "min", "hr": "h", "hrs": "h", "hour": "h",
                   "hours": "h", "day": "d", "days": "d", "wk": "w", "wks": "w", "week": "w",
                   "weeks": "w"}
_BYTE_CASES = {u.lower(): u for u in UNITS["bytes"]}
_WRITTEN = re.compile(r"(-?(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?)([A-Za-z]+)")


def suffix_hint(text: str, tokens: bool = False) -> str | None:
    """What ``text`` (``100b``, ``2weeks``, ``10Gb``) means in plan units, or None.

    ``tokens``: the text was written before ``tokens`` (``100b tokens``).
    """
    match = _WRITTEN.fullmatch(text)
    if match is None:
        return None
    number, suffix = match.groups()
    low = suffix.lower()
    if low in _COUNT_WORDS and suffix not in UNITS["count"]:
        unit = _COUNT_WORDS[low]
        after = " tokens" if tokens else ""
        also = f"; bytes are `{number}GB`" if unit == "B" else ""
        also = f"; minutes are `{number}min`, milliseconds `{number}ms`" if unit == "M" else also
        return (f"`{suffix}` is not a unit: counts use `{unit}` for {_NAMES[unit]}, "
                f"as in `{number}{unit}{after}`{also}")
    if low in _DURATION_WORDS:
        unit = _DURATION_WORDS[low]
        return f"`{suffix}` is not a unit: write `{number}{unit}` ({unit} = {_DURATION_NAMES[unit]})"
    if low in _BYTE_CASES and suffix != _BYTE_CASES[low]:
        return (f"`{suffix}` is not a unit: bytes are `{number}{_BYTE_CASES[low]}` "
                "(the language has no bit units but Gbps)")
    return None


_DURATION_NAMES = {"s": "seconds", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}

