"""The choice, without CP-SAT where it is already proven.

Every item's own best option (lexicographic over the objective's criteria, ending with
the stable order, so it is unique: ``limits.first_choices``) is what CP-SAT's
lexicographic optimum picks for it when no shared limit binds: the objective is a sum
over items, each criterion's sum is least when every item is at its own least, and the
tie-breaks follow item by item. So when the first choices together fit every GPU type's
availability and the budget (no scheduled window: a schedule is CP-SAT's), they are the
optimal choice, decided in Python; CP-SAT (and the OR-Tools import, about half a second)
runs only when limits couple the items. tests/search/test_decide.py checks the two agree.
"""

from __future__ import annotations

from planner.choose.limits import binding_limits, bounds, first_choices, usage
from planner.choose.prepare import Inst, criteria, prepare
from planner.choose.types import Choice, Problem, SolveOptions
from planner.units import COST_SCALE, HOURS_SCALE, cost_units


def choose(problem: Problem, time_limit: float = 10.0, workers: int = 1,
           options: SolveOptions | None = None) -> Choice:
    """``planner.choose.cpsat.solve``'s answer: decided directly when the items' first
    choices fit every shared limit, else by CP-SAT."""
    prepared = None if problem.window is not None else prepare(problem)
    decided = decide_directly(problem, options, prepared)
    if decided is not None:
        return decided
    from planner.choose import cpsat  # imports OR-Tools: only when limits couple items

    return cpsat.solve(problem, time_limit=time_limit, workers=workers, options=options,
                       prepared=prepared)


def decide_directly(problem: Problem, options: SolveOptions | None = None,
                    prepared: tuple[list[Inst], list[str]] | None = None) -> Choice | None:
    """The optimal choice when the first choices fit every limit together; None when they
    do not, when the pool is scheduled in a window, or when CP-SAT's log or model is asked
    for. ``prepared``: ``prepare(problem)`` when the caller has it."""
    if options is not None and (options.log is not None or options.dump_model):
        return None
    if problem.window is not None:
        return None
    insts, empty = prepared or prepare(problem)
    if not insts:  # nothing to choose (as cpsat.solve answers it)
        return Choice("infeasible" if empty else "optimal", {}, 0.0, 0.0, unplaced=tuple(empty))
    budget = None if problem.budget is None else cost_units(problem.budget)
    crits = criteria(problem.objective)
    firsts = first_choices(insts, crits)
    used = usage(insts, firsts, budget)
    limit = bounds(problem.available, budget)
    if any(used.get(lid, (0, {}))[0] > bound for lid, bound in limit.items()):
        return None
    primary = crits[0]
    scale = {"cost": COST_SCALE, "hours": HOURS_SCALE, "gpus": 1}[primary]
    picks = {name: o.index for name, o in sorted(firsts.items())}
    return Choice(
        status="infeasible" if empty else "optimal",
        picks=picks,
        objective_value=sum(o.value(primary) for o in firsts.values()) / scale,
        gap=0.0,
        binding=binding_limits(insts, problem.available, budget, firsts, crits, None, {}, {}),
        unplaced=tuple(empty),
        first_choices=dict(picks),
    )
