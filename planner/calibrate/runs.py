"""Measured runs as the estimator sees them, and the figures it estimates for each.

A ``Run`` is one measured block of a checked plan: the job its workload describes with the
run's load, request shape, engine or stack applied (``planner.resolve.measured.run_workload``),
its pinned layout, the GPU type's spec (with the plan's calibrations), and the figures
measured. ``estimate(run, gpu)`` gives the same figures from the estimator, on ``gpu`` (the
run's own spec, or one with trial factors while fitting): for a service the steady state's
means and throughput and the seeded simulation's medians and 99th percentiles, as a solved
row shows them; for training the run's time per optimizer step, its throughput, peak memory
and MFU (docs/calibration.md, "Figures").
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from planner import plan as P
from planner.estimate import evaluate_serve, evaluate_train, model_flops
from planner.estimate.serve import simulate_serve
from planner.estimate.types import GpuSpec, Layout, ServeJob, TrainJob
from planner.frozen import frozen
from planner.resolve.bridge import arch_from_model, gpu_spec
from planner.resolve.measured import run_workload
from planner.resolve.variants import serve_job, train_job
from planner.syntax.keys import MEASURED_FIGURES

# Figures a fit uses: smooth functions of the factors. Medians and 99th percentiles come from
# a seeded simulation whose figures move in steps as events reorder, and memory does not
# depend on any factor: they are validated, not fitted. `itl` is the steady state's TPOT
# again (the mean gap between a request's tokens), so it is not counted twice.
FITTED = {"serve": ("tokens_per_second", "requests_per_second", "ttft", "tpot"),
          "train": ("step_time", "tokens_per_second", "mfu")}
SIMULATED = ("ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99")


@frozen
class Run:
    """One measured run of a calibration block: what ran where, and the figures measured."""

    name: str  # the measured block
    workload: str
    serving: bool
    gpu: GpuSpec  # the plan's spec of the run's GPU type, with the plan's calibrations
    scope: str  # "engine" | "stack": what the run's factors are calibrated by
    target: str  # the engine or stack
    job: ServeJob | TrainJob
    layout: Layout
    measured: dict[str, float]  # figure -> value in base units, in MEASURED_FIGURES order
    sources: dict[str, str]  # figure -> the file it was read from (absent: written)
    date: str

    @property
    def group(self) -> tuple[str, str, str]:
        """(GPU type, scope, target): the runs one calibration is fitted to."""
        return (self.gpu.name, self.scope, self.target)

    def fitted(self) -> tuple[str, ...]:
        return tuple(f for f in FITTED["serve" if self.serving else "train"] if f in self.measured)


def runs_of(plan: P.Plan) -> list[Run]:
    """Every measured block of a checked plan, in plan order."""
    gpus = {g.name: g for g in plan.gpus}
    models = {m.name: m for m in plan.models}
    return [_run(plan, m, gpus, models) for m in plan.measured]


def _run(plan: P.Plan, m: P.Measured, gpus: dict, models: dict) -> Run:
    w = run_workload(plan, m)
    arch = arch_from_model(models[w.model])
    spec = gpu_spec(gpus[m.layout.gpu], plan.calibrations)
    measured = {f: getattr(m, f) for f in MEASURED_FIGURES if getattr(m, f) is not None}
    common = dict(name=m.name, workload=w.name, gpu=spec, measured=measured,
                  sources={f: m.sources[f] for f in measured if f in m.sources}, date=m.date)
    pins = m.layout
    if w.kind == "serve":
        replicas = pins.replicas or pins.count // (pins.tp * pins.pp)
        layout = Layout(tp=pins.tp, pp=pins.pp, ep=pins.ep or 1, replicas=replicas)
        job = serve_job(w, arch)
        return Run(serving=True, scope="engine", target=job.engine, job=job, layout=layout, **common)
    from planner.search.space import pinned_train_layout

    job = train_job(w, arch)
    # pinned_train_layout reads only the pins (and the spec, for `shard = node`)
    layout = pinned_train_layout(SimpleNamespace(pins=pins), spec)
    return Run(serving=False, scope="stack", target=job.stack, job=job, layout=layout, **common)


def _finite(value: float) -> float | None:
    return value if value is not None and math.isfinite(value) and value > 0 else None


def estimate(run: Run, gpu: GpuSpec | None = None, figures: tuple[str, ...] | None = None) -> dict:
    """figure -> the estimator's value (None where it has none: a load not carried, a layout
    it cannot evaluate) for each of ``figures`` (default: those measured)."""
    gpu = gpu or run.gpu
    wanted = figures if figures is not None else tuple(run.measured)
    values = _serve(run, gpu, wanted) if run.serving else _train(run, gpu)
    return {f: _finite(values.get(f)) for f in wanted}


def _serve(run: Run, gpu: GpuSpec, wanted: tuple[str, ...]) -> dict:
    est = evaluate_serve(run.job, run.layout, gpu)
    out = {"tokens_per_second": est.tokens_per_second, "requests_per_second": est.requests_per_second,
           "ttft": est.ttft_seconds, "tpot": est.tpot_seconds, "itl": est.tpot_seconds,
           "peak_memory": float(est.memory.total)}
    if est.carried and any(f in SIMULATED for f in wanted):
        sim = simulate_serve(run.job, run.layout, gpu)
        out.update(ttft_p50=sim.ttft_p50, ttft_p99=sim.ttft_p99, tpot_p50=sim.tpot_p50,
                   tpot_p99=sim.tpot_p99)
    return out


def _train(run: Run, gpu: GpuSpec) -> dict:
    job = run.job
    try:
        est = evaluate_train(job, run.layout, gpu)
    except ValueError:  # a layout the estimator has no model of (the load's checks report why)
        return {}
    tokens_per_step = job.global_batch * job.seq_len
    steps = job.tokens / tokens_per_step
    step_time = est.seconds / steps
    flops_per_step = model_flops(job) / steps
    return {"step_time": step_time, "tokens_per_second": tokens_per_step / step_time,
            "peak_memory": float(est.memory.total),
            "mfu": flops_per_step / (step_time * est.gpus * gpu.bf16_flops)}
