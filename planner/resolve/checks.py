"""Checks across blocks of a merged plan: names that must exist, sweeps, offered GPUs.

(The rules each solved row must follow, pins and sweep combinations, are in
``planner.resolve.pins``.)

Each check adds every error it finds to the collector, so one run reports
all independent mistakes.
"""

from __future__ import annotations

from planner import plan as P
from planner.errors import (
    Collector, PlanError, PlanLimitError, PlanNameError, PlanTypeError, PlanWarning, Span,
)
from planner.syntax.keys import KEYS
from planner.syntax.limits import MAX_SWEEPS, thousands
from planner.syntax.suggest import did_you_mean


def check_plan(plan: P.Plan, errors: Collector, broken_models: frozenset[str] = frozenset()) -> None:
    """``broken_models``: declared models whose resolution already failed (reported once)."""
    gpus = {g.name: g for g in plan.gpus}
    models = {m.name: m for m in plan.models}
    for workload in plan.workloads:
        _workload_names(workload, gpus, models, broken_models, errors)
        _dataset(workload, errors)
    _sweeps(plan, models, errors)
    _offered(plan, errors)
    _complete(plan, gpus, models, errors)
    _timing(plan, errors)
    for model in plan.models:
        _params(model, errors)


def _span(node: P.Node, key: str) -> Span | None:
    return node.spans.get(key, node.span)


def _workload_names(workload, gpus: dict, models: dict, broken: frozenset[str],
                    errors: Collector) -> None:
    label = f'{workload.kind} "{workload.name}"'
    if workload.model not in models and workload.model not in broken:
        known = set(models) | broken
        errors.add(PlanNameError(
            f"{label} uses unknown model `{workload.model}`{model_hint(workload.model, known)}",
            _span(workload, "model")))
    for i, name in enumerate(workload.gpus or ()):
        if name not in gpus:
            errors.add(PlanNameError(f"unknown GPU `{name}`{unknown_gpu(name, gpus)}",
                                     _span(workload, f"gpus[{i}]")))
    if workload.gpus and all(g in gpus for g in workload.gpus):
        if not any(gpus[g].available is not None for g in workload.gpus):
            errors.add(PlanTypeError(
                f"none of {label}'s gpus is offered; give one `available = N` in its gpu block",
                _span(workload, "gpus")))
    layout = workload.layout
    if layout is not None and layout.gpu is not None:
        where = layout.spans.get("gpu", layout.span)
        if layout.gpu not in gpus:
            errors.add(PlanNameError(f"unknown GPU `{layout.gpu}`{unknown_gpu(layout.gpu, gpus)}", where))
        elif workload.gpus and layout.gpu not in workload.gpus:
            errors.add(PlanTypeError(f"layout gpu `{layout.gpu}` is not among {label}'s gpus "
                                     f"({', '.join(workload.gpus)})", where))
        elif gpus[layout.gpu].available is None:
            errors.add(PlanTypeError(f'layout gpu `{layout.gpu}` is not offered; write '
                                     f'`gpu "{layout.gpu}" {{ available = N }}`', where))
        elif layout.count is not None and 0 < gpus[layout.gpu].available < layout.count:
            errors.add(PlanTypeError(f"layout count {layout.count} exceeds the {gpus[layout.gpu].available} "
                                     f"{layout.gpu} available", layout.spans.get("count", where)))


def unknown_gpu(name: str, gpus: dict) -> str:
    """"did you mean" across spellings of GPU names, or `import "std"` for a catalog GPU."""
    from planner.resolve.names import unknown_gpu_hint

    return unknown_gpu_hint(name, gpus)


def model_hint(name: str, models) -> str:
    from planner.resolve.names import catalog_hint

    return catalog_hint(name, "model") or did_you_mean(name, models)


def _dataset(workload, errors: Collector) -> None:
    if workload.kind == "serve":
        return
    if (workload.dataset_bytes is None) == (workload.dataset_tokens is None):
        errors.add(PlanTypeError(f'{workload.kind} "{workload.name}" needs exactly one dataset '
                                 "(`dataset = 1GB` or `dataset = 250M tokens`)", _span(workload, "name")))


