"""A first feasible choice by a greedy pass, for CP-SAT to start from.

On a large fleet (benchmarks/e2e.py, 10,000 workloads: 14,000 rows, 300,000 options after
pruning) CP-SAT found no feasible choice in its 10 s, so the answer was "no feasible
choice" although thousands exist. This pass gives each group, in name order, the best
option of each variant (the objective's criteria, as ``first_choices``) that still fits
what the groups before it left of every GPU type and of the budget (a group holds the
most of its variants, as in the model). When every group is placed, the result is a
feasible choice: CP-SAT is hinted with it, and it is the answer (``feasible``, with the
solver's bound as its gap) when the time runs out before CP-SAT finds better. It proves
nothing about optimality; it can fail where a choice exists (then there is no hint).

Guided by the priced bound of ``fixing`` (``Guide``), the pass is much closer to the best:
on the generated 1,000- and 10,000-workload fleets (benchmarks/e2e.py) it finds the optimum
itself, where the plain pass costs 0.03% more, so that fixing leaves the first solve
nothing to do.
"""

from __future__ import annotations

from dataclasses import field

from planner.choose.prepare import Inst, Opt, groups
from planner.frozen import frozen


@frozen
class Guide:
    """How the priced bound (``fixing.Lagrangian.guide``) steers the pass."""

    prices: dict[str, float] = field(default_factory=dict)  # per GPU of a type (1st criterion)
    first: dict[str, int] = field(default_factory=dict)  # per instance: the position to try first
    urgency: dict[str, float] = field(default_factory=dict)  # per instance: its group's turn, larger first


def greedy(insts: list[Inst], available: dict[str, int | None], budget: int | None,
           crits, guide: Guide | None = None) -> dict[str, int] | None:
    """Per instance, the position of its greedy option; None when some group finds no room.

    Unguided, groups go in name order and options in the objective's order. Guided, the
    groups that lose most without the priced types go first, each instance tries its pick
    in the bound first, then options ranked by their first criterion plus the price of the
    GPUs they add to their group's."""
    guide = guide or Guide()
    price = guide.prices

    def rank(po: tuple[int, Opt], held: dict[str, int]):
        o = po[1]
        more = max(0, o.gpus - held.get(o.gpu, 0))
        return (o.value(crits[0]) + price.get(o.gpu, 0.0) * more, *(o.value(c) for c in crits))

    left = {g: n for g, n in available.items() if n is not None}
    money = budget
    ranked: dict[int, list[tuple[int, Opt]]] = {}  # per options tuple: best first
    chosen: dict[str, int] = {}
    by_name = groups(insts)
    urgency = {g: guide.urgency.get(members[0].name, 0.0) for g, members in by_name.items()}
    for name in sorted(by_name, key=lambda g: -urgency[g]):  # a stable sort: then by name
        members = by_name[name]
        held: dict[str, int] = {}  # GPU type -> the most a variant of this group uses
        cost = 0  # the most a variant of this group costs
        for inst in members:
            order = ranked.get(id(inst.opts))
            if order is None:
                order = ranked[id(inst.opts)] = list(enumerate(inst.opts))
                if crits != ("order",):  # the options are in their stable order already
                    order.sort(key=lambda po: rank(po, {}))
            if price and held and crits != ("order",):  # a variant after the group's first
                order = sorted(order, key=lambda po: rank(po, held))
            if inst.name in guide.first:
                p = guide.first[inst.name]
                order = [(p, inst.opts[p]), *order]
            for p, o in order:
                more = max(0, o.gpus - held.get(o.gpu, 0))
                dearer = max(0, o.cost - cost)
                if o.gpu in left and more > left[o.gpu]:
                    continue
                if money is not None and dearer > money:
                    continue
                if o.gpu in left:
                    left[o.gpu] -= more
                if money is not None:
                    money -= dearer
                held[o.gpu] = held.get(o.gpu, 0) + more
                cost += dearer
                chosen[inst.name] = p
                break
            else:
                return None
    return chosen
