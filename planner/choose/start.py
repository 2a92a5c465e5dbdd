"""A choice's start: the plain greedy pass, then the priced bound and a pass it guides.

Pure Python, no OR-Tools: ``decide`` answers from it without CP-SAT when the bound leaves
each instance one option, and ``cpsat`` hints its first solve with it and leaves the other
options out of its model (``fixing``). A scheduled pool has no start (its greedy pass does
not know time).
"""

from __future__ import annotations


from planner.choose.fixing import Lagrangian
from planner.choose.greedy import Guide, greedy
from planner.choose.prepare import Inst
from planner.frozen import frozen


@frozen
class Start:
    """A first choice and the Lagrangian bound that judges it."""

    chosen: dict[str, int]  # per instance, the position of its option
    bound: Lagrangian  # over the model's instances (``classes``-merged)
    ceiling: int  # the first criterion's sum over ``chosen``
    gone: dict[str, tuple[int, ...]]  # per model instance: positions no choice as good takes

    def determined(self, model_insts: list[Inst]) -> bool:
        """True when every model instance keeps one option: no other choice is as good on
        the first criterion, so ``chosen`` is the lexicographic optimum."""
        return all(len(i.opts) - len(self.gone.get(i.name, ())) == 1 for i in model_insts)


def worth(insts: list[Inst], chosen: dict[str, int], criterion: str) -> int:
    """The criterion's sum over every instance of a choice given as positions."""
    return sum(inst.opts[chosen[inst.name]].value(criterion) for inst in insts)


def _fewest_types_first(insts: list[Inst]) -> Guide:
    """A greedy order for when name order finds no room: a workload pinned to one GPU type
    (or with few) before those that could go elsewhere."""
    types: dict[str, set[str]] = {}
    for inst in insts:
        types.setdefault(inst.group, set()).update(o.gpu for o in inst.opts)
    return Guide(urgency={inst.name: -len(types[inst.group]) for inst in insts})


def begin(insts: list[Inst], model_insts: list[Inst], members: dict[str, tuple[str, ...]],
          available: dict[str, int | None], budget: int | None, crits) -> Start | None:
    """The better of the plain and the guided greedy choice; None when the plain pass finds
    no room, in name order nor with the fewest GPU types first (a fleet with none goes to
    the diagnosis, which pricing would only delay)."""
    chosen = greedy(insts, available, budget, crits)
    if chosen is None:  # the workloads with the fewest GPU types to go to first
        chosen = greedy(insts, available, budget, crits, _fewest_types_first(insts))
    if chosen is None:
        return None
    bound = Lagrangian(model_insts, available, crits[0])
    guided = greedy(insts, available, budget, crits, bound.guide(model_insts, members))
    if guided is not None and worth(insts, guided, crits[0]) <= worth(insts, chosen, crits[0]):
        chosen = guided
    ceiling = worth(insts, chosen, crits[0])
    return Start(chosen, bound, ceiling, bound.unreachable(model_insts, ceiling))
