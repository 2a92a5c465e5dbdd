"""Pick one evaluated option per instance under shared limits, with CP-SAT.

Plain data in (`Problem`), plain data out (`Choice`), both in `planner.choose.types`;
nothing here knows about plans, estimates or rendering, and nothing here writes a
sentence. With ``model`` (the CP-SAT model), ``diagnose`` and ``relax`` (why nothing
fits, with the linear relaxation), the only modules that import OR-Tools. The shape
follows the OR-Tools CP-SAT examples: `prepare.prepare` turns the input into integer data
once, `start.begin` finds a greedy start and the priced bound that leaves out the options
no choice as good can take (`fixing`), `model.build_model` makes the model from what is
left, `_optimise` solves it, and `solve` reads the picks back into plain data
(`limits.binding_limits` says which limits bind, `diagnose.diagnose` why nothing fits).

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

import dataclasses
import time
from dataclasses import dataclass, field

from planner.choose import sat
from planner.choose.classes import spread, tally
from planner.choose.diagnose import NEEDS_SECONDS, diagnose, least_bound
from planner.choose.fixing import Lagrangian, without
from planner.choose.limits import binding_limits, first_choices, run_starts
from planner.choose.model import Data, Model, new_solver
from planner.choose.prepare import Inst, coefficients, criteria, prepare, stages, timed
from planner.choose.schedule import earliest
from planner.choose.start import Start, begin
from planner.choose.types import Choice, Item, LimitId, Option, Problem, SolveOptions
from planner.units import COST_SCALE, HOURS_SCALE, MAX_UNITS, cost_units, hours_units

__all__ = ["Choice", "Item", "Option", "Problem", "SolveOptions", "criteria", "solve",
           "COST_SCALE", "HOURS_SCALE", "MAX_UNITS", "cost_units", "hours_units"]


@dataclass
class _Outcome:
    status: str  # "optimal" | "feasible" | "infeasible" | "unknown"
    chosen: dict[str, int]  # instance -> position in its pruned opts
    gap: float
    starts: dict[tuple[str, int], int] = field(default_factory=dict)  # (group, run) -> step


def _read(m: Model, solver: sat.CpSolver) -> tuple[dict[tuple[str, int], int], dict]:
    """How many take each (model instance, position) (0 or 1 unless counted), and the starts."""
    counts = {k: solver.value(v) for k, v in m.x.items()}
    return counts, {k: solver.value(v) for k, v in m.starts.items()}


def _hint(m: Model, counts: dict[tuple[str, int], int], starts: dict) -> None:
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


def _optimise(d: "Data", crits, deadline: float, workers: int, options: SolveOptions,
              begun: Start | None) -> _Outcome:
    """Lexicographic solves: optimise, fix the value found, optimise the next stage.

    Without a scheduled pool, a greedy start (``greedy``) hints the first solve, and is the
    answer, ``feasible`` with its gap, when that solve finds none. When the unguided pass
    finds room, the priced bound (``fixing``) guides a second pass (the better start is
    kept; a fleet with no room goes to the diagnosis unpriced), every option no choice as
    good as the start can take is left out of the model, and once the first stage has its
    value, those no choice as good as that can take; when the bound reaches the start's
    value, the first stage needs no solve at all."""
    insts, kept, start = _kept(d, begun)
    bound = begun.bound if begun is not None else None
    first_proven = begun is not None and bound.floor() >= begun.ceiling
    proven = True
    counts: dict[tuple[str, int], int] | None = None
    starts: dict = {}
    gap = 0.0
    m = dataclasses.replace(d, model_insts=insts).build()
    if options.dump_model:
        m.model.export_to_file(options.dump_model)
    if start is not None:
        _hint(m, start, {})
    for stage, weights in enumerate(stages(insts, crits)):
        coef = coefficients(insts, weights)
        terms = [k for k in coef if coef[k]]
        objective = sat.LinearExpr.weighted_sum([m.x[k] for k in terms], [coef[k] for k in terms])
        remaining = deadline - time.monotonic()
        if stage == 0 and first_proven:  # the bound proves the start best: no solve needed
            counts = start
        elif remaining <= 0:
            proven = False
            if stage == 0 and start is None:
                return _Outcome("unknown", {}, 0.0)
            if stage == 0:  # no time for CP-SAT: the start, against the priced bound
                counts, gap = start, _gap_to(bound, _total(insts, start, crits[0]))
            break
        else:
            m.model.minimize(objective)
            solver = new_solver(remaining, workers, options.log)
            status = solver.solve(m.model)
            if status == sat.MODEL_INVALID:  # a scaling bug, never the user's input
                raise RuntimeError(f"CP-SAT model invalid: {m.model.validate()[:300]}")
            if status == sat.INFEASIBLE and stage == 0:
                return _Outcome("infeasible", {}, 0.0)
            found = status in (sat.OPTIMAL, sat.FEASIBLE)
            proven = proven and status == sat.OPTIMAL
            if not found and stage > 0:
                break
            if not found and start is None:
                return _Outcome("unknown", {}, 0.0)
            counts, starts = _read(m, solver) if found else (start, {})
            if stage == 0 and status != sat.OPTIMAL:
                gap = _gap(insts, crits, _value(coef, counts), solver.best_objective_bound)
                if bound is not None:
                    gap = min(gap, _gap_to(bound, _total(insts, counts, crits[0])))
            if not found:
                break  # the greedy start, and no time left to improve on it
            if stage == 0 and bound is not None:  # fewer options reach the value found
                ceiling = _total(insts, counts, crits[0])
                for name, gone in bound.unreachable(d.model_insts, ceiling).items():
                    for p, was in enumerate(kept[name]):
                        if was in gone:
                            m.model.add(m.x[name, p] == 0)
        m.model.add(objective <= _value(coef, counts))
        _hint(m, counts, starts)
    chosen = spread(insts, d.members, counts) if counts else {}
    if chosen:  # back to positions among all the options
        chosen = {name: kept[model][chosen[name]] for model, names in d.members.items()
                  for name in names}
    return _Outcome("optimal" if proven else "feasible", chosen, gap, starts)


def _kept(d: Data, begun: Start | None):
    """The model's instances without the options the start leaves out, per instance the
    position among all its options of each kept one, and the start as counts over the kept
    positions (None without a start)."""
    if begun is None:
        return d.model_insts, {i.name: tuple(range(len(i.opts))) for i in d.model_insts}, None
    counts = tally(d.model_insts, d.members, begun.chosen)
    insts, kept = without(d.model_insts, begun.gone)
    start = {(name, p): counts[name, was] for name, ps in kept.items() for p, was in enumerate(ps)}
    return insts, kept, start


def _total(insts: list[Inst], counts: dict[tuple[str, int], int], criterion: str) -> int:
    """The criterion's sum over every instance of a choice given as counts."""
    opts = {inst.name: inst.opts for inst in insts}
    return sum(n * opts[name][p].value(criterion) for (name, p), n in counts.items() if n)


