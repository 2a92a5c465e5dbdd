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
"""

from __future__ import annotations

from planner.choose.prepare import Inst, Opt, groups


def greedy(insts: list[Inst], available: dict[str, int | None], budget: int | None,
           crits) -> dict[str, int] | None:
    """Per instance, the position of its greedy option; None when some group finds no room."""
    left = {g: n for g, n in available.items() if n is not None}
    money = budget
    ranked: dict[int, list[tuple[int, Opt]]] = {}  # per options tuple: best first
    chosen: dict[str, int] = {}
    for members in groups(insts).values():
        held: dict[str, int] = {}  # GPU type -> the most a variant of this group uses
        cost = 0  # the most a variant of this group costs
        for inst in members:
            order = ranked.get(id(inst.opts))
            if order is None:
                order = ranked[id(inst.opts)] = list(enumerate(inst.opts))
                if crits != ("order",):  # the options are in their stable order already
                    order.sort(key=lambda po: tuple(po[1].value(c) for c in crits))
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
