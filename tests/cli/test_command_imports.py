"""What a command imports: `check`, `fmt` and `estimate` never load the solver (OR-Tools,
which imports numpy and pandas: half a second), and `check` and `fmt` load none of the
search, the solver's model, the renderers or the estimator's evaluation (docs: issue 18).

Each test runs the command in a fresh interpreter, as the `planner` script does, and
prints the modules it left loaded.
"""

from __future__ import annotations

import json
import subprocess
import sys

from support.paths import ROOT

EXAMPLES = sorted(str(p) for p in (ROOT / "examples").glob("*.plan"))
TOUR = str(ROOT / "examples" / "tour.plan")

# Never imported by check, fmt or estimate: the solver and what it pulls in.
SOLVER = ("ortools", "numpy", "pandas", "google.protobuf", "planner.choose.cpsat")
# Never imported by check or fmt: they neither search, solve, render nor evaluate layouts.
NOT_CHECKING = SOLVER + ("rich", "planner.search", "planner.choose", "planner.pipeline",
                         "planner.render", "planner.estimate.serve", "planner.estimate.train",
                         "planner.estimate.host", "planner.estimate.simulate")


def loaded_after(*runs: list[str]) -> set[str]:
    """The modules loaded after running each argv of ``runs`` in turn in one fresh interpreter,
    each run's exit code checked (0)."""
    script = (
        "import json, sys\n"
        "from planner.cli import main\n"
        "codes = []\n"
        f"for argv in {[list(run) for run in runs]!r}:\n"
        "    sys.argv = ['planner', *argv]\n"
        "    try:\n        main()\n    except SystemExit as stop:\n        codes.append(stop.code)\n"
        "print(json.dumps({'codes': codes, 'modules': sorted(sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.splitlines()[-1])
    assert found["codes"] == [0] * len(runs), done.stderr
    return set(found["modules"])


def under(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_check_of_every_example_loads_no_solver_search_renderer_or_evaluation():
    modules = loaded_after(*(["check", plan] for plan in EXAMPLES))
    assert "planner.resolve.load" in modules  # the run did check the plans
    assert under(modules, NOT_CHECKING) == []


def test_fmt_loads_neither_the_typed_plan_nor_the_resolver():
    modules = loaded_after(["fmt", "--check", *EXAMPLES])
    assert "planner.syntax.fmt" in modules
    assert under(modules, NOT_CHECKING + ("planner.plan", "planner.resolve.load")) == []


def test_estimate_loads_no_solver():
    modules = loaded_after(["estimate", TOUR, "--workload", "chat"])
    assert "planner.layout_estimate" in modules
    assert under(modules, SOLVER) == []
