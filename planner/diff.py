"""What a change to a plan does to its cost, and why: ``planner diff``.

Works on two typed solve results (``planner.result.Result``), never on the
solver, and gives a typed ``Diff`` (``diffview`` spells it): rows are matched by
workload name and sweep scenario, and the causes of a change are read from what the results say the
rows were solved for (``inputs``) and from the GPU offer (``gpus``: price and
availability). ``git_reader`` reads a plan and its imports at a git revision,
for ``planner diff --rev``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
from typing import Callable

from planner import units as text
from planner.errors import PlanError, PlanImportError
from planner.diff_detail import schedule_changes, shares
from planner.frozen import frozen
from planner.result import Inputs, Result, Row, RowLayout, plain_data

# The order in which a row's changed inputs are named: the workload's own
# knobs first (what the author most likely touched), then limits.
INPUT_ORDER = (
    "model", "method", "users", "rate", "context", "prompt", "output", "prefix_cache",
    "engine", "dataset_tokens", "dataset_bytes",
    "epochs", "seq_len", "batch", "weights", "kv", "optimizer", "rank",
    "every_hours", "runs", "start_after_hours", "deadline_hours", "tpot_ms", "ttft_ms",
    "tpot_p99_ms", "ttft_p99_ms", "budget",
)

# How each input is named in a cause ("dataset 1GB → 10GB").
_INPUT_LABELS = {
    "every_hours": "every",
    "start_after_hours": "start_after",
    "deadline_hours": "deadline",
    "tpot_ms": "tpot",
    "ttft_ms": "ttft",
    "tpot_p99_ms": "tpot_p99",
    "ttft_p99_ms": "ttft_p99",
}


@frozen
class Side:
    """One version of the plan, as the review shows it."""

    plan: str
    file: str
    status: str
    total_cost: float
    currency: str
    run_rate_cost: float = 0.0  # per period_hours
    one_off_cost: float = 0.0
    period_hours: float = 730.0


@frozen
class ServiceShown:
    """What a service row does under its load, as a review compares it: latencies (median
    and p99 where simulated, else the mean) and headroom (1 - load / capacity)."""

    ttft: float | None
    ttft_p99: float | None
    tpot: float | None
    tpot_p99: float | None
    headroom: float
    requests_per_second: float


@frozen
class Shown:
    """What a row's result shows; a difference in any of these makes the row "changed"."""

    fits: bool
    gpu: str | None
    gpu_count: int | None
    nodes: int | None
    layout: RowLayout | None
    hours: float | None
    cost: float | None
    decided_by: str | None = None  # what decided it (a row not placed: why); not a change alone
    billing: str | None = None  # run-rate | one-off
    starts: tuple[float, ...] = ()  # in a scheduled window: each run's start (hours)
    service: ServiceShown | None = None

    def placement(self) -> tuple:
        """What makes a row "changed" when it differs."""
        return (self.fits, self.gpu, self.gpu_count, self.nodes, self.layout, self.hours, self.cost,
                self.billing, self.starts, self.service)


@frozen
class Total:
    """A total before and after, and its change."""

    old: float
    new: float
    delta: float
    percent: float | None  # None: nothing before (no base to divide by)


@frozen
class RowChange:
    """One workload row before and after, and why it changed."""

    name: str
    kind: str
    scenario: dict[str, str]
    old: Shown | None  # None: the row was added
    new: Shown | None  # None: the row was removed
    delta: float
    percent: float | None
    status: str  # added | removed | changed | unchanged
    causes: tuple[str, ...]
    billing: str | None = None  # the new row's (the old one's when removed)
    run_rate_delta: float = 0.0  # what the row's change does to the run rate per period
    one_off_delta: float = 0.0  # ... and to the one-offs
    schedule: tuple[str, ...] = ()  # a job's repeats and runs that moved


@frozen
class Diff:
    """Two results compared: the totals, the plan-wide changes and each row's."""

    old: Side
    new: Side
    currency: str
    total: Total  # the period's total
    changes: tuple[str, ...]  # plan-wide and offer changes
    workloads: tuple[RowChange, ...]
    run_rate: Total | None = None  # per period_hours (an old run rate restated per the new period)
    one_off: Total | None = None
    period_hours: float = 730.0  # the new plan's period

    def to_json(self) -> dict:
        return plain_data(self)


