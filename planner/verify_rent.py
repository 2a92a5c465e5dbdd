"""The independent checker's view of what is rented (docs/estimation.md sec 12).

Its own arithmetic, from the plan's gpu block, not ``planner.estimate.rent`` (the search's):
the GPUs billed (whole instances, whole nodes), the host RAM an instance holds against what
offload puts there, and a training run's hours (weights loaded, checkpoints saved, restarts
after failures, by fixed-point iteration rather than the closed form) and billed hours.
Only the published constants (sources in docs/estimation.md) are shared.
"""

from __future__ import annotations

import math

from planner import plan as p
from planner.estimate import rent as constants
from planner.estimate.host import checkpoint_bytes, checkpoint_weight_bytes
from planner.estimate.train import train_base

_INCREMENT = {"second": 1.0, "minute": 60.0, "hour": 3600.0}


def paid_gpus(block: p.Gpu, count: int) -> int:
    """GPUs paid for ``count`` on ``block``: a whole instance or whole nodes."""
    sold = sorted(block.shapes or [])
    if not sold:
        return count
    node = block.per_node
    if count <= node:  # a node is always sold whole (docs/language.md, `shapes`)
        return min(s for s in sold + [node] if s >= count)
    nodes = count // node + (1 if count % node else 0)
    return nodes * node


def host_problem(who: str, block: p.Gpu, count: int, host_per_gpu: int) -> list[str]:
    """The offload of the most loaded instance against its share of the node's host RAM."""
    if block.host_ram is None or not host_per_gpu:
        return []
    on_node = min(count, block.per_node)
    instance = paid_gpus(block, on_node)
    held = block.host_ram * instance / block.per_node
    if on_node * host_per_gpu > held:
        return [f"{who}: offload puts {on_node * host_per_gpu} bytes in the host RAM of an "
                f"instance of {instance} GPUs, which holds {held:.0f}"]
    return []


def paid_hours(block: p.Gpu, seconds: float) -> float:
    step = _INCREMENT[block.billing or "second"]
    units = math.ceil(max(seconds, constants.BILLING_MINIMUM_S, step) / step - 1e-9)
    return units * step / 3600.0


def run_seconds(block: p.Gpu, w, job, spec, compute: float, count: int) -> float:
    """Wall seconds of a training run: steps, load, saves and expected restarts."""
    nodes = -(-count // block.per_node)
    read = block.storage_read or constants.STORAGE_READ_BYTES_PER_S
    write = block.storage_write or constants.STORAGE_WRITE_BYTES_PER_S
    load = 0.0 if w.kind == "pretrain" else checkpoint_weight_bytes(job.arch, job.arch.precision) / read
    save = checkpoint_bytes(job) / (nodes * write)
    instance = paid_gpus(block, min(count, block.per_node))
    spot = (block.interruptions or 0.0) * (paid_gpus(block, count) / instance) / constants.HOURS_PER_MONTH
    per_second = (count / constants.GPU_MTBF_HOURS + spot) / 3600.0
    step = compute / max(1, train_base(job, spec).steps)
    every = w.checkpoint_every
    if every is None:
        every = math.sqrt(2.0 * save / per_second) if per_second > 0 else compute
    every = max(every, step, 1e-9)
    saves = max(1, math.ceil(compute / every - 1e-9))
    per_failure = load + min(every, compute) / 2.0
    if per_second * per_failure >= constants.MAX_LOST_SHARE:
        return math.inf
    useful = load + compute + saves * save
    wall = useful
    for _ in range(200):  # wall = useful + failures(wall) x per_failure: a contraction
        nxt = useful + per_second * wall * per_failure
        if abs(nxt - wall) <= 1e-12 * nxt:
            break
        wall = nxt
    return wall
