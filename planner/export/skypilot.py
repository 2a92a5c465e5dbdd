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

from planner.estimate.host import CHECKPOINTS_KEPT
from planner.export import vllm
from planner.export.context import Launch, served_weights_bytes
from planner.export.names import header, row_words, skypilot_gpu

# vLLM's OpenAI-compatible server listens on 8000 by default (vLLM docs,
# "OpenAI-Compatible Server", --port default 8000).
VLLM_PORT = 8000
# SkyPilot's default OS disk, GB (sky/resources.py DEFAULT_DISK_SIZE_GB = 256): what a
# task gets for the OS and its software; the run's own bytes come on top (docs/exports.md).
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


def instances(row: Row, launch: Launch | None, per_node: int | None) -> tuple[int, int]:
    """(num_nodes, accelerators per node) that SkyPilot can rent for the row: whole nodes
    when the row needs more than one, else the smallest instance sold that holds its GPUs
    (the GPU type's ``shapes``; without them, the count itself)."""
    count = max(1, row.gpu_count or 1)
    gpu = row.gpu or ""
    node = (launch.per_node or {}).get(gpu) if launch else None
    node = node or per_node
    if not node:  # nothing known about the node: the result's own split
        nodes = max(1, row.nodes or 1)
        return nodes, math.ceil(count / nodes)
    if count > node:
        return math.ceil(count / node), node
    shapes = (launch.shapes or {}).get(gpu, ()) if launch else ()
    fitting = [s for s in shapes if s >= count]
    return 1, (min(fitting) if fitting else count)


def disk_gb(row: Row, launch: Launch | None, nodes: int) -> int | None:
    """Disk per node, GB (docs/exports.md, "Disk"): SkyPilot's default disk for the OS and
    the software, plus what the run keeps on a node: the weights as downloaded, and for
    training CHECKPOINTS_KEPT checkpoints (sharded over the nodes when ZeRO or model
    parallelism splits the state) and the node's shard of the data. None: the bytes are not
    known (a result without its plan), the default disk is kept."""
    if launch is None or (row.kind == "serve" and launch.arch is None):
        return None
    layout = row.layout
    if row.kind == "serve":
        weights = layout.weights or row.inputs.weights or "bf16"
        kept = served_weights_bytes(launch, weights) or 0
        if launch.checkpoint is None:  # online quantization downloads the base checkpoint
            kept = max(kept, served_weights_bytes(launch, launch.arch.precision) or 0)
    else:
        split = (layout.zero or 0) >= 1 or (layout.tp or 1) * (layout.pp or 1) > 1
        checkpoints = CHECKPOINTS_KEPT * (launch.train_checkpoint_bytes or 0)
        data_copies = max(1, min(nodes, layout.dp or 1))
        kept = ((launch.weights_bytes or 0) + (checkpoints / nodes if split else checkpoints)
                + (launch.dataset_bytes or 0) / data_copies)
    return SKYPILOT_DEFAULT_DISK_GB + math.ceil(kept / 10**9)


def task(row: Row, model: str | None, launch: Launch | None = None,
         per_node: int | None = None) -> dict:
    """The task as an ordered dict of what gets written."""
    nodes, accelerators = instances(row, launch, per_node)
    resources: dict = {"accelerators": f"{skypilot_gpu(row.gpu_type or row.gpu)}:{accelerators}"}
    # The result's host figures cover the whole row; SkyPilot's are per node.
    host = row.host
    if host.cpu_cores:
        resources["cpus"] = f"{math.ceil(host.cpu_cores / nodes)}+"
    if host.ram_bytes:
        # SkyPilot memory is in GiB (sky/resources.py MEMORY_SIZE_UNITS: g = 2**30).
        resources["memory"] = f"{math.ceil(host.ram_bytes / nodes / 2**30)}+"
    disk = disk_gb(row, launch, nodes)
    if disk is not None and disk > SKYPILOT_DEFAULT_DISK_GB:
        resources["disk_size"] = disk
    out: dict = {"name": _task_name(row), "num_nodes": nodes, "resources": resources}
    if row.kind == "serve" and model is not None:
        count, _ = vllm.servers(row, nodes)
        if count == nodes:  # each node runs a whole server
            resources["ports"] = VLLM_PORT
            out["setup"] = "pip install vllm"
            out["run"] = vllm.command(row, model, nodes)
        elif vllm.spans_evenly(row, nodes, accelerators):  # one server over all the nodes
            resources["ports"] = VLLM_PORT
            out["setup"] = "pip install vllm"
            out["run"] = vllm.multi_node_script(row, model, nodes)
    return out


def notes(row: Row, model: str | None, launch: Launch | None = None,
          per_node: int | None = None) -> list[str]:
    """What the task does not say or rents beyond the plan."""
    from planner.units import layout as layout_text

    nodes, accelerators = instances(row, launch, per_node)
    out = []
    rented = nodes * accelerators
    if rented > (row.gpu_count or 1):
        what = f"{nodes} whole nodes of {accelerators}" if nodes > 1 else f"the smallest instance sold, {accelerators} GPUs"
        out.append(f"the plan uses {row.gpu_count} {row.gpu}; SkyPilot rents {what} ({rented - row.gpu_count} idle)")
    if row.kind == "serve":
        return out
    return out + [f"{layout_text(row.layout)}: SkyPilot sets the nodes and GPUs; the parallel layout goes"
                  " to the training launcher (--to deepspeed, or Megatron's arguments)"]


def _task_name(row: Row) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "-", row_words(row)).strip("-").lower()
    # SkyPilot names start with a letter.
    return name if name[:1].isalpha() else f"w-{name}"


def render(row: Row, model: str | None, launch: Launch | None = None,
           per_node: int | None = None, remarks: list[str] | None = None) -> str:
    spec = task(row, model, launch, per_node)
    lines = [header(row)] + [f"# note: {note}" for note in remarks or ()]
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