def _sweeps(plan: P.Plan, models: dict, errors: Collector) -> None:
    from planner.resolve.variants import sweeps_by_workload

    if len(plan.sweeps) > MAX_SWEEPS:
        extra = plan.sweeps[MAX_SWEEPS]
        errors.add(PlanLimitError(f"more than {thousands(MAX_SWEEPS)} sweeps in one plan",
                                  _span(extra, "target")))
        return
    matching = sweeps_by_workload(plan)
    matched = {id(s) for each in matching.values() for s in each}
    names = [w.name for w in plan.workloads]
    for sweep in plan.sweeps:
        if id(sweep) not in matched:
            errors.add(PlanNameError(f"sweep target `{sweep.target}` matches no workload"
                                     f"{did_you_mean(sweep.target, names)}", _span(sweep, "target")))
    for workload in plan.workloads:
        first: dict[str, P.Sweep] = {}
        for sweep in matching[workload.name]:
            if sweep.key in first:
                earlier = first[sweep.key]
                errors.add(PlanNameError(
                    f'{workload.kind} "{workload.name}" is swept on `{sweep.key}` twice: by `{sweep.target}` '
                    f"here and by `{earlier.target}` at line {_span(earlier, 'target').line}",
                    _span(sweep, "target")))
                continue
            first[sweep.key] = sweep
            _sweep_values(sweep, workload, models, errors)


def _sweep_values(sweep: P.Sweep, workload, models: dict, errors: Collector) -> None:
    spec = KEYS[workload.kind].get(sweep.key)
    if spec is None or not spec.sweepable:
        errors.add(PlanNameError(f'`{sweep.key}` cannot be swept for {workload.kind} "{workload.name}"',
                                 _span(sweep, "key")))
        return
    for i, (update, label) in enumerate(zip(sweep.updates, sweep.labels)):
        where = _span(sweep, f"values[{i}]")
        for field, value in update.items():
            if spec.choices and value not in spec.choices:
                errors.add(PlanTypeError(f'`{sweep.key}` of {workload.kind} "{workload.name}" takes one of '
                                         f"{', '.join(spec.choices)}; found `{label}`", where))
            if field == "model" and value not in models:
                errors.add(PlanNameError(f"unknown model `{value}`{model_hint(value, models)}", where))


def _offered(plan: P.Plan, errors: Collector) -> None:
    if not plan.workloads or any(g.available is not None for g in plan.gpus):
        return
    first = plan.workloads[0]
    errors.add(PlanTypeError(
        'no GPU is offered to the solver: give at least one GPU a count, e.g. '
        '`gpu "A10G" { available = 8 }` (or `available = unlimited`)', _span(first, "name")))


def _complete(plan: P.Plan, gpus: dict, models: dict, errors: Collector) -> None:
    """Offered GPUs and used models must carry what the estimator needs: the fields
    the catalog bridge (what solve uses) requires, all of them named at once."""
    from planner.resolve import bridge as catalog  # imported here: the catalog imports the estimator

    for gpu in plan.gpus:
        if gpu.available is None:
            continue
        missing = [f for f in catalog.GPU_REQUIRED if getattr(gpu, f) is None]
        if missing:
            errors.add(PlanTypeError(f'gpu "{gpu.name}" is offered but has no {", ".join(missing)}; '
                                     "set them in its block", _span(gpu, "available")))
        else:
            _bridge(catalog.gpu_spec, gpu, errors)
    # models a row may use: each workload's, and each model a sweep puts in its place
    swept = {u["model"] for s in plan.sweeps if s.key == "model" for u in s.updates}
    used = sorted(({w.model for w in plan.workloads} | swept) & set(models))
    for name in used:
        model = models[name]
        missing = [f for f in catalog.MODEL_REQUIRED if getattr(model, f) is None]
        if missing:
            errors.add(PlanTypeError(
                f'model "{name}" is used but has no {", ".join(missing)}; set them, '
                'or start from another model with `like = "..."` or `config = "config.json"`',
                _span(model, "name")))
        else:
            _bridge(catalog.arch_from_model, model, errors)


def _bridge(build, node, errors: Collector) -> None:
    """Ask the catalog bridge (what solve uses) whether the block is complete enough."""
    try:
        build(node)
    except PlanError as error:
        errors.add(error)


