"""The efficiency factors a fleet's own runs may calibrate: defaults, bounds, lookup.

A ``GpuSpec`` carries the factors fitted for it, by serving engine or training stack
(``GpuSpec.calibrations``). The step of a serving replica (``step.replica``) and the
training base (``train.train_base``) read them here; a factor not set keeps the model's
default. Each factor's meaning, default and bounds, with sources, are in
docs/calibration.md ("Factors"); the bounds keep a fitted factor physical: no factor may
make an estimate need more than the hardware's peak, nor less than the slowest published
measurement of the same quantity.
"""

from __future__ import annotations

import dataclasses

from planner.estimate import collectives as C
from planner.estimate import engines as E
from planner.estimate import efficiency
from planner.estimate.types import Calibrated, Factors, GpuSpec

SERVE_FACTORS = ("step_overhead", "hbm_fraction", "compute_fraction")
TRAIN_FACTORS = ("utilization", "collective_efficiency")
# The eager engine's step is its per-layer launch time (engines.EAGER_LAYER_DISPATCH_S), not
# one overhead per step: its step overhead is not a factor.
EAGER_FACTORS = ("hbm_fraction", "compute_fraction")

# ---------------------------------------------------------------- bounds (docs/calibration.md)
# Per-step CPU time: 0 (SGLang's overlap scheduler leaves "no single idle time on the GPU",
# LMSYS blog "SGLang v0.4") to 40 ms (gpt-fast's eager LLaMA-7B loop, wholly CPU-bound at
# 25.5 tokens/s = 39.2 ms a step: the slowest per-step CPU time published).
STEP_OVERHEAD_MIN_S = 0.0
STEP_OVERHEAD_MAX_S = 0.040
# HBM: the lowest published whole-step fraction, gpt-fast Llama-2-7B at TP 8 (704.10 GB/s of
# an A100's 2039 GB/s, gpt-fast README) to the datasheet peak.
HBM_FRACTION_MIN = 704.10 / 2039.0
HBM_FRACTION_MAX = 1.0
# Tensor cores: the least efficient GEMM of the tables the estimator uses (cuBLASLt FP8
# 1024^3 on an H100, 0.139 of peak: efficiency.GEMM_CURVE_FP8) to the GPU's best-shape
# matmul (MAMF, engines.MAMF_BF16): no kernel of a real shape beats the best shape.
COMPUTE_FRACTION_MIN = efficiency.GEMM_CURVE_FP8[0][1]
# Collectives: the lowest achieved fraction of a link in the nccl-tests we use (all-to-all
# over PCIe Gen5, 2 x 4 GPUs, 12 of 64 GB/s: NVIDIA GTC25 S72583) to the link's line rate.
COLLECTIVE_EFFICIENCY_MIN = 12.0 / 64.0
COLLECTIVE_EFFICIENCY_MAX = 1.0

NONE = Factors()


def factor_names(scope: str, target: str) -> tuple[str, ...]:
    """The factors a calibration of ``scope`` ("engine" | "stack") for ``target`` may set."""
    if scope == "stack":
        return TRAIN_FACTORS
    return EAGER_FACTORS if E.engine(target).eager else SERVE_FACTORS


def calibrated(gpu: GpuSpec, scope: str, target: str) -> Factors:
    """The factors ``gpu`` runs at under engine or stack ``target`` (unset ones: None)."""
    for cal in gpu.calibrations:
        if cal.scope == scope and cal.target == target:
            return cal.factors
    return NONE


def with_factors(gpu: GpuSpec, scope: str, target: str, factors: Factors) -> GpuSpec:
    """``gpu`` calibrated with ``factors`` for ``target`` (replacing any it had for it)."""
    others = tuple(c for c in gpu.calibrations if (c.scope, c.target) != (scope, target))
    return dataclasses.replace(gpu, calibrations=others + (Calibrated(scope, target, factors),))


def uncalibrated(gpu: GpuSpec) -> GpuSpec:
    return dataclasses.replace(gpu, calibrations=()) if gpu.calibrations else gpu


# ---------------------------------------------------------------- serving
def serve_defaults(gpu: GpuSpec, engine: str) -> dict[str, float]:
    """What the model uses for ``gpu`` under ``engine`` when nothing is calibrated."""
    eng = E.engine(engine)
    out = {"hbm_fraction": eng.hbm_fraction, "compute_fraction": E.gemm_fraction(gpu, "bf16")}
    if not eng.eager:
        out["step_overhead"] = eng.step_overhead_s
    return {name: out[name] for name in factor_names("engine", engine)}


def serve_bounds(gpu: GpuSpec, engine: str) -> dict[str, tuple[float, float]]:
    out = {"step_overhead": (STEP_OVERHEAD_MIN_S, STEP_OVERHEAD_MAX_S),
           "hbm_fraction": (HBM_FRACTION_MIN, HBM_FRACTION_MAX),
           "compute_fraction": (COMPUTE_FRACTION_MIN, E.best_matmul_fraction(gpu, "bf16"))}
    return {name: out[name] for name in factor_names("engine", engine)}


def step_overhead(gpu: GpuSpec, eng: E.Engine) -> float:
    value = calibrated(gpu, "engine", eng.name).step_overhead
    return eng.step_overhead_s if value is None else value


def hbm_fraction(gpu: GpuSpec, eng: E.Engine) -> float:
    value = calibrated(gpu, "engine", eng.name).hbm_fraction
    return eng.hbm_fraction if value is None else value


def gemm_fraction(gpu: GpuSpec, eng: E.Engine, table: str) -> float:
    """The serving GEMMs' share of ``table`` peak: the calibrated bf16 fraction moves every
    table by the same ratio (fp8 keeps its MAMF ratio to bf16), never past the best shape."""
    default = E.gemm_fraction(gpu, table)
    value = calibrated(gpu, "engine", eng.name).compute_fraction
    if value is None:
        return default
    scaled = default * value / E.gemm_fraction(gpu, "bf16")
    return min(scaled, E.best_matmul_fraction(gpu, table))


# ---------------------------------------------------------------- training
def train_defaults(gpu: GpuSpec, stack: str) -> dict[str, float]:
    return {"utilization": gpu.train_utilization,
            "collective_efficiency": C.link_fraction(gpu)[0]}


def train_bounds(gpu: GpuSpec, stack: str) -> dict[str, tuple[float, float]]:
    return {"utilization": (COMPUTE_FRACTION_MIN, efficiency.mamf(gpu, "bf16")),
            "collective_efficiency": (COLLECTIVE_EFFICIENCY_MIN, COLLECTIVE_EFFICIENCY_MAX)}


def train_utilization(gpu: GpuSpec, stack: str) -> float:
    value = calibrated(gpu, "stack", stack).utilization
    return gpu.train_utilization if value is None else value


def fabric(gpu: GpuSpec, stack: str) -> C.Fabric:
    """The collectives' fabric: a calibrated efficiency replaces the link's achieved fraction
    and moves the network's by the same ratio, never past the line rate."""
    value = calibrated(gpu, "stack", stack).collective_efficiency
    if value is None:
        return C.fabric(gpu)
    return C.fabric(gpu, value)


def bounds(gpu: GpuSpec, scope: str, target: str) -> dict[str, tuple[float, float]]:
    return serve_bounds(gpu, target) if scope == "engine" else train_bounds(gpu, target)


def defaults(gpu: GpuSpec, scope: str, target: str) -> dict[str, float]:
    gpu = uncalibrated(gpu)
    return serve_defaults(gpu, target) if scope == "engine" else train_defaults(gpu, target)
