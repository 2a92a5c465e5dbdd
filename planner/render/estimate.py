"""``planner estimate`` output: a text report per row, or the JSON of docs/solve.md
("planner estimate")."""

from __future__ import annotations

import json

from planner import units
from planner.layout_estimate import EstimateReport, LayoutReport

# Layout fields shown for each kind (the estimator's Layout holds both kinds' fields).
_TRAIN_LAYOUT = ("tp", "pp", "dp", "ep", "zero", "recompute", "offload", "micro_batch", "sp", "cp",
                 "shard", "vpp")
_SERVE_LAYOUT = ("tp", "pp", "ep", "replicas")
# What the report already shows of the estimator's result (the rest is listed as it comes).
_SHOWN = {"memory", "gpus", "compute_seconds", "communication_seconds", "bubble_seconds", "seconds",
          "hours", "ttft_seconds", "tpot_seconds", "tokens_per_second"}


def render_json(report: EstimateReport) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


def render_text(report: EstimateReport) -> str:
    lines = [f"{report.plan}: {len(report.workloads)} row{'s' * (len(report.workloads) != 1)} "
             f"estimated ({report.file})"]
    for row in report.workloads:
        lines.append("")
        lines.extend(_row(row))
    return "\n".join(lines) + "\n"


def _row(row: LayoutReport) -> list[str]:
    state = "fits, within its limits" if row.fits else \
        "breaks its limits: " + "; ".join(_breach(b) for b in row.breaches)
    out = [f"{row.name} ({row.kind}, {row.model}) on {row.gpu_count} × {row.gpu}"
           f" ({row.nodes} node{'s' * (row.nodes != 1)}): {state}"]
    keys = _SERVE_LAYOUT if row.kind == "serve" else _TRAIN_LAYOUT
    layout = ", ".join(f"{k} {_value(row.layout[k])}" for k in keys if k in row.layout)
    out.append(f"  layout:  {layout}, weights {row.weights}")
    if row.pinned:
        out.append(f"  pinned:  {', '.join(row.pinned)}")
    if row.filled:
        out.append(f"  filled by the search (best for this workload alone): {', '.join(row.filled)}")
    if row.defaulted:
        out.append(f"  left at their defaults: {', '.join(row.defaulted)}")
    parts = ", ".join(f"{k} {units.memory(v)}" for k, v in row.memory_per_gpu_bytes.items()
                      if k != "total" and v)
    out.append(f"  memory per GPU: {units.memory(row.memory_per_gpu_bytes['total'])} of "
               f"{units.memory(row.usable_memory_bytes)} usable ({units.memory(row.gpu_memory_bytes)}): "
               f"{parts}")
    if row.host_memory_per_gpu_bytes:
        out.append(f"  host memory per GPU (offload): {units.memory(row.host_memory_per_gpu_bytes)}")
    out.extend(_train(row) if row.kind != "serve" else _serve(row))
    host = row.host
    out.append(f"  host: {host['cpu_cores']} CPU cores, {units.memory(host['ram_bytes'])} RAM, "
               f"{units.memory(host['nvme_bytes'])} NVMe, network {host['network']}")
    if row.calibration is not None:
        out.append(f"  calibrated: {units.calibration(row.calibration)}")
    rest = {k: v for k, v in row.estimate.items() if k not in _SHOWN}
    if rest:
        out.append("  estimator: " + ", ".join(f"{k} {_value(v)}" for k, v in rest.items()))
    return out


def _train(row: LayoutReport) -> list[str]:
    step = row.step_seconds
    return [
        f"  time: {units.duration(row.hours)} in {row.steps:,.0f} steps of {units.latency(step.total)}: "
        f"compute {units.latency(step.compute)}, communication {units.latency(step.communication)}, "
        f"bubble {units.latency(step.bubble)}",
        f"  throughput: {row.tokens_per_second:,.0f} tokens/s, MFU {row.mfu:.1%}",
        f"  cost: {units.money(row.cost, row.currency)}",
    ]


def _serve(row: LayoutReport) -> list[str]:
    service = row.service or {}
    tail = ""
    if service.get("ttft_p99_seconds") is not None:
        tail = (f" (p99: TTFT {units.latency(service['ttft_p99_seconds'])}, "
                f"TPOT {units.latency(service['tpot_p99_seconds'])})")
    return [
        f"  latency: TTFT {units.latency(row.ttft_seconds)}, TPOT {units.latency(row.tpot_seconds)}"
        f" (means){tail}",
        f"  throughput: {row.tokens_per_second:,.0f} output tokens/s",
        f"  cost: {units.money(row.cost, row.currency)} over {units.duration(row.hours)}",
    ]


def _breach(b: dict) -> str:
    kind, needs, allowed = b["kind"], b["needs"], b["allowed"]
    if kind == "memory":
        return f"needs {units.memory(needs)} per GPU, {units.memory(allowed)} usable"
    if kind == "deadline":
        return f"takes {units.duration(needs)}, deadline {units.duration(allowed)}"
    if kind in ("ttft", "tpot", "ttft_p99", "tpot_p99"):
        name = ("p99 " if kind.endswith("_p99") else "") + kind.split("_")[0].upper()
        if b.get("at_least"):  # a proven lower bound, not simulated (docs/estimation.md 9.9)
            took, limit = units.apart(units.latency, needs, allowed, units.latency_at_least)
            return f"{name} at least {took}, limit {limit}"
        return f"{name} {units.latency(needs)}, limit {units.latency(allowed)}"
    if kind == "availability":
        return f"{needs:.0f} GPUs, {allowed:.0f} available"
    return f"{kind} {needs:g} over {allowed:g}"


def _value(value) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {_value(v)}" for k, v in value.items()) + "}"
    return str(value)
