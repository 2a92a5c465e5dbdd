"""The ``vllm serve MODEL ...`` command line for a serving row.

Flags as documented in vLLM's engine arguments (docs.vllm.ai, v0.8.5,
"Engine Arguments"; data parallelism: docs/serving/data_parallel_deployment.md).
One command starts one server on one node; a row with several replicas per
node runs them as data-parallel ranks of that server.
"""

from __future__ import annotations

from planner.result import Row

import math
import shlex

from planner.errors import PlanError
from planner.export.names import header

# Planned weight precision -> vLLM --quantization. bf16/fp16 need none (--dtype
# says the precision). fp8: vLLM quantizes a 16-bit checkpoint online ("fp8").
# nf4: bitsandbytes 4-bit, quantized at load time. int4: a group-quantized 4-bit
# checkpoint (AWQ; point MODEL at an AWQ repository). int8: W8A8 checkpoints
# made by llm-compressor load as "compressed-tensors".
QUANTIZATION = {
    "fp8": "fp8",
    "nf4": "bitsandbytes",
    "int4": "awq",
    "int8": "compressed-tensors",
}
DTYPE = {"bf16": "bfloat16", "fp16": "float16"}
# Planned KV precision -> --kv-cache-dtype ("auto" keeps the model's 16-bit dtype).
KV_CACHE_DTYPE = {"bf16": "auto", "fp16": "auto", "fp8": "fp8"}


def _weights(row: Row) -> str | None:
    return row.layout.weights or row.inputs.weights


def memory_utilization(row: Row) -> float:
    """--gpu-memory-utilization: the usable share the plan sized against, rounded down
    to 0.01 so vLLM never takes more than was planned."""
    total, usable = row.gpu_memory_bytes, row.usable_memory_bytes
    if not total or not usable:
        raise PlanError(f"{row.name}: the result has no GPU memory figures to size vLLM with")
    # (1e-6 absorbs the truncation of usable bytes to an integer: 0.9 x 24 GiB -> 0.8999999...)
    return math.floor(usable / total * 100 + 1e-6) / 100


def servers(row: Row) -> tuple[int, int]:
    """(servers, replicas per server): one server per node when replicas fill whole nodes."""
    layout = row.layout
    replicas = layout.replicas or 1
    nodes = row.nodes or 1
    per_replica = (layout.tp or 1) * (layout.pp or 1)
    if nodes > 1 and replicas % nodes == 0 and per_replica * (replicas // nodes) <= (
        (row.gpu_count or per_replica) // nodes
    ):
        return nodes, replicas // nodes
    return 1, replicas


def max_num_seqs(row: Row) -> int:
    """--max-num-seqs: the running requests the plan sized a replica for (the engine's cap
    and what its KV cache holds, ``service.running_limit``); before the serving figures
    existed, a replica's share of the users."""
    if row.service is not None and row.service.running_limit:
        return row.service.running_limit
    return max(1, math.ceil((row.inputs.users or 1) / (row.layout.replicas or 1)))


def arguments(row: Row, model: str) -> list[str]:
    """argv of ``vllm serve`` for one server of this row."""
    layout = row.layout
    inputs = row.inputs
    _, per_server = servers(row)
    if inputs.engine not in (None, "vllm"):
        raise PlanError(f"{row.name}: planned for the {inputs.engine} engine; `export vllm` "
                        "writes vLLM commands (plan it with `engine = vllm`)")
    args = ["vllm", "serve", model,
            "--tensor-parallel-size", str(layout.tp or 1),
            "--pipeline-parallel-size", str(layout.pp or 1)]
    if per_server > 1:
        args += ["--data-parallel-size", str(per_server)]
    if inputs.context:
        args += ["--max-model-len", str(int(inputs.context))]
    args += ["--max-num-seqs", str(max_num_seqs(row))]
    weights = _weights(row)
    if weights in DTYPE:
        args += ["--dtype", DTYPE[weights]]
    if weights in QUANTIZATION:
        args += ["--quantization", QUANTIZATION[weights]]
    args += ["--gpu-memory-utilization", f"{memory_utilization(row):.2f}"]
    args += ["--kv-cache-dtype", KV_CACHE_DTYPE.get(inputs.kv or "bf16", "auto")]
    return args


def notes(row: Row, model: str) -> list[str]:
    """What the command assumes about the checkpoint."""
    weights = _weights(row)
    if weights == "int4":
        return [f"--quantization awq loads an AWQ checkpoint; pass --model with one if {model} is not"]
    if weights == "int8":
        return [f"--quantization compressed-tensors loads a W8A8 checkpoint; pass --model with one"
                f" if {model} is not"]
    return []


def command(row: Row, model: str) -> str:
    """The command as one shell line (quoted), for scripts and SkyPilot ``run``."""
    return " ".join(shlex.quote(a) for a in arguments(row, model))


def render(row: Row, model: str) -> str:
    """A small POSIX shell script that starts the server."""
    args = [shlex.quote(a) for a in arguments(row, model)]
    lines = [" ".join(args[:3])]
    pairs = args[3:]
    for i in range(0, len(pairs), 2):
        lines.append("  " + " ".join(pairs[i:i + 2]))
    count, _ = servers(row)
    top = ["#!/bin/sh", header(row) + (f", run on each of {count} nodes" if count > 1 else "")]
    return "\n".join(top) + "\nexec " + " \\\n".join(lines) + "\n"
