"""Held-out check of calibration on the public serving cases (issue 14's acceptance).

The TensorRT-LLM cases of one GPU type (tests/support/fidelity_serving.py) are sorted by case
id and dealt alternately into two halves. Two-fold: the serving factors of (GPU, trtllm) are
fitted to one half's published figures (``planner.calibrate.fit``, the fit `planner calibrate`
runs) and the other half is estimated with them; then the halves swap. Each fold's held-out
median absolute error and RMS log error (the quantity the fit minimises) are reported before
and after, and so are the pooled ones: every case estimated once by the fit that did not see
it. ``python benchmarks/fidelity.py --calibrate``
prints them (docs/calibration.md, "Held out").
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from planner.calibrate.fit import NOISY_STEP, Factor, Fitted, fit
from planner.estimate import calibration as cal
from planner.estimate.types import Factors
from support.fidelity_serving import FidelityRow, case_gpus, catalog_gpu, trtllm_rows

ENGINE = "trtllm"


@dataclass(frozen=True)
class Fold:
    fitted_cases: tuple[str, ...]
    held_cases: tuple[str, ...]
    fitted: Fitted
    before: tuple[FidelityRow, ...]  # the held-out rows at the defaults
    after: tuple[FidelityRow, ...]  # the same rows, calibrated on the other half


@dataclass(frozen=True)
class HeldOut:
    gpu: str
    folds: tuple[Fold, Fold]

    @property
    def before(self) -> tuple[FidelityRow, ...]:
        return self.folds[0].before + self.folds[1].before

    @property
    def after(self) -> tuple[FidelityRow, ...]:
        return self.folds[0].after + self.folds[1].after


def median_abs_error(rows) -> float:
    return statistics.median(abs(r.error) for r in rows)


def rms_log_error(rows) -> float:
    return math.sqrt(sum(math.log1p(r.error) ** 2 for r in rows) / len(rows))


def halves(gpu: str) -> tuple[list[str], list[str]]:
    cases = sorted(c for c, where in case_gpus().items() if where == (gpu, ENGINE))
    return cases[0::2], cases[1::2]


def _fold(gpu: str, fitted_cases: list[str], held_cases: list[str]) -> Fold:
    base = catalog_gpu(gpu)
    defaults, bounds = cal.defaults(base, "engine", ENGINE), cal.bounds(base, "engine", ENGINE)
    factors = [Factor(n, defaults[n], *bounds[n], log=n != "step_overhead")
               for n in cal.factor_names("engine", ENGINE)]

    def specs(values: dict[str, float]) -> dict:
        return {gpu: cal.with_factors(base, "engine", ENGINE, Factors(**values))}

    def residuals(values: dict[str, float]) -> list[float | None]:
        return [math.log(r.predicted / r.published) if r.predicted > 0 else None
                for r in trtllm_rows(specs(values), set(fitted_cases))]

    result = fit(factors, residuals, step=NOISY_STEP)  # the online rows are simulated
    before = trtllm_rows(None, set(held_cases))
    after = trtllm_rows(specs(result.values), set(held_cases))
    return Fold(tuple(fitted_cases), tuple(held_cases), result, tuple(before), tuple(after))


def held_out(gpu: str = "H100-SXM") -> HeldOut:
    a, b = halves(gpu)
    return HeldOut(gpu, (_fold(gpu, a, b), _fold(gpu, b, a)))
