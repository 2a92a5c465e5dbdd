"""Bounded least squares on log error: the factors that bring estimates closest to runs.

The problem: a few factors (at most three per calibration), each within its bounds, and a
function giving, for a set of factor values, the log error log(estimate / measured) of
every measured figure. The factors enter the estimates multiplicatively or nearly (a step
is overhead + bytes / (bandwidth x fraction) + FLOPs / (peak x fraction)), so the log error
is close to linear in the log of each fraction: Levenberg-Marquardt (Marquardt 1963) on
those coordinates, with a forward-difference Jacobian and the bounds kept by clipping each
step and holding a factor at a bound its gradient pushes against (a projected active set),
converges in a few iterations. Fractions are fitted in log space; the step overhead, which
may be 0, in seconds. No library is needed for three unknowns (docs/calibration.md, "Fit").

Before fitting, each factor must be identified: a factor whose 10% change moves no figure
by 0.1% is not (no measured figure depends on it), nor one whose effect on the figures is
within 10% of a combination of the effects of factors already kept (the runs cannot tell it
from them: Gram-Schmidt on the columns, the strongest first). Those stay at their defaults.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from planner.frozen import frozen

# A factor "moves" a figure when a 10% change in it changes the figure's log by this much.
SENSITIVITY = 1e-3
PROBE = math.log(1.1)  # the 10% change
# Kept when its effect is not explained by the factors kept before it to within this share.
INDEPENDENCE = 0.1
MAX_ITERATIONS = 100
STEP = 1e-5  # forward-difference step, in the factor's coordinate (log, or share of range)
# A simulated figure moves in steps as events reorder: its derivative is taken over a 1%
# change (``fit(step=NOISY_STEP)``), which the steps do not dominate.
NOISY_STEP = 1e-2
TOLERANCE = 1e-15  # stop when the cost falls by less than this share


@frozen
class Factor:
    """One efficiency factor a calibration fits: its default and the range searched."""

    name: str
    default: float
    low: float
    high: float
    log: bool  # fitted in log space (a fraction); else linearly (a time that may be 0)


@dataclass
class Fitted:
    values: dict[str, float]  # every factor: fitted, or its default when not identified
    fitted: tuple[str, ...]
    unidentified: dict[str, str | None] = field(default_factory=dict)  # name -> the factor it moves with
    at_bound: dict[str, str] = field(default_factory=dict)  # name -> "low" | "high"
    points: int = 0  # figures fitted
    rms_before: float = 0.0  # RMS log error at the defaults
    rms_after: float = 0.0
    iterations: int = 0


Residuals = Callable[[dict[str, float]], list[float | None]]


def _coord(f: Factor, value: float) -> float:
    return math.log(value) if f.log else (value - f.low) / (f.high - f.low)


def _value(f: Factor, x: float) -> float:
    v = math.exp(x) if f.log else f.low + x * (f.high - f.low)
    return min(f.high, max(f.low, v))


def _span(f: Factor) -> tuple[float, float]:
    return _coord(f, f.low), _coord(f, f.high)


class _Problem:
    def __init__(self, factors: list[Factor], residuals: Residuals):
        self.factors = factors
        self.residuals = residuals
        self.start = {f.name: min(f.high, max(f.low, f.default)) for f in factors}
        first = residuals(self.start)
        self.mask = [r is not None for r in first]  # figures the estimator has at the defaults

    def vector(self, values: dict[str, float]) -> list[float] | None:
        out = self.residuals(values)
        picked = [r for r, keep in zip(out, self.mask) if keep]
        return None if any(r is None for r in picked) else picked


def _probe(p: _Problem, base: list[float]) -> dict[str, list[float]]:
    """Each factor's effect on the residuals for a 10% change (5% of its range from 0)."""
    out = {}
    for f in p.factors:
        values = dict(p.start)
        v = values[f.name]
        if f.log or v > 0:
            moved = v * 1.1 if v * 1.1 <= f.high else v / 1.1
            scale = PROBE if moved > v else -PROBE
        else:
            moved, scale = f.low + 0.05 * (f.high - f.low), PROBE
        values[f.name] = moved
        r = p.vector(values)
        out[f.name] = [0.0] * len(base) if r is None else [(a - b) * PROBE / scale for a, b in zip(r, base)]
    return out


def identify(p: _Problem, base: list[float]) -> tuple[list[str], dict[str, str | None]]:
    """(factors kept, {factor: the kept factor it moves with, or None}) by Gram-Schmidt on the
    probe columns, strongest first."""
    columns = _probe(p, base)
    order = sorted(columns, key=lambda n: -_norm(columns[n]))
    kept: list[str] = []
    basis: list[list[float]] = []
    left: dict[str, str | None] = {}
    for name in order:
        col = columns[name]
        if max((abs(c) for c in col), default=0.0) < SENSITIVITY:
            left[name] = None
            continue
        rest = list(col)
        for q in basis:
            dot = sum(a * b for a, b in zip(rest, q))
            rest = [a - dot * b for a, b in zip(rest, q)]
        if _norm(rest) < INDEPENDENCE * _norm(col):
            left[name] = max(kept, key=lambda k: abs(_cosine(col, columns[k])))
            continue
        norm = _norm(rest)
        basis.append([a / norm for a in rest])
        kept.append(name)
    return [f.name for f in p.factors if f.name in kept], left


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(a * a for a in v))


