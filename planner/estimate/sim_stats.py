"""What a simulation (``simulate``) reports, and the exact sum of a run of steps it takes at
once (docs/estimation.md sec 9.5)."""

from __future__ import annotations

import math

from planner.estimate.step import ServeLoad
from planner.frozen import frozen


@frozen
class SimResult:
    """Percentiles, means and shares of one simulated replica."""

    requests: int  # requests the statistics cover
    ttft_mean: float
    ttft_p50: float
    ttft_p90: float
    ttft_p99: float
    tpot_mean: float
    tpot_p50: float
    tpot_p90: float
    tpot_p99: float
    itl_mean: float  # mean gap between consecutive tokens of a request
    requests_per_second: float
    output_tokens_per_second: float
    makespan_seconds: float  # first arrival to last completion
    mean_running: float  # time-averaged running (admitted) requests
    compute_share: float  # over wall time
    bandwidth_share: float
    preemptions: int
    steps: int


def run_sum(step, lo: int, hi: int) -> tuple[float, float, float]:
    """Sum of ``step(j)`` = (seconds, compute, memory) over j = lo..hi. Every part is a
    maximum of functions linear in j (the context grows by the batch each step), so where
    the ends and the middle lie on one line the sum is exact from the ends; elsewhere the
    range is split."""
    a = step(lo)
    if hi <= lo:
        return a
    b = step(hi)
    mid = (lo + hi) // 2
    m = step(mid)
    line = a[0] + (b[0] - a[0]) * (mid - lo) / (hi - lo)
    if hi - lo < 2 or abs(m[0] - line) <= 1e-12 * max(1.0, abs(m[0])):
        n = hi - lo + 1
        return (n * (a[0] + b[0]) / 2.0, n * (a[1] + b[1]) / 2.0, n * (a[2] + b[2]) / 2.0)
    left, right = run_sum(step, lo, mid), run_sum(step, mid + 1, hi)
    return (left[0] + right[0], left[1] + right[1], left[2] + right[2])


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return math.nan
    return values[max(0, math.ceil(pct / 100.0 * len(values)) - 1)]


def statistics(sim, load: ServeLoad, warmup: float) -> SimResult:
    """Percentiles, means and shares of a finished simulation ``sim`` (``simulate._Sim``),
    the first ``warmup`` share of its completions (by arrival) left out."""
    done = sorted(sim.done, key=lambda r: (r.arrival, r.first))
    skip = int(len(done) * warmup)
    kept = done[skip:]
    ttft = sorted(r.first - r.arrival for r in kept)
    nd = load.output - 1
    tpot = sorted((r.last - r.first) / nd for r in kept) if nd else [0.0] * len(kept)
    itl = sum(r.itl for r in kept) / (len(kept) * nd) if nd else 0.0
    start = min(r.arrival for r in done)
    ends = sorted(r.last for r in done)
    window = ends[-1] - (ends[skip - 1] if skip else start)
    x = (len(done) - skip) / window if window > 0 else 0.0
    span = sim.now - start
    return SimResult(
        requests=len(kept),
        ttft_mean=sum(ttft) / len(ttft), ttft_p50=percentile(ttft, 50),
        ttft_p90=percentile(ttft, 90), ttft_p99=percentile(ttft, 99),
        tpot_mean=sum(tpot) / len(tpot), tpot_p50=percentile(tpot, 50),
        tpot_p90=percentile(tpot, 90), tpot_p99=percentile(tpot, 99),
        itl_mean=itl, requests_per_second=x, output_tokens_per_second=x * load.output,
        makespan_seconds=span,
        mean_running=sim.running_area / span if span else 0.0,
        compute_share=sim.compute / span if span else 0.0,
        bandwidth_share=sim.memory / span if span else 0.0,
        preemptions=sim.preemptions, steps=sim.steps,
    )
