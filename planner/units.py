"""The one place numbers are scaled, rounded and spelled.

- The solver's integer scaling (CP-SAT takes integers): costs in 1e-4 currency, hours in
  1e-4 h, every scaled value at most ``MAX_UNITS``. The search uses it to offer CP-SAT only
  what it can represent; nothing reaches into the solver for it.
- The result's rounding: floats to ``SIGNIFICANT_DIGITS`` significant digits, once, when
  the result is built.
- How bytes, durations, money, counts and layouts read, so a layout or a cost reads the
  same in a reason, the terminal table, a pull-request comment and the HTML page. Every
  function is pure and deterministic.
"""

from __future__ import annotations

import math

# ---------------------------------------------------------------- solver scaling
COST_SCALE = 10_000  # integer cost units per currency unit (1e-4 currency resolution)
HOURS_SCALE = 10_000  # integer time units per hour (1e-4 h = 0.36 s resolution)
MAX_UNITS = 2**50  # largest scaled value of one option (keeps CP-SAT's sums far below int64)


def cost_units(cost: float) -> int:
    """Cost in integer units of 1/COST_SCALE currency (half to even)."""
    return round(cost * COST_SCALE)


def hours_units(hours: float) -> int:
    """Hours in integer units of 1/HOURS_SCALE hour."""
    return round(hours * HOURS_SCALE)


def representable(cost: float, hours: float) -> bool:
    """Within the solver's integer range (``MAX_UNITS`` of cost and of hours)."""
    return cost_units(cost) <= MAX_UNITS and hours_units(hours) <= MAX_UNITS


# ---------------------------------------------------------------- rounding
SIGNIFICANT_DIGITS = 6  # floats of a result: same plan, same bytes; within 1e-5 of exact


def round_sig(value: float) -> float:
    """A float to ``SIGNIFICANT_DIGITS`` significant digits (0.0 and non-finite kept)."""
    if value == 0 or not math.isfinite(value):
        return 0.0 if value == 0 else value
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


# ---------------------------------------------------------------- spelling

# Currencies whose symbol is unambiguous; any other code is written after the amount.
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(amount: float | None, currency: str, signed: bool = False) -> str:
    """``$1,234.50``, ``+$12.00``, ``-€3.10``, ``1,234.50 CHF``; ``-`` for no value."""
    if amount is None:
        return "-"
    sign = ""
    if signed:
        sign = "+" if amount > 0 else "-" if amount < 0 else "±"
    elif amount < 0:
        sign = "-"
    text = f"{abs(amount):,.2f}"
    symbol = _SYMBOLS.get(currency)
    if symbol:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}"


def percent(value: float | None, signed: bool = True) -> str:
    """``+21.5%``; ``new`` when there was nothing before (no base to divide by)."""
    if value is None:
        return "new"
    sign = ("+" if value > 0 else "" if value < 0 else "±") if signed else ""
    return f"{sign}{value:.1f}%"


def hours(value: float | None) -> str:
    """``730 h``, ``3.2 h``, ``0.05 h``: three significant figures below 100 hours."""
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f} h"
    if value >= 1:
        return f"{value:.2f}".rstrip("0").rstrip(".") + " h"
    return f"{value:.3g} h"


def count(value: int) -> str:
    """``250M`` for exact multiples of 1e3/1e6/1e9/1e12 (the language's suffixes), else ``8,192``."""
    for factor, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if value and value % factor == 0:
            return f"{value // factor}{suffix}"
    return f"{value:,}"


def size(value: int) -> str:
    """Bytes, decimal units as the language writes them: ``1GB``, ``1.5TB``, ``512B``."""
    for factor, suffix in ((10**15, "PB"), (10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "KB")):
        if value >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value}B"


def gib(value: int | None) -> str:
    """Per-GPU memory in GiB, the unit GPU tools (nvidia-smi) report."""
    if value is None:
        return "-"
    return f"{value / 2**30:.1f} GiB"


def available(value: int | None) -> str:
    """A GPU type's availability: its count, or ``unlimited`` (the result's null)."""
    return "unlimited" if value is None else str(value)


def gpus(row) -> str:
    """``8×A100-80G``; ``-`` when the row has no GPU (a ``Row`` or a diff's side of one)."""
    if row is None or not row.gpu:
        return "-"
    return f"{row.gpu_count or 0}×{row.gpu}"


def gpus_fit(row) -> str:
    """``gpus`` followed by `` (does not fit)`` for a row that does not fit."""
    return gpus(row) + ("" if row.fits else " (does not fit)")


def layout(value) -> str:
    """A layout (``RowLayout``) as people write it in planning tables: ``TP8 DP8 ZeRO-3``.

    Only what differs from the plain default is shown (TP always), so a
    single-GPU serving row reads ``TP1`` and a sharded run lists its degrees.
    """
    if value is None:
        return "-"
    parts = [f"TP{value.tp or 1}"]
    for key, label in (("pp", "PP"), ("dp", "DP"), ("ep", "EP")):
        if (getattr(value, key) or 1) > 1:
            parts.append(f"{label}{getattr(value, key)}")
    if value.zero:
        parts.append(f"ZeRO-{value.zero}")
    if value.recompute not in (None, "none"):
        parts.append(f"recompute={value.recompute}")
    if value.offload not in (None, "none"):
        parts.append(f"offload={value.offload}")
    if (value.micro_batch or 1) > 1:
        parts.append(f"mb{value.micro_batch}")
    if (value.replicas or 1) > 1:
        parts.append(f"×{value.replicas} replicas")
    if value.weights:
        parts.append(str(value.weights))
    return " ".join(parts)


def scenario(value: dict | None) -> str:
    """``dataset=1GB, users=10``; empty for a row that is not a sweep variant."""
    if not value:
        return ""
    return ", ".join(f"{key}={value[key]}" for key in sorted(value))


def label(row) -> str:
    """``tune [dataset=1GB]``: the workload's name and, for a sweep variant, its scenario."""
    shown = scenario(row.scenario)
    return row.name + (f" [{shown}]" if shown else "")


def plain(value: float) -> str:
    """A number as written in a plan: ``8``, ``49.99``, at most 4 decimals."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4f}".rstrip("0").rstrip(".")


def reason_hours(value: float) -> str:
    """A duration in a reason: ``150 h``, ``3.2 h``, ``12.5 min``."""
    if value >= 100:
        return f"{value:.0f} h"
    if value >= 1:
        return f"{value:.1f} h"
    return f"{value * 60:.1f} min"


def milliseconds(seconds: float) -> str:
    """A latency: ``35 ms``, ``4.20 ms`` below 10 ms."""
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.2f} ms"


def layout_phrase(layout, kind: str, weights: str) -> str:
    """A layout in a sentence: ``TP=8, DP=8, ZeRO-3, full recompute``; a service's
    ``TP=4, 2 replicas, int4``. ``layout`` is the estimator's ``Layout``."""
    parts = [f"TP={layout.tp}"]
    if layout.pp > 1:
        parts.append(f"PP={layout.pp}")
    if kind == "serve":
        parts.append(f"{layout.replicas} replica{'s' if layout.replicas != 1 else ''}")
        parts.append(weights)
    else:
        if layout.dp > 1:
            parts.append(f"DP={layout.dp}")
        if layout.zero:
            parts.append(f"ZeRO-{layout.zero}")
        if layout.recompute != "none":
            parts.append(f"{layout.recompute} recompute")
        if layout.offload != "none":
            parts.append(f"offload {layout.offload}")
    if layout.ep > 1:
        parts.append(f"EP={layout.ep}")
    return ", ".join(parts)
