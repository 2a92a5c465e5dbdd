"""The priced bound and the options it fixes (planner.choose.fixing), against every choice
enumerated by hand: no choice holding the availabilities is below the bound, and none within
a ceiling takes an option the bound calls unreachable."""

import itertools
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.choose.classes import merge_identical
from planner.choose.cpsat import Item, Option, Problem
from planner.choose import fixing
from planner.choose.fixing import Lagrangian
from planner.choose.greedy import greedy
from planner.choose.prepare import criteria, prepare
from planner.units import cost_units
from test_cpsat_props import problems, within_limits

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.fixture(params=["enumerated", "loose"])
def groups_bounded(request, monkeypatch):
    """Each test runs with swept groups bounded by their level combinations and, again,
    with every group bounded loosely (one variant pays each type's price)."""
    if request.param == "loose":
        monkeypatch.setattr(fixing, "MAX_LEVEL_COMBOS", 0)
    return request.param


@st.composite
def repeated(draw):
    """Problems whose items come in identical copies, so that classes are counted."""
    p = draw(problems(min_options=1))
    copies = draw(st.integers(1, 2))
    items = tuple(replace(i, name=f"{i.name}c{k}", group=f"{i.group}c{k}" if copies > 1 else i.group)
                  for i in p.items[:3] for k in range(copies))
    return replace(p, items=items)


def _choices(insts, available):
    """Every choice among the prepared instances that holds the availabilities (a group
    holds the most of its variants), with its value on each criterion."""
    for combo in itertools.product(*(range(len(i.opts)) for i in insts)):
        held: dict[tuple[str, str], int] = {}
        for inst, p in zip(insts, combo):
            o = inst.opts[p]
            held[inst.group, o.gpu] = max(held.get((inst.group, o.gpu), 0), o.gpus)
        use: dict[str, int] = {}
        for (_, gpu), n in held.items():
            use[gpu] = use.get(gpu, 0) + n
        if all(available.get(g) is None or n <= available[g] for g, n in use.items()):
            yield dict(zip((i.name for i in insts), combo))


def _check(p: Problem, merged: bool) -> None:
    insts, empty = prepare(p)
    if empty or not insts:
        return
    crit = criteria(p.objective)[0]
    model, members = merge_identical(insts) if merged else (insts, {i.name: (i.name,) for i in insts})
    bound = Lagrangian(model, p.available, crit)
    by_name = {i.name: i for i in insts}
    heads = {name: head for head, names in members.items() for name in names}
    values = []
    for choice in _choices(insts, p.available):
        value = sum(by_name[n].opts[pos].value(crit) for n, pos in choice.items())
        values.append((value, choice))
        assert bound.floor() <= value  # no choice below the bound
    for ceiling in sorted({v for v, _ in values}):
        gone = bound.unreachable(model, ceiling)
        for value, choice in values:
            if value <= ceiling:
                for name, pos in choice.items():
                    # members of a class share its options, positions included
                    assert pos not in gone.get(heads[name], ()), (ceiling, name, pos)


@SETTINGS
@given(p=problems(min_options=1))
def test_no_choice_within_the_ceiling_takes_an_unreachable_option(groups_bounded, p):
    _check(p, merged=False)


@SETTINGS
@given(p=repeated())
def test_counted_classes_keep_every_choice_within_the_ceiling(groups_bounded, p):
    _check(p, merged=True)


@SETTINGS
@given(problems(min_options=1))
def test_a_guided_greedy_choice_holds_every_limit(p):
    insts, _ = prepare(p)
    budget = None if p.budget is None else cost_units(p.budget)
    crits = criteria(p.objective)
    guide = Lagrangian(insts, p.available, crits[0]).guide(insts, {i.name: (i.name,) for i in insts})
    got = greedy(insts, p.available, budget, crits, guide)
    if got is None:
        return
    by_name = {i.name: i for i in insts}
    assert within_limits(p, {name: by_name[name].opts[pos].index for name, pos in got.items()})


def test_the_bound_by_hand():
    """60 services, each on A (2 GPUs, $3) or B (1 GPU, $5), 41 GPUs of A. At y per GPU of A
    every choice costs at least 60 min(3 + 2y, 5) - 41y, largest at y = $1: $259. The best
    choice costs $260 (20 on A, one GPU idle). Within $260, an option B costs at least
    259 + (5 - 5) and an option A at least 259 + (3 + 2 - 5): both stay; within $259.99
    nothing is reachable, so every option is unreachable."""
    items = tuple(Item(f"s{i:02d}", f"s{i:02d}", (Option("A", 2, 3.0, 1.0, (0,)), Option("B", 1, 5.0, 1.0, (1,))))
                  for i in range(60))
    p = Problem(items, {"A": 41, "B": None}, None, "cost")
    insts, _ = prepare(p)
    bound = Lagrangian(insts, p.available, "cost")
    assert bound.floor() == cost_units(259.0)
    assert bound.unreachable(insts, cost_units(260.0)) == {}
    assert all(gone == (0, 1) for gone in bound.unreachable(insts, cost_units(259.0) - 1).values())


def test_a_swept_group_pays_once_for_its_largest_variant(groups_bounded):
    """A group of two variants, each on A (4 GPUs, $1) or B (1 GPU, $4); 4 GPUs of A. Both
    on A share the group's 4 GPUs ($2 in all); the bound must allow it (a bound charging
    each variant for its own 4 GPUs would put it at $5 and cut option A)."""
    opts = (Option("A", 4, 1.0, 1.0, (0,)), Option("B", 1, 4.0, 1.0, (1,)))
    p = Problem((Item("v1", "g", opts), Item("v2", "g", opts)), {"A": 4, "B": None}, None, "cost")
    insts, _ = prepare(p)
    bound = Lagrangian(insts, p.available, "cost")
    assert bound.floor() == cost_units(2.0)
    assert bound.unreachable(insts, cost_units(2.0)) == {"v1": (1,), "v2": (1,)}
