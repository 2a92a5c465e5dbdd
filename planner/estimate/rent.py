"""What a run costs where GPUs are rented (docs/estimation.md sec 12): whole instances,
billing increments, start-up (loading the weights), checkpoint saves, and the time lost to
failures and spot interruptions on long multi-node runs. Pure functions of the GpuSpec, the
job and the estimator's compute time.
"""

from __future__ import annotations

import math

from planner.estimate.types import GpuSpec
from planner.frozen import frozen

# Billing increments (docs/estimation.md sec 12.2): AWS and GCP bill Linux instances per
# second after a one-minute minimum; Lambda, RunPod and CoreWeave per minute.
BILLING_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
BILLING_MINIMUM_S = 60.0  # AWS EC2 and GCP Compute Engine: "a minimum of 60 seconds"
# Storage a node loads weights from and writes checkpoints to (sec 12.3), bytes/s per node.
# Read: Llama 3.1 405B, ~800 GB in BF16, "takes 10-20 minutes" to load (AWS, FSx + GDS blog,
# secondary): 800 GB over the middle 15 minutes.
STORAGE_READ_BYTES_PER_S = 800e9 / (15 * 60)
# Write: Llama 3's checkpoint store, Tectonic, "peak throughput of 7 TB/s" for 16,384 GPUs,
# i.e. 2,048 nodes of 8 (Dubey et al. 2024, sec 3.2): 7e12 / 2048 per node.
STORAGE_WRITE_BYTES_PER_S = 7e12 / 2048
# Failures (sec 12.4): Llama 3 405B pre-training, 419 unexpected interruptions in 54 days on
# 16,384 H100 (Dubey et al. 2024, sec 3.3.4): one per 16,384 x 54 x 24 / 419 GPU-hours.
GPU_MTBF_HOURS = 16384 * 54 * 24 / 419
HOURS_PER_MONTH = 730.0  # spot interruption rates are stated per month (AWS Spot Advisor)
# A run that would lose this share of its time or more to restarts never finishes.
MAX_LOST_SHARE = 0.5


