"""A SkyPilot task YAML for any row: resources per node, node count, and for a
serving row that fits on one node per server, the vLLM command to run.

Fields as documented in SkyPilot's "SkyPilot YAML" reference
(docs.skypilot.co, v0.9.1, reference/yaml-spec): top-level ``name``,
``num_nodes``, ``resources`` (``accelerators``, ``cpus``, ``memory``,
``disk_size``, ``ports``), ``setup``, ``run``. Written by hand (no YAML
library) in a fixed key order, so the output is byte-for-byte stable.
"""

from __future__ import annotations

from planner.result import Row

import json
import math
import re

from planner.export import vllm
from planner.export.names import header, row_words, skypilot_gpu

# vLLM's OpenAI-compatible server listens on 8000 by default (vLLM docs,
# "OpenAI-Compatible Server", --port default 8000).
VLLM_PORT = 8000
# SkyPilot's default OS disk, GB (sky/resources.py DEFAULT_DISK_SIZE_GB = 256); a row
# needing more local disk per node than this asks for it, a smaller need keeps the default.
SKYPILOT_DEFAULT_DISK_GB = 256

_PLAIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]*$")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "~"}


def scalar(value) -> str:
    """A YAML scalar: plain when unambiguous, else double-quoted (JSON escapes are valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _SPECIAL and not re.match(r"^[0-9.+-]", text):
        return text
    return json.dumps(text)


def _block(text: str, indent: str = "  ") -> str:
    return "|\n" + "".join(f"{indent}{line}\n" for line in text.splitlines())


def task(row: Row, model: str | None) -> dict:
    """The task as an ordered dict of what gets written."""
    nodes = max(1, row.nodes or 1)
    per_node = max(1, math.ceil((row.gpu_count or 1) / nodes))
    resources: dict = {"accelerators": f"{skypilot_gpu(row.gpu)}:{per_node}"}
    # The result's host figures cover the whole row; SkyPilot's are per node.
    host = row.host
    if host.cpu_cores:
        resources["cpus"] = f"{math.ceil(host.cpu_cores / nodes)}+"
    if host.ram_bytes:
        # SkyPilot memory is in GiB (sky/resources.py MEMORY_SIZE_UNITS: g = 2**30).
        resources["memory"] = f"{math.ceil(host.ram_bytes / nodes / 2**30)}+"
    disk = math.ceil((host.nvme_bytes or 0) / nodes / 10**9)  # GB
    if disk > SKYPILOT_DEFAULT_DISK_GB:
        resources["disk_size"] = disk
    out: dict = {"name": _task_name(row), "num_nodes": nodes, "resources": resources}
    if row.kind == "serve" and model is not None:
        count, _ = vllm.servers(row)
        if count == nodes:  # each node runs a whole server
            resources["ports"] = VLLM_PORT
            out["setup"] = "pip install vllm"
            out["run"] = vllm.command(row, model)
    return out


def notes(row: Row) -> list[str]:
    """What a SkyPilot task cannot say: a training row's layout is the launcher's business."""
    if row.kind == "serve":
        return []
    from planner.units import layout

    return [f"{layout(row.layout)}: SkyPilot sets the nodes and GPUs; the parallel layout goes"
            " to the training launcher (--to deepspeed, or Megatron's arguments)"]


def _task_name(row: Row) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", row_words(row)).strip("-").lower()
    # SkyPilot names start with a letter.
    return name if name[:1].isalpha() else f"w-{name}"


def render(row: Row, model: str | None) -> str:
    spec = task(row, model)
    lines = [header(row)]
    lines.append(f"name: {scalar(spec['name'])}")
    lines.append(f"num_nodes: {spec['num_nodes']}")
    lines.append("resources:")
    for key, value in spec["resources"].items():
        lines.append(f"  {key}: {scalar(value)}")
    text = "\n".join(lines) + "\n"
    for key in ("setup", "run"):
        if key in spec:
            text += f"{key}: " + _block(spec[key])
    return text
