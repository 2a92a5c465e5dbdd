"""planner as a library: the pipeline's stages as functions.

As python-hcl2 exposes its pipeline (``hcl2/api.py``), each stage is one call on plain
or typed data, and the command line is built on these::

    from planner import api
    plan = api.load("examples/tour.plan")          # checked, imports merged
    result = api.solve(plan, file="examples/tour.plan")   # typed Result, verified
    print(api.render(result, "markdown"))
    print(api.report(result))                      # one HTML page
    change = api.diff(old_result, result)          # typed Diff
    layout = api.estimate(plan, workload="tune", pins={"gpu": "A10G", "tp": 1})   # one layout
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


def load(path: str, *, reader: Callable[[str], str] | None = None, warnings: list | None = None) -> Plan:
    """The checked, merged plan at ``path`` with its imports (``reader`` reads files, e.g.
    at a git revision; default: the file system). ``warnings``, when given, receives the
    ``PlanWarning``s found (a config's quantization read as bf16, a `params` that does not
    match an incompletely described model)."""
    from planner.resolve.load import load_plan

    return load_plan(path, reader=reader, warnings=warnings)


def solve(plan: Plan, *, file: str | None = None, objective: str | None = None,
          time_limit: float = 10.0, explain: bool = False, solver_log=None,
          dump_model: str | None = None) -> Result:
    """Solve ``plan`` and check the answer with the independent checker.

    ``file`` is what the result names (default: the plan's file); ``objective`` overrides
    the plan's; ``explain`` adds the next alternatives; ``solver_log`` receives each line
    of CP-SAT's search log and ``dump_model`` writes its model, for a reviewer.
    """
    from planner.choose.types import SolveOptions
    from planner.pipeline import solve_checked

    options = SolveOptions(log=solver_log, dump_model=dump_model)
    return solve_checked(plan, file=file or plan.file, objective=objective, time_limit=time_limit,
                         explain=explain, options=options)


def estimate(plan: Plan, *, file: str | None = None, workload: str | None = None,
             pins: dict | None = None, weights: str | None = None):
    """``planner estimate``: one layout per row of ``workload`` (a name, a sweep variant's
    label, or None for every workload), the plan's pins with ``pins`` (layout keys, as the
    language writes them: ``{"tp": "4", "recompute": "full"}``) on top; the rest filled by
    the search. A typed ``planner.layout_estimate.EstimateReport``; no solver is imported."""
    from planner.layout_estimate import convert_pins, estimate_plan, select, with_pins

    converted = convert_pins({k: str(v) for k, v in (pins or {}).items() if k != "gpu"})
    if pins and "gpu" in pins:
        converted["gpu"] = pins["gpu"]
    chosen = select(plan, workload)
    pinned = with_pins(chosen.plan, chosen.workload, converted, weights)
    return estimate_plan(pinned, file or plan.file, chosen.workload, chosen.scenario)


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
           model: str | None = None, warnings: list | None = None):
    """Launch files for ``tool`` (deepspeed | vllm | skypilot): (artifacts, skipped notes).

    Checkpoints come from a service's `checkpoint`, else the plan's models (catalog Hugging
    Face ids, or a config.json's directory); ``model`` overrides them for every row.
    ``warnings`` receives a warning per service that names no checkpoint."""
    from planner.export import artifacts, model_references
    from planner.export.context import launches

    if model is not None:
        references = {row.model: model for row in result.workloads}
    else:
        references = model_references(plan)
    return artifacts(result, tool, workload, references, launches(plan),
                     override=model is not None, warnings=warnings)


def validate(plan: Plan, *, file: str | None = None):
    """Every measured figure of ``plan`` against its estimate (``planner.calibrate.Validation``)."""
    from planner.calibrate import validate as validate_runs

    return validate_runs(plan, file or plan.file)


def calibrate(plan: Plan, *, file: str | None = None):
    """The efficiency factors fitted to ``plan``'s measured runs (``planner.calibrate.Outcome``:
    the fitted groups, their notes, and the calibration blocks as plan text)."""
    from planner.calibrate import calibrate as fit

    return fit(plan, file or plan.file)


__all__ = ["calibrate", "diff", "estimate", "export", "load", "render", "report", "solve", "validate"]
