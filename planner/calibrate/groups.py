"""``planner calibrate``: the factors of each GPU type and engine or stack, fitted to its runs.

The measured runs of a plan fall into groups by (GPU type, engine) for services and (GPU
type, stack) for training; each group gets one calibration. Its factors
(``planner.estimate.calibration``) start at the model's defaults, within their sourced
bounds, and are fitted by ``planner.calibrate.fit`` to the log errors of the group's
fitted figures (``runs.FITTED``). A calibration the plan already holds for the group is set
aside while fitting (the fit starts from the defaults); those of other groups stay, as solve
would use them. ``block_text`` writes the result as plan text any plan can import.
"""

from __future__ import annotations

import math

from planner import plan as P
from planner.calibrate.fit import Factor, Fitted, fit
from planner.calibrate.runs import Run, estimate, runs_of
from planner.estimate import calibration as cal
from planner.estimate.types import Factors
from planner.frozen import frozen


@frozen
class Group:
    """One calibration: its runs, the factors it may set, and what the fit found."""

    gpu: str
    scope: str  # "engine" | "stack"
    target: str
    runs: tuple[Run, ...]
    factors: tuple[Factor, ...]
    fitted: Fitted

    @property
    def name(self) -> str:
        return f"{self.gpu}-{self.target}"

    @property
    def residual(self) -> float:
        """The typical error left: exp(RMS log error) - 1."""
        return math.expm1(self.fitted.rms_after)

    @property
    def residual_before(self) -> float:
        return math.expm1(self.fitted.rms_before)

    @property
    def date(self) -> str:
        return max(r.date for r in self.runs)

    @property
    def written(self) -> tuple[str, ...]:
        """The factors the calibration block sets: those fitted."""
        return self.fitted.fitted


def factors_of(run: Run) -> tuple[Factor, ...]:
    """The factors a calibration of ``run``'s group may set: defaults and bounds on its GPU."""
    defaults = cal.defaults(run.gpu, run.scope, run.target)
    bounds = cal.bounds(run.gpu, run.scope, run.target)
    return tuple(Factor(name, defaults[name], *bounds[name], log=name != "step_overhead")
                 for name in cal.factor_names(run.scope, run.target))


def residuals(runs: tuple[Run, ...]):
    """The fit's function: factor values -> the log error of every fitted figure."""
    def log_errors(values: dict[str, float]) -> list[float | None]:
        out: list[float | None] = []
        for run in runs:
            gpu = cal.with_factors(run.gpu, run.scope, run.target, Factors(**values))
            figures = run.fitted()
            estimated = estimate(run, gpu, figures)
            for figure in figures:
                value = estimated[figure]
                out.append(None if value is None else math.log(value / run.measured[figure]))
        return out
    return log_errors


def fit_group(runs: tuple[Run, ...]) -> Group:
    first = runs[0]
    factors = factors_of(first)
    return Group(first.gpu.name, first.scope, first.target, runs, factors,
                 fit(list(factors), residuals(runs)))


def calibrate(plan: P.Plan) -> list[Group]:
    """One fitted group per (GPU type, engine or stack) the plan's runs measured, in the order
    of their first run."""
    grouped: dict[tuple[str, str, str], list[Run]] = {}
    for run in runs_of(plan):
        grouped.setdefault(run.group, []).append(run)
    return [fit_group(tuple(runs)) for runs in grouped.values()]


# ---------------------------------------------------------------- plan text
def _value(factor: Factor, value: float) -> str:
    """``value`` to four significant digits, or more where four would leave its bounds."""
    for digits in (4, 12, 17):
        text = f"{value * 1e3:.{digits}g}" if factor.name == "step_overhead" else f"{value:.{digits}g}"
        read = float(text) * (1e-3 if factor.name == "step_overhead" else 1.0)
        if factor.low <= read <= factor.high:
            break
    return text + ("ms" if factor.name == "step_overhead" else "")


def block_text(group: Group, notes: list[str]) -> str:
    """``calibration "NAME" { ... }`` for ``group``, with ``notes`` (sentences from
    ``planner.explain``) as comments above the factors they concern."""
    lines = [f'calibration "{group.name}" {{']
    lines += [f"  # {note}" for note in notes]
    lines.append(f'  gpu = "{group.gpu}"')
    lines.append(f"  {group.scope} = {group.target}")
    factors = {f.name: f for f in group.factors}
    for name in group.written:
        lines.append(f"  {name} = {_value(factors[name], group.fitted.values[name])}")
    lines.append(f"  runs = {len(group.runs)}")
    lines.append(f"  residual = {group.residual * 100:.2f}%")
    lines.append(f'  date = "{group.date}"')
    lines.append("}")
    return "\n".join(lines) + "\n"
