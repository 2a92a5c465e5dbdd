"""Solve results built by hand (the JSON contract of docs/solve.md, "The JSON result"), shared by
the diff, report and export tests so they do not depend on the solver's numbers."""

from __future__ import annotations

import copy

from planner.result import Result, Row

GiB = 2**30

A10G = {"available": 8, "used": 1, "price_per_hour": 1.006, "memory_bytes": 24 * GiB,
        "usable_bytes": int(24 * GiB * 0.9), "per_node": 4, "gpu_hours": 730.0,
        "utilization": 0.125, "peak_at_hours": None}
A100 = {"available": 64, "used": 16, "price_per_hour": 1.79, "memory_bytes": 80 * GiB,
        "usable_bytes": int(80 * GiB * 0.9), "per_node": 8, "gpu_hours": 800.0,
        "utilization": 0.0171233, "peak_at_hours": None}


def inputs(**over) -> dict:
    base = {
        "model": "qwen-7b", "method": None, "users": None, "context": None,
        "dataset_tokens": None, "dataset_bytes": None, "epochs": None, "seq_len": None,
        "deadline_hours": None, "tpot_ms": None, "ttft_ms": None, "weights": "bf16",
        "kv": None, "prompt": None, "batch": None, "optimizer": None, "rank": None, "budget": None,
        "output": None, "rate": None, "prefix_cache": None, "engine": None, "ttft_p99_ms": None,
        "tpot_p99_ms": None,
    }
    base.update(over)
    return base


def service(**over) -> dict:
    """A service row's serving figures (the JSON contract's ``service``)."""
    base = {
        "engine": "vllm", "ttft_mean_seconds": 0.41, "ttft_p50_seconds": 0.38,
        "ttft_p99_seconds": 0.95, "tpot_mean_seconds": 0.031, "tpot_p50_seconds": 0.030,
        "tpot_p99_seconds": 0.036, "requests_per_second": 0.05, "output_tokens_per_second": 96.0,
        "capacity_requests_per_second": 0.2, "load_share": 0.25, "compute_share": 0.05,
        "bandwidth_share": 0.62, "concurrency": 3.0, "running_limit": 40, "kv_tokens": 98000,
    }
    base.update(over)
    return base


def serve_row(name="chat-7b", gpu="A10G", count=1, cost=734.38, users=3, replicas=1, tp=1,
              weights="int4", kv="bf16", scenario=None, memory=None, gpu_memory=24 * GiB,
              nodes=1, fits=True, serving=None) -> dict:
    mem = memory or {"weights": 5 * GiB, "gradients": 0, "optimizer": 0, "activations": GiB // 2,
                     "kv_cache": 3 * GiB, "overhead": GiB}
    mem = dict(mem, total=sum(mem.values()))
    return {
        "name": name, "kind": "serve", "model": "qwen-7b", "scenario": scenario or {},
        "inputs": inputs(users=users, context=8000, prompt=6000, weights=weights, kv=kv, tpot_ms=50.0),
        "fits": fits, "gpu": gpu, "gpu_count": count, "nodes": nodes,
        # a service's layout: the training keys are null (docs/solve.md)
        "layout": {"tp": tp, "pp": 1, "dp": None, "ep": 1, "zero": None, "recompute": None,
                   "offload": None, "micro_batch": None, "replicas": replicas, "weights": weights},
        "memory_per_gpu_bytes": mem, "host_memory_per_gpu_bytes": 0,
        "gpu_memory_bytes": gpu_memory, "usable_memory_bytes": int(gpu_memory * 0.9),
        "hours": 730.0, "cost": cost, "cost_per_hour": round(cost / 730.0, 6),
        "price_per_hour": 1.006, "ttft_seconds": 0.41, "tpot_seconds": 0.031,
        "tokens_per_second": 96.0, "service": service(**(serving or {})), "tokens": None,
        "host": {"cpu_cores": 8, "ram_bytes": 64 * GiB, "nvme_bytes": 500 * 10**9, "network": "none"},
        "decided_by": "price", "reasons": ["cheapest GPU that holds the model"], "alternatives": [],
        "billing": "run-rate", "every_hours": None, "runs_per_period": None, "cost_per_run": None,
        "cost_per_period": cost, "schedule": None,
    }


