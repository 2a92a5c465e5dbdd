"""planner.choose.decide: where the items' first choices fit every shared limit, the choice
made without CP-SAT is CP-SAT's, field for field; where they do not, it defers to CP-SAT."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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
