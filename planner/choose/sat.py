"""CP-SAT's model and solver on OR-Tools' compiled core, without pandas.

``ortools.sat.python.cp_model`` imports numpy and pandas at its top for its ``*_series``
helpers, which planner never calls: 0.52 s of CPU on this 2-core machine (0.45 s of it
pandas), against 0.09 s for ``cp_model_helper`` (and numpy, which it imports when it
makes a model, about 0.1 s), the compiled core that ``cp_model``'s
``CpModel`` and ``CpSolver`` are thin layers over (OR-Tools 9.15: ``CpModel`` subclasses
``cp_model_helper.CpBaseModel``). This module is the same thin layer for the calls
``planner.choose`` makes, so every solve that needs CP-SAT starts about 0.4 s sooner. The
model proto, the parameters and so CP-SAT's answers are the same as through ``cp_model``
(tests/search/test_sat.py checks it). Where the installed OR-Tools' core lacks any call
this layer makes (``_NEEDED``), the names below are ``cp_model``'s own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ortools.sat.python import cp_model_helper as _core

# What this layer calls on the core; any of it missing (another OR-Tools), cp_model's own.
_NEEDED = {
    "CpBaseModel": ("_add_bounded_linear_expression", "_add_bool_argument_constraint",
                    "_add_linear_argument_constraint", "_new_interval_var", "_add_cumulative",
                    "get_or_make_boolean_index", "rebuild_constant_map", "model_proto"),
    "SolveWrapper": ("set_parameters", "add_log_callback", "solve"),
    "ResponseHelper": ("value", "sufficient_assumptions_for_infeasibility"),
    "CpSatHelper": ("validate_model", "write_model_to_file"),
    "BoolArgumentConstraint": ("exactly_one",),
    "LinearArgumentConstraint": ("max",),
    "CpSolverStatus": ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "MODEL_INVALID"),
    "FlatIntExpr": (), "IntVar": (), "LinearExpr": (), "SatParameters": (),
}


def _core_has_all() -> bool:
    return all(hasattr(_core, name) and all(hasattr(getattr(_core, name), a) for a in attrs)
               for name, attrs in _NEEDED.items())


if _core_has_all():
    from ortools.util.python.sorted_interval_list import Domain

    IntVar = _core.IntVar
    LinearExpr = _core.LinearExpr
    OPTIMAL = _core.CpSolverStatus.OPTIMAL
    FEASIBLE = _core.CpSolverStatus.FEASIBLE
    INFEASIBLE = _core.CpSolverStatus.INFEASIBLE
    MODEL_INVALID = _core.CpSolverStatus.MODEL_INVALID

    class CpModel(_core.CpBaseModel):
        """The calls of ``cp_model.CpModel`` that planner makes."""

        def __init__(self) -> None:
            super().__init__(None)  # a new, empty model proto

        def new_int_var(self, lb: int, ub: int, name: str) -> IntVar:
            return IntVar(self.model_proto).with_name(name).with_domain(Domain(lb, ub))

        def new_bool_var(self, name: str) -> IntVar:
            return self.new_int_var(0, 1, name)

        def add(self, ct):
            """A bounded linear expression (``expr <= n``, ``a == b``...) as a constraint."""
            return self._add_bounded_linear_expression(ct)

        def add_exactly_one(self, literals: Iterable):
            return self._add_bool_argument_constraint(_core.BoolArgumentConstraint.exactly_one, literals)

        def add_max_equality(self, target, expressions: Iterable):
            return self._add_linear_argument_constraint(_core.LinearArgumentConstraint.max, target,
                                                        expressions)

        def new_optional_fixed_size_interval_var(self, start, size: int, is_present, name: str):
            return self._new_interval_var(name, start, size, start + size, [is_present])

        def new_optional_interval_var(self, start, size, end, is_present, name: str):
            return self._new_interval_var(name, start, size, end, [is_present])

        def add_cumulative(self, intervals, demands, capacity):
            return self._add_cumulative(intervals, demands, capacity)

        def minimize(self, expr) -> None:
            """An integer linear objective to minimise (the only kind planner sets)."""
            self.model_proto.clear_objective()
            self.model_proto.clear_floating_point_objective()
            objective = self.model_proto.objective  # after the clear: it replaces the message
            flat = _core.FlatIntExpr(expr)
            objective.vars.extend([v.index for v in flat.vars])
            objective.coeffs.extend(flat.coeffs)
            objective.offset = flat.offset
            objective.scaling_factor = 1.0

        def add_hint(self, var: IntVar, value: int) -> None:
            self.model_proto.solution_hint.vars.append(var.index)
            self.model_proto.solution_hint.values.append(int(value))

        def clear_hints(self) -> None:
            self.model_proto.clear_solution_hint()

        def add_assumptions(self, literals: Iterable) -> None:
            self.model_proto.assumptions.extend([self.get_or_make_boolean_index(lit) for lit in literals])

        def clone(self) -> "CpModel":
            copy = CpModel()
            copy.model_proto.copy_from(self.model_proto)
            copy.rebuild_constant_map()
            return copy

        def validate(self) -> str:
            return _core.CpSatHelper.validate_model(self.model_proto)

        def export_to_file(self, path: str) -> bool:
            return _core.CpSatHelper.write_model_to_file(self.model_proto, path)

    class CpSolver:
        """The calls of ``cp_model.CpSolver`` that planner makes."""

        def __init__(self) -> None:
            self.parameters = _core.SatParameters()
            self.log_callback: Callable[[str], None] | None = None
            self._response = None

        def solve(self, model: CpModel):
            wrapper = _core.SolveWrapper()
            wrapper.set_parameters(self.parameters)
            if self.log_callback is not None:
                wrapper.add_log_callback(self.log_callback)
            self._response = wrapper.solve(model.model_proto)
            return self._response.status

        def value(self, expr) -> int:
            return _core.ResponseHelper.value(self._response, expr)

        @property
        def best_objective_bound(self) -> float:
            return self._response.best_objective_bound

        def sufficient_assumptions_for_infeasibility(self) -> list[int]:
            return list(_core.ResponseHelper.sufficient_assumptions_for_infeasibility(self._response))

else:  # an older OR-Tools: its own layer, pandas and all
    from ortools.sat.python.cp_model import (  # noqa: F401
        FEASIBLE, INFEASIBLE, MODEL_INVALID, OPTIMAL, CpModel, CpSolver, IntVar, LinearExpr,
    )
