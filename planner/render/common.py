"""Text for the cells every human-readable renderer shares (table, markdown).

Renderers read the typed result only (``planner.result``, the contract of docs/solve.md):
they know nothing of the search or of OR-Tools. Every number is spelled by
``planner.units``.
"""

from __future__ import annotations

from planner.result import MEMORY_COMPONENTS as COMPONENTS
from planner.result import Alternative, Result, Row
from planner.units import (
    available, calibration, duration, label, latency, latency_pair, layout, memory, moment, money, money_per,
    per_second, period, plain, price, share, span, the_period, verdict,
)

RUNS_LISTED = 8  # runs of one job listed under its table before "and N more"


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
    out: dict[str, list[Row]] = {}
    for row in result.workloads:
        out.setdefault(row.name, []).append(row)
    return list(out.items())


def gpu_cell(row: Row) -> str:
    if row.gpu is None:
        return verdict(row)
    nodes = row.nodes
    # rented whole: the GPUs paid for when an instance shape or whole nodes hold more
    billed = (f"; {row.billed_gpus} billed" if row.billed_gpus is not None
              and row.billed_gpus != row.gpu_count else "")
    text = f"{row.gpu_count} x {row.gpu} ({nodes} node{'s' if nodes != 1 else ''}{billed})"
    if row.fits:
        return text
    return f"{text}: {verdict(row)}"


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
    return f"{memory(mem.total)} / {memory(row.usable_memory_bytes)} ({largest_component(row)})"


def time_cell(row: Row) -> str:
    if row.hours is None:
        return "-"
    if row.kind == "serve":
        return latency_cell(row)
    text = duration(row.hours)
    extra = row.overheads
    if extra is not None:
        beside = extra.load_hours + extra.checkpoint_hours + extra.restart_hours
        if beside >= 0.01 * row.hours:  # what a rented run spends beside its steps
            text += f" ({duration(beside)} loading, checkpoints, restarts)"
    if row.every_hours is not None:
        text += f" every {duration(row.every_hours)}"
    if row.fits and row.schedule:
        first = row.schedule[0]
        text += (f", {span(first.start_hours, first.end_hours)}" if len(row.schedule) == 1
                 else f", {len(row.schedule)} runs from {moment(first.start_hours)}")
    return text


def latency_cell(row: Row) -> str:
    """``TTFT 29 ms (p99 65 ms), TPOT 6.9 ms (p99 7.8 ms)``: medians and 99th percentiles
    where simulated, else the means (a load not carried: ``not carried``)."""
    svc = row.service
    if svc is None:
        return "-"
    parts = []
    for name, p50, p99, mean in (("TTFT", svc.ttft_p50_seconds, svc.ttft_p99_seconds, svc.ttft_mean_seconds),
                                 ("TPOT", svc.tpot_p50_seconds, svc.tpot_p99_seconds, svc.tpot_mean_seconds)):
        if p50 is not None:
            parts.append(f"{name} {latency_pair(p50, p99)}")
        elif mean is not None:
            parts.append(f"{name} {latency(mean)} (mean)")
    return ", ".join(parts) or "not carried"


def service_cell(row: Row) -> str:
    """``4.00 requests/s, 800 tokens/s; 16% of capacity; HBM 68%, FLOP/s 7%``."""
    svc = row.service
    if svc is None:
        return "-"
    return (f"{per_second(svc.requests_per_second)}, "
            f"{per_second(svc.output_tokens_per_second, 'tokens')}; "
            f"{share(svc.load_share)} of capacity; HBM {share(svc.bandwidth_share)}, "
            f"FLOP/s {share(svc.compute_share)}")


def cost_cell(row: Row, currency: str, period: float) -> str:
    """The cost as it counts in the period: a service per hour and per period, a recurring
    job per run and per period, a one-off job once."""
    if row.cost is None:
        return "-"
    if row.kind == "serve":
        rate = f"{money(row.cost_per_hour, currency)}/h"
        if abs(row.hours - period) > 1e-9:
            rate += f" × {duration(row.hours)}"
        return f"{rate}, {money_per(row.cost, currency, period)}"
    if row.runs_per_period is not None:
        return (f"{money(row.cost_per_run, currency)}/run × {plain(round(row.runs_per_period, 2))}, "
                f"{money_per(row.cost, currency, period)}")
    return f"{money(row.cost, currency)} one-off"


