"""Hand-worked cases for planner.choose.cpsat: semantics, tie-breaks, infeasibility reasons."""

import random

import pytest

from planner.choose.cpsat import (
    COST_SCALE,
    Item,
    Option,
    Problem,
    cost_units,
    criteria,
    hours_units,
    solve,
)
from planner.choose.prepare import prepare as _prepare
from planner.choose.types import LimitId
from planner.explain import binding_sentence, conflict_sentence


def bindings(r) -> list[str]:
    return [binding_sentence(u, "USD") for u in r.binding]


def conflicts(r) -> list[str]:
    return [conflict_sentence(c, "USD") for c in r.conflicts]


def opt(gpu, gpus, cost, hours=1.0, key=0):
    return Option(gpu=gpu, gpus=gpus, cost=cost, hours=hours, key=(key,))


def inst(name, *options, group=None):
    return Item(name=name, group=group or name, options=tuple(options))


def problem(*instances, available=None, budget=None, objective="cost"):
    return Problem(tuple(instances), available or {"A": None}, budget, objective)


def test_cheapest_option_per_instance_when_nothing_is_shared():
    r = solve(problem(inst("a", opt("A", 2, 10.0), opt("A", 1, 7.5, key=1)), inst("b", opt("A", 4, 3.25))))
    assert r.status == "optimal"
    assert r.picks == {"a": 1, "b": 0}
    assert r.objective_value == 10.75  # 7.5 + 3.25
    assert r.gap == 0.0 and r.binding == () and r.conflicts == () and r.unplaced == ()


def test_availability_moves_the_second_workload_to_a_dearer_type():
    # Both prefer A (4 GPUs each, cost 10); only 6 A available: one moves to B (cost 12).
    a = inst("a", opt("A", 4, 10.0), opt("B", 4, 12.0, key=1))
    b = inst("b", opt("A", 4, 10.0), opt("B", 4, 13.0, key=1))
    r = solve(problem(a, b, available={"A": 6, "B": None}))
    assert r.status == "optimal"
    assert r.picks == {"a": 1, "b": 0}  # moving a costs 2, moving b costs 3
    assert r.objective_value == 22.0
    (use,) = r.binding
    assert (use.limit, use.used, use.available, use.users, use.first_choices_need) == (
        LimitId.availability("A"), 4, 6, (("b", 4),), 8)
    assert bindings(r) == ["availability A: 4 of 6 used by b; first choices need 8"]


def test_sweep_variants_count_their_maximum_gpus_not_their_sum():
    # Variants v1 (3 GPUs) and v2 (5 GPUs) of one group + another workload (4): 5 + 4 = 9.
    v1 = inst("t[x=1]", opt("A", 3, 1.0), group="t")
    v2 = inst("t[x=2]", opt("A", 5, 2.0), group="t")
    other = inst("o", opt("A", 4, 1.0))
    assert solve(problem(v1, v2, other, available={"A": 9})).status == "optimal"
    r = solve(problem(v1, v2, other, available={"A": 8}))
    assert r.status == "infeasible"
    (conflict,) = r.conflicts
    assert (conflict.limit, conflict.available, conflict.needs_at_least) == (LimitId.availability("A"), 8, 9)
    assert conflict.wanted_by == (("t", 5), ("o", 4))  # the least each group takes
    assert conflicts(r) == ["availability A: 8 available, wanted by t, o; needs at least 9"]


def test_budget_counts_the_costliest_variant_per_group():
    v1 = inst("t[x=1]", opt("A", 1, 10.0), group="t")
    v2 = inst("t[x=2]", opt("A", 1, 30.0), group="t")
    other = inst("o", opt("A", 1, 20.0))
    r = solve(problem(v1, v2, other, budget=50.0))
    assert r.status == "optimal"
    assert r.objective_value == 60.0  # the objective sums every variant: 10 + 30 + 20
    assert r.binding[0].users == (("t", 30.0), ("o", 20.0))  # currency, not cost units
    assert bindings(r) == ["budget: $50.00 of $50.00 used by t, o"]
    r = solve(problem(v1, v2, other, budget=49.99))
    assert r.status == "infeasible"
    assert conflicts(r) == ["budget: $49.99 available, wanted by t, o; needs at least $50.00"]


