"""``planner estimate``: one layout of a workload, evaluated and explained.

The layout is the workload's ``layout { }`` pins with the command line's on top; when every
dimension is pinned it is evaluated as given (``search.evaluate_pinned``, as ``solve`` does
for a fully pinned row), otherwise the search fills the rest with its best option for the
workload alone (the objective's order, as ``solve`` ranks a row's options) and the report
says which dimensions it filled. Nothing here imports the CP-SAT solver.

The figures are the estimator's own (``evaluate_train`` / ``evaluate_serve``): every field
of the typed result it returns is reported (``estimate``), with what follows from them:
per optimizer step the compute, communication and bubble seconds, tokens/s and MFU for
training; TTFT, TPOT and tokens/s for serving (docs/solve.md, "planner estimate").
"""

from __future__ import annotations

import dataclasses
import math

from planner import plan as P
from planner.calibration_use import calibration_use
from planner.errors import Collector, PlanError, PlanNameError, PlanTypeError
from planner.estimate import evaluate_serve, evaluate_train, model_flops
from planner.frozen import frozen
from planner.resolve.variants import Variant, build_variants, replace_weights
from planner.result import CalibrationUse
from planner.search import Candidate, Frontiers, evaluate_pinned, search
from planner.search.candidates import breaches, host_of
from planner.search.space import fully_pinned
from planner.syntax.suggest import did_you_mean
from planner.units import cost_units, hours_units, round_sig

# The dimensions of a layout, in the order the report lists them.
TRAIN_DIMENSIONS = ("gpu", "count", "tp", "pp", "dp", "ep", "zero", "recompute", "offload",
                    "micro_batch", "sp", "cp", "shard", "vpp")
SERVE_DIMENSIONS = ("gpu", "count", "tp", "pp", "ep", "replicas", "weights")


@frozen
class StepTime:
    """Seconds of one optimizer step, by what they are spent on."""

    compute: float
    communication: float
    bubble: float
    total: float


@frozen
class LayoutReport:
    """One row of ``planner estimate``: a workload (or sweep variant) on one layout."""

    name: str  # the workload, or ``name[key=value]`` for a sweep variant
    kind: str
    model: str
    scenario: dict[str, str]
    gpu: str
    gpu_count: int
    nodes: int
    weights: str
    layout: dict  # the estimator's Layout, every field
    pinned: tuple[str, ...]  # dimensions the plan or the command line pinned
    filled: tuple[str, ...]  # dimensions the search chose
    defaulted: tuple[str, ...]  # dimensions of a fully pinned layout left at their default
    fits: bool
    breaches: tuple[dict, ...]  # limits broken: {"kind", "needs", "allowed", "at_least"}
    memory_per_gpu_bytes: dict[str, int]
    host_memory_per_gpu_bytes: int
    gpu_memory_bytes: int
    usable_memory_bytes: int
    hours: float  # training: the run; serving: the priced duration
    cost: float
    currency: str
    host: dict  # CPU cores, RAM, NVMe and network of the whole row
    steps: float | None = None  # training: optimizer steps of the run
    step_seconds: StepTime | None = None  # training: one step, split
    tokens_per_second: float | None = None  # training: tokens trained; serving: output tokens
    mfu: float | None = None  # training: model FLOPs / (time x GPUs x bf16 peak)
    ttft_seconds: float | None = None  # serving: means of the steady state (None: not carried)
    tpot_seconds: float | None = None
    service: dict | None = None  # serving: what `solve` reports of a service (percentiles too)
    calibration: CalibrationUse | None = None  # factors fitted to measured runs, when used
    estimate: dict = dataclasses.field(default_factory=dict)  # the estimator's typed result


@frozen
class EstimateReport:
    """``planner estimate``'s answer: one report per workload of the plan."""

    plan: str
    file: str
    workloads: tuple[LayoutReport, ...]

    @property
    def exit_code(self) -> int:
        """0 when every row fits and meets its limits, 1 otherwise (as ``solve``)."""
        return 0 if all(r.fits for r in self.workloads) else 1

    def to_json(self) -> dict:
        from planner.result import plain_data

        return _rounded(plain_data(self))


