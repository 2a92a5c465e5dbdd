"""planner.choose.decide: where the items' first choices fit every shared limit, the choice
made without CP-SAT is CP-SAT's, field for field; where they do not, it defers to CP-SAT."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oracles import brute
from planner.choose import cpsat
from planner.choose.decide import choose, decide_directly
from planner.choose.types import Item, Option, Problem, Runs, SolveOptions, Window
from search.test_cpsat_props import SETTINGS, problems
from search.test_cpsat_window import windowed


@SETTINGS
@given(problems(min_options=1), st.booleans())
def test_a_direct_decision_is_cpsats_choice(p, loosen):
    if loosen:  # mostly problems whose first choices fit: room for everything
        p = Problem(p.items, {g: None for g in p.available}, None, p.objective)
    _decided_as_cpsat_decides(p)


def _decided_as_cpsat_decides(p: Problem) -> None:
    """Decided directly, or else by ``choose``: CP-SAT's choice, field for field."""
    direct = decide_directly(p)
    assert (choose(p) if direct is None else direct) == cpsat.solve(p)


@SETTINGS
@given(st.one_of(windowed(), windowed(contended=True)), st.booleans())
def test_a_direct_decision_in_a_window_is_cpsats_choice(p, loosen):
    """Field for field, schedule included: every run at its release."""
    if loosen:  # mostly problems whose first choices fit all at once
        p = replace(p, available={g: None for g in p.available}, budget=None)
    _decided_as_cpsat_decides(p)


def test_runs_that_fit_all_at_once_start_at_their_releases_without_cpsat(monkeypatch):
    """A service of 2 GPUs and a nightly job of 4 (3 h, released at 20 h of each day, due
    8 h later) on 6 GPUs: all at once they hold 6, so each night's run starts at its
    release and the pool's peak, 6 of 6, is first reached at 20 h."""
    serve = Item("s", "s", (Option("A", 2, 48.0, 24.0, (0,)),))
    nightly = Item("n", "n", (Option("A", 4, 12.0, 3.0, (0,)), Option("A", 8, 12.0, 1.5, (1,))))
    slots = tuple((20.0 + 24 * k, 28.0 + 24 * k) for k in range(2))
    p = Problem((serve, nightly), {"A": 6}, None, "cost", Window(72.0, {"n": Runs(slots)}))

    def no_cpsat(*args, **kwargs):
        raise AssertionError("CP-SAT ran")

    monkeypatch.setattr(cpsat, "solve", no_cpsat)
    choice = choose(p)
    assert choice.status == "optimal" and choice.picks == {"n": 0, "s": 0}
    assert choice.starts == {"n": (20.0, 44.0)}
    (use,) = choice.binding
    assert (use.used, use.available, use.at_hours) == (6, 6, 20.0)
    monkeypatch.undo()
    assert choice == cpsat.solve(p)


def test_runs_that_only_fit_one_after_the_other_from_their_releases_need_no_cpsat(monkeypatch):
    """Two 10-hour jobs of 8 GPUs on 8, released at 0 h and 12 h: 16 all at once, but from
    their releases they never overlap."""
    a = Item("a", "a", (Option("A", 8, 80.0, 10.0, (0,)),))
    b = Item("b", "b", (Option("A", 8, 80.0, 10.0, (0,)),))
    p = Problem((a, b), {"A": 8}, None, "cost",
                Window(24.0, {"a": Runs(((0.0, 12.0),)), "b": Runs(((12.0, 24.0),))}))
    monkeypatch.setattr(cpsat, "solve", lambda *a, **k: pytest.fail("CP-SAT ran"))
    choice = choose(p)
    assert choice.starts == {"a": (0.0,), "b": (12.0,)}
    monkeypatch.undo()
    assert choice == cpsat.solve(p)
    # released together they overlap: CP-SAT schedules them (one after the other, from 0 h)
    together = Problem((a, b), {"A": 8}, None, "cost",
                       Window(24.0, {"a": Runs(((0.0, 24.0),)), "b": Runs(((0.0, 24.0),))}))
    assert decide_directly(together) is None
    assert sorted(choose(together).starts.values()) == [(0.0,), (10.0,)]


def test_a_run_that_misses_its_due_from_its_release_goes_to_cpsat():
    """The nightly job's cheaper option takes 9 h, past its 8-hour slot: CP-SAT decides
    (and takes the dearer one that fits)."""
    nightly = Item("n", "n", (Option("A", 4, 12.0, 9.0, (0,)), Option("A", 4, 13.0, 7.0, (1,))))
    p = Problem((nightly,), {"A": 6}, None, "cost", Window(48.0, {"n": Runs(((20.0, 28.0),))}))
    assert decide_directly(p) is None
    assert choose(p).picks == {"n": 1}


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