def _input_value(key: str, value) -> str:
    if value is None:
        return "unset"
    if key == "dataset_bytes":
        return text.plan_bytes(int(value))
    if key == "dataset_tokens":
        return f"{text.count(int(value))} tokens"
    if key in ("deadline_hours", "every_hours", "start_after_hours"):
        return text.duration(float(value))
    if key in ("tpot_ms", "ttft_ms", "tpot_p99_ms", "ttft_p99_ms"):
        return text.latency(float(value) / 1000.0)
    if key == "rate":
        return text.per_second(float(value))
    if key == "prefix_cache":
        return text.share(float(value))
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return text.count(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def row_key(row) -> tuple:
    """Rows are the same workload (and sweep variant) when name and scenario match."""
    return (row.name, tuple(sorted((row.scenario or {}).items())))


def _dataset(inputs: Inputs) -> str | None:
    """The dataset as the plan wrote it: bytes (tokens are then derived) or tokens."""
    if inputs.dataset_bytes is not None:
        return _input_value("dataset_bytes", inputs.dataset_bytes)
    if inputs.dataset_tokens is not None:
        return _input_value("dataset_tokens", inputs.dataset_tokens)
    return None


def _input_keys() -> list[str]:
    names = [f.name for f in dataclasses.fields(Inputs)]
    return [k for k in INPUT_ORDER if k in names] + sorted(set(names) - set(INPUT_ORDER))


def input_causes(old: Row, new: Row) -> list[str]:
    """The inputs a row was solved for that differ, in a stable order."""
    before, after = old.inputs, new.inputs
    causes = []
    dataset_seen = False
    for key in _input_keys():
        if key in ("dataset_tokens", "dataset_bytes"):
            # One input however it is given: tokens in one version and bytes
            # in the other is one change, not two.
            if not dataset_seen:
                dataset_seen = True
                a, b = _dataset(before), _dataset(after)
                if a != b:
                    causes.append(f"dataset {a or 'unset'} → {b or 'unset'}")
                elif before.dataset_tokens != after.dataset_tokens:
                    # same bytes, another tokenization (bytes_per_token changed)
                    causes.append(
                        f"dataset {a}: {_input_value('dataset_tokens', before.dataset_tokens)}"
                        f" → {_input_value('dataset_tokens', after.dataset_tokens)}"
                    )
            continue
        a, b = getattr(before, key), getattr(after, key)
        if a != b:
            label = _INPUT_LABELS.get(key, key)
            causes.append(f"{label} {_input_value(key, a)} → {_input_value(key, b)}")
    return causes


def gpu_changes(old: Result, new: Result, names, currency: str) -> list[str]:
    """Price, availability and offer changes of the named GPU types."""
    causes = []
    for name in sorted(n for n in names if n):
        a, b = old.gpus.get(name), new.gpus.get(name)
        if a is None and b is None:
            continue
        if a is None:
            causes.append(f"{name} newly offered ({text.available(b.available)} available)")
            continue
        if b is None:
            causes.append(f"{name} no longer offered")
            continue
        if a.price_per_hour != b.price_per_hour:
            causes.append(f"price {name} {text.price(a.price_per_hour, currency)}"
                          f" → {text.price(b.price_per_hour, currency)}")
        if a.available != b.available:
            causes.append(f"availability {name} {text.available(a.available)}"
                          f" → {text.available(b.available)}")
        if a.memory_bytes != b.memory_bytes or a.usable_bytes != b.usable_bytes:
            causes.append(f"memory {name} {text.memory(a.usable_bytes)}"
                          f" → {text.memory(b.usable_bytes)} usable")
    return causes


def plan_changes(old: Result, new: Result) -> list[str]:
    """Plan-wide settings that changed: objective, budget, currency, period, window."""
    causes = []
    if old.objective != new.objective:
        causes.append(f"objective {old.objective} → {new.objective}")
    if old.period_hours != new.period_hours:
        causes.append(f"period {text.the_period(old.period_hours)} → {text.the_period(new.period_hours)} "
                      "(the old run rate is restated per the new period)")
    if old.window_hours != new.window_hours:
        causes.append(f"window {text.duration(old.window_hours) if old.window_hours else 'none'} → "
                      f"{text.duration(new.window_hours) if new.window_hours else 'none'}")
    if old.budget != new.budget:
        currency = new.currency or "USD"
        causes.append(f"plan budget {text.money(old.budget, currency)}"
                      f" → {text.money(new.budget, currency)}")
    if old.currency != new.currency:
        causes.append(f"currency {old.currency} → {new.currency}")
    return causes


def _shown(row: Row) -> Shown:
    return Shown(fits=row.fits, gpu=row.gpu, gpu_count=row.gpu_count, nodes=row.nodes,
                 layout=row.layout, hours=row.hours, cost=row.cost, decided_by=row.decided_by,
                 billing=row.billing, starts=tuple(r.start_hours for r in row.schedule or ()),
                 service=_service_shown(row))


def _service_shown(row: Row) -> ServiceShown | None:
    svc = row.service
    if svc is None:
        return None
    simulated = svc.ttft_p50_seconds is not None
    return ServiceShown(
        ttft=svc.ttft_p50_seconds if simulated else svc.ttft_mean_seconds,
        ttft_p99=svc.ttft_p99_seconds,
        tpot=svc.tpot_p50_seconds if simulated else svc.tpot_mean_seconds,
        tpot_p99=svc.tpot_p99_seconds,
        headroom=round(max(0.0, 1.0 - svc.load_share), 6),
        requests_per_second=svc.requests_per_second,
    )


def _delta(before: float | None, after: float | None) -> tuple[float, float | None]:
    a, b = before or 0.0, after or 0.0
    change = round(b - a, 6)
    pct = round(change / a * 100.0, 6) if a else None
    return change, pct


def _row_change(old: Result, new: Result, a: Row | None, b: Row | None,
                settings: list[str], offer: list[str], currency: str) -> RowChange:
    base = a or b
    delta, percent = _delta(a and a.cost, b and b.cost)
    shown_old, shown_new = (_shown(a) if a else None), (_shown(b) if b else None)
    if a is None:
        status, causes = "added", ["workload added"]
    elif b is None:
        status, causes = "removed", ["workload removed"]
    else:
        causes = input_causes(a, b) + gpu_changes(old, new, {a.gpu, b.gpu}, currency)
        moved = shown_old.placement() != shown_new.placement()
        if moved:
            causes += settings
            if not causes:
                # Nothing this row depends on directly changed; what moved it is the
                # offer of other GPU types or the shared limits (availability, budget)
                # other workloads now use.
                causes += offer or [
                    "no input of this workload changed: shared limits with other workloads"
                ]
        status = "changed" if moved or causes else "unchanged"
    (old_rate, old_once), (new_rate, new_once) = shares(a), shares(b)
    return RowChange(name=base.name, kind=base.kind, scenario=dict(base.scenario or {}),
                     old=shown_old, new=shown_new, delta=delta, percent=percent,
                     status=status, causes=tuple(causes), billing=(b or a).billing,
                     run_rate_delta=round(new_rate - old_rate, 6),
                     one_off_delta=round(new_once - old_once, 6),
                     schedule=tuple(schedule_changes(a, b)))


def diff_results(old: Result, new: Result) -> Diff:
    """The review of ``old`` → ``new``: one entry per row, totals, and causes."""
    currency = new.currency or old.currency or "USD"
    old_rows = {row_key(r): r for r in old.workloads}
    new_rows = {row_key(r): r for r in new.workloads}
    settings = plan_changes(old, new)
    offer = gpu_changes(old, new, set(old.gpus) | set(new.gpus), currency)
    order = [row_key(r) for r in new.workloads]
    order += [row_key(r) for r in old.workloads if row_key(r) not in new_rows]
    rows = tuple(_row_change(old, new, old_rows.get(k), new_rows.get(k), settings, offer, currency)
                 for k in order)
    # an old run rate over another period is restated per the new one (per hour, the same)
    restate = new.period_hours / old.period_hours if old.period_hours else 1.0
    run_rate = _total(old.run_rate_cost * restate, new.run_rate_cost)
    one_off = _total(old.one_off_cost, new.one_off_cost)
    total = (_total(old.total_cost, new.total_cost) if restate == 1.0
             else _total(run_rate.old + one_off.old, new.total_cost))
    return Diff(old=_side(old), new=_side(new), currency=currency, total=total,
                changes=tuple(settings + offer), workloads=rows, run_rate=run_rate,
                one_off=one_off, period_hours=new.period_hours)


def _total(old: float, new: float) -> Total:
    delta, percent = _delta(old, new)
    return Total(old=round(old, 6), new=new, delta=delta, percent=percent)


def _side(result: Result) -> Side:
    return Side(plan=result.plan, file=result.file, status=result.status,
                total_cost=result.total_cost, currency=result.currency,
                run_rate_cost=result.run_rate_cost, one_off_cost=result.one_off_cost,
                period_hours=result.period_hours)


# ----------------------------------------------------------------------------- policy


TARGETS = ("total", "run-rate", "one-off")  # what --fail-above may watch


@frozen
class Threshold:
    """``--fail-above``: an amount in the plan's currency, or a percentage of the old amount,
    of the period's total (the default), of the run rate or of the one-offs."""

    value: float
    is_percent: bool
    target: str = "total"

    def watched(self, diff: Diff) -> Total:
        if self.target == "run-rate":
            return diff.run_rate
        if self.target == "one-off":
            return diff.one_off
        return diff.total

    def exceeded(self, diff: Diff) -> bool:
        total = self.watched(diff)
        if self.is_percent:
            if total.percent is None:  # nothing before: any rise is an unbounded rise
                return total.delta > 0
            return total.percent > self.value
        return total.delta > self.value

    def describe(self, currency: str) -> str:
        amount = f"{self.value:g}%" if self.is_percent else text.money(self.value, currency)
        return amount if self.target == "total" else f"{self.target}:{amount}"


_THRESHOLD = re.compile(r"^\s*(?:([a-z-]+)\s*:)?\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*$")


def parse_threshold(value: str) -> Threshold:
    """``500`` (currency) or ``10%`` of the period's total; ``run-rate:10%`` or
    ``one-off:500`` for either part; anything else is a PlanError (exit 2)."""
    match = _THRESHOLD.match(value)
    if not match or (match.group(1) or "total") not in TARGETS:
        raise PlanError(
            f"--fail-above {value!r}: expected an amount like 500 or a percentage like 10%, "
            "optionally for run-rate: or one-off: (run-rate:10%)"
        )
    return Threshold(float(match.group(2)), match.group(3) == "%", match.group(1) or "total")


# ----------------------------------------------------------------------------- git


def _git(root: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", root, *args], capture_output=True, check=False
    )


def git_reader(rev: str, path: str) -> tuple[Callable[[str], str], str]:
    """A reader giving files as they were at ``rev``, and the name to show: ``REV:relpath``.

    Paths are taken relative to the repository holding ``path`` (the plan), so
    imports resolved by the loader next to the plan are read at the same
    revision. A path outside that repository, an unknown revision or a file
    absent at the revision is a PlanImportError.
    """
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if not os.path.isdir(directory):
        raise PlanImportError(f"{path}: no such directory {directory!r} to find its git repository in")
    try:
        found = _git(directory, "rev-parse", "--show-toplevel")
    except OSError as error:  # git itself is missing
        raise PlanImportError(f"--rev needs git: {error.strerror or error}") from None
    if found.returncode != 0:
        raise PlanImportError(f"{path} is not inside a git repository (needed for --rev {rev})")
    root = os.path.realpath(found.stdout.decode().strip())
    commit = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if commit.returncode != 0:
        raise PlanImportError(f"unknown revision {rev!r} in the git repository at {root}")
    sha = commit.stdout.decode().strip()

    def relative(name: str) -> str:
        full = os.path.realpath(os.path.abspath(name))
        rel = os.path.relpath(full, root)
        if rel == os.pardir or rel.startswith(os.pardir + os.sep):
            raise PlanImportError(
                f"{name} is outside the git repository at {root}; it cannot be read at revision {rev}"
            )
        return rel.replace(os.sep, "/")

    def reader(name: str) -> str:
        rel = relative(name)
        shown = _git(root, "show", f"{sha}:{rel}")
        if shown.returncode != 0:
            raise PlanImportError(f"{rel} does not exist at revision {rev}")
        try:
            return shown.stdout.decode("utf-8")
        except UnicodeDecodeError:
            raise PlanImportError(f"{rel} at revision {rev} is not UTF-8 text") from None

    label = f"{rev}:{relative(path)}"
    # The plan itself must exist at the revision: say so before any solving.
    reader(path)
    return reader, label
