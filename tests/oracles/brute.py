"""Exhaustive reference solver for tests: every combination via itertools.product.

Same semantics as `planner.choose.cpsat` (written out again here, independently, so the
tests compare two implementations), sharing only the integer scaling helpers, because the
limits are decided on scaled units (and a window on whole schedule steps). Exponential:
keep problems tiny.

A window (a pool scheduled in time) is checked without a solver: a set of runs with
release times, due times and per-GPU-type demands fits the pool exactly when some order
of the runs, each placed in turn at the earliest step where it fits beside those already
placed (the serial schedule-generation scheme), meets every due time. Any feasible
schedule, its runs taken in order of start and each moved as early as it fits, is one
of these (moving a run earlier frees the later steps it held), so trying every order is
exhaustive.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from planner.choose.types import Choice, Problem
from planner.units import (
    COST_SCALE, HOURS_SCALE, SCHEDULE_STEPS_PER_HOUR, cost_units, hours_units, steps_down, steps_up,
)

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
    if problem.window is not None:
        caps = {g: n for g, n in problem.available.items()
                if n is not None and f"availability {g}" in enforced}
        if not schedulable(problem.window, combo, caps):
            return True
    else:
        for gpu, n in problem.available.items():
            used = sum(v for (g, _), v in per_gpu.items() if g == gpu)
            if n is not None and f"availability {gpu}" in enforced and used > n:
                return True
    if problem.budget is not None and "budget" in enforced:
        if sum(per_cost.values()) > cost_units(problem.budget):
            return True
    return False


# ----------------------------------------------------------------------------- in time


def held(combo) -> dict[str, dict[str, tuple[int, int]]]:
    """Per group and GPU type: (steps, GPUs) it holds per run -- a swept group's variants
    are alternatives, so the longest run and the most GPUs among them on that type."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for inst, o in combo:
        per = out.setdefault(inst.group, {})
        steps, gpus = per.get(o.gpu, (0, 0))
        per[o.gpu] = (max(steps, steps_up(o.hours)), max(gpus, o.gpus))
    return out


def slots(window, item: str) -> list[tuple[int, int]]:
    """(release, due) per run of an item in steps; empty: it holds its GPUs throughout."""
    runs = window.runs.get(item)
    horizon = steps_down(window.hours)
    return [(steps_up(r), min(steps_down(d), horizon)) for r, d in (runs.slots if runs else ())]


def _fits(t: int, per, placed, base, caps) -> bool:
    for gpu, (steps, gpus) in per.items():
        if gpu not in caps or not steps or not gpus:
            continue
        points = {t} | {s for s, _, g, _ in placed if g == gpu and t < s < t + steps}
        for p in points:
            used = base.get(gpu, 0) + sum(n for s, e, g, n in placed if g == gpu and s <= p < e)
            if used + gpus > caps[gpu]:
                return False
    return True


def _group_runs(window, combo):
    """Per group with runs: [(release, latest start, per-type hold)] per run; and the GPUs
    each type holds throughout. A run's latest start is the least over the group's picked
    variants of (its due - its own run's steps): every variant meets its own due."""
    per_group = held(combo)
    base: dict[str, int] = {}
    runs = []
    for group, per in sorted(per_group.items()):
        mine = [(inst, o) for inst, o in combo if inst.group == group]
        item_slots = [(slots(window, inst.name), steps_up(o.hours)) for inst, o in mine]
        if not item_slots[0][0]:
            for gpu, (_, gpus) in per.items():
                base[gpu] = base.get(gpu, 0) + gpus
            continue
        for k, (release, _) in enumerate(item_slots[0][0]):
            latest = min(s[k][1] - steps for s, steps in item_slots)
            runs.append((release, latest, per))
    return runs, base


def schedulable(window, combo, caps: dict[str, int]) -> bool:
    """Whether the picked options fit the pool in time (see the module docstring)."""
    runs, base = _group_runs(window, combo)
    if any(base.get(g, 0) > n for g, n in caps.items()):
        return False
    for order in itertools.permutations(runs):
        placed: list[tuple[int, int, str, int]] = []
        for release, latest, per in order:
            ends = sorted({e for _, e, _, _ in placed if e > release})
            start = next((t for t in [release, *ends] if _fits(t, per, placed, base, caps)), None)
            if start is None or start > latest:
                break
            placed += [(start, start + steps, gpu, gpus) for gpu, (steps, gpus) in per.items()]
        else:
            return True
    return False


def valid_schedule(problem: Problem, picks: dict[str, int], starts: dict[str, tuple[float, ...]]) -> list[str]:
    """What is wrong with a solver's schedule for ``picks`` (empty: it holds)."""
    window = problem.window
    combo = [(i, i.options[picks[i.name]]) for i in problem.items if i.name in picks]
    bad, lanes = [], []
    per_group = held(combo)
    for inst, o in combo:  # every variant's own run in its own slot
        got = [round(h * SCHEDULE_STEPS_PER_HOUR) for h in starts.get(inst.group, ())]
        mine = slots(window, inst.name)
        if len(got) != len(mine):
            bad.append(f"{inst.name}: {len(got)} starts for {len(mine)} runs")
            continue
        for (release, due), start in zip(mine, got):
            if start < release or start + steps_up(o.hours) > due:
                bad.append(f"{inst.name}: run at {start} outside ({release}, {due})")
    for group, per in sorted(per_group.items()):
        got = [round(h * SCHEDULE_STEPS_PER_HOUR) for h in starts.get(group, ())]
        for gpu, (steps, gpus) in per.items():
            spans = [(0, steps_down(window.hours))] if not got else [(s, s + steps) for s in got]
            lanes += [(s, e, gpu, gpus) for s, e in spans]
    for gpu, cap in problem.available.items():
        if cap is None:
            continue
        for t in {s for s, _, g, _ in lanes if g == gpu}:
            used = sum(n for s, e, g, n in lanes if g == gpu and s <= t < e)
            if used > cap:
                bad.append(f"{gpu}: {used} of {cap} in use at step {t}")
    return bad


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


def least_use(problem: Problem, limit: str, enforced: set[str]) -> int | None:
    """The least use of one limit (GPUs of a type, or cost units) over every pick set that
    holds the limits in ``enforced``, group maxima summed; None when no pick set does.
    Without a window only."""
    insts = [i for i in problem.items if i.options]
    least = None
    for combo in itertools.product(*(range(len(i.options)) for i in insts)):
        chosen = [(i, i.options[k]) for i, k in zip(insts, combo)]
        if _violated(problem, chosen, enforced):
            continue
        per_group: dict[str, int] = {}
        for inst, o in chosen:
            if limit == "budget":
                use = cost_units(o.cost)
            else:
                use = o.gpus if f"availability {o.gpu}" == limit else 0
            per_group[inst.group] = max(per_group.get(inst.group, 0), use)
        total = sum(per_group.values())
        least = total if least is None else min(least, total)
    return least
