"""planner.choose.sat, CP-SAT on OR-Tools' compiled core, builds the very model proto that
OR-Tools' own ``cp_model`` layer builds for the same calls (so CP-SAT answers the same),
and solving never imports pandas (numpy, yes: the compiled core imports it when it makes a
model)."""

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings

from planner.choose import model as model_module
from planner.choose import sat
from planner.choose.model import EVERY, Data
from planner.choose.prepare import coefficients, criteria, prepare, stages, timed
from planner.units import cost_units
from test_cpsat_props import problems
from test_cpsat_window import windowed

cp_model = pytest.importorskip("ortools.sat.python.cp_model")
pytestmark = pytest.mark.skipif(sat.CpModel is cp_model.CpModel,
                                reason="this OR-Tools has no compiled core: sat is cp_model itself")


def _protos(p) -> list[str]:
    """The model of ``p``, with every limit switchable, its objective, a hint and the
    assumptions, copied, as text: built through planner.choose.sat and through cp_model."""
    insts, _ = prepare(p)
    if not insts:
        return ["", ""]
    out = []
    for layer in (sat, cp_model):
        model_module.sat = layer
        try:
            out.append(_built(p, insts, layer))
        finally:
            model_module.sat = sat
    return out


def _built(p, insts, layer) -> str:
    """The text of the model built with ``layer`` as model.py's CP-SAT."""
    d = Data.of(insts, p.available, None if p.budget is None else cost_units(p.budget), timed(p))
    m = d.build(assume=EVERY)
    assert isinstance(m.model, layer.CpModel)  # built through the layer asked for
    coef = coefficients(d.model_insts, stages(d.model_insts, criteria(p.objective))[0])
    m.model.minimize(layer.LinearExpr.weighted_sum([m.x[k] for k in coef], list(coef.values())))
    for _, var in sorted(m.x.items())[:3]:
        m.model.add_hint(var, 1)
    m.model.add_assumptions(list(m.lits.values()))
    return str(m.model.clone().model_proto)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(min_options=1))
def test_the_same_model_proto_as_cp_model(p):
    ours, theirs = _protos(p)
    assert ours == theirs


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(windowed())
def test_the_same_scheduled_model_proto_as_cp_model(p):
    ours, theirs = _protos(p)
    assert ours == theirs


# Five services on A (2 GPUs, $3 + i) or B (1 GPU, $5), for a fresh interpreter: with 4 of A
# the cheapest fit is s0 and s1 on A, the rest on B, $3 + $4 + 3 x $5 = $22.
FIVE_SERVICES = ("from planner.choose.cpsat import Item, Option, Problem, solve\n"
                 "items = tuple(Item(f's{i}', f's{i}', (Option('A', 2, 3.0 + i, 1.0, (0,)),"
                 " Option('B', 1, 5.0, 1.0, (1,)))) for i in range(5))\n"
                 "cheapest = solve(Problem(items, {'A': 4, 'B': 5}, None, 'cost')).objective_value\n")


def _printed(code: str) -> str:
    """What ``code`` prints in a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_a_solve_does_not_import_pandas():
    code = FIVE_SERVICES + ("import sys\n"
                            "assert cheapest == 22.0\n"
                            "assert solve(Problem(items, {'A': 1, 'B': 1}, None, 'cost')).conflicts\n"
                            "print('pandas' in sys.modules)\n")
    assert _printed(code) == "False"


def test_an_ortools_core_without_a_needed_call_falls_back_to_cp_model():
    """Where the compiled core lacks a call the layer makes, planner.choose.sat is
    cp_model's own layer and a solve still answers (instead of failing mid-solve)."""
    code = ("import ortools.sat.python.cp_model_helper as core\n"
            "core.CpSatHelper = None  # as if this OR-Tools had none (a solve does not use it)\n"
            "from planner.choose import sat\n"
            "from ortools.sat.python import cp_model\n"
            "assert sat.CpModel is cp_model.CpModel and sat.CpSolver is cp_model.CpSolver\n"
            + FIVE_SERVICES + "print(cheapest)\n")
    assert _printed(code) == "22.0"