def _timing(plan: P.Plan, errors: Collector) -> None:
    """Periods and windows: a service runs at most the period; a job repeats a bounded
    number of times; ``start_after`` needs a window and lies inside it."""
    from planner.resolve import timing as t
    from planner.units import duration

    from planner.resolve.variants import sweeps_by_workload

    period, window = t.period_hours(plan), t.window_hours(plan)
    swept = sweeps_by_workload(plan)
    for w in plan.workloads:
        label = f'{w.kind} "{w.name}"'
        if w.kind == "serve":
            # the block's duration, and every swept one
            spans = [(w.duration, _span(w, "duration"))] + [
                (update.get("duration"), _span(sweep, f"values[{i}]"))
                for sweep in swept.get(w.name, ()) for i, update in enumerate(sweep.updates)]
            for seconds, where in spans:
                if seconds is not None and seconds / 3600.0 > period * (1 + 1e-9):
                    errors.add(PlanTypeError(
                        f"{label} runs `duration` {duration(seconds / 3600.0)} per period, longer than "
                        f"the plan's period of {duration(period)}; set the plan's `period` to price a "
                        "longer stretch", where))
            continue
        every = t.every_hours(w, period)
        key = "every" if w.every is not None else "runs"
        if every is not None and period / every > t.MAX_RUNS_PER_PERIOD:
            errors.add(PlanTypeError(
                f"{label} repeats {period / every:,.0f} times per period; at most "
                f"{t.MAX_RUNS_PER_PERIOD:,} (a job that often is better planned as a service)",
                _span(w, key)))
        start = (w.start_after or 0.0) / 3600.0
        if w.start_after is not None and window is None:
            errors.add(PlanTypeError(
                f"{label}: `start_after` places its runs in the plan's `window`, and the plan has "
                "none; add `window = 7d` (for example) to the plan block", _span(w, "start_after")))
        elif window is not None and start > window - 1 / 60:
            errors.add(PlanTypeError(
                f"{label}: `start_after` {duration(start)} leaves less than a minute of the plan's "
                f"window of {duration(window)}", _span(w, "start_after")))
        elif window is not None and t.scheduled_runs(window, start, every, _hours(w.deadline)) > t.MAX_SCHEDULED_RUNS:
            errors.add(PlanTypeError(
                f"{label} would run {t.scheduled_runs(window, start, every, _hours(w.deadline)):,} "
                f"times in the window; at "
                f"most {t.MAX_SCHEDULED_RUNS:,} runs of one job are scheduled: shorten the window "
                f"or repeat less often", _span(w, key)))


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 3600.0


# A declared `params` may differ this much from the computed count (published totals are
# rounded to two or three digits: "8.2B", "14B"; every catalog model is within 0.5%).
PARAMS_TOLERANCE = 0.02
# Fields whose defaults (kv_heads = heads, untied, gated; no shared experts, no dense
# layers) change the count by more than PARAMS_TOLERANCE when they are wrong: a model that
# leaves one of them unstated is described incompletely, and a mismatch is a warning.
_SHAPE_DEFAULTS = {"kv_heads": "kv_heads = heads", "tied": "untied embeddings", "mlp": "a gated MLP"}
_MOE_DEFAULTS = {"shared_experts": "no shared experts", "dense_layers": "no dense layers"}


def _params(model: P.Model, errors: Collector) -> None:
    """A declared `params` against the count of the model's architecture (docs/language.md,
    "Checks"): an error past PARAMS_TOLERANCE, a warning when the architecture is incomplete."""
    if model.params is None:
        return
    from planner.estimate import param_counts
    from planner.resolve import bridge

    try:
        computed = param_counts(bridge.arch_from_model(model)).total
    except PlanError:
        return  # incomplete: reported where the model is used (_complete)
    off = model.params / computed - 1
    if abs(off) <= PARAMS_TOLERANCE:
        return
    defaults = dict(_SHAPE_DEFAULTS, **(_MOE_DEFAULTS if model.experts else {}))
    assumed = [f"{what} ({field} not written)" for field, what in defaults.items()
               if getattr(model, field) is None]
    message = (f'model "{model.name}": `params = {_short(model.params)}` is {abs(off):.1%} '
               f'{"more" if off > 0 else "less"} than the {computed:,} parameters its architecture '
               f"counts ({_short(computed)}); they may differ by {PARAMS_TOLERANCE:.0%}")
    where = _span(model, "params")
    if assumed:
        errors.warn(PlanWarning(message + "; the count assumes " + ", ".join(assumed), where,
                                "write those fields (or `config`) so the count can be checked"))
    else:
        errors.add(PlanTypeError(message, where, "fix `params` or the architecture fields; "
                                 "docs/estimation.md section 1 says what is counted"))


def _short(n: int) -> str:
    """A parameter count as plans write it: ``9B``, ``1.78B``, ``350M``."""
    for factor, suffix in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if n >= factor:
            return f"{n / factor:.3g}{suffix}"
    return str(n)

