"""Reading a choice back: how much of each shared limit the picks use, which limits bind,
and who competes for a limit. Pure arithmetic over the prepared data (no OR-Tools)."""

from __future__ import annotations

from planner.choose.prepare import Inst, Opt
from planner.choose.types import LimitId, LimitUse
from planner.units import COST_SCALE



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
    for gpu, groups in per_gpu.items():
        out[LimitId.availability(gpu)] = (sum(groups.values()), {g: n for g, n in groups.items() if n})
    if budget is not None:
        out[LimitId.budget()] = (sum(per_cost.values()), {g: c for g, c in per_cost.items() if c})
    return out


def first_choices(insts: list[Inst], crits) -> dict[str, Opt]:
    """Each instance's own lexicographic best, as if it were alone."""
    return {i.name: min(i.opts, key=lambda o: tuple(o.value(c) for c in crits)) for i in insts}


def bounds(available: dict[str, int | None], budget: int | None) -> dict[LimitId, int]:
    out = {LimitId.availability(g): n for g, n in sorted(available.items()) if n is not None}
    if budget is not None:
        out[LimitId.budget()] = budget
    return out


def binding_limits(insts, available, budget, picked: dict[str, Opt], crits) -> tuple[LimitUse, ...]:
    """Limits at zero slack, or that kept some instance from its own first choice."""
    first = first_choices(insts, crits)
    now, want = usage(insts, picked, budget), usage(insts, first, budget)
    out = []
    for lid, bound in bounds(available, budget).items():
        used, groups = now.get(lid, (0, {}))
        wanted = want.get(lid, (0, {}))[0]
        if used < bound and wanted <= bound:
            continue
        out.append(LimitUse(
            limit=lid, used=natural(lid, used), available=natural(lid, bound),
            users=heaviest_first(lid, groups),
            first_choices_need=natural(lid, wanted) if wanted > bound else None,
        ))
    return tuple(out)



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
