"""The training search: per GPU count, the fastest layout that fits memory (``frontier``,
shared by the variants of one shape); then the options that meet the deadline and budget,
without dominated ones.
"""

from __future__ import annotations

import dataclasses

from planner.estimate.types import Layout
from planner.resolve.variants import GpuOffer, Variant
from planner.search.candidates import (
    Candidate, GpuOutcome, Miss, keep_in_range, meets_time, pareto, train_candidate,
)
from planner.search.frontier import Frontier, find_frontier
from planner.search.space import REFERENCE_TOKENS, gpu_cap


class Frontiers:
    """Frontiers of one solve, shared by the variants of one workload shape and GPU type
    (docs/solve.md, "Sweeps share frontiers"): training time is linear in the tokens, so
    the frontier found with ``REFERENCE_TOKENS`` serves every dataset size."""

    def __init__(self) -> None:
        self._found: dict[tuple, Frontier] = {}
        # each GPU type's outcome by the searched variant's inputs, then by the offer's
        # fields and order (planner.search.search)
        self.outcomes: dict[tuple, dict[tuple, GpuOutcome]] = {}
        self.offer_numbers: dict[tuple, int] = {}  # an offer's fields by meaning -> a number
        self.last_offers: tuple | None = None  # the last offers' field values, their numbers
        self._exact: dict[tuple, dict[Layout, Candidate]] = {}

    def exact(self, variant: Variant, offer: GpuOffer, order: int) -> dict[Layout, Candidate]:
        """The candidates already evaluated with ``variant``'s real job on ``offer``, by
        layout. A training candidate reads of its variant only the kind, the job and the
        checkpoint interval (``train_candidate``): variants that differ in their limits
        alone (a swept deadline or budget) share them."""
        key = (variant.kind, variant.train_job, variant.workload.checkpoint_every, offer.name,
               offer.spec, order)
        return self._exact.setdefault(key, {})

    def get(self, variant: Variant, offer: GpuOffer, order: int, cap: int) -> Frontier:
        job = dataclasses.replace(variant.train_job, tokens=REFERENCE_TOKENS)
        pins = variant.pins
        key = (job, offer.name, offer.spec, cap, repr(None if pins is None else pins.semantic()))
        if key not in self._found:
            self._found[key] = find_frontier(variant, offer, order, cap, job)
        return self._found[key]


def search_train(variant: Variant, offer: GpuOffer, order: int, frontiers: Frontiers) -> GpuOutcome:
    """The options of ``variant`` on one GPU type, or the miss that explains why none."""
    cap = gpu_cap(offer.available)
    out = GpuOutcome(gpu=offer.name, cap=cap, available=offer.available)
    if variant.train_job.precision == "fp8" and offer.spec.fp8_flops <= 0:
        out.miss = Miss("precision")
        return out
    frontier = frontiers.get(variant, offer, order, cap)
    job = variant.train_job

    evaluated = frontiers.exact(variant, offer, order)

    def exact(c: Candidate) -> Candidate:  # the kept point with the variant's real tokens
        found = evaluated.get(c.layout)
        if found is None:
            # the frontier's job differs from the variant's in its tokens alone
            found = evaluated[c.layout] = train_candidate(variant, offer, order, job, c.layout,
                                                          frontier.known.get(c.layout))
        return found

    if frontier.least_memory is not None:
        out.least_memory = exact(frontier.least_memory)
    points = [exact(c) for _, c in sorted(frontier.by_count.items())]
    points = [c for c in points if c.fits_memory]
    if not points:
        least = out.least_memory
        kind = "memory" if least is not None else "layout"
        if least is not None and least.fits_gpu_memory and least.host_breach is not None:
            kind = "host"  # the GPUs hold it only with an offload the host cannot take
        out.miss = Miss(kind, least)
        return out
    out.min_fit_count = min(c.gpu_count for c in points)
    out.fastest = min(points, key=lambda c: (c.hours, c.gpu_count, c.stable))
    timely = [c for c in points if meets_time(variant, c)]
    if not timely:
        out.miss = Miss("deadline", out.fastest)
        return out
    out.cheapest_timely = min(timely, key=lambda c: (c.cost, c.gpu_count, c.stable))
    within = [c for c in timely if variant.budget is None or c.cost <= variant.budget]
    if not within:
        out.miss = Miss("budget", out.cheapest_timely)
        return out
    within = keep_in_range(out, within, variant.timing.runs_per_period or 1.0)
    if not within:
        return out
    out.feasible = within
    out.options = pareto(within)
    return out


__all__ = ["Frontier", "Frontiers", "search_train"]
