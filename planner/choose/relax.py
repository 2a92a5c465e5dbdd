"""The choice's linear relaxation: a fast, proven diagnosis of limits that cannot hold.

Each instance's pick is relaxed to fractions of its options (summing to its count), a
swept group's use of a GPU type or of the budget to a variable at least each variant's
(the group maximum of ``model.build_model``, relaxed). Every integer choice is a point of this
linear program, so when it has no point under some limits, no choice fits them: an
infeasibility proof in milliseconds where CP-SAT's own core and deletion filter take
seconds on a fleet (benchmarks/fleet.py, 200 workloads x 12 types with halved
availability: the CP-SAT diagnosis ran out of its 10 s; this one answers in well under
one). Its least use of a limit is a proven lower bound on the integer least use.

Solved with GLOP, OR-Tools' simplex, without its presolve; limits are switched on and off
by their row's upper bound, so each check re-solves one program from the last basis. A floating-point
simplex decides with tolerances, so every limit is relaxed by ``MARGIN_UNITS`` of its
integer unit (a GPU, or a cost unit) before the program is asked: integer uses within
the limit are still points of the program, and a rounding error of the solver cannot
turn a feasible set of limits into a claimed conflict.
"""

from __future__ import annotations

import math

from ortools.linear_solver import pywraplp

from planner.choose.prepare import Inst, groups
from planner.choose.types import LimitId
from planner.units import COST_SCALE

MARGIN_UNITS = 0.5  # of a limit's integer unit (a GPU; 1/COST_SCALE of currency), see above
GLOP_PARAMETERS = "use_preprocessing: false"  # ortools/glop/parameters.proto
INTEGRAL_TOLERANCE = 1e-6  # a share this close to a whole number is that number
RELATIVE_MARGIN = 1e-6  # and at least this share of the limit (GLOP's tolerances are ~1e-7)


class Relaxation:
    """The linear relaxation of the choice among ``insts`` (``classes``-merged or not)."""

    def __init__(self, insts: list[Inst], available: dict[str, int | None], budget: int | None):
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        # Each check changes a few bounds and re-solves from the last basis; GLOP's presolve
        # would redo its work every time (200 x 12 fleet: 0.28 s of checks with it, 0.10 s without).
        self.solver.SetSolverSpecificParametersAsString(GLOP_PARAMETERS)
        self.bounds: dict[LimitId, int] = {}
        self.rows: dict[LimitId, pywraplp.Constraint] = {}
        self.terms: dict[LimitId, list[tuple[pywraplp.Variable, float]]] = {}
        self.x: dict[tuple[str, int], pywraplp.Variable] = {}  # (instance, position) -> share
        self.witnesses: dict[LimitId, dict[tuple[str, int], int]] = {}  # see ``core``
        for gpu in sorted(available):
            if available[gpu] is not None:
                self._limit(LimitId.availability(gpu), available[gpu])
        if budget is not None:
            self._limit(LimitId.budget(), budget)
        for members in groups(insts).values():
            self._group(members)
        for lid, row in self.rows.items():
            for var, coef in self.terms[lid]:
                row.SetCoefficient(var, coef)

    def _limit(self, lid: LimitId, bound: int) -> None:
        self.bounds[lid] = bound
        self.rows[lid] = self.solver.Constraint(-self.solver.infinity(), self._relaxed(lid))
        self.terms[lid] = []

    def _relaxed(self, lid: LimitId) -> float:
        """The row's upper bound: the limit in the program's units, with the margin."""
        bound = self.bounds[lid]
        loose = bound + max(MARGIN_UNITS, RELATIVE_MARGIN * bound)
        return loose / COST_SCALE if lid.kind == "budget" else float(loose)

    def _group(self, members: list[Inst]) -> None:
        """The options of a group's instances, and its use of each limit (a variable at
        least each variant's use, when the group has several)."""
        shared: dict[LimitId, pywraplp.Variable] = {}
        inf = self.solver.infinity()
        for inst in members:
            pick = self.solver.Constraint(inst.count, inst.count)
            uses: dict[LimitId, list[tuple[pywraplp.Variable, float]]] = {}
            for p, o in enumerate(inst.opts):
                var = self.x[inst.name, p] = self.solver.NumVar(0.0, inst.count, "")
                pick.SetCoefficient(var, 1.0)
                for lid, coef in ((LimitId.availability(o.gpu), o.gpus), (LimitId.budget(), o.cost / COST_SCALE)):
                    if coef and lid in self.rows:
                        uses.setdefault(lid, []).append((var, coef))
            if len(members) == 1:
                for lid, terms in uses.items():
                    self.terms[lid] += terms
                continue
            for lid, terms in uses.items():
                if lid not in shared:
                    shared[lid] = self.solver.NumVar(0.0, inf, "")
                    self.terms[lid].append((shared[lid], 1.0))
                at_least = self.solver.Constraint(-inf, 0.0)  # variant's use <= the group's
                at_least.SetCoefficient(shared[lid], -1.0)
                for var, coef in terms:
                    at_least.SetCoefficient(var, coef)

    def _enforce(self, enforced) -> None:
        for lid, row in self.rows.items():
            row.SetUb(self._relaxed(lid) if lid in enforced else self.solver.infinity())

    def infeasible(self, enforced) -> bool:
        """True when no fractional choice fits the limits in ``enforced`` (so no choice does)."""
        self._enforce(enforced)
        self.solver.Objective().Clear()
        return self.solver.Solve() == pywraplp.Solver.INFEASIBLE

    def integral(self) -> dict[tuple[str, int], int] | None:
        """The last solution's picks when every share is a whole number (a choice, to be
        checked against the limits in integers: the rows had a margin); else None."""
        counts = {}
        for k, var in self.x.items():
            value = var.solution_value()
            n = round(value)
            if abs(value - n) > INTEGRAL_TOLERANCE:
                return None
            counts[k] = n
        return counts

    def least(self, lid: LimitId, enforced) -> int | None:
        """A proven lower bound on ``lid``'s integer use (GPUs, or cost units) with the limits
        in ``enforced`` held (``lid`` itself left out); None when the program cannot answer.
        ``integral()`` then tells whether the least was reached by a whole choice."""
        self._enforce(set(enforced) - {lid})
        objective = self.solver.Objective()
        objective.Clear()
        for var, coef in self.terms[lid]:
            objective.SetCoefficient(var, coef)
        objective.SetMinimization()
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        value = objective.Value()
        if lid.kind == "budget":
            value *= COST_SCALE
        # Rounded up (uses are integers) after the solver's tolerance. The rows' margins only
        # loosen the program, so its least stays a lower bound of the integer least.
        return max(0, math.ceil(value - RELATIVE_MARGIN * max(1.0, abs(value))))

    def core(self, limits: list[LimitId]) -> list[LimitId] | None:
        """A set of ``limits`` no fractional choice fits, minimal in the relaxation (dropping
        any one, some fractional choice fits the rest); None when all of them together
        have a fractional choice (the relaxation cannot explain the conflict).

        ``witnesses[lid]``, for a limit of the core: the whole choice the relaxation found
        with the core's other limits (and some since dropped) held, when its solution was
        integral. Checked in integers, it proves the core minimal at that limit."""
        if not self.infeasible(set(limits)):
            return None
        core = list(limits)
        self.witnesses = {}
        for lid in list(core):
            trial = [k for k in core if k != lid]
            if trial and self.infeasible(set(trial)):
                core = trial
            elif trial and (found := self.integral()) is not None:
                self.witnesses[lid] = found
        return core
