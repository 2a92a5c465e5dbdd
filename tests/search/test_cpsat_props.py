"""Properties of planner.choose.cpsat against the exhaustive reference (brute.py)."""

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracles import brute
from planner.choose.cpsat import Item, Option, Problem, cost_units, solve
from planner.explain import conflict_sentence

GPUS = ("A", "B", "C")
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Costs on a 0.25 grid and hours on a 0.5 grid: exact in the scaled units, with many ties.
options = st.builds(
    Option,
    gpu=st.sampled_from(GPUS),
    gpus=st.integers(1, 4),
    cost=st.integers(0, 40).map(lambda c: c / 4),
    hours=st.integers(0, 6).map(lambda h: h / 2),
    key=st.tuples(st.integers(0, 2)),
)


@st.composite
def problems(draw, min_options=0):
    n = draw(st.integers(1, 4))
    instances = []
    for i in range(n):
        group = draw(st.sampled_from(["g0", "g1", f"w{i}", f"w{i}"]))
        opts = draw(st.lists(options, min_size=min_options, max_size=4))
        instances.append(Item(f"w{i}", group, tuple(opts)))
    available = {g: draw(st.one_of(st.none(), st.integers(0, 8))) for g in GPUS}
    budget = draw(st.one_of(st.none(), st.integers(0, 30).map(float)))
    objective = draw(st.sampled_from(["cost", "gpus", "hours"]))
    return Problem(tuple(instances), available, budget, objective)


def within_limits(p: Problem, picks: dict[str, int]) -> bool:
    """Independent check of the shared limits for a pick set (group maxima, summed)."""
    gpu_use: dict[tuple[str, str], int] = {}
    cost: dict[str, int] = {}
    for inst in p.items:
        if inst.name not in picks:
            continue
        o = inst.options[picks[inst.name]]
        gpu_use[o.gpu, inst.group] = max(gpu_use.get((o.gpu, inst.group), 0), o.gpus)
        cost[inst.group] = max(cost.get(inst.group, 0), cost_units(o.cost))
    for g, n in p.available.items():
        if n is not None and sum(v for (t, _), v in gpu_use.items() if t == g) > n:
            return False
    return p.budget is None or sum(cost.values()) <= cost_units(p.budget)


@SETTINGS
@given(problems())
def test_cpsat_matches_brute_force(p):
    got, ex = solve(p), brute.exhaustive(p)
    ref = brute.solve(p)
    assert got.unplaced == ref.unplaced == ex.empty
    if ex.best is None:
        assert got.status == "infeasible" and got.picks == {}
        return
    assert got.status == ("infeasible" if ex.empty else "optimal")
    assert got.objective_value == ref.objective_value
    # CP-SAT's picks are one of the lexicographic optima; the same one when it is unique.
    assert got.picks in ex.optima
    if len(ex.optima) == 1:
        assert got.picks == ref.picks
    assert within_limits(p, got.picks)


@SETTINGS
@given(problems(min_options=1))
def test_limit_conflicts_are_a_minimal_core(p):
    got = solve(p)
    if got.status != "infeasible":
        return
    core = frozenset(str(c.limit) for c in got.conflicts)
    assert core in brute.minimal_cores(p)
    for conflict in got.conflicts:  # each names the limit and who competes for it
        assert conflict.wanted_by and ", wanted by " in conflict_sentence(conflict, "USD")


@SETTINGS
@given(problems(min_options=1), st.sampled_from(GPUS), st.integers(1, 4))
def test_more_available_never_raises_the_optimum(p, gpu, extra):
    before = solve(p)
    if p.available[gpu] is None:
        return
    after = solve(replace(p, available={**p.available, gpu: p.available[gpu] + extra}))
    if before.status == "optimal":
        assert after.status == "optimal"
        assert after.objective_value <= before.objective_value


@SETTINGS
@given(problems(min_options=2), st.data())
def test_dropping_options_never_lowers_the_optimum(p, data):
    i = data.draw(st.integers(0, len(p.items) - 1))
    inst = p.items[i]
    k = data.draw(st.integers(0, len(inst.options) - 1))
    fewer = inst.options[:k] + inst.options[k + 1 :]
    q = replace(p, items=p.items[:i] + (replace(inst, options=fewer),) + p.items[i + 1 :])
    before, after = solve(p), solve(q)
    if after.status == "optimal":
        assert before.status == "optimal"
        assert after.objective_value >= before.objective_value


@settings(max_examples=25, deadline=None)
@given(problems(min_options=1))
def test_instance_order_does_not_change_the_result(p):
    assert solve(p) == solve(replace(p, items=tuple(reversed(p.items))))


@settings(max_examples=60, deadline=None)
@given(problems(min_options=1))
def test_one_solve_per_criterion_agrees_with_folded_tie_breaks(p):
    from planner.choose import cpsat

    folded = solve(p)
    original = cpsat.stages
    cpsat.stages = lambda insts, crits: [{c: 1} for c in crits]
    try:
        sequential = solve(p)
    finally:
        cpsat.stages = original
    assert sequential.status == folded.status
    assert sequential.objective_value == folded.objective_value
    if folded.status == "optimal":
        assert sequential.picks in brute.exhaustive(p).optima


@settings(max_examples=40, deadline=None)
@given(problems(min_options=1))
def test_first_choices_are_the_optimum_without_shared_limits(p):
    free = replace(p, available={g: None for g in p.available}, budget=None)
    alone = solve(free)
    assert alone.picks == alone.first_choices
    assert solve(p).first_choices == alone.first_choices


@st.composite
def repeated(draw):
    """A problem whose unswept workloads repeat: each copied 1 to 3 times under new names,
    so identical instances are merged into counted ones (planner.choose.classes)."""
    p = draw(problems(min_options=1))
    copies = []
    for inst in p.items:
        if inst.group == inst.name:
            for k in range(draw(st.integers(0, 2))):
                copies.append(Item(f"{inst.name}c{k}", f"{inst.name}c{k}", inst.options))
    return replace(p, items=p.items + tuple(copies))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(repeated())
def test_identical_workloads_merged_keep_the_optimum(p):
    got, ex = solve(p), brute.exhaustive(p)
    if ex.best is None:
        assert got.status == "infeasible" and got.picks == {}
        return
    assert got.status == "optimal"
    assert got.objective_value == brute.solve(p).objective_value
    assert got.picks in ex.optima
    assert within_limits(p, got.picks)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(repeated())
def test_infeasible_repeated_workloads_give_a_minimal_core(p):
    got = solve(p)
    if got.status == "infeasible" and not got.unplaced:
        assert frozenset(str(c.limit) for c in got.conflicts) in brute.minimal_cores(p)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(min_options=1))
def test_options_pruned_for_the_objective_are_in_no_optimum(p):
    """prepare.prune_for_objective drops options no optimum takes: the exhaustive reference
    on the original options never picks one of them, and CP-SAT's optimum is one of its."""
    from planner.choose.prepare import prepare

    kept = {i.name: {o.index for o in i.opts} for i in prepare(p)[0]}
    for optimum in brute.exhaustive(p).optima:
        assert all(k in kept[name] for name, k in optimum.items())
