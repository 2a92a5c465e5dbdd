"""Which calibration a row's estimate used (docs/calibration.md): shared by ``solve``
(planner.pipeline) and ``estimate`` (planner.layout_estimate), so both name it alike."""

from __future__ import annotations

from planner.estimate.calibration import SERVE_FACTORS, TRAIN_FACTORS
from planner.resolve.variants import Variant
from planner.result import CalibrationUse


def calibration_use(variant: Variant, gpu: str) -> CalibrationUse | None:
    """The calibration of ``gpu`` for the row's engine or stack, and the factors of it that
    the row's estimate used (None when none applied)."""
    offer = next((o for o in variant.offers if o.name == gpu), None)
    if offer is None:
        return None
    serving = variant.serve_job is not None
    scope = ("engine", variant.serve_job.engine) if serving else ("stack", variant.train_job.stack)
    block = next((c for c in offer.calibrations if c.scope == scope), None)
    if block is None:
        return None
    names = SERVE_FACTORS if serving else TRAIN_FACTORS
    factors = {n: getattr(block, n) for n in names if getattr(block, n) is not None}
    if not serving and variant.train_job.utilization is not None:
        factors.pop("utilization", None)  # the workload's own utilization takes precedence
    if not factors:
        return None
    return CalibrationUse(name=block.name, gpu=block.gpu, engine=block.engine, stack=block.stack,
                          factors=factors, runs=block.runs, residual=block.residual, date=block.date)
