"""The choice problem as integer data: scaled, validated, dominated options pruned, and the
lexicographic criteria folded into as few weighted solves as int64 allows.

Pure arithmetic (no OR-Tools): ``planner.choose.cpsat`` builds its model from this data
and reads its answers back with ``planner.choose.limits``.
"""

from __future__ import annotations

import math
import numbers

from planner.choose.types import OBJECTIVES, Problem
from planner.frozen import frozen
from planner.units import COST_SCALE, HOURS_SCALE, MAX_UNITS, steps_down, steps_up

MAX_SUM = 2**62  # largest sum of any model expression's coefficients (int64 headroom)


def criteria(objective: str) -> tuple[str, ...]:
    """The lexicographic order of criteria for an objective ("order" = stable order)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    ties = tuple(c for c in ("gpus", "hours", "cost") if c != objective)
    return (objective, *ties, "order")


@frozen
class Opt:
    """One option of an instance in the solver's integer units."""

    index: int  # position in Item.options
    gpu: str
    gpus: int
    cost: int  # COST_SCALE units
    hours: int  # HOURS_SCALE units
    rank: int  # position in the instance's (key, index) order, before pruning
    steps: int = 0  # run time in schedule steps, rounded up (a scheduled pool only)

    def value(self, criterion: str) -> int:
        if criterion == "order":
            return self.rank
        return getattr(self, criterion)


@frozen
class Inst:
    """An item as the solver sees it: its group and its pruned options."""

    name: str
    group: str
    opts: tuple[Opt, ...]  # pruned, in rank order
    count: int = 1  # identical instances it stands for in a model (``classes.merge_identical``)


@frozen
class Timed:
    """A scheduled pool in whole steps (``planner.units.SCHEDULE_STEPS_PER_HOUR``)."""

    horizon: int  # the window's length
    releases: dict[str, tuple[int, ...]]  # per group with runs: each run's release
    dues: dict[str, tuple[int, ...]]  # per item of such a group: each run's due

    def latest(self, group: str, members) -> tuple[int, ...]:
        """Per run of a group, the latest due among its items (its start's upper bound)."""
        return tuple(max(d) for d in zip(*(self.dues[i.name] for i in members)))


def scaled(value: float, scale: int, what: str, name: str) -> int:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name}: {what} must be finite and >= 0, got {value!r}")
    units = round(value * scale)
    if units > MAX_UNITS:
        raise ValueError(f"{name}: {what} {value!r} exceeds the scaled range ({MAX_UNITS} units)")
    return units


def prune(opts: list[Opt]) -> tuple[Opt, ...]:
    """Drop options dominated on the same GPU type: gpus >=, cost >=, hours >=.

    Among equal triples the lowest rank survives. Sorted ascending, any dominator of an
    option comes before it, so one pass against the kept options suffices.
    """
    kept: list[Opt] = []
    same_gpu: list[Opt] = []  # the kept options of the GPU type being swept
    for o in sorted(opts, key=lambda o: (o.gpu, o.gpus, o.cost, o.hours, o.rank)):
        if same_gpu and same_gpu[0].gpu != o.gpu:
            same_gpu = []
        if not any(k.gpus <= o.gpus and k.cost <= o.cost and k.hours <= o.hours for k in same_gpu):
            kept.append(o)
            same_gpu.append(o)
    return tuple(sorted(kept, key=lambda o: o.rank))


