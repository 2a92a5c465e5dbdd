"""planner.choose.decide: where the items' first choices fit every shared limit, the choice
made without CP-SAT is CP-SAT's, field for field; where they do not, it defers to CP-SAT."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from oracles import brute
from planner.choose import cpsat
from planner.choose.decide import choose, decide_directly
from planner.choose.types import Item, Option, Problem, SolveOptions
from search.test_cpsat_props import SETTINGS, problems


@SETTINGS
@given(problems(min_options=1), st.booleans())
def test_a_direct_decision_is_cpsats_choice(p, loosen):
    if loosen:  # mostly problems whose first choices fit: room for everything
        p = Problem(p.items, {g: None for g in p.available}, None, p.objective)
    direct = decide_directly(p)
    solved = cpsat.solve(p)
    if direct is None:
        assert choose(p) == solved
    else:
        assert direct == solved


def _two_items(available: int) -> Problem:
    cheap, dear = Option("A", 2, 1.0, 1.0, (0,)), Option("B", 2, 3.0, 1.0, (1,))
    dear_b = Option("B", 1, 3.0, 1.0, (1,))
    return Problem((Item("x", "x", (cheap, dear)), Item("y", "y", (cheap, dear_b))),
                   {"A": available, "B": None}, None, "cost")


def test_first_choices_that_fit_are_decided_directly():
    choice = decide_directly(_two_items(available=4))
    assert choice is not None and choice.picks == {"x": 0, "y": 0} and choice.status == "optimal"
    assert choice.objective_value == 2.0 and choice.gap == 0.0


def test_coupled_items_go_to_cpsat():
    p = _two_items(available=2)  # both want 2 of A's 2
    assert decide_directly(p) is None
    choice = choose(p)
    assert choice == cpsat.solve(p) and sorted(choice.picks.values()) == [0, 1]


def test_asking_for_cpsats_log_or_model_goes_to_cpsat():
    p = _two_items(available=4)
    assert decide_directly(p, SolveOptions(log=print)) is None
    assert decide_directly(p, SolveOptions(dump_model="m.pb")) is None


def test_nothing_to_choose_is_answered_as_cpsat_answers_it():
    empty = Problem((Item("x", "x", ()),), {"A": 1}, None, "cost")
    assert decide_directly(empty) == cpsat.solve(empty)
    assert decide_directly(empty).status == "infeasible"


@SETTINGS
@given(problems(min_options=1))
def test_every_choice_is_an_exhaustive_optimum(p):
    """Whichever way it is decided (directly, by the priced bound, by CP-SAT)."""
    ex = brute.exhaustive(p)
    got = choose(p)
    if ex.best is None:
        assert got.status == "infeasible" and got.picks == {}
    else:
        assert got.status == "optimal" and got.picks in ex.optima


def test_a_priced_decision_needs_no_cpsat(monkeypatch):
    """x: A (2 GPUs, $1) or B (2, $10); y: A (2, $1) or B (2, $2); 2 GPUs of A. Both want A.
    With A priced at p per GPU every choice costs at least min(1 + 2p, 10) + min(1 + 2p, 2)
    - 2p, which is $3 for p in [0.5, 4.5]: x on A and y on B cost $3, and at the price
    just above 0.5 any choice with y on A or x on B costs more. One option each is left, so
    the choice is proven without CP-SAT."""
    a, b_dear, b_cheap = Option("A", 2, 1.0, 1.0, (0,)), Option("B", 2, 10.0, 1.0, (1,)), Option("B", 2, 2.0, 1.0, (1,))
    p = Problem((Item("x", "x", (a, b_dear)), Item("y", "y", (a, b_cheap))), {"A": 2, "B": None}, None, "cost")
    assert decide_directly(p) is None

    def no_cpsat(*args, **kwargs):
        raise AssertionError("CP-SAT ran")

    monkeypatch.setattr(cpsat, "solve", no_cpsat)
    choice = choose(p)
    assert choice.status == "optimal" and choice.picks == {"x": 0, "y": 1}
    assert choice.objective_value == 3.0 and choice.first_choices == {"x": 0, "y": 0}
    monkeypatch.undo()
    assert choice == cpsat.solve(p)
