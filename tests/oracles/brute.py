"""Exhaustive reference solver for tests: every combination via itertools.product.

Same semantics as `planner.choose.cpsat` (written out again here, independently, so the
tests compare two implementations), sharing only the integer scaling helpers, because the
limits are decided on scaled units. Exponential: keep problems tiny.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from planner.choose.types import Choice, Problem
from planner.units import COST_SCALE, HOURS_SCALE, cost_units, hours_units

# The lexicographic criteria per objective, as the spec states them (independent of cpsat).
_ORDER = {
    "cost": ("cost", "gpus", "hours", "order"),
    "gpus": ("gpus", "hours", "cost", "order"),
    "hours": ("hours", "gpus", "cost", "order"),
}


@dataclass(frozen=True)
class Exhaustive:
    best: tuple | None  # lexicographic criteria values of the optimum, None if infeasible
    optima: tuple[dict[str, int], ...]  # every pick set reaching `best` (sorted)
    empty: tuple[str, ...]  # instances without options


def _limits(problem: Problem) -> list[str]:
    ids = [f"availability {g}" for g, n in sorted(problem.available.items()) if n is not None]
    return ids + (["budget"] if problem.budget is not None else [])


def _violated(problem: Problem, combo, enforced: set[str]) -> bool:
    """combo: list of (instance, option). Groups take the max per GPU type and for cost."""
    per_gpu: dict[tuple[str, str], int] = {}
    per_cost: dict[str, int] = {}
    for inst, o in combo:
        k = (o.gpu, inst.group)
        per_gpu[k] = max(per_gpu.get(k, 0), o.gpus)
        per_cost[inst.group] = max(per_cost.get(inst.group, 0), cost_units(o.cost))
    for gpu, n in problem.available.items():
        used = sum(v for (g, _), v in per_gpu.items() if g == gpu)
        if n is not None and f"availability {gpu}" in enforced and used > n:
            return True
    if problem.budget is not None and "budget" in enforced:
        return sum(per_cost.values()) > cost_units(problem.budget)
    return False


def exhaustive(problem: Problem, enforced: set[str] | None = None) -> Exhaustive:
    enforced = set(_limits(problem)) if enforced is None else enforced
    insts = [i for i in problem.items if i.options]
    empty = tuple(sorted(i.name for i in problem.items if not i.options))
    ranks = {}
    for inst in insts:
        order = sorted(range(len(inst.options)), key=lambda k: (inst.options[k].key, k))
        ranks[inst.name] = {k: r for r, k in enumerate(order)}
    best, optima = None, []
    for combo in itertools.product(*(range(len(i.options)) for i in insts)):
        chosen = [(i, i.options[k]) for i, k in zip(insts, combo)]
        if _violated(problem, chosen, enforced):
            continue
        totals = {
            "cost": sum(cost_units(o.cost) for _, o in chosen),
            "gpus": sum(o.gpus for _, o in chosen),
            "hours": sum(hours_units(o.hours) for _, o in chosen),
            "order": sum(ranks[i.name][k] for i, k in zip(insts, combo)),
        }
        key = tuple(totals[c] for c in _ORDER[problem.objective])
        picks = {i.name: k for i, k in zip(insts, combo)}
        if best is None or key < best:
            best, optima = key, [picks]
        elif key == best:
            optima.append(picks)
    optima.sort(key=lambda p: sorted(p.items()))
    return Exhaustive(best, tuple(optima), empty)


def minimal_cores(problem: Problem) -> list[frozenset[str]]:
    """Every minimal set of limits that alone makes the instances with options infeasible."""
    ids = _limits(problem)
    cores: list[frozenset[str]] = []
    for size in range(1, len(ids) + 1):
        for subset in itertools.combinations(ids, size):
            s = frozenset(subset)
            if any(c <= s for c in cores):
                continue
            if exhaustive(problem, set(s)).best is None:
                cores.append(s)
    return cores


def solve(problem: Problem) -> Choice:
    ex = exhaustive(problem)
    if ex.best is None:
        return Choice("infeasible", {}, 0.0, 0.0, unplaced=ex.empty)
    scale = {"cost": COST_SCALE, "hours": HOURS_SCALE, "gpus": 1}[problem.objective]
    status = "infeasible" if ex.empty else "optimal"
    return Choice(status, dict(sorted(ex.optima[0].items())), ex.best[0] / scale, 0.0, unplaced=ex.empty)