def prune_for_objective(opts: tuple[Opt, ...], crits: tuple[str, ...], budget: bool) -> tuple[Opt, ...]:
    """Drop an option when another on the same GPU type takes no more GPUs (and, with a
    budget, costs no more) and is better by the objective's criteria (lexicographic,
    ``criteria``), with the pool not scheduled in time.

    Exact: in any choice that takes the dropped option, taking the other instead holds
    every limit still (a GPU type's and the budget's use is a sum of group maxima, none
    of which grows) and makes the lexicographic sums strictly better, so no optimum takes
    it (nor does any answer of the diagnosis need it: no limit's use grows). Hours count
    only as a criterion here, so this drops what ``prune`` keeps: with cost first, a
    dearer option on as many GPUs never wins by being faster (10,000-workload fleet:
    461,000 options pruned to 191,000)."""
    kept: list[Opt] = []
    same_gpu: list[tuple[tuple, Opt]] = []  # (criteria, option) kept on the type being swept
    vector = {o.rank: tuple(o.value(c) for c in crits) for o in opts}
    for o in sorted(opts, key=lambda o: (o.gpu, o.gpus, vector[o.rank])):
        if same_gpu and same_gpu[0][1].gpu != o.gpu:
            same_gpu = []
        mine = vector[o.rank]
        # sorted by GPUs, then criteria: every option that could dominate o is before it
        if any(v < mine and (not budget or k.cost <= o.cost) for v, k in same_gpu):
            continue
        kept.append(o)
        same_gpu.append((mine, o))
    return tuple(sorted(kept, key=lambda o: o.rank))


def prepare(problem: Problem) -> tuple[list[Inst], list[str]]:
    """Validate and scale; return the instances with options (sorted by name) and the
    names of those without any."""
    criteria(problem.objective)
    names = [i.name for i in problem.items]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"instance names must be unique: {', '.join(dup)}")
    for gpu, count in problem.available.items():
        if count is not None and (not isinstance(count, int) or count < 0):
            raise ValueError(f"available[{gpu!r}] must be an int >= 0 or None, got {count!r}")
    if problem.budget is not None:
        scaled(problem.budget, COST_SCALE, "budget", "problem")
    insts: list[Inst] = []
    empty: list[str] = []
    # A fleet repeats shapes: items with equal options share one scaled, pruned tuple.
    done: dict[tuple, tuple[Opt, ...]] = {}
    for inst in sorted(problem.items, key=lambda i: i.name):
        if not inst.options:
            empty.append(inst.name)
            continue
        try:
            opts = done.get(inst.options)
        except TypeError:  # an unhashable sort key: no sharing for this item
            opts = _scaled_options(inst, problem)
        if opts is None:
            opts = done[inst.options] = _scaled_options(inst, problem)
        insts.append(Inst(inst.name, inst.group, opts))
    sums = {c: 0 for c in ("gpus", "cost", "hours", "order")}
    shared: dict[int, list] = {}  # id of an options tuple -> [tuple, how many instances]
    for inst in insts:
        shared.setdefault(id(inst.opts), [inst.opts, 0])[1] += 1
    for opts, times in shared.values():
        for c in sums:
            sums[c] += times * sum(o.value(c) for o in opts)
    for c, total in sums.items():
        # Over every option, not one per instance: CP-SAT's overflow check assumes any mix.
        if total > MAX_SUM:
            raise ValueError(f"sum of {c} over all instances exceeds the scaled range")
    return insts, empty


def _scaled_options(inst, problem: Problem) -> tuple[Opt, ...]:
    """One item's options as integer data, validated, dominated ones pruned."""
    order = sorted(range(len(inst.options)), key=lambda k: (inst.options[k].key, k))
    rank = {k: r for r, k in enumerate(order)}
    opts = []
    for k, o in enumerate(inst.options):
        if o.gpu not in problem.available:
            raise ValueError(f"{inst.name}: option {k} uses GPU {o.gpu!r}, not in available")
        # type() first: the Integral ABC check is slow, and almost every count is an int
        if (type(o.gpus) is not int and not isinstance(o.gpus, numbers.Integral)) or o.gpus < 0:
            raise ValueError(f"{inst.name}: option {k} gpus must be an int >= 0")
        opts.append(
            Opt(
                index=k,
                gpu=o.gpu,
                gpus=int(o.gpus),
                cost=scaled(o.cost, COST_SCALE, "cost", inst.name),
                hours=scaled(o.hours, HOURS_SCALE, "hours", inst.name),
                rank=rank[k],
                steps=steps_up(o.hours) if problem.window is not None else 0,
            )
        )
    kept = prune(opts)
    if problem.window is not None:  # in time, a faster run may be what fits the schedule
        return kept
    return prune_for_objective(kept, criteria(problem.objective), problem.budget is not None)


