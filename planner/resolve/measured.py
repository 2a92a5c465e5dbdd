"""Measured runs and calibrations, checked against the plan (docs/calibration.md).

``read_results`` fills each measured block's figures from its result file (``from``: a
`vllm bench serve --save-result` JSON, read through ``planner.resolve.files``); what the
block writes itself takes precedence. ``check`` then reports every mistake the blocks hold:

- a measured block names a workload of the plan, states a fully pinned layout on a GPU
  the plan knows, keys and figures of its workload's kind (a serving run has no step time,
  a training run no TTFT), a layout its model can take (``pins.problems``), a request that
  fits the workload's context, one load the estimator models, and a date;
- a calibration names a GPU the plan knows, its factors lie within the sourced bounds of
  ``planner.estimate.calibration`` for that GPU, and no two calibrations hold for the same
  GPU and engine or stack.

``run_workload`` is the workload a measured block ran (its load, shape, engine, stack and
layout applied), for the estimate ``planner.calibrate`` compares with the measurement.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from planner import plan as P
from planner.errors import Collector, PlanError, PlanNameError, PlanTypeError, Span
from planner.syntax.keys import (
    MEASURED_FIGURES, SERVE_FIGURES, SERVE_ONLY_LAYOUT, TRAIN_FIGURES, TRAIN_ONLY_LAYOUT,
)
from planner.syntax.suggest import did_you_mean

if TYPE_CHECKING:
    from planner.resolve.benchmark import BenchResult

# (path as written, where it is written) -> (the path read, its text)
Reader = Callable[[str, Span | None], tuple[str, str]]

_SERVE_ONLY_KEYS = ("engine", "weights", "users", "rate", "prompt", "output", "from")
_TRAIN_ONLY_KEYS = ("stack",)


def _span(node: P.Node, key: str) -> Span | None:
    return node.spans.get(key, node.spans.get("name", node.span))


def _label(m: P.Measured) -> str:
    return f'measured "{m.name}"'


# ---------------------------------------------------------------- result files
def read_results(plan: P.Plan, read: Reader, errors: Collector) -> P.Plan:
    """``plan`` with each measured block's file figures, load, shape and date filled in
    where the block does not write them (``Measured.sources`` names the file of each)."""
    out = []
    for m in plan.measured:
        if m.source is None:
            out.append(m)
            continue
        from planner.resolve.benchmark import read_result  # with its JSON readers: only for a `from`

        where = _span(m, "from")
        try:
            path, text = read(m.source, where)
            out.append(_with_file(m, read_result(path, text, where), path, where))
        except PlanError as error:
            errors.add(error)
    return plan.model_copy(update={"measured": out})


def _with_file(m: P.Measured, bench: BenchResult, path: str, where: Span | None) -> P.Measured:
    written = m.model_fields_set
    update: dict = {}
    for figure, value in bench.figures.items():
        if figure not in written:
            update[figure] = value
    if "users" not in written and "rate" not in written:
        if bench.load_problem is not None:
            raise PlanTypeError(f"{_label(m)}: `{path}` {bench.load_problem}; write the load the "
                                "estimate should use (`users = N` or `rate = R/s`) in the block", where)
        update.update(users=bench.users, rate=bench.rate)
    for key in ("prompt", "output"):
        if key not in written:
            update[key] = getattr(bench, key)
    if "date" not in written and bench.date is not None:
        update["date"] = bench.date
    spans = {**{k: where for k in update}, **m.spans}
    sources = {k: path for k in update}  # every value the file gave, for messages and reports
    return m.model_copy(update={**update, "sources": sources, "spans": spans})


# ---------------------------------------------------------------- measured blocks
def run_workload(plan: P.Plan, m: P.Measured):
    """The workload ``m`` ran: the plan's workload with the run's load, request shape,
    engine or stack, weights and layout. None when the workload does not exist."""
    workload = next((w for w in plan.workloads if w.name == m.workload), None)
    if workload is None:
        return None
    update: dict = {"layout": m.layout}
    if workload.kind == "serve":
        if m.users is not None or m.rate is not None:
            update.update(users=m.users, rate=m.rate)
        for key in ("prompt", "output", "engine", "weights"):
            if getattr(m, key) is not None:
                update[key] = getattr(m, key)
        if m.prompt is not None or m.output is not None:
            shape = _run_shape(workload, m)
            update.update(prompt=shape[0], output=shape[1], context=shape[2])
    elif m.stack is not None:
        update["stack"] = m.stack
    return workload.model_copy(update=update)


def _run_shape(w: P.Serve, m: P.Measured) -> tuple[int, int, int | None]:
    """(prompt, output, context) of a run that states its own prompt or output: the other
    from the workload (its written value, else what its context leaves), context kept."""
    from planner.resolve.variants import request_shape

    _, w_prompt, w_output = request_shape(w)
    prompt = m.prompt if m.prompt is not None else w_prompt
    output = m.output if m.output is not None else w_output
    return prompt, output, w.context


def check(plan: P.Plan, errors: Collector) -> None:
    """Every mistake of the measured and calibration blocks (see the module docstring)."""
    gpus = {g.name: g for g in plan.gpus}
    models = {m.name: m for m in plan.models}
    names = [w.name for w in plan.workloads]
    for m in plan.measured:
        workload = run_workload(plan, m)
        if workload is None:
            errors.add(PlanNameError(f"{_label(m)} names unknown workload `{m.workload}`"
                                     f"{did_you_mean(m.workload, names)}", _span(m, "workload")))
            continue
        for problem in _measured_problems(m, workload, gpus, models):
            errors.add(problem)
    _calibrations(plan, gpus, errors)


def _measured_problems(m: P.Measured, w, gpus: dict, models: dict) -> list[PlanError]:
    serve = w.kind == "serve"
    out: list[PlanError] = []
    own_keys = _TRAIN_ONLY_KEYS if serve else _SERVE_ONLY_KEYS
    figures = set(MEASURED_FIGURES) - set(SERVE_FIGURES if serve else TRAIN_FIGURES)
    figures -= {"peak_memory"}  # a service's peak memory is the engine's pool-filled total
    for key in own_keys + tuple(sorted(figures, key=MEASURED_FIGURES.index)):
        field = "source" if key == "from" else key
        if field in m.model_fields_set and key not in m.sources:
            what = "figure" if key in MEASURED_FIGURES else "key"
            out.append(PlanTypeError(f"{_label(m)}: `{key}` is a {'training' if serve else 'serving'} "
                                     f"{what}; workload `{w.name}` is a {w.kind} block", _span(m, key)))
    out += _layout_problems(m, w, gpus, models)
    if serve:
        out += _serve_problems(m, w)
    if m.date is None:
        out.append(PlanTypeError(f'{_label(m)} needs `date = "YYYY-MM-DD"`: when the run was made',
                                 _span(m, "name")))
    return out


def _layout_problems(m: P.Measured, w, gpus: dict, models: dict) -> list[PlanError]:
    from planner.resolve.bridge import GPU_REQUIRED, arch_from_model
    from planner.resolve.pins import problems

    pins = m.layout
    if pins is None:
        return [PlanTypeError(f"{_label(m)} needs its `layout {{ ... }}`: the GPU and layout the run "
                              "used, fully pinned", _span(m, "name"))]
    out: list[PlanError] = []
    wrong = TRAIN_ONLY_LAYOUT if w.kind == "serve" else SERVE_ONLY_LAYOUT
    for key in wrong:
        if getattr(pins, key) is not None:
            use = "training" if w.kind == "serve" else "serving"
            out.append(PlanTypeError(f"layout key `{key}` applies to {use} only; workload `{w.name}` "
                                     f"is a {w.kind} block", pins.spans.get(key, pins.span)))
    missing = _unpinned(pins, w)
    if missing:
        out.append(PlanTypeError(f"{_label(m)}: the layout of a measured run must be fully pinned; "
                                 f"add {', '.join(missing)}", pins.span))
    if pins.gpu is not None and pins.gpu not in gpus:
        out.append(PlanNameError(f"unknown GPU `{pins.gpu}`{did_you_mean(pins.gpu, gpus)}",
                                 pins.spans.get("gpu", pins.span)))
    elif pins.gpu is not None:
        lacking = [f for f in GPU_REQUIRED if getattr(gpus[pins.gpu], f) is None]
        if lacking:
            out.append(PlanTypeError(f'gpu "{pins.gpu}" has no {", ".join(lacking)}, which the '
                                     "estimate of a run needs; set them in its block",
                                     pins.spans.get("gpu", pins.span)))
    if out or w.model not in models:
        return out
    try:
        arch = arch_from_model(models[w.model])
    except PlanError:
        return out  # reported at the model by the load's checks
    out += _count(pins, w)
    for problem in problems(w, {}, arch, gpus):
        if problem.key in pins.spans:
            where = pins.spans[problem.key]
        else:
            where = _span(m, problem.key if problem.key in m.spans else "workload")
        out.append(PlanTypeError(f"{_label(m)}: layout {problem.message}", where))
    return out


def _unpinned(pins: P.Layout, w) -> list[str]:
    need = [k for k in ("gpu", "tp", "pp") if getattr(pins, k) is None]
    if w.kind == "serve":
        if pins.replicas is None and pins.count is None:
            need.append("replicas (or count)")
        if w.weights == "auto":
            need.append("weights (in the measured block or its workload)")
        return need
    if pins.dp is None and pins.count is None:
        need.append("dp (or count)")
    return need + [k for k in ("zero", "recompute", "offload", "micro_batch") if getattr(pins, k) is None]


def _count(pins: P.Layout, w) -> list[PlanError]:
    parts = ("tp", "pp", "replicas") if w.kind == "serve" else ("tp", "cp", "pp", "dp")
    if pins.count is None or any(getattr(pins, p) is None for p in parts if p != "cp"):
        return []
    product = 1
    for part in parts:
        product *= getattr(pins, part) or 1
    if product == pins.count:
        return []
    return [PlanTypeError(f"layout `count = {pins.count}` but {' × '.join(parts)} = {product}; they "
                          "must agree", pins.spans.get("count", pins.span))]


def _serve_problems(m: P.Measured, w: P.Serve) -> list[PlanError]:
    """The run's request fits the workload's context, and it has one load."""
    problem = P.request_shape_problem(w.context, w.prompt, w.output)
    if problem is None:
        return []
    key = problem[0] if problem[0] in m.spans else "prompt" if "prompt" in m.spans else "workload"
    return [PlanTypeError(f"{_label(m)}: the run's request does not fit workload `{w.name}`: "
                          f"{problem[1]}", _span(m, key))]


# ---------------------------------------------------------------- calibrations
def _calibrations(plan: P.Plan, gpus: dict, errors: Collector) -> None:
    if not plan.calibrations:
        return  # nothing to check: the estimator's calibration module stays unimported
    from planner.estimate import calibration as cal
    from planner.resolve.bridge import gpu_spec

    seen: dict[tuple[str, str, str], P.Calibration] = {}
    for c in plan.calibrations:
        if c.gpu not in gpus:
            errors.add(PlanNameError(f'calibration "{c.name}" names unknown GPU `{c.gpu}`'
                                     f"{did_you_mean(c.gpu, gpus)}", _span(c, "gpu")))
            continue
        scope, target = c.scope
        key = (c.gpu, scope, target)
        if key in seen:
            first = seen[key].spans.get("name", seen[key].span)
            where = f" at {first.file}:{first.line}" if first is not None else ""
            errors.add(PlanNameError(f'calibration "{c.name}" is a second one for {c.gpu} with {scope} '
                                     f'{target}; the first is "{seen[key].name}"{where}',
                                     _span(c, "name")))
            continue
        seen[key] = c
        try:
            spec = gpu_spec(gpus[c.gpu])
        except PlanError:
            continue  # an incomplete GPU: reported where it is offered or measured
        allowed = cal.factor_names(scope, target)
        bounds = cal.bounds(spec, scope, target)
        for name in cal.SERVE_FACTORS + cal.TRAIN_FACTORS:
            value = getattr(c, name)
            if value is None:
                continue
            if name not in allowed:
                errors.add(PlanTypeError(f"`{name}` does not apply to the {target} {scope}: "
                                         f"{', '.join(allowed)} do", _span(c, name)))
                continue
            low, high = bounds[name]
            if not low * (1 - 1e-12) <= value <= high * (1 + 1e-12):  # float noise of a written bound
                errors.add(PlanTypeError(
                    f'calibration "{c.name}": `{name}` = {_shown(name, value)} is outside its '
                    f"bounds for {c.gpu}, {_shown(name, low)} to {_shown(name, high)} "
                    "(docs/calibration.md, \"Factors\")", _span(c, name)))


def _shown(name: str, value: float) -> str:
    return f"{value * 1e3:.4g}ms" if name == "step_overhead" else f"{value:.4g}"
