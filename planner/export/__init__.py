"""Launch configs from a solve result: DeepSpeed, vLLM, SkyPilot.

``artifacts(result, tool, ...)`` gives one file per applicable row (a sweep
gives one per variant): DeepSpeed for training rows, vLLM for serving rows,
SkyPilot for every row. Rows that do not fit have nothing to launch and are
skipped with a note. The result is the typed
``planner.result.Result``; model checkpoints come from ``models``
(plan model name -> Hugging Face id or local path), see ``model_references``.
"""

from __future__ import annotations

from planner.result import Result, Row

import difflib
import os
import re
from dataclasses import dataclass, field

from planner import units as text
from planner.errors import PlanError, PlanNameError
from planner.export import deepspeed, skypilot, vllm
from planner.export.names import HF_REPOS, row_words

TOOLS = ("deepspeed", "vllm", "skypilot")
_EXTENSIONS = {"deepspeed": ".deepspeed.json", "vllm": ".vllm.sh", "skypilot": ".sky.yaml"}
_KINDS = {"deepspeed": ("finetune", "pretrain"), "vllm": ("serve",), "skypilot": ("serve", "finetune", "pretrain")}


@dataclass
class Artifact:
    filename: str
    text: str
    notes: list[str] = field(default_factory=list)


def model_references(plan) -> dict[str, str]:
    """Plan model name -> what vLLM loads: a local checkpoint directory for a model
    read from ``config = "..."`` (the directory holding its config.json, or the snapshot
    directory named), the hub id of ``config = "hf:ORG/NAME"``, else the
    Hugging Face id of the catalog model its ``like`` chain ends at, else the name."""
    by_name = {m.name: m for m in plan.models}
    out = {}
    for model in plan.models:
        out[model.name] = _reference(model, by_name)
    return out


def _reference(model, by_name: dict) -> str:
    current, seen = model, {model.name}
    while True:
        if current.config:
            if current.config.startswith("hf:"):  # a model in the local Hugging Face cache
                return current.config[3:].partition("@")[0]
            base = os.path.dirname(current.span.file) if current.span else ""
            path = os.path.normpath(os.path.join(base, current.config))
            if not current.config.endswith(".json"):  # a snapshot directory
                return path
            return os.path.dirname(path) or "."
        if current.name in HF_REPOS:
            return HF_REPOS[current.name]
        parent = current.like
        if not parent or parent in seen:
            return model.name
        if parent in HF_REPOS:
            return HF_REPOS[parent]
        seen.add(parent)
        current = by_name.get(parent)
        if current is None:
            return model.name


def _slug(row: Row) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", row_words(row)).strip("-")


def select(result: Result, tool: str, workload: str | None) -> list[Row]:
    """The rows to export; a named workload must exist and suit the tool."""
    if tool not in TOOLS:
        raise PlanError(f"unknown export target {tool!r}: expected one of {', '.join(TOOLS)}")
    rows = result.workloads
    if workload is not None:
        names = sorted({r.name for r in rows})
        chosen = [r for r in rows if r.name == workload]
        if not chosen:
            close = difflib.get_close_matches(workload, names, n=1)
            raise PlanNameError(
                f"no workload {workload!r} in the plan"
                + (f"; did you mean {close[0]!r}?" if close else f" (workloads: {', '.join(names)})")
            )
        if chosen[0].kind not in _KINDS[tool]:
            raise PlanError(
                f"{workload} is a {chosen[0].kind} workload; --to {tool} applies to"
                f" {' and '.join(_KINDS[tool])} workloads"
            )
        return chosen
    chosen = [r for r in rows if r.kind in _KINDS[tool]]
    if not chosen:
        raise PlanError(f"no {' or '.join(_KINDS[tool])} workload in the plan to export --to {tool}")
    return chosen


def artifacts(result: Result, tool: str, workload: str | None = None,
              models: dict[str, str] | None = None) -> tuple[list[Artifact], list[str]]:
    """(files, notes about skipped rows)."""
    models = models or {}
    files, skipped = [], []
    for row in select(result, tool, workload):
        if not row.fits or not row.gpu:
            skipped.append(f"{_slug(row)}: {text.verdict(row)}; nothing to launch")
            continue
        model = models.get(row.model, row.model)
        name = _slug(row) + _EXTENSIONS[tool]
        if tool == "deepspeed":
            files.append(Artifact(name, deepspeed.render(row), deepspeed.notes(row)))
        elif tool == "vllm":
            files.append(Artifact(name, vllm.render(row, model), vllm.notes(row, model)))
        else:
            files.append(Artifact(name, skypilot.render(row, model), skypilot.notes(row)))
    if not files:
        raise PlanError(f"nothing to export --to {tool}: " + "; ".join(skipped))
    return files, skipped
