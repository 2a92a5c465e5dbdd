"""Brute force over small random plans: `planner solve` finds the optimum.

Hypothesis writes plans of up to 4 workloads (one of them possibly swept) on up
to 3 GPU types with small availability and an optional budget. For each plan
the candidate search gives every instance's options; an exhaustive search over
their product, written here from the semantics in docs/solve.md (one option per
instance; a swept workload's variants are alternatives, so a GPU type's use and
the budget count each group at its most demanding variant), must find the same
optimal total cost that `solve_file` reports through CP-SAT, and the same
verdict when nothing is feasible.
"""

from __future__ import annotations

import pytest

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.resolve.variants import build_variants, offered_gpus
from planner.resolve.load import load_plan
from planner.search import Frontiers, search
from planner.pipeline import solve_file

MODEL = """
model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4
               ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }
"""

WORKLOADS = {
    "lora": 'finetune "{n}" {{ model = "tiny" method = lora dataset = {d}MB deadline <= {h}h }}',
    "full": 'finetune "{n}" {{ model = "tiny" method = full dataset = {d}MB deadline <= {h}h }}',
    "serve": 'serve "{n}" {{ model = "tiny" users = {u} context = 4k tpot <= {t}ms }}',
    "pre": 'pretrain "{n}" {{ model = "tiny" dataset = {b}M tokens seq_len = 2k deadline <= {h}h }}',
}
GPUS = ("L4", "A10G", "A100-80G")


@st.composite
def plans(draw) -> str:
    gpus = draw(st.lists(st.sampled_from(GPUS), min_size=1, max_size=3, unique=True))
    budget = draw(st.one_of(st.none(), st.none(), st.integers(1, 1200)))
    lines = ['import "std"', 'plan "brute" { objective = cost'
             + (f" budget <= {budget}" if budget is not None else "") + " }"]
    for g in gpus:
        lines.append(f'gpu "{g}" {{ available = {draw(st.integers(1, 4))} }}')
    lines.append(MODEL)
    names = []
    for i in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(sorted(WORKLOADS)))
        name = f"w{i}"
        names.append((name, kind))
        lines.append(WORKLOADS[kind].format(
            n=name, d=draw(st.sampled_from([50, 200, 800, 3000])),
            h=draw(st.sampled_from([2, 6, 24])), u=draw(st.sampled_from([1, 8, 32, 96])),
            t=draw(st.sampled_from([20, 50, 200])), b=draw(st.sampled_from([200, 1000, 4000]))))
    trainers = [n for n, k in names if k != "serve"]
    if trainers and draw(st.booleans()):
        lines.append(f'sweep "{trainers[0]}".deadline = [3h, 12h]')
    return "\n".join(lines) + "\n"


def exhaustive_cost(text: str):
    """The least total cost over every feasible combination, or None when there is none."""
    plan = load_plan("mem/brute.plan", reader=lambda path: text)
    settings_ = plan.settings
    available = {o.name: o.available for o in offered_gpus(plan)}
    instances = build_variants(plan)
    frontiers = Frontiers()
    options = [search(inst, frontiers).options for inst in instances]
    if any(not opts for opts in options):
        return None
    best = None
    for combo in itertools.product(*options):
        use: dict[tuple[str, str], int] = {}
        group_cost: dict[str, float] = {}
        for inst, c in zip(instances, combo):
            key = (c.gpu, inst.group)
            use[key] = max(use.get(key, 0), c.gpu_count)
            group_cost[inst.group] = max(group_cost.get(inst.group, 0.0), c.cost)
        per_type: dict[str, int] = {}
        for (gpu, _), n in use.items():
            per_type[gpu] = per_type.get(gpu, 0) + n
        if any(available[g] is not None and n > available[g] for g, n in per_type.items()):
            continue
        if settings_.budget is not None and sum(group_cost.values()) > settings_.budget + 1e-4:
            continue
        total = sum(c.cost for c in combo)
        best = total if best is None else min(best, total)
    return best


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_cpsat_matches_brute_force_on_random_plans(text):
    expected = exhaustive_cost(text)
    result = solve_file("mem/brute.plan", reader=lambda path: text, time_limit=10.0).to_json()
    if expected is None:
        assert result["status"] == "infeasible", text
        return
    assert result["status"] == "optimal", (text, result["binding"])
    got = sum(row["cost"] for row in result["workloads"])
    # rows keep money to the cent; CP-SAT works in 1e-4 currency units
    assert abs(got - expected) <= 0.0051 * len(result["workloads"]), (text, got, expected)


