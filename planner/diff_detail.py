"""What ``planner diff`` says beyond GPUs and cost: a service's latency and headroom, a job's
repeats and schedule, and a row's share of the run rate and of the one-offs.

Pure functions on the typed rows (``planner.result.Row``); ``planner.diff`` assembles them.
Every number is spelled by ``planner.units``.
"""

from __future__ import annotations

from planner import units as text
from planner.result import Row


def headroom(value: float | None, limit: float | None) -> str:
    """``(limit 50 ms, 38% headroom)``; empty without a limit."""
    if value is None or limit is None:
        return ""
    return f" (limit {text.latency(limit)}, {text.share(max(limit - value, 0.0) / limit)} headroom)"


def _latency_line(name: str, a: float | None, b: float | None, limit: float | None) -> str | None:
    before, after = text.latency(a), text.latency(b)
    if before == after:
        return None
    return f"{name} {before} → {after}{headroom(b, limit)}"


def latency_changes(old: Row | None, new: Row | None) -> list[str]:
    """TTFT, TPOT, throughput and memory headroom of a service that moved (the new row's
    limits); an added service states its own."""
    if (new or old).kind != "serve":
        return []
    if old is None or new is None:
        row = new or old
        parts = [f"TTFT {text.latency(row.ttft_seconds)}", f"TPOT {text.latency(row.tpot_seconds)}"]
        return ["; ".join(parts)] if row.fits else []
    inputs = new.inputs
    ttft_limit = None if inputs.ttft_ms is None else inputs.ttft_ms / 1000.0
    tpot_limit = None if inputs.tpot_ms is None else inputs.tpot_ms / 1000.0
    out = [line for line in (
        _latency_line("TTFT", old.ttft_seconds, new.ttft_seconds, ttft_limit),
        _latency_line("TPOT", old.tpot_seconds, new.tpot_seconds, tpot_limit),
    ) if line]
    a, b = old.tokens_per_second, new.tokens_per_second
    if a is not None and b is not None and f"{a:,.0f}" != f"{b:,.0f}":
        out.append(f"throughput {a:,.0f} → {b:,.0f} tokens/s")
    ma, mb = old.memory_per_gpu_bytes, new.memory_per_gpu_bytes
    if ma is not None and mb is not None and text.memory(ma.total) != text.memory(mb.total):
        usable = new.usable_memory_bytes or 0
        spare = text.share(max(usable - mb.total, 0) / usable) if usable else "-"
        out.append(f"memory {text.memory(ma.total)} → {text.memory(mb.total)} per GPU "
                   f"of {text.memory(usable)} ({spare} headroom)")
    return out


def _repeats(row: Row) -> str:
    return "once" if row.every_hours is None else f"every {text.duration(row.every_hours)}"


def schedule_changes(old: Row | None, new: Row | None) -> list[str]:
    """A job's repeats and, in a window, its runs: how many, and when the first starts."""
    if (new or old).kind == "serve" or old is None or new is None:
        return []
    out = []
    if _repeats(old) != _repeats(new):
        out.append(f"repeats {_repeats(old)} → {_repeats(new)}")
    a, b = old.schedule or (), new.schedule or ()
    if len(a) != len(b) and (a or b):
        out.append(f"runs in the window {len(a)} → {len(b)}")
    if a and b and text.moment(a[0].start_hours) != text.moment(b[0].start_hours):
        out.append(f"starts {text.moment(a[0].start_hours)} → {text.moment(b[0].start_hours)}")
    elif a and b and [r.start_hours for r in a] != [r.start_hours for r in b]:
        out.append("later runs start at other times")
    return out


def shares(row: Row | None) -> tuple[float, float]:
    """(run rate, one-off) a placed row adds to the period's total."""
    if row is None or not row.fits or row.cost is None:
        return 0.0, 0.0
    return (row.cost, 0.0) if row.billing == "run-rate" else (0.0, row.cost)


__all__ = ["headroom", "latency_changes", "schedule_changes", "shares"]
