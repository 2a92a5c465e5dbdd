"""The ``vllm serve MODEL ...`` command line for a serving row.

Flags and choices as vLLM 0.33.0 defines them (vllm/engine/arg_utils.py,
vllm/config/cache.py ``CacheDType``, vllm/model_executor/layers/quantization
``QuantizationMethods`` of the PyPI wheel vllm-0.33.0; docs/exports.md lists them).
One command starts one server on one node; a row with several replicas per
node runs them as data-parallel ranks of that server. What the command cannot
carry is a note; what vLLM cannot run (bitsandbytes nf4: vLLM 0.33 has no
``bitsandbytes`` quantization method) is refused.
"""

from __future__ import annotations

from planner.result import Row

import math
import shlex

from planner.errors import PlanError
from planner.export.names import header

# Planned weight precision -> vLLM --quantization. bf16/fp16 need none (--dtype
# says the precision). fp8: vLLM quantizes a 16-bit checkpoint online ("fp8").
# nf4 (bitsandbytes) is refused: vLLM 0.33.0 dropped the method. int4: a group-quantized 4-bit
# checkpoint (AWQ; point MODEL at an AWQ repository). int8: W8A8 checkpoints
# made by llm-compressor load as "compressed-tensors".
QUANTIZATION = {
    "fp8": "fp8",
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


def servers(row: Row, nodes: int | None = None) -> tuple[int, int]:
    """(servers, replicas per server): one server per node when replicas fill whole nodes.
    ``nodes``: the nodes rented (default: the result's)."""
    layout = row.layout
    replicas = layout.replicas or 1
    nodes = nodes or row.nodes or 1
    per_replica = (layout.tp or 1) * (layout.pp or 1)
    if nodes > 1 and replicas % nodes == 0 and per_replica * (replicas // nodes) <= (
        math.ceil((row.gpu_count or per_replica) / nodes)
    ):
        return nodes, replicas // nodes
    return 1, replicas


def refusal(row: Row) -> str | None:
    """Why vLLM cannot run the row as planned, or None."""
    inputs = row.inputs
    if inputs.engine not in (None, "vllm"):
        return (f"planned for the {inputs.engine} engine; `export vllm` writes vLLM commands"
                " (plan it with `engine = vllm`)")
    if _weights(row) == "nf4":
        return ("nf4 weights are bitsandbytes 4-bit, which vLLM 0.33 no longer loads (no"
                " `bitsandbytes` quantization method): plan `weights = int4` (an AWQ or GPTQ"
                " checkpoint) to serve 4-bit weights on vLLM")
    return None


def max_num_seqs(row: Row) -> int:
    """--max-num-seqs: the running requests the plan sized a replica for (the engine's cap
    and what its KV cache holds, ``service.running_limit``); before the serving figures
    existed, a replica's share of the users."""
    if row.service is not None and row.service.running_limit:
        return row.service.running_limit
    return max(1, math.ceil((row.inputs.users or 1) / (row.layout.replicas or 1)))


def arguments(row: Row, model: str, nodes: int | None = None) -> list[str]:
    """argv of ``vllm serve`` for one server of this row."""
    from planner.estimate.memory import prefill_chunk_tokens

    layout = row.layout
    inputs = row.inputs
    _, per_server = servers(row, nodes)
    refused = refusal(row)
    if refused:
        raise PlanError(f"{row.name}: {refused}")
    args = ["vllm", "serve", model,
            "--tensor-parallel-size", str(layout.tp or 1),
            "--pipeline-parallel-size", str(layout.pp or 1)]
    if per_server > 1:
        args += ["--data-parallel-size", str(per_server)]
    if (layout.ep or 1) > 1:
        args += ["--enable-expert-parallel"]
    if inputs.context:
        args += ["--max-model-len", str(int(inputs.context))]
    args += ["--max-num-seqs", str(max_num_seqs(row))]
    if row.gpu and row.gpu_memory_bytes:
        # the step's token budget the serving figures were computed with (engines.token_budget)
        args += ["--max-num-batched-tokens",
                 str(prefill_chunk_tokens(row.gpu_type or row.gpu, row.gpu_memory_bytes))]
    weights = _weights(row)
    if weights in DTYPE:
        args += ["--dtype", DTYPE[weights]]
    if weights in QUANTIZATION:
        args += ["--quantization", QUANTIZATION[weights]]
    args += ["--gpu-memory-utilization", f"{memory_utilization(row):.2f}"]
    args += ["--kv-cache-dtype", KV_CACHE_DTYPE.get(inputs.kv or "bf16", "auto")]
    if inputs.prefix_cache:
        args += ["--enable-prefix-caching"]
    return args


def notes(row: Row, model: str, named: bool = True, nodes: int | None = None,
          native: str | None = None) -> list[str]:
    """What the command assumes and cannot say. ``named``: the plan (or --model) names the
    checkpoint; else ``model`` is the catalog's base repository, stored at ``native``."""
    layout = row.layout
    out = []
    weights = _weights(row)
    if not named and weights in DTYPE and native not in (None, "bf16", "fp16", "fp32"):
        out.append(f"{model} is stored in {native}; serving {weights} weights needs a 16-bit"
                   " checkpoint (name it with the workload's `checkpoint`)")
    if weights == "int4":
        out.append(f"--quantization awq loads an AWQ checkpoint; {model} must be one"
                   + ("" if named else " (name it with the workload's `checkpoint`)"))
    elif weights == "int8":
        out.append(f"--quantization compressed-tensors loads a W8A8 checkpoint; {model} must be one"
                   + ("" if named else " (name it with the workload's `checkpoint`)"))
    count, per_server = servers(row, nodes)
    spanned = nodes or row.nodes or 1
    per_replica = (layout.tp or 1) * (layout.pp or 1)
    if spanned > 1 and count != spanned and per_replica > math.ceil((row.gpu_count or 1) / spanned):
        if per_replica % spanned == 0 and (layout.replicas or 1) == 1:
            out.append(f"a replica spans {spanned} nodes: run this command on every node with"
                       f" --nnodes {spanned} --node-rank R --master-addr FIRST-NODE added, and"
                       " --headless on all but the first (vLLM's multiprocessing backend)")
        else:
            out.append(f"a replica spans {spanned} nodes unevenly (TP x PP = {per_replica} GPUs):"
                       " vLLM's --nnodes needs the GPUs split evenly over the nodes; start it on"
                       " a Ray cluster over the nodes (--distributed-executor-backend ray)")
    elif spanned > 1 and count != spanned:
        out.append(f"{layout.replicas or 1} replicas do not divide over {spanned} nodes: start one"
                   " server per node with --data-parallel-size set to the replicas it holds"
                   f" (this command runs all {per_server} in one server)")
    ep = layout.ep or 1
    if ep > 1 and ep != (layout.tp or 1) * per_server:
        out.append(f"vLLM's expert-parallel group is TP x DP = {(layout.tp or 1) * per_server} GPUs"
                   f" (--enable-expert-parallel); the plan assumed ep = {ep}")
    if row.inputs.prefix_cache:
        out.append(f"the plan counts {row.inputs.prefix_cache:.0%} of prompt tokens as prefix-cache hits"
                   " (--enable-prefix-caching); the hit rate is the traffic's, not a flag")
    return out


def command(row: Row, model: str, nodes: int | None = None) -> str:
    """The command as one shell line (quoted), for scripts and SkyPilot ``run``."""
    return " ".join(shlex.quote(a) for a in arguments(row, model, nodes))


def spans_evenly(row: Row, nodes: int, per_node: int) -> bool:
    """One replica over ``nodes`` nodes that vLLM's multiprocessing backend can start: its
    TP x PP GPUs split evenly over the nodes ("`--nnodes` must evenly divide the total world
    size", vllm/engine/arg_utils.py) and each share fits a node."""
    layout = row.layout
    world = (layout.tp or 1) * (layout.pp or 1)
    return ((layout.replicas or 1) == 1 and nodes > 1 and world % nodes == 0
            and world // nodes <= per_node)


def multi_node_script(row: Row, model: str, nodes: int) -> str:
    """A SkyPilot ``run`` for one replica over ``nodes`` nodes (vLLM 0.33, multiprocessing
    backend): every node runs the same command with --nnodes, its --node-rank and the first
    node's address as --master-addr; the others with --headless, vLLM's mode that "Run[s]
    headless workers (for multi-node PP/TP)" (vllm/entrypoints/cli/serve.py run_headless)."""
    base = command(row, model, nodes) + f" --nnodes {nodes} --node-rank \"$SKYPILOT_NODE_RANK\"" \
        ' --master-addr "$HEAD"'
    return "\n".join([
        'HEAD=$(echo "$SKYPILOT_NODE_IPS" | head -n1)',
        'if [ "$SKYPILOT_NODE_RANK" = "0" ]; then',
        f"  {base}",
        "else",
        f"  {base} --headless",
        "fi",
    ])


def render(row: Row, model: str, remarks: list[str] | None = None) -> str:
    """A small POSIX shell script that starts the server."""
    args = [shlex.quote(a) for a in arguments(row, model)]
    lines = [" ".join(args[:3])]
    rest = args[3:]
    while rest:  # a flag and its value on one line; a flag without one alone
        take = 2 if len(rest) > 1 and not rest[1].startswith("--") else 1
        lines.append("  " + " ".join(rest[:take]))
        rest = rest[take:]
    count, _ = servers(row)
    top = ["#!/bin/sh", header(row) + (f", run on each of {count} nodes" if count > 1 else "")]
    top += [f"# note: {note}" for note in remarks or ()]
    return "\n".join(top) + "\nexec " + " \\\n".join(lines) + "\n"