def _cosine(a: list[float], b: list[float]) -> float:
    na, nb = _norm(a), _norm(b)
    return sum(x * y for x, y in zip(a, b)) / (na * nb) if na and nb else 0.0


def _cost(r: list[float] | None) -> float:
    return math.inf if r is None else sum(a * a for a in r)


def _solve(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Gaussian elimination with partial pivoting; None when singular."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        pivot = max(range(c, n), key=lambda r: abs(m[r][c]))
        if abs(m[pivot][c]) < 1e-300:
            return None
        m[c], m[pivot] = m[pivot], m[c]
        for r in range(c + 1, n):
            k = m[r][c] / m[c][c]
            for j in range(c, n + 1):
                m[r][j] -= k * m[c][j]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        x[r] = (m[r][n] - sum(m[r][j] * x[j] for j in range(r + 1, n))) / m[r][r]
    return x


class _Search:
    """Levenberg-Marquardt over the identified factors' coordinates, bounds kept."""

    def __init__(self, p: _Problem, names: list[str], step: float):
        self.p = p
        self.step = step
        self.free = [f for f in p.factors if f.name in names]
        self.x = [_coord(f, p.start[f.name]) for f in self.free]

    def values(self, x: list[float]) -> dict[str, float]:
        out = dict(self.p.start)
        out.update({f.name: _value(f, xi) for f, xi in zip(self.free, x)})
        return out

    def clip(self, x: list[float]) -> list[float]:
        return [min(hi, max(lo, xi)) for xi, (lo, hi) in zip(x, map(_span, self.free))]

    def jacobian(self, r: list[float]) -> list[list[float]]:
        cols = []
        for k, (lo, hi) in enumerate(map(_span, self.free)):
            step = self.step if self.x[k] + self.step <= hi else -self.step
            x = list(self.x)
            x[k] += step
            moved = self.p.vector(self.values(x))
            cols.append([0.0] * len(r) if moved is None else [(a - b) / step for a, b in zip(moved, r)])
        return cols

    def run(self) -> int:
        r = self.p.vector(self.values(self.x))
        cost, lam = _cost(r), 1e-3
        for iteration in range(1, MAX_ITERATIONS + 1):
            cols = self.jacobian(r)
            grad = [sum(c * e for c, e in zip(col, r)) for col in cols]
            active = [k for k, (lo, hi) in enumerate(map(_span, self.free))
                      if not ((self.x[k] <= lo and grad[k] > 0) or (self.x[k] >= hi and grad[k] < 0))]
            if not active:
                return iteration
            improved = False
            while lam < 1e12:
                a = [[sum(x * y for x, y in zip(cols[i], cols[j])) for j in active] for i in active]
                for i in range(len(active)):
                    a[i][i] += lam * a[i][i] + 1e-12
                delta = _solve(a, [-grad[k] for k in active])
                if delta is None:
                    break
                x = list(self.x)
                for k, d in zip(active, delta):
                    x[k] += d
                x = self.clip(x)
                trial = self.p.vector(self.values(x))
                if _cost(trial) < cost:
                    gain = (cost - _cost(trial)) / max(cost, 1e-300)
                    self.x, r, cost, lam = x, trial, _cost(trial), max(lam / 10.0, 1e-12)
                    improved = True
                    break
                lam *= 10.0
            if not improved or gain < TOLERANCE or cost < 1e-28:
                return iteration
        return MAX_ITERATIONS


def fit(factors: list[Factor], residuals: Residuals, step: float = STEP) -> Fitted:
    """The factors within their bounds that minimise the sum of squared log errors (``step``:
    the Jacobian's forward difference; NOISY_STEP for simulated figures)."""
    p = _Problem(factors, residuals)
    base = p.vector(p.start)
    points = len(base) if base is not None else 0
    defaults = dict(p.start)
    if not points:
        return Fitted(defaults, (), {f.name: None for f in factors})
    names, left = identify(p, base)
    rms_before = math.sqrt(_cost(base) / points)
    if not names:
        return Fitted(defaults, (), left, points=points, rms_before=rms_before, rms_after=rms_before)
    search = _Search(p, names, step)
    iterations = search.run()
    values = search.values(search.x)
    after = p.vector(values)
    bounds = {}
    for f in search.free:
        if values[f.name] <= f.low * (1 + 1e-9) + 1e-15:
            bounds[f.name] = "low"
        elif values[f.name] >= f.high * (1 - 1e-9):
            bounds[f.name] = "high"
    return Fitted(values, tuple(names), left, bounds, points, rms_before,
                  math.sqrt(_cost(after) / points), iterations)
