"""Measured runs made by the estimator itself, with factors the test chooses.

``synthetic_plan`` writes a plan whose measured blocks hold the figures the estimator gives
with ``factors`` (not measurements of any GPU: a fit to them must find ``factors`` again),
and ``bench_json`` a ``vllm bench serve --save-result`` file of such a run, with every key
that vLLM version writes (tests/fixtures/vllm_bench/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

from planner.calibrate.runs import estimate, runs_of
from planner.estimate import calibration as cal
from planner.estimate.types import Factors
from planner.resolve.load import load_plan


def _spelled(figure: str, value: float) -> str:
    if figure in ("tokens_per_second", "requests_per_second", "mfu"):
        return repr(value)
    if figure == "peak_memory":
        return f"{value / 2**20!r}MiB"
    return f"{value!r}s"


def synthetic_plan(directory: Path, head: str, runs: list[str], factors: dict[tuple, Factors],
                   name: str = "measured.plan") -> Path:
    """``head`` (imports, GPUs, workloads) and one measured block per entry of ``runs`` (the
    block's body without figures, holding `# FIGURES: a b c` naming the figures to write),
    the figures estimated with ``factors`` by (gpu, scope, target)."""
    blocks = []
    for i, body in enumerate(runs):
        wanted = body.split("# FIGURES:")[1].split("\n")[0].split()
        # provisional figures so that the plan loads; replaced by the estimates below
        provisional = " ".join(f"{f} = {_spelled(f, 1.0 if f != 'peak_memory' else 2**30)}"
                               for f in wanted)
        blocks.append((f"r{i}", body, wanted, provisional))
    text = head + "".join(f'measured "{n}" {{\n{b}\n  {p}\n}}\n' for n, b, _, p in blocks)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    plan = load_plan(str(path))
    final = head
    for run, (n, body, wanted, _) in zip(runs_of(plan), blocks):
        gpu = run.gpu
        key = (gpu.name, run.scope, run.target)
        if key in factors:
            gpu = cal.with_factors(gpu, run.scope, run.target, factors[key])
        values = estimate(run, gpu, tuple(wanted))
        figures = " ".join(f"{f} = {_spelled(f, values[f])}" for f in wanted)
        final += f'measured "{n}" {{\n{body}\n  {figures}\n}}\n'
    path.write_text(final, encoding="utf-8")
    return path


def bench_json(values: dict, prompt: int, output: int, completed: int, concurrency: int | None,
               rate: float | str = "inf") -> str:
    """A result file as vLLM def9ce85 `vllm bench serve --save-result` writes it (keys in
    its order; the per-request lists are dropped without --save-detailed)."""
    duration = completed / values["requests_per_second"]
    ms = {k: values[k] * 1e3 for k in ("ttft", "ttft_p50", "ttft_p99", "tpot", "tpot_p50",
                                          "tpot_p99") if k in values}
    data = {
        "date": "20250601-120000", "endpoint_type": "vllm", "backend": "vllm", "label": None,
        "model_id": "meta-llama/Llama-3.1-8B", "tokenizer_id": "meta-llama/Llama-3.1-8B",
        "num_prompts": completed, "request_rate": rate, "burstiness": 1.0,
        "max_concurrency": concurrency, "duration": duration, "completed": completed,
        "failed": 0, "total_input_tokens": prompt * completed,
        "total_output_tokens": output * completed,
        "request_throughput": values["requests_per_second"], "request_goodput": None,
        "output_throughput": values["tokens_per_second"],
        "total_token_throughput": values["requests_per_second"] * (prompt + output),
        "max_output_tokens_per_s": values["tokens_per_second"] * 1.1,
        "max_concurrent_requests": concurrency or 1,
        "mean_ttft_ms": ms["ttft"], "median_ttft_ms": ms["ttft_p50"], "std_ttft_ms": 0.0,
        "p99_ttft_ms": ms["ttft_p99"], "mean_tpot_ms": ms["tpot"], "median_tpot_ms": ms["tpot_p50"],
        "std_tpot_ms": 0.0, "p99_tpot_ms": ms["tpot_p99"], "mean_itl_ms": ms["tpot"],
        "median_itl_ms": ms["tpot_p50"], "std_itl_ms": 0.0, "p99_itl_ms": ms["tpot_p99"],
    }
    return json.dumps(data, indent=2)
