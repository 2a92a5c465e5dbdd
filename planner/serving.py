"""The serving figures of a result row (``result.Service``) and its serving inputs.

A placed or nearest-miss service row shows the steady state of its layout (means,
throughput, shares of the GPUs' peaks, headroom) and, where its replicas carry the load,
the seeded simulation of its most loaded replica (medians and 99th percentiles). The
pipeline calls these once per row; docs/solve.md ("The JSON result") is the contract.
"""

from __future__ import annotations

import math

from planner.resolve.variants import Variant
from planner.result import Service
from planner.search.candidates import Candidate, with_percentiles


def finite(value: float | None) -> float | None:
    """A figure for the result: None where the model has none (a load not carried)."""
    return value if value is not None and math.isfinite(value) else None


def service_of(variant: Variant, c: Candidate) -> Service | None:
    """The serving figures of candidate ``c`` of ``variant`` (None for training)."""
    est = c.service
    if est is None:
        return None
    offer = next(o for o in variant.offers if o.name == c.gpu)
    c = with_percentiles(variant, offer, c)
    sim = c.percentiles
    capacity = est.capacity_requests_per_second
    return Service(
        engine=variant.serve_job.engine,
        ttft_mean_seconds=finite(est.ttft_seconds),
        ttft_p50_seconds=None if sim is None else sim.ttft_p50,
        ttft_p99_seconds=None if sim is None else sim.ttft_p99,
        tpot_mean_seconds=finite(est.tpot_seconds),
        tpot_p50_seconds=None if sim is None else sim.tpot_p50,
        tpot_p99_seconds=None if sim is None else sim.tpot_p99,
        requests_per_second=est.requests_per_second,
        output_tokens_per_second=est.tokens_per_second,
        capacity_requests_per_second=capacity,
        load_share=est.requests_per_second / capacity if capacity > 0 else 1.0,
        compute_share=est.compute_share,
        bandwidth_share=est.bandwidth_share,
        concurrency=est.concurrency,
        running_limit=est.running_limit,
        kv_tokens=est.kv_tokens,
    )


def serving_inputs(variant: Variant) -> dict:
    """The serving fields of a row's ``Inputs``."""
    job = variant.serve_job
    return dict(
        users=job.users or None, context=job.context, prompt=job.prompt, output=job.output_tokens,
        rate=job.rate or None, prefix_cache=job.prefix_share, engine=job.engine,
        kv=job.kv_precision, weights="auto" if variant.weights_auto else job.weights,
        ttft_p99_ms=None if variant.ttft_p99_seconds is None else variant.ttft_p99_seconds * 1000.0,
        tpot_p99_ms=None if variant.tpot_p99_seconds is None else variant.tpot_p99_seconds * 1000.0,
    )