# ---------------------------------------------------------------- the plan with the pins


@frozen
class Selection:
    """The plan to estimate, the workload it reports (None: every one) and, for a sweep
    variant made a workload of, its scenario (reported as ``solve`` reports it)."""

    plan: P.Plan
    workload: str | None
    scenario: dict[str, str] | None = None


def select(plan: P.Plan, name: str | None) -> Selection:
    """What to estimate: ``name`` is a workload, or one variant of a swept workload as the
    output labels it (``tune[dataset=1GB]``), which becomes the workload itself, without
    its sweeps."""
    from planner.resolve.variants import sweeps_by_workload, variants

    names = [w.name for w in plan.workloads]
    if name is None or name in names:
        return Selection(plan, name)
    matching = sweeps_by_workload(plan)
    labels = []
    for w in plan.workloads:
        for label, scenario, variant in variants(plan, w, matching[w.name]):
            labels.append(label)
            if label == name:
                swept = {id(s) for s in matching[w.name]}
                workloads = [variant.model_copy(update={"name": label}) if x is w else x
                             for x in plan.workloads]
                sweeps = [s for s in plan.sweeps if id(s) not in swept]
                plan = plan.model_copy(update={"workloads": workloads, "sweeps": sweeps})
                return Selection(plan, label, dict(scenario))
    raise PlanNameError(f"--workload {name}: the plan has no workload or sweep variant `{name}`"
                        f"{did_you_mean(name, names + labels)}")


def with_pins(plan: P.Plan, workload: str | None, pins: dict, weights: str | None) -> P.Plan:
    """``plan`` with the command line's ``pins`` (layout fields, converted) and ``weights``
    written into the selected workload (``select``), checked as ``planner check`` checks a
    plan."""
    names = [w.name for w in plan.workloads]
    if not (pins or weights):
        return plan
    if workload is None and len(names) > 1:
        raise PlanTypeError(f"layout options apply to one workload; name it with --workload "
                            f"(the plan has {', '.join(names)})")
    target = workload or names[0]
    gpus = list(plan.gpus)
    workloads = []
    for w in plan.workloads:
        if w.name == target:
            w = _pinned(w, pins, weights)
            gpus = _offer(gpus, pins.get("gpu"))
        workloads.append(w)
    plan = plan.model_copy(update={"workloads": workloads, "gpus": gpus})
    _recheck(plan)
    return plan


def _pinned(w, pins: dict, weights: str | None):
    from planner.syntax.keys import SERVE_ONLY_LAYOUT, TRAIN_ONLY_LAYOUT

    wrong = TRAIN_ONLY_LAYOUT if w.kind == "serve" else SERVE_ONLY_LAYOUT
    for key in pins:
        if key in wrong:
            use = "training" if w.kind == "serve" else "serving"
            raise PlanTypeError(f"--{key.replace('_', '-')} applies to {use} only, not to "
                                f'{w.kind} "{w.name}"')
    layout = w.layout or P.Layout()
    # the command line has no span: errors about these pins name the key, not a line
    spans = {**layout.spans, **{k: None for k in pins}}
    layout = layout.model_copy(update={**pins, "spans": spans})
    update: dict = {"layout": layout}
    if "gpu" in pins:
        update["gpus"] = None  # the command line asks for this GPU whatever the plan allows
    if weights is not None:
        from planner.syntax.keys import KEYS

        spec = KEYS[w.kind].get("weights")
        if spec is None:
            raise PlanTypeError(f'--weights applies to serve and finetune, not to pretrain "{w.name}"')
        if weights not in spec.choices:
            raise PlanTypeError(f'--weights {weights}: {w.kind} "{w.name}" takes one of '
                                f"{', '.join(spec.choices)}")
        update["weights"] = weights
    return w.model_copy(update=update)


