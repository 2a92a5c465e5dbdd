"""Identical instances as one counted instance of the model, and the picks spread back.

A fleet repeats a few workload shapes many times: 800 unswept workloads of the generated
1,000-workload fleet (benchmarks/e2e.py) have 44 distinct option lists. Instances that
are alone in their group and have equal pruned options are interchangeable in every
constraint and criterion: each adds its option's GPUs to that type's availability, its
cost to the budget, its values to the objective's sums. So a class of ``m`` of them is
one instance whose options are integer counts in ``[0, m]`` summing to ``m`` (instead of
``m`` exactly-one rows of booleans): the same optimum, with a model the size of the
distinct shapes. Swept groups stay as they are (a group uses the maximum of its
variants, which does not add up over members). A scheduled pool is never merged: each
instance has its own intervals.

``spread`` gives each member its option: members in name order take the class's options
in rank order, so the same counts always give the same picks.
"""

from __future__ import annotations

import dataclasses

from planner.choose.prepare import Inst, groups


def merge_identical(insts: list[Inst]) -> tuple[list[Inst], dict[str, tuple[str, ...]]]:
    """The model's instances (each class named by its first member, in name order) and,
    per model instance, the names of the instances it stands for."""
    alone = {members[0].name for members in groups(insts).values() if len(members) == 1}
    first: dict[tuple, str] = {}
    members: dict[str, list[str]] = {}
    for inst in insts:
        key = inst.opts if inst.name in alone else None
        head = first.setdefault(key, inst.name) if key is not None else inst.name
        members.setdefault(head, []).append(inst.name)
    by_name = {inst.name: inst for inst in insts}
    merged = [dataclasses.replace(by_name[head], count=len(names)) for head, names in members.items()]
    return merged, {head: tuple(names) for head, names in members.items()}


def spread(merged: list[Inst], members: dict[str, tuple[str, ...]],
           counts: dict[tuple[str, int], int]) -> dict[str, int]:
    """Per original instance, its position in the options, from the count per (model
    instance, position)."""
    chosen: dict[str, int] = {}
    for inst in merged:
        names = iter(members[inst.name])
        for p in range(len(inst.opts)):
            for _ in range(counts[inst.name, p]):
                chosen[next(names)] = p
    return chosen



def tally(merged: list[Inst], members: dict[str, tuple[str, ...]],
          chosen: dict[str, int]) -> dict[tuple[str, int], int]:
    """How many members of each model instance take each position (``spread`` undone)."""
    counts = {(inst.name, p): 0 for inst in merged for p in range(len(inst.opts))}
    for inst in merged:
        for name in members[inst.name]:
            counts[inst.name, chosen[name]] += 1
    return counts