def _gap_to(bound: Lagrangian, value: int) -> float:
    """The relative gap of a first-criterion sum to the priced bound."""
    return float(max(0, value - bound.floor())) / max(1.0, abs(value))


def _value(coef: dict[tuple[str, int], int], counts: dict[tuple[str, int], int]) -> int:
    # Exact, in Python ints: objective_value is a double (53-bit) and stages reach 2**62.
    return sum(coef[k] * n for k, n in counts.items() if n)


def _gap(insts: list[Inst], crits, value: int, bound: float) -> float:
    """The first criterion's relative gap, relative to its sum itself (not the offset
    objective the solver saw)."""
    offset = sum(i.count * min(o.value(crits[0]) for o in i.opts) for i in insts)
    return abs(value - bound) / max(1.0, abs(value + offset))


def _first_needs(d: Data, picked: dict, first: dict, deadline: float, workers: int) -> dict[LimitId, int]:
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
        least = least_bound(d, lid, seconds, workers, fixed=fixed, drop=every)
        if least is not None:
            out[lid] = least
    return out


# --- entry point ------------------------------------------------------------------------


def solve(problem: Problem, time_limit: float = 10.0, workers: int = 1,
          options: SolveOptions | None = None,
          prepared: tuple[list[Inst], list[str]] | None = None,
          begun: Start | None = None) -> Choice:
    """Pick one option per item; see the module docstring for the semantics.

    `time_limit` (seconds) covers every stage and, when infeasible, the diagnosis.
    `workers` > 1 runs CP-SAT's deterministic interleaved search on that many workers.
    Items without options make the result infeasible (named in `unplaced`); the others
    are still solved and their picks returned, so callers can show them.
    Raises ValueError for malformed input (a caller's bug, not a user's plan error).
    `prepared` is `prepare(problem)` when the caller already has it, `begun` its
    ``start.begin`` (worked out here when not given).
    """
    options = options or SolveOptions()
    deadline = time.monotonic() + time_limit
    insts, empty = prepared or prepare(problem)
    budget = None if problem.budget is None else cost_units(problem.budget)
    d = Data.of(insts, problem.available, budget, timed(problem))
    crits = criteria(problem.objective)
    unplaced = tuple(empty)
    if not insts:
        return Choice("infeasible" if empty else "optimal", {}, 0.0, 0.0, unplaced=unplaced)
    firsts = first_choices(insts, crits)
    first = {name: o.index for name, o in sorted(firsts.items())}
    if begun is None and d.timed is None:
        begun = begin(d.insts, d.model_insts, d.members, d.available, d.budget, crits)
    out = _optimise(d, crits, deadline, workers, options, begun)
    if out.status == "infeasible":
        conflicts, undecided = diagnose(d, deadline, workers)
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
