"""What a change to a plan does to its cost, and why: ``planner diff``.

Works on two solve results (the JSON of ``planner solve --format json``, as
plain dicts), never on the solver: rows are matched by workload name and sweep
scenario, and the causes of a change are read from what the results say the
rows were solved for (``inputs``) and from the GPU offer (``gpus``: price and
availability). ``git_reader`` reads a plan and its imports at a git revision,
for ``planner diff --rev``.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from typing import Callable

from planner.errors import PlanError, PlanImportError
from planner import units as text

# The order in which a row's changed inputs are named: the workload's own
# knobs first (what the author most likely touched), then limits.
INPUT_ORDER = (
    "model", "method", "users", "context", "prompt", "dataset_tokens", "dataset_bytes",
    "epochs", "seq_len", "batch", "weights", "kv", "optimizer", "rank",
    "deadline_hours", "tpot_ms", "ttft_ms", "budget",
)

# How each input is named in a cause ("dataset 1GB → 10GB").
_INPUT_LABELS = {
    "deadline_hours": "deadline",
    "tpot_ms": "tpot",
    "ttft_ms": "ttft",
}

# What a row's result shows; a difference in any of these makes the row "changed".
_SHOWN = ("fits", "gpu", "gpu_count", "nodes", "layout", "hours", "cost")


def _input_value(key: str, value) -> str:
    if value is None:
        return "unset"
    if key == "dataset_bytes":
        return text.size(int(value))
    if key == "dataset_tokens":
        return f"{text.count(int(value))} tokens"
    if key == "deadline_hours":
        return text.hours(float(value))
    if key in ("tpot_ms", "ttft_ms"):
        return f"{float(value):g}ms"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return text.count(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _price(value, currency: str) -> str:
    if value is None:
        return "unpriced"
    return f"{text.money(float(value), currency)}/h"


def row_key(row: dict) -> tuple:
    """Rows are the same workload (and sweep variant) when name and scenario match."""
    return (row["name"], tuple(sorted((row.get("scenario") or {}).items())))


def _dataset(inputs: dict) -> str | None:
    """The dataset as the plan wrote it: bytes (tokens are then derived) or tokens."""
    if inputs.get("dataset_bytes") is not None:
        return _input_value("dataset_bytes", inputs["dataset_bytes"])
    if inputs.get("dataset_tokens") is not None:
        return _input_value("dataset_tokens", inputs["dataset_tokens"])
    return None


def input_causes(old: dict, new: dict) -> list[str]:
    """The inputs a row was solved for that differ, in a stable order."""
    before, after = old.get("inputs") or {}, new.get("inputs") or {}
    keys = [k for k in INPUT_ORDER if k in before or k in after]
    keys += sorted((set(before) | set(after)) - set(INPUT_ORDER))
    causes = []
    dataset_seen = False
    for key in keys:
        if key in ("dataset_tokens", "dataset_bytes"):
            # One input however it is given: tokens in one version and bytes
            # in the other is one change, not two.
            if not dataset_seen:
                dataset_seen = True
                a, b = _dataset(before), _dataset(after)
                if a != b:
                    causes.append(f"dataset {a or 'unset'} → {b or 'unset'}")
                elif before.get("dataset_tokens") != after.get("dataset_tokens"):
                    # same bytes, another tokenization (bytes_per_token changed)
                    causes.append(
                        f"dataset {a}: {_input_value('dataset_tokens', before.get('dataset_tokens'))}"
                        f" → {_input_value('dataset_tokens', after.get('dataset_tokens'))}"
                    )
            continue
        a, b = before.get(key), after.get(key)
        if a != b:
            label = _INPUT_LABELS.get(key, key)
            causes.append(f"{label} {_input_value(key, a)} → {_input_value(key, b)}")
    return causes


def gpu_changes(old: dict, new: dict, names, currency: str) -> list[str]:
    """Price, availability and offer changes of the named GPU types."""
    before, after = old.get("gpus") or {}, new.get("gpus") or {}
    causes = []
    for name in sorted(n for n in names if n):
        a, b = before.get(name), after.get(name)
        if a is None and b is None:
            continue
        if a is None:
            causes.append(f"{name} newly offered ({text.available(b.get('available'))} available)")
            continue
        if b is None:
            causes.append(f"{name} no longer offered")
            continue
        if a.get("price_per_hour") != b.get("price_per_hour"):
            causes.append(
                f"price {name} {_price(a.get('price_per_hour'), currency)}"
                f" → {_price(b.get('price_per_hour'), currency)}"
            )
        if a.get("available") != b.get("available"):
            causes.append(
                f"availability {name} {text.available(a.get('available'))}"
                f" → {text.available(b.get('available'))}"
            )
        if a.get("memory_bytes") != b.get("memory_bytes") or a.get("usable_bytes") != b.get(
            "usable_bytes"
        ):
            causes.append(
                f"memory {name} {text.gib(a.get('usable_bytes'))}"
                f" → {text.gib(b.get('usable_bytes'))} usable"
            )
    return causes


def plan_changes(old: dict, new: dict) -> list[str]:
    """Plan-wide settings that changed: objective, budget, currency."""
    causes = []
    if old.get("objective") != new.get("objective"):
        causes.append(f"objective {old.get('objective')} → {new.get('objective')}")
    if old.get("budget") != new.get("budget"):
        currency = new.get("currency") or "USD"
        causes.append(
            f"plan budget {text.money(old.get('budget'), currency)}"
            f" → {text.money(new.get('budget'), currency)}"
        )
    if old.get("currency") != new.get("currency"):
        causes.append(f"currency {old.get('currency')} → {new.get('currency')}")
    return causes


def _summary(row: dict) -> dict:
    return {key: row.get(key) for key in _SHOWN}


def _delta(before: float | None, after: float | None) -> tuple[float, float | None]:
    a, b = before or 0.0, after or 0.0
    change = round(b - a, 6)
    pct = round(change / a * 100.0, 6) if a else None
    return change, pct


def diff_results(old: dict, new: dict) -> dict:
    """The review of ``old`` → ``new``: one entry per row, totals, and causes."""
    currency = new.get("currency") or old.get("currency") or "USD"
    old_rows = {row_key(r): r for r in old.get("workloads", [])}
    new_rows = {row_key(r): r for r in new.get("workloads", [])}
    settings = plan_changes(old, new)
    all_gpus = set(old.get("gpus") or {}) | set(new.get("gpus") or {})
    offer = gpu_changes(old, new, all_gpus, currency)
    rows = []
    order = [row_key(r) for r in new.get("workloads", [])]
    order += [row_key(r) for r in old.get("workloads", []) if row_key(r) not in new_rows]
    for key in order:
        a, b = old_rows.get(key), new_rows.get(key)
        base = a or b
        entry = {
            "name": base["name"],
            "kind": base.get("kind"),
            "scenario": dict(base.get("scenario") or {}),
            "old": _summary(a) if a else None,
            "new": _summary(b) if b else None,
        }
        entry["delta"], entry["percent"] = _delta(a and a.get("cost"), b and b.get("cost"))
        if a is None:
            entry["status"], entry["causes"] = "added", ["workload added"]
        elif b is None:
            entry["status"], entry["causes"] = "removed", ["workload removed"]
        else:
            causes = input_causes(a, b)
            causes += gpu_changes(old, new, {a.get("gpu"), b.get("gpu")}, currency)
            moved = entry["old"] != entry["new"]
            if moved:
                causes += settings
                if not causes:
                    # Nothing this row depends on directly changed; what moved
                    # it is the offer of other GPU types or the shared limits
                    # (availability, budget) other workloads now use.
                    causes += offer or [
                        "no input of this workload changed: shared limits with other workloads"
                    ]
            entry["status"] = "changed" if moved or causes else "unchanged"
            entry["causes"] = causes
        rows.append(entry)
    total_delta, total_pct = _delta(old.get("total_cost"), new.get("total_cost"))
    return {
        "old": _side(old),
        "new": _side(new),
        "currency": currency,
        "total": {
            "old": old.get("total_cost"),
            "new": new.get("total_cost"),
            "delta": total_delta,
            "percent": total_pct,
        },
        "changes": settings + offer,
        "workloads": rows,
    }


def _side(result: dict) -> dict:
    return {
        "plan": result.get("plan"),
        "file": result.get("file"),
        "status": result.get("status"),
        "total_cost": result.get("total_cost"),
        "currency": result.get("currency"),
    }


# ----------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class Threshold:
    """``--fail-above``: an amount in the plan's currency, or a percentage of the old total."""

    value: float
    is_percent: bool

    def exceeded(self, diff: dict) -> bool:
        total = diff["total"]
        if self.is_percent:
            if total["percent"] is None:  # nothing before: any rise is an unbounded rise
                return total["delta"] > 0
            return total["percent"] > self.value
        return total["delta"] > self.value

    def describe(self, currency: str) -> str:
        return f"{self.value:g}%" if self.is_percent else text.money(self.value, currency)


_THRESHOLD = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(%?)\s*$")


def parse_threshold(value: str) -> Threshold:
    """``500`` (currency) or ``10%``; anything else is a PlanError (exit 2)."""
    match = _THRESHOLD.match(value)
    if not match:
        raise PlanError(
            f"--fail-above {value!r}: expected an amount like 500 or a percentage like 10%"
        )
    return Threshold(float(match.group(1)), match.group(2) == "%")


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
