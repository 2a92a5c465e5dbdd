"""planner.choose.start: the greedy start a choice begins from."""

from planner.choose.classes import merge_identical
from planner.choose.cpsat import Item, Option, Problem
from planner.choose.prepare import criteria, prepare
from planner.choose.start import begin


def test_a_pinned_workload_goes_first_when_name_order_finds_no_room():
    """`a` can take A (2 GPUs, $1) or B (2, $2), `b` only A (2, $1); 2 GPUs of A. In name
    order `a` takes A and leaves `b` nothing; with the workload of fewest GPU types first,
    `b` takes A and `a` B: $3, the only choice that fits."""
    a = (Option("A", 2, 1.0, 1.0, (0,)), Option("B", 2, 2.0, 1.0, (1,)))
    b = (Option("A", 2, 1.0, 1.0, (0,)),)
    p = Problem((Item("a", "a", a), Item("b", "b", b)), {"A": 2, "B": None}, None, "cost")
    insts, _ = prepare(p)
    model, members = merge_identical(insts)
    start = begin(insts, model, members, p.available, None, criteria("cost"))
    assert start is not None
    by_name = {i.name: i for i in insts}
    assert {n: by_name[n].opts[pos].gpu for n, pos in start.chosen.items()} == {"a": "B", "b": "A"}
    assert start.ceiling == 30000  # $3 in cost units


def test_no_start_when_no_order_finds_room():
    """Both pinned to A (2 GPUs each), 2 GPUs of A: nothing fits, whatever the order."""
    only_a = (Option("A", 2, 1.0, 1.0, (0,)),)
    p = Problem((Item("a", "a", only_a), Item("b", "b", only_a)), {"A": 2}, None, "cost")
    insts, _ = prepare(p)
    model, members = merge_identical(insts)
    assert begin(insts, model, members, p.available, None, criteria("cost")) is None
