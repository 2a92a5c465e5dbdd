"""The choice, without CP-SAT where it is already proven.

Every item's own best option (lexicographic over the objective's criteria, ending with
the stable order, so it is unique: ``limits.first_choices``) is what CP-SAT's
lexicographic optimum picks for it when no shared limit binds: the objective is a sum
over items, each criterion's sum is least when every item is at its own least, and the
tie-breaks follow item by item. So when the first choices together fit every GPU type's
availability and the budget, they are the optimal choice, decided in Python; CP-SAT (and
the OR-Tools import, about half a second) runs only when limits couple the items.
tests/search/test_decide.py checks the two agree.

In a scheduled window the same holds when the first choices, every run started at its
release, end by their dues and fit the pool at every moment (and the budget): that is a
schedule, so the first choices are feasible, hence optimal. It is also the schedule
``schedule.earliest`` makes of any schedule CP-SAT finds: taking runs in any order, each
fits at its release beside those already placed there, a part of a feasible schedule.

When limits do couple them, the priced bound (``start``, ``fixing``) may still prove the
answer: when every instance keeps one option that a choice as good as the greedy start
can take, that start is the only such choice, hence the lexicographic optimum (the
shared-pool and tour examples are decided so).
"""

from __future__ import annotations

from planner.choose.classes import merge_identical
from planner.choose.limits import (binding_limits, bounds, first_choices, peak, run_starts, timeline,
                                   usage)
from planner.choose.prepare import Inst, Opt, Timed, criteria, prepare, timed
from planner.choose.schedule import earliest
from planner.choose.start import begin
from planner.choose.types import Choice, Problem, SolveOptions
from planner.units import COST_SCALE, HOURS_SCALE, cost_units


def choose(problem: Problem, time_limit: float = 10.0, workers: int = 1,
           options: SolveOptions | None = None) -> Choice:
    """``planner.choose.cpsat.solve``'s answer: decided directly when the items' first
    choices fit every shared limit, else by CP-SAT."""
    prepared = prepare(problem)
    decided = decide_directly(problem, options, prepared)
    if decided is not None:
        return decided
    begun = None
    # The priced bound knows no time: in a window, CP-SAT schedules.
    if problem.window is None and prepared[0] and not _solver_asked(options):
        begun, decided = _decide_priced(problem, prepared)
        if decided is not None:
            return decided
    from planner.choose import cpsat  # imports OR-Tools: only when limits couple items

    return cpsat.solve(problem, time_limit=time_limit, workers=workers, options=options,
                       prepared=prepared, begun=begun)


def _solver_asked(options: SolveOptions | None) -> bool:
    """CP-SAT's log or model is asked for: then CP-SAT runs, whatever is proven without it."""
    return options is not None and (options.log is not None or bool(options.dump_model))


def _decide_priced(problem: Problem, prepared: tuple[list[Inst], list[str]]):
    """The start (``start.begin``) and, when the priced bound leaves every instance one
    option, the choice it proves (the only one as good on the first criterion, so the
    lexicographic optimum); else (start, None)."""
    insts, empty = prepared
    budget = None if problem.budget is None else cost_units(problem.budget)
    crits = criteria(problem.objective)
    model, members = merge_identical(insts)
    begun = begin(insts, model, members, problem.available, budget, crits)
    if begun is None or not begun.determined(model):
        return begun, None
    picked = {i.name: i.opts[begun.chosen[i.name]] for i in insts}
    firsts = first_choices(insts, crits)
    return begun, _choice(problem, insts, crits, picked, firsts, budget, empty)


def decide_directly(problem: Problem, options: SolveOptions | None = None,
                    prepared: tuple[list[Inst], list[str]] | None = None) -> Choice | None:
    """The optimal choice when the first choices fit every limit together (in a window: each
    run from its release); None when they do not, or when CP-SAT's log or model is asked
    for. ``prepared``: ``prepare(problem)`` when the caller has it."""
    if _solver_asked(options):
        return None
    insts, empty = prepared or prepare(problem)
    if not insts:  # nothing to choose (as cpsat.solve answers it)
        return Choice("infeasible" if empty else "optimal", {}, 0.0, 0.0, unplaced=tuple(empty))
    budget = None if problem.budget is None else cost_units(problem.budget)
    crits = criteria(problem.objective)
    firsts = first_choices(insts, crits)
    used = usage(insts, firsts, budget)
    schedule = timed(problem)
    # In a window only the budget holds all at once; the pool is checked in time below.
    limit = bounds(problem.available if schedule is None else {}, budget)
    if any(used.get(lid, (0, {}))[0] > bound for lid, bound in limit.items()):
        return None
    if schedule is not None and not _fits_from_releases(insts, firsts, schedule, problem.available):
        return None
    return _choice(problem, insts, crits, firsts, firsts, budget, empty, schedule)


def _fits_from_releases(insts: list[Inst], picked: dict[str, Opt], schedule: Timed,
                        available: dict[str, int | None]) -> bool:
    """Whether the picks, every run started at its release, meet the model's constraints in
    time: each variant's run ends by its own due (``start + steps <= due``), and every GPU
    type's use at its peak is within its availability (the cumulative)."""
    for inst in insts:
        steps = picked[inst.name].steps
        releases = schedule.releases.get(inst.group, ())
        if any(r + steps > due for r, due in zip(releases, schedule.dues.get(inst.name, ()))):
            return False
    lanes = timeline(insts, picked, schedule, _at_release(schedule))
    return all(peak(lanes.get(gpu, []))[0] <= n for gpu, n in available.items() if n is not None)


def _at_release(schedule: Timed) -> dict[tuple[str, int], int]:
    return {(g, k): r for g, rs in schedule.releases.items() for k, r in enumerate(rs)}


def _choice(problem: Problem, insts: list[Inst], crits, picked: dict, firsts: dict,
            budget: int | None, empty, schedule: Timed | None = None) -> Choice:
    """The proven optimal choice ``picked`` (instance -> option), as ``cpsat.solve`` gives it;
    in a window (``schedule``), every run at its release."""
    starts = {}
    if schedule is not None:  # every run at its release (``earliest`` leaves it so)
        starts = earliest(insts, picked, schedule, problem.available, _at_release(schedule))
    primary = crits[0]
    scale = {"cost": COST_SCALE, "hours": HOURS_SCALE, "gpus": 1}[primary]
    return Choice(
        status="infeasible" if empty else "optimal",
        picks={name: o.index for name, o in sorted(picked.items())},
        objective_value=sum(o.value(primary) for o in picked.values()) / scale,
        gap=0.0,
        binding=binding_limits(insts, problem.available, budget, picked, crits, schedule, starts,
                               {}),
        unplaced=tuple(empty),
        first_choices={name: o.index for name, o in sorted(firsts.items())},
        starts=run_starts(schedule, starts),
    )