# ----------------------------------------------------------------------------- in time

TIMED = {
    "lora": 'finetune "{n}" {{ model = "tiny" method = lora dataset = {d}MB deadline <= {h}h{extra} }}',
    "full": 'finetune "{n}" {{ model = "tiny" method = full dataset = {d}MB deadline <= {h}h{extra} }}',
}
WINDOW = 24.0


@st.composite
def timed_plans(draw):
    """Up to 3 jobs, some repeating every 12 h or released late, on 1-2 scarce GPU types
    in a 24-hour window, sometimes beside a service that holds GPUs throughout."""
    gpus = draw(st.lists(st.sampled_from(("L4", "A100-80G")), min_size=1, max_size=2, unique=True))
    lines = ['import "std"', f'plan "brute" {{ objective = cost  window = {WINDOW:g}h }}']
    for g in gpus:
        lines.append(f'gpu "{g}" {{ available = {draw(st.integers(1, 4))} }}')
    lines.append(MODEL)
    jobs = []
    for i in range(draw(st.integers(1, 3))):
        every = draw(st.sampled_from([None, None, 12.0]))
        start = draw(st.sampled_from([0.0, 0.0, 4.0]))
        deadline = draw(st.sampled_from([2, 6, 24]))
        extra = (f" every = {every:g}h" if every else "") + (f" start_after = {start:g}h" if start else "")
        lines.append(TIMED[draw(st.sampled_from(sorted(TIMED)))].format(
            n=f"j{i}", d=draw(st.sampled_from([50, 200, 800])), h=deadline, extra=extra))
        jobs.append((f"j{i}", every, start, float(deadline)))
    if draw(st.booleans()):
        lines.append('serve "s" { model = "tiny" users = 8 context = 4k }')
    return "\n".join(lines) + "\n", jobs


def slots(every, start, deadline):
    """docs/solve.md, "Periods and the schedule": runs released every `every` from
    `start_after` while their slot (to the next release, or the deadline when sooner) ends
    in the window, each due at the next release, its deadline or the window's end."""
    count = 1
    while every is not None and start + count * every + min(every, deadline) <= WINDOW:
        count += 1
    out = []
    for k in range(count):
        release = start + k * (every or 0.0)
        due = min(WINDOW, release + deadline, release + every if every else WINDOW)
        out.append((release, due))
    return tuple(out)


def exhaustive_timed(text, jobs):
    from oracles import brute
    from planner.choose.types import Item, Option, Runs, Window

    plan = load_plan("mem/brute.plan", reader=lambda path: text)
    available = {o.name: o.available for o in offered_gpus(plan)}
    variants = build_variants(plan)
    frontiers = Frontiers()
    options = [search(v, frontiers).options for v in variants]
    if any(not opts for opts in options):
        return None
    timing = {name: (every, slots(every, start, deadline)) for name, every, start, deadline in jobs}
    window = Window(WINDOW, {name: Runs(s) for name, (_, s) in timing.items()})
    best = None
    for combo in itertools.product(*options):
        picked = [(Item(v.name, v.group, ()), Option(c.gpu, c.gpu_count, c.cost, c.hours, ()))
                  for v, c in zip(variants, combo)]
        if not brute.schedulable(window, picked, {g: n for g, n in available.items() if n is not None}):
            continue
        # a recurring job costs its runs per period (730 h / every)
        total = sum(c.cost * (730.0 / timing[v.name][0] if timing.get(v.name, (None,))[0] else 1.0)
                    for v, c in zip(variants, combo))
        best = total if best is None else min(best, total)
    return best


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timed_plans())
def test_cpsat_matches_brute_force_on_pools_scheduled_in_time(case):
    text, jobs = case
    expected = exhaustive_timed(text, jobs)
    result = solve_file("mem/brute.plan", reader=lambda path: text, time_limit=10.0).to_json()
    if expected is None:
        assert result["status"] == "infeasible", text
        return
    assert result["status"] == "optimal", (text, result["binding"])
    got = sum(row["cost"] for row in result["workloads"])
    assert abs(got - expected) <= 0.0051 * len(result["workloads"]) + 1e-6 * expected, (text, got, expected)
