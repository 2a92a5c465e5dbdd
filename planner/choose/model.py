"""The CP-SAT model of the choice, built from the prepared data (``prepare``), and the
solver's settings: one place for both, shared by the optimisation (``cpsat``) and the
diagnosis (``diagnose``). See ``cpsat``'s docstring for the semantics.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from planner.choose import sat
from planner.choose.classes import merge_identical
from planner.choose.prepare import Inst, Timed, groups
from planner.choose.types import LimitId
from planner.frozen import frozen

RANDOM_SEED = 0  # fixed CP-SAT seed: identical input gives identical picks

EVERY = object()  # `build_model(assume=EVERY)`: a literal for every limit


@dataclass
class Model:
    model: sat.CpModel
    x: dict[tuple[str, int], sat.IntVar]  # (instance, position in opts) -> chosen (or how many)
    limits: dict[LimitId, tuple[sat.LinearExpr, int]]  # limit -> (usage, bound)
    lits: dict[LimitId, sat.IntVar]  # limit -> enforcing literal (assumption models)
    starts: dict[tuple[str, int], sat.IntVar]  # (group, run) -> start step (a window)


def build_model(
    insts: list[Inst],
    available: dict[str, int | None],
    budget: int | None,
    timed: Timed | None = None,
    *,
    assume: frozenset[LimitId] | object = frozenset(),
    drop: frozenset[LimitId] = frozenset(),
) -> Model:
    """Exactly-one per instance; group maxima; limits. Limits in `assume` (or all of them,
    with `EVERY`) are enforced by a literal (for assumption solves and for the
    diagnosis's copies), those in `drop` left out. With a window, each GPU
    type's availability is a cumulative over time (`_timeline`) instead of a sum."""
    model = sat.CpModel()
    x: dict[tuple[str, int], sat.IntVar] = {}
    # Per instance, its (variables, weights) on each GPU type and on the budget (None), in
    # option order; the positions and weights worked out once per options tuple (a fleet
    # repeats them, ``prepare`` shares equal ones).
    uses: dict[str, dict[str | None, tuple[list, list]]] = {}
    layout: dict[int, dict[str | None, tuple[list[int], list[int]]]] = {}
    for inst in insts:
        if inst.count == 1:
            row = [model.new_bool_var(f"x[{inst.name},{o.index}]") for o in inst.opts]
            model.add_exactly_one(row)
        else:  # a class of identical instances (``classes``): how many take each option
            row = [model.new_int_var(0, inst.count, f"n[{inst.name},{o.index}]") for o in inst.opts]
            model.add(sum(row) == inst.count)
        for p, var in enumerate(row):
            x[inst.name, p] = var
        keys = layout.get(id(inst.opts))
        if keys is None:
            keys = layout[id(inst.opts)] = _uses(inst.opts)
        uses[inst.name] = {k: ([row[p] for p in ps], ws) for k, (ps, ws) in keys.items()}
    by_group = groups(insts)

    def group_sum(key: str | None) -> sat.LinearExpr | None:
        """Sum over groups of the max over the group's variants of their use of `key`."""
        terms, weights = [], []
        for gname, members in by_group.items():
            exprs = [uses[inst.name][key] for inst in members if key in uses[inst.name]]
            if not exprs:
                continue
            if len(exprs) == 1:
                terms += exprs[0][0]
                weights += exprs[0][1]
                continue
            # One option per variant, so a variant's usage is one of its weights.
            top = max(max(ws) for _, ws in exprs)
            m = model.new_int_var(0, top, f"max[{'cost' if key is None else key},{gname}]")
            for vs, ws in exprs:
                model.add(m >= sat.LinearExpr.weighted_sum(vs, ws))
            terms.append(m)
            weights.append(1)
        if not terms:
            return None
        return sat.LinearExpr.weighted_sum(terms, weights)

    limits: dict[LimitId, tuple[sat.LinearExpr, int]] = {}
    starts: dict[tuple[str, int], sat.IntVar] = {}
    if timed is None:
        for gpu in sorted(available):
            bound = available[gpu]
            if bound is None:
                continue
            expr = group_sum(gpu)
            if expr is not None:
                limits[LimitId.availability(gpu)] = (expr, bound)
    else:
        starts = _in_time(model, insts, x, timed, available, limits)
    if budget is not None:
        expr = group_sum(None)
        if expr is not None:
            limits[LimitId.budget()] = (expr, budget)

    lits: dict[LimitId, sat.IntVar] = {}
    for lid, (expr, bound) in limits.items():
        if lid in drop:
            continue
        ct = model.add(expr <= bound)
        if assume is EVERY or lid in assume:
            lits[lid] = model.new_bool_var(f"enforce[{lid}]")
            ct.only_enforce_if(lits[lid])

    return Model(model, x, limits, lits, starts)


def _uses(opts) -> dict[str | None, tuple[list[int], list[int]]]:
    """Per GPU type (and None: the budget), the positions of the options that use it and
    how much each uses, in option order."""
    out: dict[str | None, tuple[list[int], list[int]]] = {}
    for p, o in enumerate(opts):
        for key, amount in ((o.gpu, o.gpus), (None, o.cost)):
            if amount:
                ps, ws = out.setdefault(key, ([], []))
                ps.append(p)
                ws.append(amount)
    return out


def _in_time(model: sat.CpModel, insts: list[Inst], x, timed: Timed,
             available: dict[str, int | None], limits: dict) -> dict:
    """Availability over time: a cumulative per GPU type against a capacity variable (so
    that a diagnosis can relax and minimise it), into ``limits``; the runs' starts."""
    per_gpu, energy, starts = _timeline(model, insts, x, timed)
    for gpu in sorted(available):
        bound = available[gpu]
        if bound is None or not per_gpu.get(gpu):
            continue
        intervals, demands, tops = zip(*per_gpu[gpu])
        capacity = model.new_int_var(0, max(sum(tops), bound), f"capacity[{gpu}]")
        model.add_cumulative(intervals, demands, capacity)
        # Redundant, for the linear relaxation: GPU-steps held fit capacity x window.
        held_steps, coefs = zip(*energy[gpu])
        model.add(sat.LinearExpr.weighted_sum(held_steps, coefs) <= capacity * timed.horizon)
        limits[LimitId.availability(gpu)] = (capacity, bound)
    return starts


def _timeline(model: sat.CpModel, insts: list[Inst], x, timed: Timed):
    """The pool in time: per GPU type, (interval, demand, largest demand) of every run and
    every service; and the start variable of each group's runs.

    A run of a group starts at one time on every GPU type it uses (sweep variants run as
    one). A group with one instance gets one optional interval per option and run (its
    size and demand constants: the alternative-resource pattern of the CP-SAT scheduling
    examples). The variants of a swept group are alternatives, so on each GPU type the
    group holds the most GPUs of its variants there for the longest of their runs, one
    interval per run, sized and weighted by variables.
    """
    per_gpu: dict[str, list] = {}
    energy: dict[str, list] = {}  # GPU type -> (variable, GPU-steps it stands for)
    starts: dict[tuple[str, int], sat.IntVar] = {}
    horizon = timed.horizon
    for gname, members in groups(insts).items():
        releases = timed.releases.get(gname, ())
        latest = timed.latest(gname, members) if releases else ()
        for k, release in enumerate(releases):
            starts[gname, k] = model.new_int_var(release, max(release, latest[k]), f"start[{gname},{k}]")
        for inst in members:  # each variant's own run meets its own due
            for p, o in enumerate(inst.opts):
                for k, due in enumerate(timed.dues.get(inst.name, ())):
                    model.add(starts[gname, k] + o.steps <= due).only_enforce_if(x[inst.name, p])
        if len(members) == 1:
            inst = members[0]
            for p, o in enumerate(inst.opts):
                if not o.gpus:
                    continue
                lit = x[inst.name, p]
                if not releases:
                    held = model.new_optional_fixed_size_interval_var(0, horizon, lit, f"held[{inst.name},{p}]")
                    per_gpu.setdefault(o.gpu, []).append((held, o.gpus, o.gpus))
                    energy.setdefault(o.gpu, []).append((lit, o.gpus * horizon))
                    continue
                for k in range(len(releases)):
                    run = model.new_optional_fixed_size_interval_var(
                        starts[gname, k], o.steps, lit, f"run[{inst.name},{p},{k}]")
                    per_gpu.setdefault(o.gpu, []).append((run, o.gpus, o.gpus))
                energy.setdefault(o.gpu, []).append((lit, o.gpus * o.steps * len(releases)))
            continue
        for gpu in sorted({o.gpu for inst in members for o in inst.opts}):
            on = [(inst, p, o) for inst in members for p, o in enumerate(inst.opts) if o.gpu == gpu]
            top = max(o.gpus for _, _, o in on)
            if not top:
                continue
            present = model.new_bool_var(f"on[{gname},{gpu}]")
            model.add_max_equality(present, [x[inst.name, p] for inst, p, _ in on])
            demand = model.new_int_var(0, top, f"gpus[{gname},{gpu}]")
            longest = max(o.steps for _, _, o in on)
            size = model.new_int_var(0, longest, f"steps[{gname},{gpu}]")
            runs = len(releases)
            held_for = horizon if not releases else longest * runs
            work = model.new_int_var(0, top * held_for, f"work[{gname},{gpu}]")
            for inst in members:
                mine = [(x[inst.name, p], o) for i, p, o in on if i is inst]
                model.add(demand >= sum(o.gpus * lit for lit, o in mine))
                model.add(size >= sum(o.steps * lit for lit, o in mine))
                model.add(work >= sum(o.gpus * (o.steps * runs if releases else horizon) * lit
                                      for lit, o in mine))
            energy.setdefault(gpu, []).append((work, 1))
            if not releases:
                held = model.new_optional_fixed_size_interval_var(0, horizon, present, f"held[{gname},{gpu}]")
                per_gpu.setdefault(gpu, []).append((held, demand, top))
                continue
            for k, release in enumerate(releases):
                end = model.new_int_var(release, max(release, latest[k]), f"end[{gname},{gpu},{k}]")
                run = model.new_optional_interval_var(starts[gname, k], size, end, present,
                                                      f"run[{gname},{gpu},{k}]")
                per_gpu.setdefault(gpu, []).append((run, demand, top))
    return per_gpu, energy, starts


def new_solver(seconds: float, workers: int, log: Callable[[str], None] | None = None,
            work: float | None = None) -> sat.CpSolver:
    """A solver with a wall-time limit and, when `work` is given, a limit on CP-SAT's
    deterministic time too (what it stops at then does not depend on the machine's load)."""
    solver = sat.CpSolver()
    if log is not None:
        solver.parameters.log_search_progress = True
        solver.parameters.log_to_stdout = False
        solver.log_callback = log
    solver.parameters.max_time_in_seconds = max(seconds, 0.001)
    if work is not None:
        solver.parameters.max_deterministic_time = work
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = RANDOM_SEED
    # With several workers, interleave them deterministically so runs stay identical.
    solver.parameters.interleave_search = workers > 1
    return solver


@frozen
class Data:
    """The prepared problem every model of one solve is built from."""

    insts: list[Inst]
    available: dict[str, int | None]
    budget: int | None  # cost units
    timed: Timed | None
    model_insts: list[Inst]  # `insts` with identical ones merged (``classes``), the model's
    members: dict[str, tuple[str, ...]]  # per model instance, the instances it stands for

    @classmethod
    def of(cls, insts: list[Inst], available, budget: int | None, timed: Timed | None) -> "Data":
        if timed is None:
            merged, members = merge_identical(insts)
        else:  # a scheduled instance has intervals of its own
            merged, members = insts, {i.name: (i.name,) for i in insts}
        return cls(insts, available, budget, timed, merged, members)

    def build(self, **kw) -> Model:
        return build_model(self.model_insts, self.available, self.budget, self.timed, **kw)

    @functools.cached_property
    def limit_ids(self) -> frozenset[LimitId]:
        """Every limit of the full model."""
        return frozenset(self.switchable.limits)

    @functools.cached_property
    def switchable(self) -> Model:
        """The model with every limit enforced by a literal, built once for the diagnosis:
        each check is a copy with the literals fixed (``with_limits``), not a rebuild."""
        return self.build(assume=EVERY)

    def with_limits(self, keep) -> Model:
        """A copy of ``switchable`` where the limits in ``keep`` hold and the others do not
        (their literal false leaves their constraint unenforced, as if dropped)."""
        base = self.switchable
        model = base.model.clone()
        for lid, lit in base.lits.items():
            model.add(lit == int(lid in keep))
        return Model(model, base.x, base.limits, {}, base.starts)