def schedule_lines(row: Row) -> list[str]:
    """A job's runs in a scheduled window (a service holds its GPUs throughout: none)."""
    if row.kind == "serve" or not row.fits or not row.schedule or len(row.schedule) < 2:
        return []
    runs = [span(r.start_hours, r.end_hours) for r in row.schedule]
    more = len(runs) - RUNS_LISTED
    text = "; ".join(runs[:RUNS_LISTED]) + (f"; and {more} more" if more > 0 else "")
    return [f"runs: {text}"]


def host_cell(row: Row) -> str:
    host = row.host
    if host is None:
        return "-"
    return (f"{host.cpu_cores} CPU, {memory(host.ram_bytes)} RAM, "
            f"{memory(host.nvme_bytes)} NVMe, net {host.network}")


def columns(rows: list[Row], currency: str, period: float) -> tuple[list[str], list[list[str]]]:
    """Header and cells of one workload's table (swept values first)."""
    keys = swept_keys(rows)
    serving = any(row.kind == "serve" for row in rows)
    header = keys + ["GPUs", "layout", "memory/GPU used/usable", "time", "cost", "host",
                     "decided by"]
    if serving:
        header.insert(len(keys) + 4, "load")
    body = []
    for row in rows:
        cells = [row.scenario.get(k, "") for k in keys] + [
            gpu_cell(row), layout(row.layout), memory_cell(row), time_cell(row),
            cost_cell(row, currency, period), host_cell(row), row.decided_by or "-",
        ]
        if serving:
            cells.insert(len(keys) + 4, service_cell(row))
        body.append(cells)
    return header, body


def breakdown(row: Row) -> list[tuple[str, str]]:
    """(component, size) of the row's memory per GPU, host memory last."""
    mem = row.memory_per_gpu_bytes
    if mem is None:
        return []
    out = [(k.replace("_", " "), memory(mem.component(k))) for k in COMPONENTS]
    out.append(("total", f"{memory(mem.total)} of {memory(row.usable_memory_bytes)} usable"))
    out.append(("host (offload)", memory(row.host_memory_per_gpu_bytes)))
    return out


def alternative_line(alt: Alternative, currency: str, row: Row, period: float) -> str:
    """An alternative of ``row``, its cost counted as the row's is (per period for a run rate)."""
    when = f"{duration(alt.hours)}, " if alt.layout.dp is not None else ""
    cost = money_per(alt.cost, currency, period) if row.billing == "run-rate" else money(alt.cost, currency)
    return f"{alt.gpu_count} x {alt.gpu} ({layout(alt.layout)}): {when}{cost}"


def calibration_line(row: Row) -> str | None:
    """``calibrated: "NAME" (factors; runs, residual)`` when the row's estimate used one."""
    return None if row.calibration is None else f"calibrated: {calibration(row.calibration)}"


def headline(result: Result) -> str:
    """Status, objective, and the period's money: run rate, one-off, total, budget."""
    currency, period = result.currency, result.period_hours
    text = (f"plan {result.plan}: {result.status}, objective {result.objective}; "
            f"{the_period(period)}: run rate {money_per(result.run_rate_cost, currency, period)}"
            f" + one-off {money(result.one_off_cost, currency)}"
            f" = total {money(result.total_cost, currency)}")
    if result.budget is not None:
        text += f" (budget {money(result.budget, currency)})"
    if result.window_hours is not None:
        text += f"; jobs scheduled over {duration(result.window_hours)}"
    if result.status == "feasible":
        text += f", gap {result.gap:.2%}"
    return text


def gpu_lines(result: Result) -> list[str]:
    """Per offered type: GPUs at the peak (and when, in a window), how busy over the
    window or the period, price and memory."""
    out = []
    over = "the window" if result.window_hours is not None else f"the {period(result.period_hours)}"
    for name, g in result.gpus.items():
        peak = f"{g.used} of {available(g.available)} used"
        if g.peak_at_hours is not None and g.used:
            peak += f" at the peak ({moment(g.peak_at_hours)})"
        busy = f", {share(g.utilization)} busy over {over}" if g.utilization is not None else ""
        out.append(f"{name}: {peak}{busy}, {price(g.price_per_hour, result.currency)}, "
                   f"{memory(g.usable_bytes)} usable of {memory(g.memory_bytes)}")
    return out


__all__ = ["alternative_line", "breakdown", "calibration_line", "columns", "gpu_lines", "groups", "headline", "label"]
