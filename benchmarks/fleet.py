"""Solve-time benchmark for planner.choose.cpsat on random fleets (prints figures, no asserts).

    python benchmarks/fleet.py [--sizes 10,100,200,1000] [--types 12] [--seed 0]

Synthetic cost model (numbers only shape the problem; they are not estimates):
- GPU type t: memory 16..192 GiB, relative speed 1..12 (arbitrary units of work per hour),
  price per GPU-hour 0.5..6 (roughly tracks speed, with noise so no type dominates).
- Workload: memory need 8..1200 GiB in total, work 10..20000 units; every tenth one is a
  sweep of 3 variants (one group) with work x1, x4, x16.
- Option: a GPU count from 1, 2, 4, ..., 128 whose total memory holds the workload,
  hours = work / (count x speed x efficiency), efficiency = 0.9 ** log2(count) (scaling
  loss), cost = count x hours x price; up to 3 counts per type (so ~30 options over 12
  types once memory filters).
- Limits (see `fleet`): availability per type and a budget set from a random reference
  plan, so a feasible plan exists while the limits bind and workloads must be traded off.
- Each size is also solved with availability halved (`tighter`), usually infeasible, to
  time the diagnosis (minimal core of limits).
- `--window H` schedules the pool in time (CP-SAT intervals and a cumulative per GPU
  type): work is divided by `WINDOW_WORK_DIVISOR` so runs take hours, not weeks; every
  `SERVICE_EVERY`-th workload is a service holding its GPUs throughout; each other one
  runs once, released at a random hour of the window's first half and due at its end
  (options that cannot finish by then are dropped); availability is `WINDOW_SHARE` of
  what the cheapest choices would hold all at once, so jobs must share GPUs over time.
"""

from __future__ import annotations

import argparse
import math
import random
import time

from dataclasses import replace

from planner.choose.cpsat import Item, Option, Problem, solve
from planner.choose.prepare import prepare as _prepare
from planner.choose.types import Runs, Window

COUNTS = [2**k for k in range(8)]  # 1..128 GPUs per candidate
OPTIONS_PER_TYPE = 3  # smallest fitting counts kept per GPU type
LAYOUT_SLOWDOWN = (1.0, 1.25)  # two layouts per count; the slower one is dominated (pruned)
AVAILABILITY_SHARE = 0.6  # of the unconstrained demand per type
REFERENCE_RANK = 3  # the reference plan picks among each workload's 3 cheapest options
BUDGET_SLACK = 1.0  # x the reference plan's cost
TIGHT = 0.5  # availability factor of the infeasible variant
AFFINITY = (0.5, 1.5)  # per workload and type speed factor (compute- vs memory-bound)


def fleet(n: int, m: int, seed: int) -> Problem:
    rng = random.Random(seed)
    types = []
    for t in range(m):
        speed = rng.uniform(1, 12)
        memory = rng.choice([16, 24, 40, 48, 80, 96, 141, 192])
        types.append((f"gpu{t:02d}", memory, speed, 0.5 * speed * rng.uniform(0.6, 1.4)))
    instances = []
    w = 0
    while len(instances) < n:
        mem, work = rng.uniform(8, 1200), rng.uniform(10, 20000)
        affinity = [rng.uniform(*AFFINITY) for _ in types]
        variants = [1, 4, 16] if w % 10 == 0 and n - len(instances) >= 3 else [1]
        for v in variants:
            name = f"w{w:04d}" if len(variants) == 1 else f"w{w:04d}[x={v}]"
            options = []
            for (gpu, gmem, speed, price), fit in zip(types, affinity):
                fitting = [c for c in COUNTS if c * gmem >= mem][:OPTIONS_PER_TYPE]
                for c in fitting:
                    for layout, slowdown in enumerate(LAYOUT_SLOWDOWN):
                        hours = slowdown * work * v / (c * speed * fit * 0.9 ** math.log2(c))
                        cost = round(c * hours * price, 4)
                        options.append(Option(gpu, c, cost, round(hours, 4), (gpu, c, layout)))
            instances.append(Item(name, f"w{w:04d}", tuple(options)))
        w += 1
    # Limits from two plans: everyone's cheapest choice (what the workloads want) and a
    # reference plan that takes a random one of each workload's REFERENCE_RANK cheapest
    # options (so some feasible plan exists). Availability is the larger of the reference
    # usage and AVAILABILITY_SHARE of the wanted usage; the budget BUDGET_SLACK x the
    # reference cost. Both plans count a sweep group's maximum, as the solver does.
    cheapest = {i.name: min(i.options, key=lambda o: (o.cost, o.gpus)) for i in instances}
    reference = {
        i.name: rng.choice(sorted(i.options, key=lambda o: (o.cost, o.gpus))[:REFERENCE_RANK])
        for i in instances
    }
    want, ref_use = _usage(instances, cheapest), _usage(instances, reference)
    available = {
        gpu: max(ref_use.get(gpu, 0), int(AVAILABILITY_SHARE * want.get(gpu, 0))) for gpu, *_ in types
    }
    budget = round(BUDGET_SLACK * ref_use["cost"], 2)
    return Problem(tuple(instances), available, budget, "cost")