def nodes_of(count: int, gpu: GpuSpec) -> int:
    """Nodes that ``count`` GPUs of ``gpu`` span."""
    return -(-count // gpu.gpus_per_node)


def billed_gpus(count: int, gpu: GpuSpec) -> int:
    """GPUs paid for: the smallest instance sold that holds ``count`` on one node, whole
    nodes when it spans several; ``count`` when the GPU is sold one by one (no shapes)."""
    if not gpu.shapes:
        return count
    if count > gpu.gpus_per_node:
        return nodes_of(count, gpu) * gpu.gpus_per_node
    return next(s for s in gpu.shapes if s >= count)


def billed_seconds(seconds: float, gpu: GpuSpec) -> float:
    """Seconds paid for a run of ``seconds``: at least the minimum, rounded up to the
    increment."""
    step = billing_step(gpu)
    paid = max(seconds, BILLING_MINIMUM_S, step)
    # a float a hair above a whole number of steps is that number (no extra increment)
    return math.ceil(paid / step - 1e-9) * step


def host_share(shape: int, gpu: GpuSpec) -> float:
    """The share of a node's host an instance of ``shape`` GPUs has (sec 12.1)."""
    return min(shape, gpu.gpus_per_node) / gpu.gpus_per_node


def host_limits(count: int, gpu: GpuSpec, host_per_gpu: float) -> list[tuple[str, float, float]]:
    """(resource, needed, held) for each host limit the most loaded instance of a row on
    ``count`` GPUs breaks: what its GPUs put in host memory (offload: ``host_per_gpu``,
    ``Memory.host``, each) against its share of the node's ``host_ram``. The planning
    floors of host.py (CPU cores, NVMe) are advice, not limits: data and checkpoints may
    live on network storage."""
    on_node = min(count, gpu.gpus_per_node)
    shape = billed_gpus(on_node, gpu)
    if gpu.host_ram_bytes is None or host_per_gpu <= 0:
        return []
    needed = on_node * host_per_gpu
    held = gpu.host_ram_bytes * host_share(shape, gpu)
    return [("host_ram", needed, held)] if needed > held else []


def instances(count: int, gpu: GpuSpec) -> int:
    """Instances a row on ``count`` GPUs rents."""
    size = billed_gpus(min(count, gpu.gpus_per_node), gpu)
    return -(-billed_gpus(count, gpu) // size)


@frozen
class Overheads:
    """The time a training run spends beside its steps, in seconds."""

    load: float  # reading the base weights (0 for pre-training from scratch)
    saves: int  # checkpoints written (the last one included)
    save: float  # all the saves together
    interval: float  # seconds of training between saves
    lost: float  # expected time lost to failures and interruptions
    goodput: float  # share of the run's time spent on progress, restarts excluded

    @property
    def total(self) -> float:
        return self.load + self.save + self.lost


_FAILURE_RATES: dict[tuple[int, int], tuple[GpuSpec, float]] = {}
_FAILURE_RATES_KEPT = 65536  # (count, GPU type) pairs; a search asks for a few hundred


def failure_rate_per_hour(count: int, gpu: GpuSpec) -> float:
    """Interruptions per hour of a synchronous job on ``count`` GPUs: hardware failures
    (GPU_MTBF_HOURS per GPU) and, on spot, each instance's monthly interruption rate.
    Memoised by count and the spec's identity (the entry keeps the spec): the training
    search asks for it at every layout it tries."""
    hit = _FAILURE_RATES.get((count, id(gpu)))
    if hit is not None and hit[0] is gpu:
        return hit[1]
    spot = instances(count, gpu) * (gpu.interruptions_per_month or 0.0) / HOURS_PER_MONTH
    rate = count / GPU_MTBF_HOURS + spot
    if len(_FAILURE_RATES) >= _FAILURE_RATES_KEPT:
        _FAILURE_RATES.clear()
    _FAILURE_RATES[(count, id(gpu))] = (gpu, rate)
    return rate


def billing_step(gpu: GpuSpec) -> float:
    return gpu.billing_seconds or BILLING_SECONDS["second"]


def read_rate(gpu: GpuSpec) -> float:
    return gpu.storage_read_bytes_per_s or STORAGE_READ_BYTES_PER_S


def write_rate(gpu: GpuSpec) -> float:
    return gpu.storage_write_bytes_per_s or STORAGE_WRITE_BYTES_PER_S


def train_overheads(compute_seconds: float, count: int, nodes: int, gpu: GpuSpec,
                    load_bytes: float, checkpoint_bytes: float, step_seconds: float,
                    interval: float | None = None) -> Overheads:
    """Start-up, checkpoints and expected restarts of a run whose steps take
    ``compute_seconds`` on ``count`` GPUs over ``nodes`` nodes (sec 12.3-12.4).

    Each node reads ``load_bytes`` at the storage read rate (in parallel); a checkpoint of
    ``checkpoint_bytes`` is written by all nodes at once; saves come every ``interval``
    seconds (default: Young's optimum sqrt(2 x save x MTBF), at least one step) and at
    the end. Each failure costs a restart (the load again) and on average half an interval
    of lost work."""
    load = load_bytes / read_rate(gpu)
    one_save = checkpoint_bytes / (nodes * write_rate(gpu))
    rate = failure_rate_per_hour(count, gpu) / 3600.0  # per second
    if interval is None:
        interval = math.sqrt(2.0 * one_save / rate) if rate > 0 else compute_seconds
    interval = max(interval, step_seconds, 1e-9)
    saves = max(1, math.ceil(compute_seconds / interval - 1e-9))
    save = saves * one_save
    per_failure = load + min(interval, compute_seconds) / 2.0
    lost_share = rate * per_failure
    if lost_share >= MAX_LOST_SHARE:
        return Overheads(load, saves, save, interval, math.inf, 0.0)
    useful = load + compute_seconds + save
    wall = useful / (1.0 - lost_share)
    return Overheads(load, saves, save, interval, wall - useful, 1.0 - lost_share)
