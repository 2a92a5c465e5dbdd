"""``planner validate``: each measured figure against the estimate, and the typical error.

For every measured block of a checked plan and every figure it measured: the measurement,
the estimate (with the plan's calibrations, as ``solve`` would use them), the signed error
estimate / measured - 1, and, per figure, the median absolute error over the runs. The JSON
shape is docs/calibration.md's ("`planner validate`"); fields may be added, never renamed.
"""

from __future__ import annotations

import statistics

from planner import plan as P
from planner.calibrate.runs import Run, estimate, runs_of
from planner.frozen import frozen
from planner.result import plain_data
from planner.syntax.keys import MEASURED_FIGURES
from planner.units import round_sig

UNITS = {"tokens_per_second": "tokens/s", "requests_per_second": "requests/s", "ttft": "s",
         "ttft_p50": "s", "ttft_p99": "s", "tpot": "s", "tpot_p50": "s", "tpot_p99": "s", "itl": "s",
         "step_time": "s", "peak_memory": "bytes", "mfu": "fraction"}


@frozen
class Case:
    """One measured figure of one run."""

    name: str  # the measured block
    workload: str
    figure: str
    measured: float
    estimated: float | None  # None: the estimator has no such figure here (a load not carried)
    error: float | None  # estimated / measured - 1
    unit: str
    source: str | None  # the result file the figure was read from; None: written in the block
    calibration: str | None  # the calibration block the estimate used, if any
    gpu: str
    date: str


@frozen
class Validation:
    """A fit's cases and its median absolute error per figure."""

    file: str
    cases: tuple[Case, ...]
    median_abs_error: dict[str, float]  # figure -> median |error| over its runs

    def to_json(self) -> dict:
        return {"file": self.file, "cases": plain_data(self.cases),
                "median_abs_error": dict(self.median_abs_error)}


def calibration_name(plan: P.Plan, run: Run) -> str | None:
    """The calibration block whose factors ``run``'s estimate uses, if any."""
    for c in plan.calibrations:
        if c.gpu == run.gpu.name and c.scope == (run.scope, run.target):
            return c.name
    return None


def validate(plan: P.Plan, file: str) -> Validation:
    cases = []
    for run in runs_of(plan):
        used = calibration_name(plan, run)
        for figure, value in estimate(run).items():
            measured = run.measured[figure]
            error = None if value is None else value / measured - 1.0
            cases.append(Case(
                name=run.name, workload=run.workload, figure=figure, measured=round_sig(measured),
                estimated=None if value is None else round_sig(value),
                error=None if error is None else round_sig(error), unit=UNITS[figure],
                source=run.sources.get(figure), calibration=used, gpu=run.gpu.name, date=run.date))
    medians = {}
    for figure in MEASURED_FIGURES:
        errors = [abs(c.error) for c in cases if c.figure == figure and c.error is not None]
        if errors:
            medians[figure] = round_sig(statistics.median(errors))
    return Validation(file, tuple(cases), medians)