def _offer(gpus: list[P.Gpu], name: str | None) -> list[P.Gpu]:
    """A GPU the command line names is offered for the estimate, without a limit, when the
    plan does not offer it (estimating a layout is not placing it)."""
    if name is None:
        return gpus
    return [g.model_copy(update={"available": -1}) if g.name == name and g.available is None else g
            for g in gpus]


def _recheck(plan: P.Plan) -> None:
    from planner.resolve.checks import check_plan
    from planner.resolve.pins import check_variants

    errors = Collector()
    check_plan(plan, errors)
    check_variants(plan, errors)
    errors.raise_if_any()


# ---------------------------------------------------------------- evaluation


def estimate_plan(plan: P.Plan, file: str, workload: str | None = None,
                  scenario: dict[str, str] | None = None) -> EstimateReport:
    """Every row of ``workload`` (every workload when None) on its layout; ``scenario`` is
    the sweep values of a variant ``select`` made the workload of."""
    settings = plan.settings
    objective = settings.objective if settings else "cost"
    currency = settings.currency if settings else "USD"
    variants = [v for v in build_variants(plan) if workload is None or v.group == workload]
    frontiers = Frontiers()
    rows = tuple(_report(v, objective, currency, frontiers) for v in variants)
    if scenario is not None:
        rows = tuple(dataclasses.replace(r, scenario=scenario) for r in rows)
    name = settings.name if settings else file
    return EstimateReport(plan=name, file=file, workloads=rows)


def _report(variant: Variant, objective: str, currency: str, frontiers: Frontiers) -> LayoutReport:
    dims = SERVE_DIMENSIONS if variant.kind == "serve" else TRAIN_DIMENSIONS
    pins = variant.pins
    pinned = tuple(d for d in dims if _pinned_value(variant, pins, d) is not None)
    if fully_pinned(variant) and any(o.name == pins.gpu for o in variant.offers):
        cand = evaluate_pinned(variant)
        # what a pinned count fixes (dp or replicas, with the other degrees) is not a default
        derived = {"count", "dp", "replicas"} if pins.count is not None else {"count"}
        filled, defaulted = (), tuple(d for d in dims if d not in pinned and d not in derived)
    else:
        cand = _best(variant, objective, frontiers)
        filled, defaulted = tuple(d for d in dims if d not in pinned), ()
    offer = next(o for o in variant.offers if o.name == cand.gpu)
    broken = cand.breaches or tuple(breaches(variant, cand, offer.available))
    return LayoutReport(
        name=variant.name, kind=variant.kind, model=variant.model, scenario=dict(variant.scenario),
        gpu=cand.gpu, gpu_count=cand.gpu_count, nodes=cand.nodes, weights=cand.weights,
        layout=dataclasses.asdict(cand.layout), pinned=pinned, filled=filled, defaulted=defaulted,
        fits=not broken, breaches=tuple(dataclasses.asdict(b) for b in broken),
        memory_per_gpu_bytes=cand.memory.components(), host_memory_per_gpu_bytes=cand.memory.host,
        gpu_memory_bytes=cand.gpu_memory_bytes, usable_memory_bytes=cand.usable_bytes,
        hours=cand.hours, cost=cand.cost, currency=currency,
        host=dataclasses.asdict(host_of(variant, cand)),
        calibration=calibration_use(variant, cand.gpu),
        **_figures(variant, cand, offer.spec),
    )


def _pinned_value(variant: Variant, pins: P.Layout | None, dim: str):
    if dim == "weights":
        return None if variant.weights_auto else variant.serve_job.weights
    return None if pins is None else getattr(pins, dim, None)


def _best(variant: Variant, objective: str, frontiers: Frontiers) -> Candidate:
    """The search's best option for the row alone, or its nearest miss."""
    found = search(variant, frontiers)
    if found.options:
        return min(found.options, key=rank(objective))
    misses = [o.miss.nearest for o in found.outcomes.values() if o.miss and o.miss.nearest]
    if not misses:
        raise PlanTypeError(f'{variant.kind} "{variant.name}": no layout of the offered GPUs '
                            "can be evaluated with these pins; `planner solve` says why per GPU type")
    return min(misses, key=lambda c: (not c.fits_memory, c.memory.total / c.usable_bytes,
                                      c.hours, c.gpu_count, c.stable))


