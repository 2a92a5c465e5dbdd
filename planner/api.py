"""planner as a library: the pipeline's stages as functions.

As python-hcl2 exposes its pipeline (``hcl2/api.py``), each stage is one call on plain
or typed data, and the command line is built on these::

    from planner import api
    plan = api.load("examples/tour.plan")          # checked, imports merged
    result = api.solve(plan, file="examples/tour.plan")   # typed Result, verified
    print(api.render(result, "markdown"))
    print(api.report(result))                      # one HTML page
    change = api.diff(old_result, result)          # typed Diff
    files, skipped = api.export(result, plan, "vllm")
    checked = api.validate(api.load("measured.plan"))   # measured runs vs estimates
    fitted = api.calibrate(api.load("measured.plan"))   # factors fitted, .text to write

Errors a user can cause are ``planner.errors.PlanError`` (printed as
``file:line:col: error: ...`` by the CLI); ``SolveInternalError`` means the independent
checker rejected a solution (a planner bug).
"""

from __future__ import annotations

# Each function imports its stage when called: `planner check` and `fmt` load no solver
# (OR-Tools) and no renderer they do not use.
from typing import Callable

from planner.plan import Plan
from planner.result import Result


def load(path: str, *, reader: Callable[[str], str] | None = None) -> Plan:
    """The checked, merged plan at ``path`` with its imports (``reader`` reads files, e.g.
    at a git revision; default: the file system)."""
    from planner.resolve.load import load_plan

    return load_plan(path, reader=reader)


def solve(plan: Plan, *, file: str | None = None, objective: str | None = None,
          time_limit: float = 10.0, explain: bool = False, solver_log=None,
          dump_model: str | None = None) -> Result:
    """Solve ``plan`` and check the answer with the independent checker.

    ``file`` is what the result names (default: the plan's file); ``objective`` overrides
    the plan's; ``explain`` adds the next alternatives; ``solver_log`` receives each line
    of CP-SAT's search log and ``dump_model`` writes its model, for a reviewer.
    """
    from planner.choose.cpsat import SolveOptions
    from planner.pipeline import solve_checked

    options = SolveOptions(log=solver_log, dump_model=dump_model)
    return solve_checked(plan, file=file or plan.file, objective=objective, time_limit=time_limit,
                         explain=explain, options=options)


def render(result: Result, fmt: str = "table", *, explain: bool = False, width: int = 160) -> str:
    """table | markdown | json | csv."""
    from planner.render import render as render_text

    return render_text(result, fmt, explain=explain, width=width)


def report(result: Result) -> str:
    """The self-contained HTML page of ``planner report``."""
    from planner.render.html import render_html

    return render_html(result)


def diff(old: Result, new: Result):
    """What changes from ``old`` to ``new``, and why (a typed ``planner.diff.Diff``)."""
    from planner.diff import diff_results

    return diff_results(old, new)


def export(result: Result, plan: Plan, tool: str, *, workload: str | None = None,
           model: str | None = None):
    """Launch files for ``tool`` (deepspeed | vllm | skypilot): (artifacts, skipped notes).

    Checkpoints come from the plan's models (catalog Hugging Face ids, or a config.json's
    directory); ``model`` overrides them for every row."""
    from planner.export import artifacts, model_references

    if model is not None:
        references = {row.model: model for row in result.workloads}
    else:
        references = model_references(plan)
    return artifacts(result, tool, workload, references)


def validate(plan: Plan, *, file: str | None = None):
    """Every measured figure of ``plan`` against its estimate (``planner.calibrate.Validation``)."""
    from planner.calibrate import validate as validate_runs

    return validate_runs(plan, file or plan.file)


def calibrate(plan: Plan, *, file: str | None = None):
    """The efficiency factors fitted to ``plan``'s measured runs (``planner.calibrate.Outcome``:
    the fitted groups, their notes, and the calibration blocks as plan text)."""
    from planner.calibrate import calibrate as fit

    return fit(plan, file or plan.file)


__all__ = ["calibrate", "diff", "export", "load", "render", "report", "solve", "validate"]
