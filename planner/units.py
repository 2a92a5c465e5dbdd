"""How review outputs (diff, HTML report) spell numbers, layouts and scenarios.

One place, so a layout or a cost reads the same in a pull-request comment, in
the terminal and in the HTML page. Every function is pure and deterministic.
"""

from __future__ import annotations

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


def gpus(row: dict | None) -> str:
    """``8×A100-80G``; ``-`` when the row has no GPU."""
    if not row or not row.get("gpu"):
        return "-"
    return f"{row.get('gpu_count') or 0}×{row['gpu']}"


def gpus_fit(row: dict) -> str:
    """``gpus`` followed by `` (does not fit)`` for a row that does not fit."""
    return gpus(row) + ("" if row.get("fits", True) else " (does not fit)")


def layout(value: dict | None) -> str:
    """A layout as people write it in planning tables: ``TP8 DP8 ZeRO-3``.

    Only what differs from the plain default is shown (TP always), so a
    single-GPU serving row reads ``TP1`` and a sharded run lists its degrees.
    """
    if not value:
        return "-"
    parts = [f"TP{value.get('tp') or 1}"]
    for key, label in (("pp", "PP"), ("dp", "DP"), ("ep", "EP")):
        if (value.get(key) or 1) > 1:
            parts.append(f"{label}{value[key]}")
    if value.get("zero"):
        parts.append(f"ZeRO-{value['zero']}")
    if value.get("recompute") not in (None, "none"):
        parts.append(f"recompute={value['recompute']}")
    if value.get("offload") not in (None, "none"):
        parts.append(f"offload={value['offload']}")
    if (value.get("micro_batch") or 1) > 1:
        parts.append(f"mb{value['micro_batch']}")
    if (value.get("replicas") or 1) > 1:
        parts.append(f"×{value['replicas']} replicas")
    if value.get("weights"):
        parts.append(str(value["weights"]))
    return " ".join(parts)


def scenario(value: dict | None) -> str:
    """``dataset=1GB, users=10``; empty for a row that is not a sweep variant."""
    if not value:
        return ""
    return ", ".join(f"{key}={value[key]}" for key in sorted(value))


def label(row: dict) -> str:
    """``tune [dataset=1GB]``: the workload's name and, for a sweep variant, its scenario."""
    shown = scenario(row.get("scenario"))
    return row["name"] + (f" [{shown}]" if shown else "")
