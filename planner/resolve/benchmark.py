"""A vLLM serving benchmark result (``vllm bench serve --save-result``) as measured figures.

The keys are those vLLM's ``vllm/benchmarks/serve.py`` writes (vllm-project/vllm at
def9ce85, the same at 009e6d4a; tests/fixtures/vllm_bench pins a file of that version):
``main_async`` saves ``date`` ("%Y%m%d-%H%M%S"), ``request_rate`` (a number or "inf"),
``burstiness``, ``max_concurrency`` (null without ``--max-concurrency``) and, from
``benchmark``, ``completed``, ``total_input_tokens``, ``total_output_tokens``,
``request_throughput``, ``output_throughput`` and, per ``--percentile-metrics`` (default
ttft, tpot, itl), ``mean_*_ms``, ``median_*_ms`` and ``p99_*_ms`` (``--metric-percentiles``
default 99). docs/calibration.md lists which key becomes which figure.

Errors point at the plan's ``from = "..."`` and name the file and the JSON key, never copy
the file's text (as config.json files are read, ``planner.resolve.hfconfig``).
"""

from __future__ import annotations

import datetime
import json
import math
from dataclasses import dataclass, field

from planner.errors import PlanImportError, Span
from planner.resolve.hfconfig import _nesting
from planner.resolve.hffields import Unreadable, integer, number, quoted
from planner.syntax.limits import MAX_JSON_DEPTH

# vLLM key -> (figure, factor to base units)
FIGURE_KEYS = {
    "output_throughput": ("tokens_per_second", 1.0),
    "request_throughput": ("requests_per_second", 1.0),
    "mean_ttft_ms": ("ttft", 1e-3),
    "median_ttft_ms": ("ttft_p50", 1e-3),
    "p99_ttft_ms": ("ttft_p99", 1e-3),
    "mean_tpot_ms": ("tpot", 1e-3),
    "median_tpot_ms": ("tpot_p50", 1e-3),
    "p99_tpot_ms": ("tpot_p99", 1e-3),
    "mean_itl_ms": ("itl", 1e-3),
}
# What every serving result of that format holds (the generation branch of ``benchmark``).
REQUIRED = ("completed", "total_input_tokens", "total_output_tokens", "request_throughput",
            "output_throughput", "request_rate", "max_concurrency")


@dataclass
class BenchResult:
    """What one result file says about its run."""

    figures: dict[str, float] = field(default_factory=dict)  # figure -> base units
    users: int | None = None  # --max-concurrency with an unlimited rate: a closed loop
    rate: float | None = None  # --request-rate (Poisson) without a concurrency cap
    load_problem: str | None = None  # why the file's load is not one the estimator models
    prompt: int = 0  # mean tokens per request
    output: int = 0
    date: str | None = None  # YYYY-MM-DD


def _fail(path: str, span: Span | None, message: str, hint: str | None = None) -> PlanImportError:
    return PlanImportError(f"`{path}` {message}", span, hint)


def _load_json(path: str, text: str, span: Span | None) -> dict:
    if _nesting(text) > MAX_JSON_DEPTH:
        raise _fail(path, span, f"nests JSON {MAX_JSON_DEPTH + 1} or more levels deep; a benchmark "
                                "result nests one or two")
    try:
        data = json.loads(text, parse_constant=Unreadable, parse_float=number, parse_int=integer)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":
            raise _fail(path, span, f"holds more than one JSON value (line {error.lineno}): one "
                                    "result per file", "`--append-result` appends runs; save each "
                                    "with `--save-result --result-filename`") from None
        raise _fail(path, span, f"is not JSON: line {error.lineno} column {error.colno}: "
                                f"{error.msg}") from None
    if not isinstance(data, dict):
        raise _fail(path, span, f"is not a `vllm bench serve --save-result` file: it holds "
                                f"{quoted(data)}, not an object")
    return data


def _positive(path: str, span: Span | None, data: dict, key: str, integral: bool = False) -> float:
    value = data.get(key)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value <= 0 or (integral and not float(value).is_integer()):
        what = "a whole number" if integral else "a number"
        raise _fail(path, span, f"has `{key}` = {quoted(value)}; expected {what} above 0")
    return value


def _date(value) -> str | None:
    """``20250601-142233`` (vLLM's format) as ``2025-06-01``; None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.datetime.strptime(value, "%Y%m%d-%H%M%S").date().isoformat()
    except ValueError:
        return None


def _load(path: str, span: Span | None, data: dict, out: BenchResult) -> None:
    """The run's load: a request rate (Poisson), or a concurrency cap with an unlimited rate
    (a closed loop of that many users); anything else is a load the estimator has no model of,
    which the measured block may still state itself (``users`` or ``rate``)."""
    rate, cap = data.get("request_rate"), data.get("max_concurrency")
    unlimited = rate == "inf"
    if not unlimited:
        rate = _positive(path, span, data, "request_rate")
    if cap is not None:
        cap = int(_positive(path, span, data, "max_concurrency", integral=True))
    burst = data.get("burstiness", 1.0)
    if "ramp_up_strategy" in data:
        out.load_problem = "ramps its request rate up (`--ramp-up-strategy`)"
    elif not unlimited and burst != 1.0:
        out.load_problem = (f"has burstiness {quoted(burst)}: gamma arrivals, where the estimator "
                            "models Poisson (burstiness 1)")
    elif unlimited and cap is None:
        out.load_problem = ("sends every request at once (`--request-rate inf` without "
                            "`--max-concurrency`): a burst, not a steady load")
    elif not unlimited and cap is not None:
        out.load_problem = (f"has both a request rate ({quoted(rate)}/s) and a concurrency cap "
                            f"({cap}): the estimator models one of them")
    elif unlimited:
        out.users = cap
    else:
        out.rate = float(rate)


def read_result(path: str, text: str, span: Span | None) -> BenchResult:
    """The figures, load, request shape and date of one result file."""
    data = _load_json(path, text, span)
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise _fail(path, span, f"is not a `vllm bench serve --save-result` file: it has no "
                                f"{', '.join(f'`{k}`' for k in missing)}")
    out = BenchResult()
    completed = _positive(path, span, data, "completed", integral=True)
    out.prompt = max(1, round(_positive(path, span, data, "total_input_tokens") / completed))
    out.output = max(1, round(_positive(path, span, data, "total_output_tokens") / completed))
    for key, (figure, factor) in FIGURE_KEYS.items():
        if key in data:
            out.figures[figure] = _positive(path, span, data, key) * factor
    _load(path, span, data, out)
    out.date = _date(data.get("date"))
    return out
