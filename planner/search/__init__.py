"""Search: candidate layouts per variant and GPU type, evaluated and pruned.

``search(variant, frontiers)`` gives every offered GPU type's outcome: its options (meet
every limit of the workload, not dominated) or its miss (why none, with the nearest
candidate). A fully pinned layout is evaluated as given (``evaluate_pinned``), even when
it breaks a limit, so the output can show it with its breaches. The space is in
``space``, the evaluated types in ``candidates``, the two searches in ``train`` and
``serve``; docs/solve.md describes them.
"""

from __future__ import annotations

import dataclasses
import operator

from planner.estimate.types import Layout
from planner.plan import Node
from planner.resolve.variants import GpuOffer, Variant
from planner.search.candidates import (
    Breach, Candidate, GpuOutcome, Miss, VariantSearch, breaches, has_p99_limits, serve_candidate,
    train_candidate, with_percentiles,
)
from planner.search.serve import search_serve
from planner.search.space import fully_pinned, pinned_train_layout
from planner.search.train import Frontiers, search_train


def evaluate_pinned(variant: Variant) -> Candidate:
    """The fully pinned layout of ``variant``, evaluated as given, with its breaches."""
    pins = variant.pins
    offer = next(o for o in variant.offers if o.name == pins.gpu)
    if variant.kind == "serve":
        replicas = pins.replicas or pins.count // (pins.tp * pins.pp)
        layout = Layout(tp=pins.tp, pp=pins.pp, ep=pins.ep or 1, replicas=replicas)
        cand = serve_candidate(variant, offer, 0, variant.serve_job, layout)
        if has_p99_limits(variant):
            cand = with_percentiles(variant, offer, cand)
    else:
        layout = pinned_train_layout(variant, offer.spec)
        cand = train_candidate(variant, offer, 0, variant.train_job, layout)
    found = breaches(variant, cand, offer.available)
    if not cand.in_range:
        found.append(Breach("range", cand.cost, cand.hours))
    if offer.name in variant.not_offered:
        found.append(Breach("not_offered"))
    return dataclasses.replace(cand, breaches=tuple(found))


def _pinned_search(variant: Variant) -> VariantSearch:
    cand = evaluate_pinned(variant)
    offer = next(o for o in variant.offers if o.name == cand.gpu)
    out = GpuOutcome(gpu=cand.gpu, cap=cand.gpu_count, available=offer.available,
                     least_memory=cand)
    if cand.breaches:
        out.miss = Miss("pinned", cand)
    else:
        out.options = [cand]
        out.feasible = [cand]
        out.min_fit_count = cand.gpu_count
        out.fastest = cand
        out.cheapest_timely = cand
    return VariantSearch(variant, {cand.gpu: out}, pinned=cand)


# A variant's fields that name it or place it in the output; its search depends on the rest.
_IDENTITY = frozenset({"name", "group", "scenario", "offers"})


def _comparable(value):
    """A plan block by its meaning (no name, no positions); anything else as it is."""
    if isinstance(value, Node):
        return _meaning(value, top=True)
    return value


def _meaning(value, top: bool = False):
    """What ``Node.semantic`` says of a block, as a hashable tuple: its fields without
    positions (and, at the top, without its name), nested blocks, lists and dicts alike,
    numbers with their type (``repr`` of the semantic dict tells 1 from 1.0 and True).
    Walked over the fields directly: pydantic's model_dump per row cost seconds at 10,000
    rows. Blocks of two classes never compare equal (a semantic dict could): stricter,
    never looser."""
    if isinstance(value, Node):
        return (type(value).__name__,) + tuple(
            (k, _meaning(v)) for k, v in value.__dict__.items()
            if k not in _POSITIONS and not (top and k == "name"))
    if isinstance(value, dict):
        return ("dict",) + tuple((k, _meaning(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ("list",) + tuple(_meaning(v) for v in value)
    if isinstance(value, (int, float)):
        return type(value), value
    return value


_POSITIONS = ("span", "spans")


def _inputs(variant: Variant) -> tuple:
    """Everything of ``variant`` its search reads: every field but its identity, plan blocks
    by their meaning. Generic over the fields, so a field added to Variant is part of it."""
    return tuple(_comparable(getattr(variant, f.name)) for f in dataclasses.fields(variant)
                 if f.name not in _IDENTITY)


def _hashable(key: tuple) -> tuple | None:
    """``key``, or None when some part of it cannot be compared."""
    try:
        hash(key)
    except TypeError:
        return None
    return key


_offer_fields = operator.attrgetter(*(f.name for f in dataclasses.fields(GpuOffer)))


def _offer_numbers(offers: list[GpuOffer], frontiers: Frontiers) -> list[int | None]:
    """A number per offer for all of its fields (equal fields, equal number; None where a
    field cannot be hashed). Every variant has its own offer objects, nearly always with the
    previous variant's field values (the same spec objects): those compare equal at C
    speed (identity first), so the numbers are worked out once per distinct list."""
    values = list(map(_offer_fields, offers))
    last = frontiers.last_offers
    if last is not None and last[0] == values:
        return last[1]
    numbers = []
    for fields in values:
        key = _hashable(tuple(_comparable(v) for v in fields))
        numbers.append(None if key is None else
                       frontiers.offer_numbers.setdefault(key, len(frontiers.offer_numbers)))
    frontiers.last_offers = (values, numbers)
    return numbers


def _frozen(out: GpuOutcome) -> GpuOutcome:
    """``out`` with its candidate lists as tuples: the variants that share it share them."""
    out.options, out.feasible = tuple(out.options), tuple(out.feasible)
    return out


def _copy(out: GpuOutcome) -> GpuOutcome:
    """A variant's own outcome object, sharing the immutable candidates and their tuples
    (copying the lists cost more than the searches they shared: some hold hundreds)."""
    own = object.__new__(GpuOutcome)
    own.__dict__.update(out.__dict__)
    return own


def search(variant: Variant, frontiers: Frontiers) -> VariantSearch:
    """Every GPU type's outcome for ``variant`` (options empty where nothing fits).

    Variants of equal inputs (the same job, limits, pins and offer; in a large fleet most
    rows repeat a few shapes) share one search through ``frontiers.outcomes``: a fleet
    costs a search per distinct shape, not per row. The variant's inputs are hashed once,
    each offer's fields once per solve."""
    if fully_pinned(variant) and any(o.name == variant.pins.gpu for o in variant.offers):
        return _pinned_search(variant)
    inputs = _hashable(_inputs(variant))
    shared = None if inputs is None else frontiers.outcomes.setdefault(inputs, {})
    numbers = _offer_numbers(variant.offers, frontiers) if shared is not None else None
    outcomes: dict[str, GpuOutcome] = {}
    for order, offer in enumerate(variant.offers):
        if offer.name in variant.not_offered:
            continue
        offered = None if numbers is None else numbers[order]
        key = None if offered is None else (offered, order)
        found = shared.get(key) if key is not None else None
        if found is None:
            if variant.kind == "serve":
                found = _frozen(search_serve(variant, offer, order))
            else:
                found = _frozen(search_train(variant, offer, order, frontiers))
            if key is not None:
                shared[key] = found
        outcomes[offer.name] = _copy(found)
    return VariantSearch(variant, outcomes)


__all__ = ["Breach", "Candidate", "Frontiers", "GpuOutcome", "Miss", "VariantSearch",
           "evaluate_pinned", "search"]
