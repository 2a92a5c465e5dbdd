"""Why nothing fits: a set of limits that cannot hold together, who wants each, and how
much each would need (docs/solve.md, "Why nothing fits"). Cheapest proof first: a limit
over alone, then the linear relaxation (``relax``), then CP-SAT's own core.
"""

from __future__ import annotations

import math
import time

from planner.choose import sat
from planner.choose.classes import spread
from planner.choose.greedy import greedy
from planner.choose.limits import bounds, heaviest_first, least_total, least_use, natural, usage
from planner.choose.model import Data, Model, new_solver
from planner.choose.types import Conflict, LimitId

ASSUMPTION_SHARE = 0.25  # of the remaining time for the assumption solve when diagnosing,
ASSUMPTION_SECONDS = 1.0  # and at most this long (it stalls on large fleets, see diagnose)
REFINE_MAX_OPTIONS = 2_000  # options of the model up to which CP-SAT refines them (see diagnose)
REFINE_WORK = 0.25  # CP-SAT deterministic time, in all, to refine a core and bounds the relaxation proved
MIN_CHECK_SECONDS = 0.005  # a check with less time left is not started (it would only copy the model)
NEEDS_SECONDS = 0.25  # per limit, for the "needs at least" bound (100 x 12 fleet: 11 of 12
#   bounds found in 0.25 s each, no more in 1 s)


def _infeasible(d: Data, keep: list[LimitId], deadline: float, workers: int,
                work: float | None = None):
    """True when the limits in `keep` alone (the others dropped) cannot hold, False when
    they can, None when the time (or the `work`) ran out first."""
    if deadline - time.monotonic() < MIN_CHECK_SECONDS:
        return None
    m = d.with_limits(set(keep))
    status = new_solver(deadline - time.monotonic(), workers, work=work).solve(m.model)
    if status == sat.INFEASIBLE:
        return True
    return False if status in (sat.OPTIMAL, sat.FEASIBLE) else None


def _core(d: Data, deadline: float, workers: int) -> tuple[list[LimitId], bool, Model]:
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
    m = Model(base.model.clone(), base.x, base.limits, base.lits, base.starts)
    ids = sorted(m.lits)
    lit_to_id = {m.lits[lid].index: lid for lid in ids}
    m.model.add_assumptions([m.lits[lid] for lid in ids])
    slice_ = min(ASSUMPTION_SHARE * (deadline - time.monotonic()), ASSUMPTION_SECONDS)
    solver = new_solver(slice_, workers)
    core = ids
    if solver.solve(m.model) == sat.INFEASIBLE:
        core = sorted(lit_to_id[i] for i in solver.sufficient_assumptions_for_infeasibility())
    # half the time for the filter, the other half for the bounds after it
    core, undecided = _minimal(d, core, TimeShare(deadline, 2 * len(core)), workers)
    return core, undecided, m


class TimeShare:
    """The time left, shared among the checks still to come, so none starves the rest."""

    def __init__(self, deadline: float, calls: int):
        self.deadline, self.calls = deadline, calls

    def until(self) -> float:
        self.calls -= 1
        now = time.monotonic()
        return now + max(self.deadline - now, 0.0) / max(self.calls, 1)


def least_bound(d: Data, lid: LimitId, seconds: float, workers: int, fixed: dict[str, int] | None = None,
                drop: frozenset[LimitId] | None = None, work: float | None = None) -> int | None:
    """A proven lower bound on the use of `lid` with that limit left out (and the limits in
    `drop`), the picks in `fixed` imposed; None when the search found nothing in time."""
    if seconds < MIN_CHECK_SECONDS:
        return None
    relaxed = d.with_limits(d.limit_ids - {lid} - (drop or frozenset()))
    for name, p in (fixed or {}).items():
        relaxed.model.add(relaxed.x[name, p] == 1)
    relaxed.model.minimize(relaxed.limits[lid][0])
    s = new_solver(seconds, workers, work=work)
    # The bound is proven whether or not the search finished (the optimum if it did).
    if s.solve(relaxed.model) in (sat.OPTIMAL, sat.FEASIBLE):
        return math.ceil(s.best_objective_bound - 1e-6)
    return None


def diagnose(d: Data, deadline: float, workers: int):
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
        core, undecided = _minimal(d, core, TimeShare(deadline, len(core)), workers, work,
                                   relaxed.witnesses, solver=small)
    else:
        core, undecided, _ = _core(d, deadline, workers)
    if relaxed is not None and work is None:
        work = REFINE_WORK / (2 * len(core))
    limit = bounds(d.available, d.budget)
    share = TimeShare(deadline, len(core))
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
            found = least_bound(d, lid, seconds, workers, work=work)
            least = max((n for n in (least, found) if n is not None), default=None)
        # kept only when it says more than "over the limit"
        need = natural(lid, least) if least is not None and least > limit[lid] else None
        out.append(Conflict(limit=lid, available=natural(lid, limit[lid]),
                            wanted_by=heaviest_first(lid, least_use(d.insts, lid)),
                            needs_at_least=need))
    return tuple(out), undecided


def _used(d: Data, counts: dict[tuple[str, int], int]) -> dict[LimitId, int]:
    """Each limit's use by a whole choice given as counts per (model instance, position),
    group maxima summed, in integers (``limits.usage``)."""
    picks = spread(d.model_insts, d.members, counts)
    by_name = {i.name: i for i in d.insts}
    used = usage(d.insts, {n: by_name[n].opts[p] for n, p in picks.items()}, d.budget)
    return {lid: used.get(lid, (0, {}))[0] for lid in d.limit_ids}


def _greedy_holds(d: Data, keep, moved: dict[LimitId, int] | None = None) -> bool:
    """Whether the greedy pass (``greedy``, options in their stable order) places everyone
    with only the limits in `keep` held, those in `moved` at the bound given there: a whole
    choice that holds them, found without CP-SAT."""
    limit = {**bounds(d.available, d.budget), **(moved or {})}
    available = {g: limit.get(LimitId.availability(g)) if LimitId.availability(g) in keep else None
                 for g in d.available}
    budget = limit.get(LimitId.budget()) if LimitId.budget() in keep else None
    return d.timed is None and greedy(d.insts, available, budget, ("order",)) is not None


def _holds(d: Data, counts: dict[tuple[str, int], int], keep) -> bool:
    """Whether a whole choice holds every limit in `keep`."""
    used, limit = _used(d, counts), bounds(d.available, d.budget)
    return all(used[lid] <= limit[lid] for lid in keep)


def _over_alone(d: Data, every: list[LimitId]) -> LimitId | None:
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


def _minimal(d: Data, core: list[LimitId], share: TimeShare, workers: int,
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
