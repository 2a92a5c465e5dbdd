"""Host resources a row needs: CPU cores, host RAM, local NVMe, network (docs/estimation.md sec 10).

Planning floors, one rule each, over the estimator's own tables: bytes per weight by
precision (``precision.weight_bytes``, quantization scales included), the checkpoint's
bytes per trained parameter (``memory.WEIGHT_TRAIN_BYTES`` + the optimizer state), and
the bytes per step the step-time model times (``train.step_traffic``). The GPU search
never depends on them.
"""

from __future__ import annotations

import math

from planner.estimate import memory as M
from planner.estimate.arch import lora_params, param_counts
from planner.estimate.precision import weight_bytes
from planner.estimate.train import step_traffic, train_base
from planner.estimate.types import (
    Arch,
    GpuSpec,
    HostResources,
    Layout,
    ServeEstimate,
    ServeJob,
    TrainEstimate,
    TrainJob,
)

VCPUS_PER_GPU = 12  # smallest vCPU:GPU ratio of AWS 8-GPU shapes (docs/estimation.md sec 10)
HOST_RAM_PER_GPU_BYTE = 1.0  # host RAM per byte of device memory (docs/estimation.md sec 10)
CHECKPOINTS_KEPT = 2  # the last checkpoint and the one being written (docs/estimation.md sec 10)
NIC_GBPS = (1, 10, 25, 50, 100, 200, 400, 800, 1600, 3200)  # standard NIC rates, Gbit/s
RDMA_FROM_GBPS = 100  # from here on plan GPUDirect RDMA (docs/estimation.md sec 10)
# A need equal to a NIC rate fits it: a network-bound run needs exactly the bandwidth its
# time assumes, up to float rounding (relative).
RATE_TOLERANCE = 1e-9
# Serving replicas that span nodes (docs/estimation.md sec 10): PP moves only activations,
# TP all-reduces every layer.
SERVE_PP_NETWORK = "25Gbps"
SERVE_TP_NETWORK = "RDMA 200Gbps"


def host_resources(job: TrainJob | ServeJob, layout: Layout, gpu: GpuSpec,
                   estimate: TrainEstimate | ServeEstimate,
                   dataset_bytes: int | None = None) -> HostResources:
    """Host CPU cores, RAM, NVMe and network for all the nodes of ``job`` laid out as
    ``layout`` on ``gpu``s, whose estimate is ``estimate``. ``dataset_bytes``, the training
    data every node keeps, is needed for training and unused for serving."""
    gpus = estimate.gpus
    nodes = math.ceil(gpus / gpu.gpus_per_node)
    ram = int(gpus * (gpu.memory_bytes * HOST_RAM_PER_GPU_BYTE + estimate.memory.host))
    if isinstance(job, ServeJob):
        weights = job.arch.precision if job.weights == "auto" else job.weights
        return HostResources(cpu_cores=gpus * VCPUS_PER_GPU, ram_bytes=ram,
                             nvme_bytes=nodes * checkpoint_weight_bytes(job.arch, weights),
                             network=_serve_network(layout, gpu.gpus_per_node))
    if dataset_bytes is None:
        raise ValueError("the host resources of a training row need its dataset bytes")
    # one copy of the data and the base weights per node, CHECKPOINTS_KEPT checkpoints
    nvme = nodes * (dataset_bytes + checkpoint_weight_bytes(job.arch, job.weights)) \
        + CHECKPOINTS_KEPT * checkpoint_bytes(job)
    return HostResources(cpu_cores=gpus * VCPUS_PER_GPU, ram_bytes=ram, nvme_bytes=int(nvme),
                         network=train_network(job, layout, gpu, estimate))


def checkpoint_weight_bytes(arch: Arch, precision: str) -> int:
    """Bytes of the model's weights stored at ``precision``: linear weights with their
    quantization scales, everything else in 16 bit (precision.py)."""
    counts = param_counts(arch)
    linear = counts.layers_linear + counts.routed_linear
    return int(weight_bytes(linear, counts.total - linear, precision))


def checkpoint_bytes(job: TrainJob) -> float:
    """One training checkpoint: the trained parameters' 16-bit weights and optimizer state
    (memory.WEIGHT_TRAIN_BYTES + OPTIMIZER_STATE_BYTES, as DeepSpeed writes them)."""
    if job.method == "full":
        trained = param_counts(job.arch).total
    else:
        trained = lora_params(job.arch, job.lora_rank, tuple(job.lora_targets))
    return trained * (M.WEIGHT_TRAIN_BYTES + M.optimizer_state_bytes(job.optimizer))


def train_network(job: TrainJob, layout: Layout, gpu: GpuSpec, estimate: TrainEstimate) -> str:
    """The inter-node network a training row needs ("none" on one node): the bytes a GPU
    sends per step in collectives whose group spans nodes (``step_traffic``), times the
    GPUs of a node and the steps, over the run time, rounded up to a NIC rate."""
    per_node = gpu.gpus_per_node
    if estimate.gpus <= per_node:
        return "none"
    traffic = step_traffic(job, layout, gpu)
    steps = train_base(job, gpu).steps
    on_node = min(estimate.gpus, per_node)
    seconds = estimate.seconds
    gbps = on_node * traffic.inter_node * steps * 8 / 1e9 / seconds if seconds > 0 else 0.0
    rate = nic_gbps(gbps)
    if layout.tp > per_node or rate >= RDMA_FROM_GBPS:
        return f"RDMA {max(rate, RDMA_FROM_GBPS)}Gbps"
    return f"{rate}Gbps"


def nic_gbps(gbps: float) -> int:
    """The smallest standard NIC rate that carries ``gbps`` (multiples of the largest above it)."""
    for rate in NIC_GBPS:
        if gbps <= rate * (1.0 + RATE_TOLERANCE):
            return rate
    return NIC_GBPS[-1] * math.ceil(gbps / NIC_GBPS[-1])


def _serve_network(layout: Layout, gpus_per_node: int) -> str:
    if layout.tp * layout.pp <= gpus_per_node:
        return "none"  # a replica fits in a node and replicas do not talk
    return SERVE_TP_NETWORK if layout.tp > gpus_per_node else SERVE_PP_NETWORK