WINDOW_WORK_DIVISOR = 100
SERVICE_EVERY = 5
WINDOW_SHARE = 0.6


def scheduled(p: Problem, hours: float, seed: int) -> Problem:
    """The fleet in a window of ``hours``: services throughout, one run per other group."""
    rng = random.Random(seed + 1)
    groups = sorted({i.group for i in p.items})
    runs = {}
    for n, group in enumerate(groups):
        if n % SERVICE_EVERY:
            runs[group] = Runs(((float(rng.randrange(int(hours // 2))), hours),))
    items = []
    for item in p.items:
        slot = runs.get(item.group)
        room = hours if slot is None else slot.slots[0][1] - slot.slots[0][0]
        options = []
        for o in item.options:
            h = round(o.hours / WINDOW_WORK_DIVISOR, 4)
            if slot is not None and h > room:
                continue
            cost = round(o.cost / WINDOW_WORK_DIVISOR, 4) if slot is not None else round(o.gpus * hours, 4)
            options.append(replace(o, hours=h if slot is not None else hours, cost=cost))
        items.append(replace(item, options=tuple(options)))
    cheapest = {i.name: min(i.options, key=lambda o: (o.cost, o.gpus)) for i in items if i.options}
    want = _usage([i for i in items if i.options], cheapest)
    available = {g: max(1, int(WINDOW_SHARE * want.get(g, 0))) for g in p.available}
    return Problem(tuple(items), available, None, p.objective, Window(hours, runs))


def _usage(instances, picks) -> dict[str, float]:
    per: dict[tuple[str, str], float] = {}
    for inst in instances:
        o = picks[inst.name]
        for k, v in ((o.gpu, o.gpus), ("cost", o.cost)):
            per[k, inst.group] = max(per.get((k, inst.group), 0), v)
    out: dict[str, float] = {}
    for (k, _), v in per.items():
        out[k] = out.get(k, 0) + v
    return out


def tighter(p: Problem, factor: float) -> Problem:
    """The same fleet with every availability scaled down (usually infeasible)."""
    return Problem(p.items, {g: int(n * factor) for g, n in p.available.items()}, p.budget, p.objective)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,200,1000")
    ap.add_argument("--types", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=10.0)  # planner solve's default
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--window", type=float, default=None, help="schedule the pool over this many hours")
    args = ap.parse_args()
    head = ("N", "M", "options", "kept", "status", "gap", "binding", "seconds")
    print("{:>5} {:>3} {:>8} {:>7} {:>10} {:>8} {:>8} {:>8}  limits".format(*head))
    for n, tight in ((int(s), t) for s in args.sizes.split(",") for t in (False, True)):
        p = fleet(n, args.types, args.seed)
        p = tighter(p, TIGHT) if tight else p
        if args.window:
            p = scheduled(p, args.window, args.seed)
            p = replace(p, available={g: max(1, int(n * TIGHT)) for g, n in p.available.items()}) if tight else p
        raw = sum(len(i.options) for i in p.items)
        kept = sum(len(i.opts) for i in _prepare(p)[0])
        start = time.perf_counter()
        r = solve(p, time_limit=args.time_limit, workers=args.workers)
        seconds = time.perf_counter() - start
        row = f"{n:>5} {args.types:>3} {raw:>8} {kept:>7} {r.status:>10} {r.gap:>8.2g} {len(r.binding):>8}"
        core = [str(c.limit) for c in r.conflicts]
        limits = "halved" if tight else "reference"
        print(f"{row} {seconds:>8.2f}  {limits}" + (f"  core: {len(core)} ({core[0]}, ...)" if core else ""))


if __name__ == "__main__":
    main()
