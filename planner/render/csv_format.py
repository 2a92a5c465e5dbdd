"""CSV: one line per row (workload or sweep variant), flat columns for spreadsheets."""

from __future__ import annotations

import csv
import dataclasses
import io

from planner import units
from planner.result import Overheads, Result, Service

LAYOUT = ("tp", "pp", "dp", "ep", "zero", "recompute", "offload", "micro_batch", "replicas",
          "weights")
MEMORY = ("weights", "gradients", "optimizer", "activations", "kv_cache", "overhead", "total")
MEASURES = ("gpu_memory_bytes", "usable_memory_bytes", "host_memory_per_gpu_bytes", "hours",
            "cost", "cost_per_hour", "price_per_hour", "ttft_seconds", "tpot_seconds",
            "tokens_per_second", "tokens")
HOST = ("cpu_cores", "ram_bytes", "nvme_bytes", "network")
SERVICE = tuple(f.name for f in dataclasses.fields(Service))
# How the cost counts in the period (every row names its period, so a spreadsheet of
# several plans adds like with like); ``schedule``: each run "start-end" in hours.
PERIOD = ("billing", "period_hours", "every_hours", "runs_per_period", "cost_per_run",
          "cost_per_period", "schedule")
# What is rented (columns added last: the CSV contract only grows): GPUs and hours billed,
# the GPU type an offer is like, a training run's time beside its steps.
RENTED = ("billed_gpus", "billed_hours", "gpu_type")
OVERHEADS = tuple(f.name for f in dataclasses.fields(Overheads))
HEADER = (("name", "kind", "model", "scenario", "fits", "gpu", "gpu_count", "nodes")
          + LAYOUT + tuple(f"memory_{k}_bytes" for k in MEMORY) + MEASURES
          + tuple(f"host_{k}" for k in HOST) + ("decided_by", "reasons")
          + tuple(f"service_{k}" for k in SERVICE) + PERIOD + ("calibration",) + RENTED
          + tuple(f"overhead_{k}" for k in OVERHEADS))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field(part, name: str):
    """A field of a row's layout, memory or host, or None when the row has none."""
    return None if part is None else getattr(part, name)


def render_csv(result: Result, explain: bool = False) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    for row in result.workloads:
        cells = [row.name, row.kind, row.model,
                 ";".join(f"{k}={v}" for k, v in row.scenario.items()), row.fits,
                 row.gpu, row.gpu_count, row.nodes]
        cells += [_field(row.layout, k) for k in LAYOUT]
        cells += [_field(row.memory_per_gpu_bytes, k) for k in MEMORY]
        cells += [getattr(row, k) for k in MEASURES]
        cells += [_field(row.host, k) for k in HOST]
        cells += [row.decided_by, " | ".join(row.reasons)]
        cells += [_field(row.service, k) for k in SERVICE]
        cells += [row.billing, result.period_hours, row.every_hours, row.runs_per_period,
                  row.cost_per_run, row.cost_per_period,
                  ";".join(f"{r.start_hours}-{r.end_hours}" for r in row.schedule or ())]
        cells += [None if row.calibration is None else units.calibration(row.calibration)]
        cells += [getattr(row, k) for k in RENTED]
        cells += [_field(row.overheads, k) for k in OVERHEADS]
        writer.writerow([_text(v) for v in cells])
    return buffer.getvalue()
