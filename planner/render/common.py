"""Text for the cells every human-readable renderer shares (table, markdown).

Renderers read the typed result only (``planner.result``, the contract of docs/solve.md):
they know nothing of the search or of OR-Tools.
"""

from __future__ import annotations

# A month of service: the same 730 h convention as the default serving duration.
from planner.estimate.defaults import SERVICE_HOURS as MONTH_HOURS
from planner.result import MEMORY_COMPONENTS as COMPONENTS
from planner.result import Alternative, Result, Row

GIB = 1024**3


def size(n: int | float | None) -> str:
    """Bytes as GiB/TiB with one decimal ('31.2 GiB')."""
    if n is None:
        return "-"
    if n >= 1024 * GIB:
        return f"{n / (1024 * GIB):.1f} TiB"
    if n >= GIB:
        return f"{n / GIB:.1f} GiB"
    return f"{n / 1024**2:.0f} MiB"


def duration(hours: float | None) -> str:
    if hours is None:
        return "-"
    if hours >= 48:
        return f"{hours / 24:.1f} d"
    if hours >= 1:
        return f"{hours:.1f} h"
    if hours * 60 >= 1:
        return f"{hours * 60:.1f} min"
    return f"{hours * 3600:.0f} s"


def money(value: float | None, currency: str) -> str:
    if value is None:
        return "-"
    return f"{value:,.2f} {currency}"


def swept_keys(rows: list[Row]) -> list[str]:
    """Scenario keys of a workload's rows, in first-seen order."""
    keys: list[str] = []
    for row in rows:
        for k in row.scenario:
            if k not in keys:
                keys.append(k)
    return keys


def groups(result: Result) -> list[tuple[str, list[Row]]]:
    """Rows grouped by workload name, in the order the result lists them."""
    out: dict[str, list[dict]] = {}
    for row in result.workloads:
        out.setdefault(row.name, []).append(row)
    return list(out.items())


def gpu_cell(row: Row) -> str:
    if row.gpu is None:
        return "does not fit"
    nodes = row.nodes
    text = f"{row.gpu_count} x {row.gpu} ({nodes} node{'s' if nodes != 1 else ''})"
    if row.fits:
        return text
    if row.decided_by in ("availability", "budget"):
        return f"{text}: not placed ({row.decided_by})"
    return f"{text}: does not fit"


def parallel_cell(row: Row) -> str:
    lay = row.layout
    if lay is None:
        return "-"
    text = f"TP{lay.tp} PP{lay.pp}"
    if row.kind == "serve":
        text += f" x{lay.replicas} {lay.weights}"
    else:
        text += f" DP{lay.dp}"
    if lay.ep and lay.ep > 1:
        text += f" EP{lay.ep}"
    return text


def zero_cell(row: Row) -> str:
    lay = row.layout
    if lay is None or lay.zero is None:
        return "-"
    text = f"ZeRO-{lay.zero}"
    if lay.offload != "none":
        text += f" +offload {lay.offload}"
    return text


def recompute_cell(row: Row) -> str:
    lay = row.layout
    if lay is None or lay.recompute is None:
        return "-"
    return f"{lay.recompute} mb{lay.micro_batch}"


def largest_component(row: Row) -> str:
    mem = row.memory_per_gpu_bytes
    if mem is None:
        return "-"
    name = max(COMPONENTS, key=lambda k: (mem.component(k), -COMPONENTS.index(k)))
    return name.replace("_", " ")


def memory_cell(row: Row) -> str:
    mem = row.memory_per_gpu_bytes
    if mem is None:
        return "-"
    return f"{size(mem.total)} / {size(row.usable_memory_bytes)} ({largest_component(row)})"


def time_cell(row: Row) -> str:
    if row.hours is None:
        return "-"
    if row.kind == "serve":
        parts = []
        if row.ttft_seconds is not None:
            parts.append(f"TTFT {row.ttft_seconds * 1000:.0f} ms")
        if row.tpot_seconds is not None:
            parts.append(f"TPOT {row.tpot_seconds * 1000:.1f} ms")
        return ", ".join(parts)
    return duration(row.hours)


def cost_cell(row: Row, currency: str) -> str:
    if row.cost is None:
        return "-"
    if row.kind == "serve":
        return (f"{money(row.cost_per_hour, currency)}/h, "
                f"{money(row.cost_per_hour * MONTH_HOURS, currency)}/month")
    return money(row.cost, currency)


def host_cell(row: Row) -> str:
    host = row.host
    if host is None:
        return "-"
    net = host.network
    return (f"{host.cpu_cores} CPU, {size(host.ram_bytes)} RAM, "
            f"{size(host.nvme_bytes)} NVMe, net {net}")


def columns(rows: list[Row], currency: str) -> tuple[list[str], list[list[str]]]:
    """Header and cells of one workload's table (swept values first)."""
    keys = swept_keys(rows)
    header = keys + ["GPUs", "TP/PP/DP", "ZeRO", "recompute", "memory/GPU used/usable",
                     "time", "cost", "host", "decided by"]
    body = []
    for row in rows:
        body.append([row.scenario.get(k, "") for k in keys] + [
            gpu_cell(row), parallel_cell(row), zero_cell(row), recompute_cell(row),
            memory_cell(row), time_cell(row), cost_cell(row, currency), host_cell(row),
            row.decided_by or "-",
        ])
    return header, body


def scenario_label(row: Row) -> str:
    if not row.scenario:
        return row.name
    return row.name + "[" + ",".join(f"{k}={v}" for k, v in row.scenario.items()) + "]"


def breakdown(row: Row) -> list[tuple[str, str]]:
    """(component, size) of the row's memory per GPU, host memory last."""
    mem = row.memory_per_gpu_bytes
    if mem is None:
        return []
    out = [(k.replace("_", " "), size(mem.component(k))) for k in COMPONENTS]
    out.append(("total", f"{size(mem.total)} of {size(row.usable_memory_bytes)} usable"))
    out.append(("host (offload)", size(row.host_memory_per_gpu_bytes)))
    return out


def alternative_line(alt: Alternative, currency: str) -> str:
    lay = alt.layout
    parts = [f"TP{lay.tp}", f"PP{lay.pp}"]
    if lay.dp is not None:
        parts.append(f"DP{lay.dp}")
        parts.append(f"ZeRO-{lay.zero}")
        if lay.recompute != "none":
            parts.append(f"{lay.recompute} recompute")
        if lay.offload != "none":
            parts.append(f"offload {lay.offload}")
    else:
        parts.append(f"{lay.replicas} replicas {lay.weights}")
    when = f"{duration(alt.hours)}, " if lay.dp is not None else ""
    return f"{alt.gpu_count} x {alt.gpu} ({' '.join(parts)}): {when}{money(alt.cost, currency)}"


def headline(result: Result) -> str:
    text = (f"plan {result.plan}: {result.status}, objective {result.objective}, "
            f"total {money(result.total_cost, result.currency)}")
    if result.budget is not None:
        text += f" (budget {money(result.budget, result.currency)})"
    if result.status == "feasible":
        text += f", gap {result.gap:.2%}"
    return text


def gpu_lines(result: Result) -> list[str]:
    out = []
    for name, g in result.gpus.items():
        avail = "unlimited" if g.available is None else str(g.available)
        out.append(f"{name}: {g.used} of {avail} used, {g.price_per_hour:g} "
                   f"{result.currency}/h, {size(g.usable_bytes)} usable of "
                   f"{size(g.memory_bytes)}")
    return out
