"""Launch configs from a solve result: DeepSpeed, vLLM, SkyPilot.

``artifacts(result, tool, ...)`` gives one file per applicable row (a sweep
gives one per variant): DeepSpeed for training rows, vLLM for serving rows,
SkyPilot for every row. Rows that do not fit have nothing to launch and are
skipped with a note; rows whose layout the target cannot run are refused with
the reason (docs/exports.md). What a file cannot carry is a note: a comment in
the file (a DeepSpeed JSON has none; its notes go beside it) and a line on
stderr. The result is the typed ``planner.result.Result``; model checkpoints
come from ``models`` (plan model name -> Hugging Face id or local path, see
``model_references``), a service's own ``checkpoint`` before that, and what
the plan adds (shapes, disk bytes) from ``launches`` (``context.launches``).
"""

from __future__ import annotations

from planner.result import Result, Row

import difflib
import os
import re
from dataclasses import dataclass, field

from planner import units as text
from planner.errors import PlanError, PlanNameError, PlanWarning
from planner.export import deepspeed, skypilot, vllm
from planner.export.context import row_key
from planner.export.names import HF_REPOS, row_words

TOOLS = ("deepspeed", "vllm", "skypilot")
_EXTENSIONS = {"deepspeed": ".deepspeed.json", "vllm": ".vllm.sh", "skypilot": ".sky.yaml"}
_KINDS = {"deepspeed": ("finetune", "pretrain"), "vllm": ("serve",), "skypilot": ("serve", "finetune", "pretrain")}


@dataclass
class Artifact:
    filename: str
    text: str
    notes: list[str] = field(default_factory=list)

    def sidecar(self) -> tuple[str, str] | None:
        """(file name, text) of the notes written beside a file that cannot hold comments."""
        if not self.notes or not self.filename.endswith(".json"):
            return None
        name = self.filename[:-len(".json")] + ".notes.txt"
        return name, "".join(f"{self.filename}: {note}\n" for note in self.notes)


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


def refusal(row: Row, tool: str) -> str | None:
    """Why ``tool``'s stack cannot run the row as solved, or None."""
    if tool == "deepspeed":
        refused = deepspeed.refusal(row)
        stack = row.inputs.stack
        if refused and stack not in (None, "deepspeed", "hf"):
            refused += f" (the row was planned for the {stack} stack, which runs it)"
        return refused
    if tool == "vllm" or (tool == "skypilot" and row.kind == "serve"):
        return vllm.refusal(row)
    return None


def artifacts(result: Result, tool: str, workload: str | None = None,
              models: dict[str, str] | None = None, launches: dict | None = None,
              override: bool = False, warnings: list | None = None) -> tuple[list[Artifact], list[str]]:
    """(files, notes about rows skipped or refused). ``launches``: row key -> Launch (the
    plan's checkpoints, shapes and disk bytes); ``override``: ``models`` comes from --model
    and beats a service's `checkpoint`; ``warnings`` receives a PlanWarning per service that
    names no checkpoint."""
    models = models or {}
    launches = launches or {}
    files, skipped, warned = [], [], set()
    for row in select(result, tool, workload):
        if not row.fits or not row.gpu:
            skipped.append(f"{_slug(row)}: {text.verdict(row)}; nothing to launch")
            continue
        refused = refusal(row, tool)
        if refused:
            skipped.append(f"{_slug(row)}: refused for {tool}: {refused}")
            continue
        launch = launches.get(row_key(row.name, row.scenario))
        model, named = _checkpoint(row, models, launch, override)
        if not named and row.kind == "serve" and warnings is not None and row.name not in warned:
            warned.add(row.name)
            warnings.append(PlanWarning(
                f"serve {row.name!r} names no `checkpoint`: vLLM loads {model}, the base model's"
                " repository", launch.workload_span if launch else None,
                "state the served repository (an Instruct or quantized one): checkpoint = \"ORG/NAME\""))
        files.append(_artifact(row, tool, model, named, launch, result))
    if not files:
        raise PlanError(f"nothing to export --to {tool}: " + "; ".join(skipped))
    return files, skipped


def _checkpoint(row: Row, models: dict[str, str], launch, override: bool) -> tuple[str, bool]:
    """(what vLLM loads, whether the plan or --model named it)."""
    if override:
        return models.get(row.model, row.model), True
    if launch is not None and launch.checkpoint:
        return launch.checkpoint, True
    return models.get(row.model, row.model), False


def _artifact(row: Row, tool: str, model: str, named: bool, launch, result: Result) -> Artifact:
    name = _slug(row) + _EXTENSIONS[tool]
    if tool == "deepspeed":
        return Artifact(name, deepspeed.render(row), deepspeed.notes(row))
    native = getattr(launch.arch, "precision", None) if launch is not None else None
    if tool == "vllm":
        remarks = vllm.notes(row, model, named, native=native)
        return Artifact(name, vllm.render(row, model, remarks), remarks)
    use = result.gpus.get(row.gpu) if result.gpus else None
    per_node = use.per_node if use else None
    remarks = skypilot.notes(row, model, launch, per_node)
    if row.kind == "serve":
        remarks += vllm.notes(row, model, named, skypilot.instances(row, launch, per_node)[0], native)
    else:
        remarks += deepspeed_problem(row)
    return Artifact(name, skypilot.render(row, model, launch, per_node, remarks), remarks)


def deepspeed_problem(row: Row) -> list[str]:
    """A training row's layout DeepSpeed would refuse, as a note on its SkyPilot task."""
    refused = deepspeed.refusal(row)
    return [f"DeepSpeed cannot run this layout: {refused}"] if refused else []
