"""The greedy feasible start (planner.choose.greedy) and the answers built on it."""

from hypothesis import HealthCheck, given, settings

from oracles import brute
from planner.choose.cpsat import Item, Option, Problem, solve
from planner.choose.greedy import greedy
from planner.choose.prepare import criteria, prepare
from planner.units import cost_units
from test_cpsat_props import problems, within_limits

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(problems(min_options=1))
def test_a_greedy_choice_holds_every_limit(p):
    insts, _ = prepare(p)
    budget = None if p.budget is None else cost_units(p.budget)
    got = greedy(insts, p.available, budget, criteria(p.objective))
    if got is None:
        return
    by_name = {i.name: i for i in insts}
    picks = {name: by_name[name].opts[pos].index for name, pos in got.items()}
    assert set(picks) == {i.name for i in p.items}
    assert within_limits(p, picks)
    assert brute.exhaustive(p).best is not None  # a feasible choice exists: this one


def _fleet(n: int, a: int | None = None) -> Problem:
    """n services, each on A (2 GPUs, $3) or B (1 GPU, $5), 2n/3 GPUs of A (or ``a``): the
    cheap type holds a third of them, the rest must take B."""
    items = tuple(Item(f"s{i:03d}", f"s{i:03d}", (Option("A", 2, 3.0, 1.0, (0,)), Option("B", 1, 5.0, 1.0, (1,))))
                  for i in range(n))
    return Problem(items, {"A": 2 * n // 3 if a is None else a, "B": n}, None, "cost")


def test_with_no_time_for_cp_sat_the_greedy_start_is_the_feasible_answer():
    """Time limit 0: CP-SAT never runs. The greedy start gives A to the first 20 of 60 (40
    GPUs), B to the rest: $3 x 20 + $5 x 40 = $260, feasible. With A priced at y per GPU,
    every choice costs at least 60 min(3 + 2y, 5) - 40y (planner.choose.fixing), which is
    $260 at y = $1: the start is proven cheapest, gap 0; the status stays feasible because
    the tie-breaks had no time."""
    got = solve(_fleet(60), time_limit=0.0)
    assert got.status == "feasible"
    assert got.objective_value == 260.0
    assert got.gap == 0.0
    assert within_limits(_fleet(60), got.picks)


def test_the_gap_of_a_start_is_to_the_priced_bound():
    """41 GPUs of A hold 20 services of 2 GPUs, one GPU idle: $260 again, but the priced
    bound is 60 min(3 + 2y, 5) - 41y, largest at y = $1: $259. Gap 1 / 260."""
    got = solve(_fleet(60, a=41), time_limit=0.0)
    assert got.status == "feasible" and got.objective_value == 260.0
    assert abs(got.gap - 1 / 260) < 1e-9


def test_with_time_the_answer_is_proven():
    got = solve(_fleet(60))
    assert got.status == "optimal" and got.objective_value == 260.0 and got.gap == 0.0