def test_ties_break_by_gpus_then_hours_then_cost_then_key():
    same_cost = inst("a", opt("A", 4, 10.0, key=0), opt("A", 2, 10.0, hours=5.0, key=1))
    assert solve(problem(same_cost)).picks == {"a": 1}  # fewer GPUs wins
    same_gpus = inst("a", opt("A", 2, 10.0, hours=3.0, key=0), opt("B", 2, 10.0, hours=2.0, key=1))
    assert solve(problem(same_gpus, available={"A": None, "B": None})).picks == {"a": 1}
    same_all = inst("a", opt("B", 2, 10.0, key=5), opt("A", 2, 10.0, key=3), opt("C", 2, 10.0, key=4))
    r = solve(problem(same_all, available={"A": None, "B": None, "C": None}))
    assert r.picks == {"a": 1}  # lowest key
    # objective gpus: then hours, then cost
    g = inst("a", opt("A", 2, 9.0, hours=4.0), opt("A", 2, 5.0, hours=4.0, key=1), opt("A", 3, 1.0, key=2))
    assert solve(problem(g, objective="gpus")).picks == {"a": 1}


def test_objectives_hours_and_gpus():
    a = inst(
        "a",
        opt("A", 8, 50.0, hours=1.0),
        opt("A", 1, 10.0, hours=8.0, key=1),
        opt("A", 2, 20.0, hours=2.0, key=2),
    )
    assert solve(problem(a, objective="hours")).picks == {"a": 0}
    assert solve(problem(a, objective="hours")).objective_value == 1.0
    assert solve(problem(a, objective="gpus")).picks == {"a": 1}
    assert solve(problem(a, objective="cost")).picks == {"a": 1}
    assert criteria("hours") == ("hours", "gpus", "cost", "order")


def test_dominated_options_are_pruned_and_picks_index_the_original_options():
    a = inst(
        "a",
        opt("A", 4, 20.0, hours=2.0),  # dominated by index 2
        opt("B", 1, 1.0, hours=1.0),  # other type: never dominates A options
        opt("A", 2, 10.0, hours=2.0, key=2),
        opt("A", 2, 10.0, hours=2.0, key=3),  # equal triple, later key: dropped
    )
    insts, _ = _prepare(problem(a, available={"A": None, "B": 0}))
    assert [o.index for o in insts[0].opts] == [1, 2]
    r = solve(problem(a, available={"A": None, "B": 0}))
    assert r.picks == {"a": 2}


def test_empty_options_name_the_instance_and_the_rest_is_still_solved():
    r = solve(problem(inst("a", opt("A", 1, 2.0)), inst("b")))
    assert r.status == "infeasible"
    assert r.unplaced == ("b",) and r.conflicts == ()
    assert r.picks == {"a": 0}


def test_availability_core_names_the_gpu_type_and_the_competing_workloads():
    a = inst("a", opt("H100", 4, 10.0), opt("H100", 8, 12.0, hours=0.5, key=1))
    b = inst("b", opt("H100", 4, 10.0))
    c = inst("c", opt("L4", 1, 1.0))
    r = solve(problem(a, b, c, available={"H100": 6, "L4": 1}))
    assert r.status == "infeasible" and r.picks == {}
    assert conflicts(r) == ["availability H100: 6 available, wanted by a, b; needs at least 8"]


def test_core_with_two_limits():
    # a can use A (2) or B (2); b the same; one of each is available: A and B together
    # are the core, neither alone.
    a = inst("a", opt("A", 2, 1.0), opt("B", 2, 1.0, key=1))
    b = inst("b", opt("A", 2, 1.0), opt("B", 2, 1.0, key=1))
    r = solve(problem(a, b, available={"A": 2, "B": 1}))
    assert r.status == "infeasible"
    assert [c.limit for c in r.conflicts] == [LimitId.availability("A"), LimitId.availability("B")]
    assert conflicts(r)[0] == "availability A: 2 available, wanted by a, b; needs at least 4"


def test_budget_and_availability_in_one_core():
    # a: cheap on A (4 GPUs) or dear on B; A holds 2: B is forced and too dear for the budget.
    a = inst("a", opt("A", 4, 10.0), opt("B", 4, 40.0, key=1))
    r = solve(problem(a, available={"A": 2, "B": None}, budget=20.0))
    assert r.status == "infeasible"
    assert conflicts(r) == [
        "availability A: 2 available, wanted by a; needs at least 4",
        "budget: $20.00 available, wanted by a; needs at least $40.00",
    ]


def test_no_instances():
    assert solve(problem()).status == "optimal"


def test_scaling_helpers():
    assert cost_units(1.79) == 17900 and COST_SCALE == 10_000
    assert hours_units(0.5) == 5000
    assert cost_units(0.00005) == 0  # below resolution (half to even)


