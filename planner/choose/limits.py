"""Reading a choice back: how much of each shared limit the picks use, which limits bind,
and who competes for a limit. Pure arithmetic over the prepared data (no OR-Tools)."""

from __future__ import annotations

from planner.choose.prepare import Inst, Opt, Timed, groups
from planner.choose.types import LimitId, LimitUse
from planner.units import COST_SCALE, SCHEDULE_STEPS_PER_HOUR



def natural(lid: LimitId, units: int) -> float:
    """An amount of a limit in natural units: GPUs, or currency from cost units."""
    return units / COST_SCALE if lid.kind == "budget" else units


def heaviest_first(lid: LimitId, amounts: dict[str, int]) -> tuple[tuple[str, float], ...]:
    order = sorted(amounts, key=lambda g: (-amounts[g], g))
    return tuple((g, natural(lid, amounts[g])) for g in order)


def usage(insts: list[Inst], chosen: dict[str, Opt], budget: int | None):
    """Per limit: (used, groups using it) for the given picks, group maxima summed."""
    per_gpu: dict[str, dict[str, int]] = {}
    per_cost: dict[str, int] = {}
    for inst in insts:
        o = chosen[inst.name]
        g = per_gpu.setdefault(o.gpu, {})
        g[inst.group] = max(g.get(inst.group, 0), o.gpus)
        per_cost[inst.group] = max(per_cost.get(inst.group, 0), o.cost)
    out: dict[LimitId, tuple[int, dict[str, int]]] = {}
    for gpu, by_group in per_gpu.items():
        out[LimitId.availability(gpu)] = (sum(by_group.values()), {g: n for g, n in by_group.items() if n})
    if budget is not None:
        out[LimitId.budget()] = (sum(per_cost.values()), {g: c for g, c in per_cost.items() if c})
    return out


def first_choices(insts: list[Inst], crits) -> dict[str, Opt]:
    """Each instance's own lexicographic best, as if it were alone."""
    best: dict[int, Opt] = {}  # per options tuple (``prepare`` shares equal ones)
    out = {}
    for i in insts:
        if id(i.opts) not in best:
            best[id(i.opts)] = min(i.opts, key=lambda o: tuple(o.value(c) for c in crits))
        out[i.name] = best[id(i.opts)]
    return out


def bounds(available: dict[str, int | None], budget: int | None) -> dict[LimitId, int]:
    out = {LimitId.availability(g): n for g, n in sorted(available.items()) if n is not None}
    if budget is not None:
        out[LimitId.budget()] = budget
    return out


def binding_limits(insts, available, budget, picked: dict[str, Opt], crits,
                   timed: Timed | None = None, starts: dict | None = None,
                   needs: dict[LimitId, int] | None = None) -> tuple[LimitUse, ...]:
    """Limits at zero slack, or that kept some instance from its own first choice.

    With a window, a GPU type's use is its peak over time (``peak``) and the LimitUse says
    when it is first reached; what the first choices would need there is ``needs`` (the
    solver's proven bound, asked only where a group did not get its first choice)."""
    first = first_choices(insts, crits)
    now, want = usage(insts, picked, budget), usage(insts, first, budget)
    lanes = timeline(insts, picked, timed, starts or {}) if timed is not None else {}
    out = []
    for lid, bound in bounds(available, budget).items():
        at = None
        if timed is not None and lid.kind == "availability":
            used, at, groups_ = peak(lanes.get(lid.gpu, []))
            wanted = (needs or {}).get(lid, 0)
        else:
            used, groups_ = now.get(lid, (0, {}))
            wanted = want.get(lid, (0, {}))[0]
        if used < bound and wanted <= bound:
            continue
        out.append(LimitUse(
            limit=lid, used=natural(lid, used), available=natural(lid, bound),
            users=heaviest_first(lid, groups_),
            first_choices_need=natural(lid, wanted) if wanted > bound else None,
            at_hours=None if at is None else at / SCHEDULE_STEPS_PER_HOUR,
        ))
    return tuple(out)


# ---------------------------------------------------------------- a scheduled pool


def held(insts: list[Inst], chosen: dict[str, Opt]) -> dict[str, dict[str, tuple[int, int]]]:
    """Per group and GPU type, (steps, GPUs) of one run as the solver holds it: a swept
    group at its variants' longest run and most GPUs on that type."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for gname, members in groups(insts).items():
        per = out.setdefault(gname, {})
        for inst in members:
            o = chosen[inst.name]
            steps, gpus = per.get(o.gpu, (0, 0))
            per[o.gpu] = (max(steps, o.steps), max(gpus, o.gpus))
    return out


def timeline(insts: list[Inst], chosen: dict[str, Opt], timed: Timed,
             starts: dict[tuple[str, int], int]) -> dict[str, list[tuple[int, int, str, int]]]:
    """Per GPU type, (start, end, group, GPUs) of every run and service, in steps."""
    out: dict[str, list[tuple[int, int, str, int]]] = {}
    for gname, per in held(insts, chosen).items():
        runs = len(timed.releases.get(gname, ()))
        for gpu, (steps, gpus) in sorted(per.items()):
            if not gpus:
                continue
            lane = out.setdefault(gpu, [])
            if not runs:
                lane.append((0, timed.horizon, gname, gpus))
            for k in range(runs):
                start = starts[gname, k]
                lane.append((start, start + steps, gname, gpus))
    return out


def peak(lane: list[tuple[int, int, str, int]]) -> tuple[int, int | None, dict[str, int]]:
    """The most GPUs held at once on one type, the first step it is reached, and who holds
    them then (a sweep over start and end events; an end frees its GPUs before a start at
    the same step takes them)."""
    events = sorted([(s, 1, n) for s, e, _, n in lane if e > s] + [(e, 0, -n) for s, e, _, n in lane if e > s])
    used, best, at = 0, 0, None
    for t, _, n in events:
        used += n
        if used > best:
            best, at = used, t
    if at is None:
        return 0, None, {}
    holders: dict[str, int] = {}
    for s, e, g, n in lane:
        if s <= at < e:
            holders[g] = holders.get(g, 0) + n
    return best, at, holders


def run_starts(timed: Timed | None, starts: dict[tuple[str, int], int]) -> dict[str, tuple[float, ...]]:
    """Per group with runs, each run's start in hours."""
    if timed is None:
        return {}
    return {g: tuple(starts[g, k] / SCHEDULE_STEPS_PER_HOUR for k in range(len(releases)))
            for g, releases in sorted(timed.releases.items()) if releases and (g, 0) in starts}


def least_use(insts: list[Inst], lid: LimitId) -> dict[str, int]:
    """Per group that can use the limit: the least it takes of it (max over variants)."""
    out: dict[str, int] = {}
    for inst in insts:
        if lid.kind == "budget":
            uses = [o.cost for o in inst.opts]
        else:
            uses = [o.gpus for o in inst.opts if o.gpu == lid.gpu]
        if uses and max(uses) > 0:
            out[inst.group] = max(out.get(inst.group, 0), min(uses))
    return out


def least_total(insts: list[Inst], lid: LimitId) -> int:
    """The least use of a limit over every choice with no other limit held: each group at
    its own least (a variant's option on another GPU type uses none of this one), group
    maxima summed. A limit below it cannot hold, whatever else is chosen."""
    per_group: dict[str, int] = {}
    for inst in insts:
        if lid.kind == "budget":
            least = min(o.cost for o in inst.opts)
        else:
            least = min(o.gpus if o.gpu == lid.gpu else 0 for o in inst.opts)
        per_group[inst.group] = max(per_group.get(inst.group, 0), least)
    return sum(per_group.values())
