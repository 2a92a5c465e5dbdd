"""Pick one evaluated option per instance under shared limits, with CP-SAT.

Plain data in (`Problem`), plain data out (`Choice`), both in `planner.choose.types`;
nothing here knows about plans, estimates or rendering, and nothing here writes a
sentence. With ``relax`` (the diagnosis's linear relaxation, imported when nothing fits),
the only module that imports OR-Tools. The shape follows the OR-Tools CP-SAT
examples: `prepare.prepare` turns the input into integer data once, `_build` makes the
model from that data, `_optimise` solves it, and `solve` reads the picks back into plain
data (`limits.binding_limits` says which limits bind, `_diagnose` why nothing fits).

Semantics
- Exactly one option per instance. Instances of one `group` are sweep variants, i.e.
  alternatives: on each GPU type a group uses the *maximum* of its variants' GPUs (an
  integer variable >= each variant's usage), and the groups' usages sum to at most
  `available[type]`. The budget caps the sum over groups of the maximum variant cost
  (same construction).
- The objective is lexicographic over sums across *all* instances (so every variant is at
  its own best): the chosen objective, then total GPUs, then hours, then cost (when not
  the objective already), then the stable order (sum of each pick's rank in its
  instance's `(key, index)` order). Cost sits before the stable order because options
  are pruned by dominance on (gpus, cost, hours): without cost among the criteria a
  pruned option could win the stable-order tie-break, and pruning would change answers.
  Done by sequential solves: optimise the objective, fix it at the value found
  (`expr <= value`), hint the solution, optimise the tie-breaks -- folded into one
  weighted sum when the weights provably keep their order in int64, see `stages`.
- When the stable-order sum still ties, the single-worker, fixed-seed search picks the
  same solution every run; only a time limit cut can make two runs differ.
- With a `Problem.window` the pool is scheduled in time: availability is a cumulative per
  GPU type over optional intervals (one per option and run; a swept group's per type and
  run, sized by its variants' maximum), in whole minutes (`prepare.timed`); the starts
  are read back and moved as early as the pool allows (`schedule.earliest`), and a
  binding availability says when its peak is first reached.

Integer scaling (CP-SAT only takes integers), applied once in `prepare`:
- cost: `COST_SCALE` = 10_000 units per currency unit (1e-4 of a currency unit),
  `round()` half to even; budget scaled the same way, so "within budget" is decided on
  these units (tests/oracles/brute.py uses the same helpers).
- hours: `HOURS_SCALE` = 10_000 units per hour (1e-4 h = 0.36 s).
- Limit: every scaled value must be <= `MAX_UNITS` (2**50, about 1.1e11 currency or
  hours) and each criterion summed over *all options* of all instances <= 2**62 (about
  4.6e14 currency), so no CP-SAT linear expression can overflow int64 (CP-SAT checks
  the sum of every term's extreme). Larger inputs raise ValueError.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from planner.choose.classes import merge_identical, spread, tally
from planner.choose.greedy import greedy
from planner.choose.limits import (
    binding_limits, bounds, first_choices, heaviest_first, least_total, least_use, natural,
    run_starts, usage,
)
from planner.choose.prepare import Inst, Timed, coefficients, criteria, groups, prepare, stages, timed
from planner.choose.schedule import earliest
from planner.choose.types import Choice, Conflict, Item, LimitId, Option, Problem, SolveOptions
from planner.units import COST_SCALE, HOURS_SCALE, MAX_UNITS, cost_units, hours_units

RANDOM_SEED = 0  # fixed CP-SAT seed: identical input gives identical picks
ASSUMPTION_SHARE = 0.25  # of the remaining time for the assumption solve when diagnosing,
ASSUMPTION_SECONDS = 1.0  # and at most this long (it stalls on large fleets, see _diagnose)
REFINE_MAX_OPTIONS = 2_000  # options of the model up to which CP-SAT refines them (see _diagnose)
REFINE_WORK = 0.25  # CP-SAT deterministic time, in all, to refine a core and bounds the relaxation proved
MIN_CHECK_SECONDS = 0.005  # a check with less time left is not started (it would only copy the model)
NEEDS_SECONDS = 0.25  # per limit, for the "needs at least" bound (100 x 12 fleet: 11 of 12
#   bounds found in 0.25 s each, no more in 1 s)

__all__ = ["Choice", "Item", "Option", "Problem", "SolveOptions", "criteria", "solve",
           "COST_SCALE", "HOURS_SCALE", "MAX_UNITS", "cost_units", "hours_units"]


# --- the model ----------------------------------------------------------------------

EVERY = object()  # `_build(assume=EVERY)`: a literal for every limit


@dataclass
class _Model:
    model: cp_model.CpModel
    x: dict[tuple[str, int], cp_model.IntVar]  # (instance, position in opts) -> chosen (or how many)
    limits: dict[LimitId, tuple[cp_model.LinearExpr, int]]  # limit -> (usage, bound)
    lits: dict[LimitId, cp_model.IntVar]  # limit -> enforcing literal (assumption models)
    starts: dict[tuple[str, int], cp_model.IntVar]  # (group, run) -> start step (a window)


def _build(
    insts: list[Inst],
    available: dict[str, int | None],
    budget: int | None,
    timed: Timed | None = None,
    *,
    assume: frozenset[LimitId] | object = frozenset(),
    drop: frozenset[LimitId] = frozenset(),
) -> _Model:
    """Exactly-one per instance; group maxima; limits. Limits in `assume` (or all of them,
    with `EVERY`) are enforced by a literal (for assumption solves and for the
    diagnosis's copies), those in `drop` left out. With a window, each GPU
    type's availability is a cumulative over time (`_timeline`) instead of a sum."""
    model = cp_model.CpModel()
    x: dict[tuple[str, int], cp_model.IntVar] = {}
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

    def group_sum(key: str | None) -> cp_model.LinearExpr | None:
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
                model.add(m >= cp_model.LinearExpr.weighted_sum(vs, ws))
            terms.append(m)
            weights.append(1)
        if not terms:
            return None
        return cp_model.LinearExpr.weighted_sum(terms, weights)

    limits: dict[LimitId, tuple[cp_model.LinearExpr, int]] = {}
    starts: dict[tuple[str, int], cp_model.IntVar] = {}
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

    lits: dict[LimitId, cp_model.IntVar] = {}
    for lid, (expr, bound) in limits.items():
        if lid in drop:
            continue
        ct = model.add(expr <= bound)
        if assume is EVERY or lid in assume:
            lits[lid] = model.new_bool_var(f"enforce[{lid}]")
            ct.only_enforce_if(lits[lid])

    return _Model(model, x, limits, lits, starts)


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


def _in_time(model: cp_model.CpModel, insts: list[Inst], x, timed: Timed,
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
        model.add(cp_model.LinearExpr.weighted_sum(held_steps, coefs) <= capacity * timed.horizon)
        limits[LimitId.availability(gpu)] = (capacity, bound)
    return starts


def _timeline(model: cp_model.CpModel, insts: list[Inst], x, timed: Timed):
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
    starts: dict[tuple[str, int], cp_model.IntVar] = {}
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


def _solver(seconds: float, workers: int, log: Callable[[str], None] | None = None,
            work: float | None = None) -> cp_model.CpSolver:
    """A solver with a wall-time limit and, when `work` is given, a limit on CP-SAT's
    deterministic time too (what it stops at then does not depend on the machine's load)."""
    solver = cp_model.CpSolver()
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


@dataclass
class _Outcome:
    status: str  # "optimal" | "feasible" | "infeasible" | "unknown"
    chosen: dict[str, int]  # instance -> position in its pruned opts
    gap: float
    starts: dict[tuple[str, int], int] = field(default_factory=dict)  # (group, run) -> step


def _read(m: _Model, solver: cp_model.CpSolver) -> tuple[dict[tuple[str, int], int], dict]:
    """How many take each (model instance, position) (0 or 1 unless counted), and the starts."""
    counts = {k: solver.value(v) for k, v in m.x.items()}
    return counts, {k: solver.value(v) for k, v in m.starts.items()}


def _hint(m: _Model, counts: dict[tuple[str, int], int], starts: dict) -> None:
    """The picks as CP-SAT's hint: the chosen options of each instance (exactly-one sets
    the others to 0; 300,000 options of a large fleet would cost a second to list), every
    count of a counted one."""
    m.model.clear_hints()
    for k, var in m.x.items():
        n = counts[k]
        if n or not var.is_boolean:
            m.model.add_hint(var, n)
    for k, v in m.starts.items():
        m.model.add_hint(v, starts[k])


def _optimise(m: _Model, d: "_Data", crits, deadline: float, workers: int,
              log: Callable[[str], None] | None = None) -> _Outcome:
    """Lexicographic solves: optimise, fix the value found, optimise the next stage.

    A greedy feasible start (``greedy``, large fleets) hints the first solve, and is the
    answer, ``feasible`` with the solver's bound as its gap, when that solve finds none."""
    insts = d.model_insts
    proven = True
    counts: dict[tuple[str, int], int] | None = None
    starts: dict = {}
    gap = 0.0
    start = greedy(d.insts, d.available, d.budget, crits) if d.timed is None else None
    if start is not None:
        start = tally(insts, d.members, start)
        _hint(m, start, {})
    for stage, weights in enumerate(stages(insts, crits)):
        coef = coefficients(insts, weights)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            proven = False
            if stage == 0 and start is None:
                return _Outcome("unknown", {}, 0.0)
            if stage == 0:  # no time for CP-SAT: the start, against the trivial bound 0
                counts, gap = start, _gap(insts, crits, _value(coef, start), 0.0)
            break
        terms = [k for k in coef if coef[k]]
        objective = cp_model.LinearExpr.weighted_sum([m.x[k] for k in terms], [coef[k] for k in terms])
        m.model.minimize(objective)
        solver = _solver(remaining, workers, log)
        status = solver.solve(m.model)
        if status == cp_model.MODEL_INVALID:  # a scaling bug, never the user's input
            raise RuntimeError(f"CP-SAT model invalid: {m.model.validate()[:300]}")
        if status == cp_model.INFEASIBLE and stage == 0:
            return _Outcome("infeasible", {}, 0.0)
        found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        proven = proven and status == cp_model.OPTIMAL
        if not found and stage > 0:
            break
        if not found and start is None:
            return _Outcome("unknown", {}, 0.0)
        counts, starts = _read(m, solver) if found else (start, {})
        value = _value(coef, counts)
        if stage == 0 and status != cp_model.OPTIMAL:
            gap = _gap(insts, crits, value, solver.best_objective_bound)
        if not found:
            break  # the greedy start, and no time left to improve on it
        m.model.add(objective <= value)
        _hint(m, counts, starts)
    chosen = spread(insts, d.members, counts) if counts else {}
    return _Outcome("optimal" if proven else "feasible", chosen, gap, starts)


def _value(coef: dict[tuple[str, int], int], counts: dict[tuple[str, int], int]) -> int:
    # Exact, in Python ints: objective_value is a double (53-bit) and stages reach 2**62.
    return sum(coef[k] * n for k, n in counts.items() if n)


def _gap(insts: list[Inst], crits, value: int, bound: float) -> float:
    """The first criterion's relative gap, relative to its sum itself (not the offset
    objective the solver saw)."""
    offset = sum(i.count * min(o.value(crits[0]) for o in i.opts) for i in insts)
    return abs(value - bound) / max(1.0, abs(value + offset))


@dataclass(frozen=True)
class _Data:
    """The prepared problem every model of one solve is built from."""

    insts: list[Inst]
    available: dict[str, int | None]
    budget: int | None  # cost units
    timed: Timed | None
    model_insts: list[Inst]  # `insts` with identical ones merged (``classes``), the model's
    members: dict[str, tuple[str, ...]]  # per model instance, the instances it stands for

    @classmethod
    def of(cls, insts: list[Inst], available, budget: int | None, timed: Timed | None) -> "_Data":
        if timed is None:
            merged, members = merge_identical(insts)
        else:  # a scheduled instance has intervals of its own
            merged, members = insts, {i.name: (i.name,) for i in insts}
        return cls(insts, available, budget, timed, merged, members)

    def build(self, **kw) -> _Model:
        return _build(self.model_insts, self.available, self.budget, self.timed, **kw)

    @functools.cached_property
    def limit_ids(self) -> frozenset[LimitId]:
        """Every limit of the full model."""
        return frozenset(self.switchable.limits)

    @functools.cached_property
    def switchable(self) -> _Model:
        """The model with every limit enforced by a literal, built once for the diagnosis:
        each check is a copy with the literals fixed (``with_limits``), not a rebuild."""
        return self.build(assume=EVERY)

    def with_limits(self, keep) -> _Model:
        """A copy of ``switchable`` where the limits in ``keep`` hold and the others do not
        (their literal false leaves their constraint unenforced, as if dropped)."""
        base = self.switchable
        model = base.model.clone()
        for lid, lit in base.lits.items():
            model.add(lit == int(lid in keep))
        return _Model(model, base.x, base.limits, {}, base.starts)


def _infeasible(d: _Data, keep: list[LimitId], deadline: float, workers: int,
                work: float | None = None):
    """True when the limits in `keep` alone (the others dropped) cannot hold, False when
    they can, None when the time (or the `work`) ran out first."""
    if deadline - time.monotonic() < MIN_CHECK_SECONDS:
        return None
    m = d.with_limits(set(keep))
    status = _solver(deadline - time.monotonic(), workers, work=work).solve(m.model)
    if status == cp_model.INFEASIBLE:
        return True
    return False if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None


def _core(d: _Data, deadline: float, workers: int) -> tuple[list[LimitId], bool, _Model]:
    """A minimal set of limits that cannot hold together, and whether a check ran out of
    time (the set then holds but may not be minimal).

    First CP-SAT with every limit enforced by an assumption literal: its
    `sufficient_assumptions_for_infeasibility` gives a core. CP-SAT solves assumption
    models sequentially with weakened presolve, which stalls on large fleets (100 x 12
    with halved availability: no answer in 5 s), so it gets only `ASSUMPTION_SHARE` of
    the remaining time, at most `ASSUMPTION_SECONDS`; without a core from it we start
    from all limits. Then a deletion filter (drop each limit in turn, keep it dropped if
    the rest still cannot hold) shrinks the core to a minimal one, deterministically.
    """
    base = d.switchable
    m = _Model(base.model.clone(), base.x, base.limits, base.lits, base.starts)
    ids = sorted(m.lits)
    lit_to_id = {m.lits[lid].index: lid for lid in ids}
    m.model.add_assumptions([m.lits[lid] for lid in ids])
    slice_ = min(ASSUMPTION_SHARE * (deadline - time.monotonic()), ASSUMPTION_SECONDS)
    solver = _solver(slice_, workers)
    core = ids
    if solver.solve(m.model) == cp_model.INFEASIBLE:
        core = sorted(lit_to_id[i] for i in solver.sufficient_assumptions_for_infeasibility())
    # half the time for the filter, the other half for the bounds after it
    core, undecided = _minimal(d, core, _TimeShare(deadline, 2 * len(core)), workers)
    return core, undecided, m


class _TimeShare:
    """The time left, shared among the checks still to come, so none starves the rest."""

    def __init__(self, deadline: float, calls: int):
        self.deadline, self.calls = deadline, calls

    def until(self) -> float:
        self.calls -= 1
        now = time.monotonic()
        return now + max(self.deadline - now, 0.0) / max(self.calls, 1)


def _least(d: _Data, lid: LimitId, seconds: float, workers: int, fixed: dict[str, int] | None = None,
           drop: frozenset[LimitId] | None = None, work: float | None = None) -> int | None:
    """A proven lower bound on the use of `lid` with that limit left out (and the limits in
    `drop`), the picks in `fixed` imposed; None when the search found nothing in time."""
    if seconds < MIN_CHECK_SECONDS:
        return None
    relaxed = d.with_limits(d.limit_ids - {lid} - (drop or frozenset()))
    for name, p in (fixed or {}).items():
        relaxed.model.add(relaxed.x[name, p] == 1)
    relaxed.model.minimize(relaxed.limits[lid][0])
    s = _solver(seconds, workers, work=work)
    # The bound is proven whether or not the search finished (the optimum if it did).
    if s.solve(relaxed.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return math.ceil(s.best_objective_bound - 1e-6)
    return None


def _diagnose(d: _Data, deadline: float, workers: int):
    """The conflicts of a core: each limit, the groups that can use it, and how far it
    alone would have to move (when the others can hold); and whether the core may not be
    minimal (a check ran out of time).

    Cheapest proof first: a limit whose least use, every group at its own least, is over
    it is a core alone (``_over_alone``); else the linear relaxation's core
    (``relax.Relaxation``), its minimality then checked by CP-SAT within ``REFINE_WORK``
    of deterministic time in all (so the answer does not depend on the machine's load);
    only when the relaxation has a point under all limits, CP-SAT's own core (``_core``)
    in the time left. Each bound is the larger of the relaxation's and CP-SAT's (both
    proven lower bounds)."""
    from planner.choose.relax import Relaxation  # the LP solver: only when nothing fits

    every = sorted(d.limit_ids)
    alone = _over_alone(d, every)
    relaxed = Relaxation(d.model_insts, d.available, d.budget) if d.timed is None else None
    undecided = False
    work = None  # per CP-SAT check: a share of REFINE_WORK after a relaxation's proof
    # CP-SAT refines a relaxation's answers on small models only: each check presolves the
    # whole model (200 workloads x 12 types: 0.1 s each, 24 checks) for bounds the
    # relaxation already gives there.
    small = sum(len(i.opts) for i in d.model_insts) <= REFINE_MAX_OPTIONS
    if alone is not None:
        core = [alone]
    elif relaxed is not None and (core := relaxed.core(every)) is not None:
        # half the refinement for the core's minimality, half for the bounds
        work = REFINE_WORK / (2 * len(core))
        core, undecided = _minimal(d, core, _TimeShare(deadline, len(core)), workers, work,
                                   relaxed.witnesses, solver=small)
    else:
        core, undecided, _ = _core(d, deadline, workers)
    if relaxed is not None and work is None:
        work = REFINE_WORK / (2 * len(core))
    limit = bounds(d.available, d.budget)
    share = _TimeShare(deadline, len(core))
    out = []
    for lid in core:
        seconds = min(share.until() - time.monotonic(), NEEDS_SECONDS)
        least = relaxed.least(lid, every) if relaxed is not None else None
        reached = relaxed.integral() if least is not None else None
        others = [k for k in every if k != lid]
        if reached is not None and _holds(d, reached, others):
            least = _used(d, reached)[lid]  # a whole choice at the relaxation's least: exact
        elif least is not None and _greedy_holds(d, every, {lid: least}):
            pass  # a whole choice uses no more than the relaxation's bound: exact
        elif relaxed is None or small:
            found = _least(d, lid, seconds, workers, work=work)
            least = max((n for n in (least, found) if n is not None), default=None)
        # kept only when it says more than "over the limit"
        need = natural(lid, least) if least is not None and least > limit[lid] else None
        out.append(Conflict(limit=lid, available=natural(lid, limit[lid]),
                            wanted_by=heaviest_first(lid, least_use(d.insts, lid)),
                            needs_at_least=need))
    return tuple(out), undecided


def _used(d: _Data, counts: dict[tuple[str, int], int]) -> dict[LimitId, int]:
    """Each limit's use by a whole choice given as counts per (model instance, position),
    group maxima summed, in integers (``limits.usage``)."""
    picks = spread(d.model_insts, d.members, counts)
    by_name = {i.name: i for i in d.insts}
    used = usage(d.insts, {n: by_name[n].opts[p] for n, p in picks.items()}, d.budget)
    return {lid: used.get(lid, (0, {}))[0] for lid in d.limit_ids}


def _greedy_holds(d: _Data, keep, moved: dict[LimitId, int] | None = None) -> bool:
    """Whether the greedy pass (``greedy``, options in their stable order) places everyone
    with only the limits in `keep` held, those in `moved` at the bound given there: a whole
    choice that holds them, found without CP-SAT."""
    limit = {**bounds(d.available, d.budget), **(moved or {})}
    available = {g: limit.get(LimitId.availability(g)) if LimitId.availability(g) in keep else None
                 for g in d.available}
    budget = limit.get(LimitId.budget()) if LimitId.budget() in keep else None
    return d.timed is None and greedy(d.insts, available, budget, ("order",)) is not None


def _holds(d: _Data, counts: dict[tuple[str, int], int], keep) -> bool:
    """Whether a whole choice holds every limit in `keep`."""
    used, limit = _used(d, counts), bounds(d.available, d.budget)
    return all(used[lid] <= limit[lid] for lid in keep)


def _over_alone(d: _Data, every: list[LimitId]) -> LimitId | None:
    """The first limit that every group's least use of it already overflows (the GPU
    type some workloads can only run on, or a budget below the least total cost); None
    in a scheduled pool, where use is over time."""
    if d.timed is not None:
        return None
    limit = bounds(d.available, d.budget)
    for lid in every:
        if least_total(d.insts, lid) > limit[lid]:
            return lid
    return None


def _minimal(d: _Data, core: list[LimitId], share: "_TimeShare", workers: int,
             work: float | None = None, witnesses: dict | None = None,
             solver: bool = True) -> tuple[list[LimitId], bool]:
    """The deletion filter on a core that cannot hold, with CP-SAT: each limit dropped for
    good when the rest still cannot hold; whether a check ran out of time (or `work`).
    A whole choice in `witnesses` that holds the rest (checked here in integers), or one
    the greedy pass finds, settles that limit without CP-SAT; with `solver` False, a limit
    they do not settle is left undecided."""
    undecided = False
    for lid in list(core):
        trial = [k for k in core if k != lid]
        seen = (witnesses or {}).get(lid)
        if trial and ((seen is not None and _holds(d, seen, trial)) or _greedy_holds(d, trial)):
            share.until()  # its share of the time goes to the checks after it
            continue
        if trial and not solver:
            verdict = None
        else:
            verdict = _infeasible(d, trial, share.until(), workers, work) if trial else False
        if verdict:
            core = trial
        undecided = undecided or verdict is None
    return core, undecided


def _first_needs(d: _Data, picked: dict, first: dict, deadline: float, workers: int) -> dict[LimitId, int]:
    """A scheduled pool: how much of each GPU type the first choices of the groups that
    did not get them would need at once, scheduled as well as the pool allows (a proven
    bound; the others' availability left out). Types no such first choice uses are not
    asked (nothing moved there)."""
    if d.timed is None:
        return {}
    moved = {o.gpu for name, o in first.items() if picked[name] is not o}
    every = frozenset(LimitId.availability(g) for g in d.available) | {LimitId.budget()}
    fixed = {i.name: i.opts.index(first[i.name]) for i in d.insts}
    out = {}
    for gpu in sorted(moved):
        lid = LimitId.availability(gpu)
        if d.available.get(gpu) is None:
            continue
        seconds = min(max(deadline - time.monotonic(), 0.0), NEEDS_SECONDS)
        least = _least(d, lid, seconds, workers, fixed=fixed, drop=every)
        if least is not None:
            out[lid] = least
    return out


# --- entry point ------------------------------------------------------------------------


def solve(problem: Problem, time_limit: float = 10.0, workers: int = 1,
          options: SolveOptions | None = None,
          prepared: tuple[list[Inst], list[str]] | None = None) -> Choice:
    """Pick one option per item; see the module docstring for the semantics.

    `time_limit` (seconds) covers every stage and, when infeasible, the diagnosis.
    `workers` > 1 runs CP-SAT's deterministic interleaved search on that many workers.
    Items without options make the result infeasible (named in `unplaced`); the others
    are still solved and their picks returned, so callers can show them.
    Raises ValueError for malformed input (a caller's bug, not a user's plan error).
    `prepared` is `prepare(problem)` when the caller already has it.
    """
    options = options or SolveOptions()
    deadline = time.monotonic() + time_limit
    insts, empty = prepared or prepare(problem)
    budget = None if problem.budget is None else cost_units(problem.budget)
    d = _Data.of(insts, problem.available, budget, timed(problem))
    crits = criteria(problem.objective)
    unplaced = tuple(empty)
    if not insts:
        return Choice("infeasible" if empty else "optimal", {}, 0.0, 0.0, unplaced=unplaced)
    firsts = first_choices(insts, crits)
    first = {name: o.index for name, o in sorted(firsts.items())}
    m = d.build()
    if options.dump_model:
        m.model.export_to_file(options.dump_model)
    out = _optimise(m, d, crits, deadline, workers, options.log)
    if out.status == "infeasible":
        conflicts, undecided = _diagnose(d, deadline, workers)
        return Choice("infeasible", {}, 0.0, 0.0, conflicts=conflicts, unplaced=unplaced,
                      first_choices=first, core_undecided=undecided)
    if out.status == "unknown":
        return Choice("infeasible", {}, 0.0, 0.0, unplaced=unplaced, first_choices=first,
                      timed_out=time_limit)
    picked = {i.name: i.opts[out.chosen[i.name]] for i in insts}
    primary = crits[0]
    scale = {"cost": COST_SCALE, "hours": HOURS_SCALE, "gpus": 1}[primary]
    value = sum(o.value(primary) for o in picked.values()) / scale
    needs = _first_needs(d, picked, firsts, deadline, workers)
    starts = earliest(insts, picked, d.timed, problem.available, out.starts) if d.timed else {}
    return Choice(
        status="infeasible" if empty else out.status,
        picks={name: o.index for name, o in sorted(picked.items())},
        objective_value=value,
        gap=out.gap,
        binding=binding_limits(insts, problem.available, budget, picked, crits,
                               d.timed, starts, needs),
        unplaced=unplaced,
        first_choices=first,
        starts=run_starts(d.timed, starts),
    )