def timed(problem: Problem) -> Timed | None:
    """The problem's window in schedule steps: releases rounded up, dues down (so a run
    that fits its slot in steps fits it in hours), each slot inside the window; the items
    of a group list the same releases, or none of them is listed."""
    window = problem.window
    if window is None:
        return None
    if not math.isfinite(window.hours) or window.hours <= 0:
        raise ValueError(f"window must be finite and > 0 hours, got {window.hours!r}")
    horizon = steps_down(window.hours)
    if horizon < 1:
        raise ValueError(f"window of {window.hours!r} h is shorter than one schedule step")
    items = {i.name: i for i in problem.items}
    releases: dict[str, tuple[int, ...]] = {}
    dues: dict[str, tuple[int, ...]] = {}
    for name, runs in sorted(window.runs.items()):
        if name not in items:
            raise ValueError(f"window runs for unknown item {name!r}")
        for release, due in runs.slots:
            if not (0 <= release < due <= window.hours):
                raise ValueError(f"{name}: slot ({release!r}, {due!r}) must satisfy "
                                 f"0 <= release < due <= window ({window.hours!r} h)")
        group = items[name].group
        mine = tuple(steps_up(r) for r, _ in runs.slots)
        if releases.setdefault(group, mine) != mine:
            raise ValueError(f"{name}: the items of group {group!r} must list the same releases")
        dues[name] = tuple(min(steps_down(d), horizon) for _, d in runs.slots)
    for item in problem.items:
        if item.group in releases and item.name not in dues:
            raise ValueError(f"{item.name}: group {item.group!r} has runs, this item lists none")
    return Timed(horizon, releases, dues)


def groups(insts: list[Inst]) -> dict[str, list[Inst]]:
    groups: dict[str, list[Inst]] = {}
    for inst in insts:
        groups.setdefault(inst.group, []).append(inst)
    return dict(sorted(groups.items()))



def stages(insts: list[Inst], crits: tuple[str, ...]) -> list[dict[str, int]]:
    """Criteria per solve, with weights. The first criterion is solved alone (its gap is
    the one reported); the tie-breaks after it are folded into one weighted sum while it
    provably keeps their order and fits `MAX_SUM`, else they start a new solve.

    Each criterion is offset by its per-instance minimum, so its sum lies in
    [0, span] with span = sum over instances of (max - min). Weights w_last = 1 and
    w_c = w_next * (span_next + 1) ... make the weighted sum a mixed-radix number:
    a better value of an earlier criterion always outweighs any change of later ones.
    Fewer solves matter: each tie-break solve costs about as much as the first.
    """
    span = {c: 0 for c in crits}
    # CP-SAT rejects a linear expression whose terms could overflow int64 if all were 1 at
    # once (it does not know only one option per instance is), so bound that sum: load.
    load = {c: 0 for c in crits}
    for inst in insts:
        for c in crits:
            values = [o.value(c) for o in inst.opts]
            low = min(values)
            # a counted instance (``classes``) is ``count`` instances; its terms reach count x value
            span[c] += inst.count * (max(values) - low)
            load[c] += inst.count * (sum(values) - low * len(values))

    def fits(run: list[str]) -> bool:
        total, w = 0, 1
        for c in reversed(run):
            total += w * load[c]
            w *= span[c] + 1
        return total <= MAX_SUM

    stages: list[list[str]] = [[crits[0]]]
    run: list[str] = []
    for c in crits[1:]:
        if run and not fits(run + [c]):
            stages.append(run)
            run = []
        run.append(c)
    stages.append(run)
    out = []
    for group in stages:
        weights, w = {}, 1
        for c in reversed(group):
            weights[c] = w
            w *= span[c] + 1
        out.append(dict(reversed(weights.items())))
    return out


def coefficients(insts: list[Inst], weights: dict[str, int]) -> dict[tuple[str, int], int]:
    """Per (instance, position): the stage's weighted, offset value of that option."""
    out = {}
    for inst in insts:
        low = {c: min(o.value(c) for o in inst.opts) for c in weights}
        for p, o in enumerate(inst.opts):
            out[inst.name, p] = sum(w * (o.value(c) - low[c]) for c, w in weights.items())
    return out