@pytest.mark.parametrize(
    "bad, message",
    [
        (problem(inst("a", opt("Z", 1, 1.0))), "not in available"),
        (problem(inst("a", opt("A", 1, 1.0)), inst("a", opt("A", 1, 1.0))), "unique"),
        (problem(inst("a", opt("A", 1, 1.0)), objective="speed"), "objective"),
        (problem(inst("a", opt("A", 1, -1.0))), "finite and >= 0"),
        (problem(inst("a", opt("A", 1, float("nan")))), "finite and >= 0"),
        (problem(inst("a", opt("A", 1, 1e12))), "scaled range"),
    ],
)
def test_invalid_input_raises(bad, message):
    with pytest.raises(ValueError, match=message):
        solve(bad)


def _fleet(seed, n=40, types=("A", "B", "C", "D")):
    rng = random.Random(seed)
    instances = []
    for i in range(n):
        options = tuple(
            Option(rng.choice(types), g, float(g * rng.randint(1, 3)), float(rng.randint(1, 4)), (k,))
            for k, g in enumerate(rng.choices([1, 2, 4, 8], k=6))
        )
        group = f"w{i // 2}" if i % 3 == 0 else f"w{i}"
        instances.append(Item(f"w{i}", group, options))
    return Problem(tuple(instances), {t: 14 for t in types}, None, "cost")


@pytest.mark.slow
def test_identical_input_gives_identical_results_20_times():
    p = _fleet(11)
    first = solve(p)
    assert first.status == "optimal"
    assert first.binding  # shared limits are in play, so ties across instances can arise
    for _ in range(19):
        assert solve(p) == first


@pytest.mark.slow
def test_two_workers_are_deterministic_too():
    p = _fleet(11)
    first = solve(p, workers=2)
    assert first.status == "optimal"
    for _ in range(4):
        assert solve(p, workers=2) == first
    assert solve(p).objective_value == first.objective_value


def test_long_lists_of_workloads_are_cut_after_eight_names():
    many = [inst(f"w{k}", opt("A", 2 + (k == 9), 1.0)) for k in range(10)]
    r = solve(problem(*many, available={"A": 5}))
    assert conflicts(r) == [
        "availability A: 5 available, wanted by w9, w0, w1, w2, w3, w4, w5, w6 and 2 more;"
        " needs at least 21",
    ]
    # the data keeps every group; only the sentence is cut
    assert sorted(name for name, _ in r.conflicts[0].wanted_by) == sorted(f"w{k}" for k in range(10))


def test_tie_breaks_fold_into_one_mixed_radix_stage():
    from planner.choose.prepare import stages as _stages

    insts, _ = _prepare(
        problem(
            inst("a", opt("A", 1, 1.0, hours=1.0), opt("A", 3, 0.5, hours=2.0, key=1)),
            inst("b", opt("A", 2, 1.0, hours=0.5), opt("A", 4, 0.25, hours=1.5, key=1)),
        )
    )
    # spans: gpus 2 + 2 = 4; hours 1e4 + 1e4 units; order 1 + 1 = 2.
    assert _stages(insts, criteria("cost")) == [
        {"cost": 1},
        {"gpus": 3 * 20001, "hours": 3, "order": 1},
    ]


def test_values_near_the_scaling_limit_still_solve_exactly():
    from planner.choose.prepare import stages as _stages

    # 1e10 currency = 1e14 units: hours then cost no longer fit one weighted sum.
    a = inst("a", opt("A", 1, 1e10, hours=3.0), opt("A", 1, 3e10, hours=1.0, key=1))
    b = inst("b", opt("A", 1, 2e10), opt("A", 1, 1e10 + 0.0001, hours=2.0, key=1))
    p = problem(a, b, available={"A": 2}, budget=4e10 + 0.0001, objective="gpus")
    assert _stages(_prepare(p)[0], criteria("gpus")) == [{"gpus": 1}, {"hours": 1}, {"cost": 3, "order": 1}]
    r = solve(p)
    # Fastest pair (a1, b0) costs 5e10: over budget. a1 + b1 is exactly on budget, 3 h.
    assert r.status == "optimal"
    assert r.picks == {"a": 1, "b": 1}
    assert bindings(r)[1] == (
        "budget: $40,000,000,000.00 of $40,000,000,000.00 used by a, b; first choices need"
        " $50,000,000,000.00"
    )


def test_first_choices_show_who_the_shared_limits_moved():
    a = inst("a", opt("A", 4, 10.0), opt("B", 4, 12.0, key=1))
    b = inst("b", opt("A", 4, 10.0), opt("B", 4, 13.0, key=1))
    r = solve(problem(a, b, available={"A": 6, "B": None}))
    assert r.first_choices == {"a": 0, "b": 0}
    assert r.picks == {"a": 1, "b": 0}  # a was moved by availability A
    r = solve(problem(a, b, available={"A": 6, "B": 3}))
    assert r.status == "infeasible" and r.first_choices == {"a": 0, "b": 0}