def train_row(name="tune-70b", kind="finetune", gpu="A100-80G", count=16, nodes=2, cost=1432.0,
              hours=50.0, dataset_bytes=10**10, dataset_tokens=None, deadline=72.0, tp=8, dp=2,
              zero=3, offload="none", micro=1, batch=64, method="full", scenario=None,
              fits=True) -> dict:
    mem = {"weights": 17 * GiB, "gradients": 17 * GiB, "optimizer": 20 * GiB,
           "activations": 8 * GiB, "kv_cache": 0, "overhead": 2 * GiB}
    mem = dict(mem, total=sum(mem.values()))
    return {
        "name": name, "kind": kind, "model": "llama-70b", "scenario": scenario or {},
        "inputs": inputs(model="llama-70b", method=method if kind == "finetune" else None,
                         dataset_bytes=dataset_bytes, dataset_tokens=dataset_tokens, epochs=1.0,
                         seq_len=4096, deadline_hours=deadline, batch=batch, optimizer="adamw"),
        "fits": fits, "gpu": gpu, "gpu_count": count, "nodes": nodes,
        "layout": {"tp": tp, "pp": 1, "dp": dp, "ep": 1, "zero": zero, "recompute": "full",
                   "offload": offload, "micro_batch": micro, "replicas": 1, "weights": "bf16"},
        "memory_per_gpu_bytes": mem, "host_memory_per_gpu_bytes": 0,
        "gpu_memory_bytes": 80 * GiB, "usable_memory_bytes": int(80 * GiB * 0.9),
        "hours": hours, "cost": cost, "cost_per_hour": round(cost / hours, 6),
        "price_per_hour": 1.79, "ttft_seconds": None, "tpot_seconds": None,
        "tokens_per_second": None, "service": None, "tokens": 2500000000,
        "host": {"cpu_cores": 96, "ram_bytes": 1024 * GiB, "nvme_bytes": 4 * 10**12,
                 "network": "RDMA 200Gbps"},
        "decided_by": "deadline", "reasons": ["fastest layout within the deadline"], "alternatives": [],
        "billing": "one-off", "every_hours": None, "runs_per_period": None, "cost_per_run": cost,
        "cost_per_period": None, "schedule": None,
    }


def result(rows, gpus=None, total=None, plan="fleet", file="fleet.plan", status="optimal",
           objective="cost", budget=None, currency="USD", window=None) -> dict:
    """A result of ``rows``: totals summed by billing (each workload at its costliest
    variant, placed rows only), as the pipeline does."""
    group: dict[str, tuple[str, float]] = {}
    for r in rows:
        if r["fits"]:
            group[r["name"]] = (r["billing"], max(group.get(r["name"], ("", 0.0))[1], r["cost"]))
    run_rate = round(sum(c for b, c in group.values() if b == "run-rate"), 2)
    one_off = round(sum(c for b, c in group.values() if b == "one-off"), 2)
    return {
        "plan": plan, "file": file, "status": status, "gap": 0.0, "objective": objective,
        "currency": currency,
        "total_cost": round(run_rate + one_off, 2) if total is None else total,
        "budget": budget,
        "gpus": copy.deepcopy(gpus if gpus is not None else {"A10G": A10G, "A100-80G": A100}),
        "binding": [], "workloads": rows,
        "period_hours": 730.0, "window_hours": window, "run_rate_cost": run_rate,
        "one_off_cost": one_off,
    }



def typed(data: dict) -> Result:
    """A result built here (the JSON contract) as the typed result renderers read."""
    return Result.from_json(data)


def typed_row(row: dict) -> Row:
    """One row built here as a typed ``Row``."""
    return Result.from_json(result([row])).workloads[0]