def rank(objective: str):
    """A row's order of options, as ``solve`` ranks them for a row alone: the objective
    (in CP-SAT's integer units), then GPUs, hours and cost, then the stable order."""
    def key(c: Candidate) -> tuple:
        values = {"cost": cost_units(c.cost), "gpus": c.gpu_count, "hours": hours_units(c.hours)}
        rest = tuple(values[k] for k in ("gpus", "hours", "cost") if k != objective)
        return (values[objective], *rest, c.stable)
    return key


def _figures(variant: Variant, cand: Candidate, spec) -> dict:
    """What the estimator's typed result gives, and what follows from it."""
    if variant.kind == "serve":
        from planner.result import plain_data
        from planner.serving import finite, service_of

        job = replace_weights(variant.serve_job, cand.weights)
        est = evaluate_serve(job, cand.layout, spec)
        return dict(ttft_seconds=finite(est.ttft_seconds), tpot_seconds=finite(est.tpot_seconds),
                    tokens_per_second=est.tokens_per_second,
                    service=plain_data(service_of(variant, cand)), estimate=_fields(est))
    job = variant.train_job
    est = evaluate_train(job, cand.layout, spec)
    steps = job.tokens / (job.global_batch * job.seq_len)
    per = StepTime(compute=est.compute_seconds / steps, communication=est.communication_seconds / steps,
                   bubble=est.bubble_seconds / steps, total=est.seconds / steps)
    # MFU as PaLM defines it (Chowdhery et al. 2022, appendix B): model FLOPs without
    # recomputation per second, over the dense bf16 peak of every GPU of the layout
    mfu = model_flops(job) / (est.seconds * est.gpus * spec.bf16_flops)
    return dict(steps=steps, step_seconds=per, tokens_per_second=job.tokens / est.seconds, mfu=mfu,
                estimate=_fields(est))


def _fields(result) -> dict:
    """Every field of the estimator's result and its numeric properties (seconds, hours)."""
    from planner.result import plain_data

    out = {k: v for k, v in plain_data(result).items()
           if not (isinstance(v, float) and not math.isfinite(v))}  # JSON has no infinity
    for name in dir(type(result)):
        if isinstance(getattr(type(result), name), property):
            value = getattr(result, name)
            if isinstance(value, (int, float)):
                out[name] = value
    if "memory" in out and hasattr(result.memory, "total"):
        out["memory"]["total"] = result.memory.total
    return out


def _rounded(value):
    if isinstance(value, float):
        return round_sig(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def convert_pins(options: dict[str, str]) -> dict:
    """Command-line layout values (``{"tp": "4", "recompute": "full"}``) converted as the
    plan language converts a ``layout { }`` block's, with the same ranges and choices."""
    from planner.syntax.keys import LAYOUT
    from planner.syntax.parser import parse_text
    from planner.syntax.values import convert_value

    out: dict = {}
    for key, text in options.items():
        option = f"--{key.replace('_', '-')}"
        try:
            (block,) = parse_text(f'serve "cli" {{ layout {{ {key} = {text} }} }}\n', option).statements
            (sub,) = block.items
            (entry,) = sub.entries
            out.update(convert_value(key, LAYOUT[key], entry.value))
        except PlanError as error:
            raise PlanTypeError(f"{option} {text}: {error.message}", None, error.hint) from None
        except (ValueError, AttributeError):  # not one block of one entry: text beyond a value
            raise PlanTypeError(f"{option} {text}: expected one value") from None
    return out


__all__ = ["EstimateReport", "LayoutReport", "Selection", "StepTime", "convert_pins", "estimate_plan", "rank",
           "select", "with_pins"]
