"""The linear relaxation's diagnosis (planner.choose.relax) and the cheap single-limit
check (limits.least_total), against the exhaustive reference (tests/oracles/brute.py)."""

from hypothesis import HealthCheck, given, settings

from oracles import brute
from planner.choose.classes import merge_identical
from planner.choose.cpsat import Item, Option, Problem, solve
from planner.choose.limits import least_total
from planner.choose.prepare import prepare
from planner.choose.relax import Relaxation
from planner.choose.types import LimitId
from planner.units import cost_units
from test_cpsat_props import problems, repeated

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def relaxation(p: Problem, merged: bool = False) -> tuple[Relaxation, list[LimitId]]:
    insts, _ = prepare(p)
    if merged:
        insts, _ = merge_identical(insts)
    budget = None if p.budget is None else cost_units(p.budget)
    r = Relaxation(insts, p.available, budget)
    return r, sorted(r.rows)


@SETTINGS
@given(problems(min_options=1))
def test_a_relaxation_core_cannot_hold_and_a_feasible_plan_has_none(p):
    r, every = relaxation(p)
    core = r.core(every)
    if brute.exhaustive(p).best is not None:
        assert core is None  # a point of the integer problem is a point of the relaxation
    if core is not None:
        assert brute.exhaustive(p, {str(lid) for lid in core}).best is None


@SETTINGS
@given(problems(min_options=1))
def test_relaxed_least_use_is_a_lower_bound_of_the_integer_least(p):
    r, every = relaxation(p)
    for lid in every:
        others = {str(k) for k in every if k != lid}
        exact = brute.least_use(p, str(lid), others)
        bound = r.least(lid, every)
        if exact is not None:
            assert bound is not None and bound <= exact


@SETTINGS
@given(problems(min_options=1))
def test_least_total_is_the_least_use_with_no_other_limit(p):
    insts, _ = prepare(p)
    for gpu in p.available:
        lid = LimitId.availability(gpu)
        assert least_total(insts, lid) == brute.least_use(p, str(lid), set())
    if p.budget is not None:
        assert least_total(insts, LimitId.budget()) == brute.least_use(p, "budget", set())


@SETTINGS
@given(repeated())
def test_merged_instances_relax_to_the_same_verdicts(p):
    plain, every = relaxation(p)
    merged, _ = relaxation(p, merged=True)
    assert plain.core(every) == merged.core(every)
    for lid in every:
        assert plain.least(lid, every) == merged.least(lid, every)


def test_a_shortage_spread_over_two_types_is_diagnosed_by_the_relaxation():
    """30 services of 2 GPUs, each on A or on B, 20 of each type: 60 GPUs wanted, 40 there.
    Neither type alone is short (every service can move to the other), both together are:
    the core is {A, B}. With B held at 20, at most 10 services fit on B, so A needs the
    other 20 x 2 = 40 GPUs (and the same for B): needs at least 40 of 20."""
    items = tuple(
        Item(f"s{i:02d}", f"s{i:02d}", (Option("A", 2, 2.0, 1.0, (0,)), Option("B", 2, 2.0, 1.0, (1,))))
        for i in range(30)
    )
    got = solve(Problem(items, {"A": 20, "B": 20}, None, "cost"))
    assert got.status == "infeasible" and not got.core_undecided
    assert [(str(c.limit), c.available, c.needs_at_least) for c in got.conflicts] == [
        ("availability A", 20, 40), ("availability B", 20, 40)]


def test_a_type_some_workloads_need_alone_is_a_core_of_its_own():
    """Three services only run on A (4 GPUs each, 12 in all) and A has 10: A alone cannot
    hold whatever else is chosen; the budget is ample."""
    only_a = tuple(Item(f"a{i}", f"a{i}", (Option("A", 4, 1.0, 1.0, (0,)),)) for i in range(3))
    either = (Item("e", "e", (Option("A", 1, 1.0, 1.0, (0,)), Option("B", 1, 1.0, 1.0, (1,)))),)
    got = solve(Problem(only_a + either, {"A": 10, "B": 4}, 100.0, "cost"))
    assert got.status == "infeasible" and not got.core_undecided
    assert [(str(c.limit), c.needs_at_least) for c in got.conflicts] == [("availability A", 12)]


def _spread_shortage(n: int) -> Problem:
    """n services of 2 GPUs on A or B (each a cent dearer than the last, so none repeat),
    20 of each type."""
    items = tuple(
        Item(f"s{i:04d}", f"s{i:04d}", (Option("A", 2, 2.0 + i / 100, 1.0, (0,)),
                                        Option("B", 2, 2.0 + i / 100, 1.0, (1,))))
        for i in range(n))
    return Problem(items, {"A": 20, "B": 20}, None, "cost")


def test_a_large_model_is_diagnosed_by_the_relaxation_and_the_greedy_pass(monkeypatch):
    """1,100 services, 2,200 options: above REFINE_MAX_OPTIONS, so no CP-SAT check after the
    relaxation. The core {A, B} is settled minimal by greedy choices (each type alone
    holds everyone when the other is dropped), and with B held at 20, 10 services fit on
    B and A needs the other 1,090 x 2 = 2,180 (the relaxation's least, a whole choice).
    CP-SAT, allowed to refine, agrees."""
    p = _spread_shortage(1100)
    got = solve(p)
    assert got.status == "infeasible" and not got.core_undecided
    assert [(str(c.limit), c.needs_at_least) for c in got.conflicts] == [
        ("availability A", 2180), ("availability B", 2180)]
    from planner.choose import diagnose

    monkeypatch.setattr(diagnose, "REFINE_MAX_OPTIONS", 10**6)
    assert solve(p).conflicts == got.conflicts


def test_an_unproven_core_says_so():
    """A core not proven minimal (a check out of time, or not run on a large model) says
    that a smaller set might already fail, after its conflicts."""
    from planner.choose.types import Choice, Conflict
    from planner.explain import limit_sentences

    conflict = Conflict(LimitId.availability("A"), 20, (("s1", 2.0),), needs_at_least=40)
    lines = limit_sentences(Choice("infeasible", {}, 0.0, 0.0, conflicts=(conflict,),
                                   core_undecided=True), "USD")
    assert lines == ["availability A: 20 available, wanted by s1; needs at least 40",
                     "not proven minimal: these limits cannot all hold, but a smaller set might already fail"]
