"""Host resources a chosen row needs: CPU cores, host RAM, local NVMe, network.

Each figure comes from one rule, stated with its source in docs/solve.md
("Host resources"). They are planning floors, not measurements: the GPU search
never depends on them.
"""

from __future__ import annotations

import math

from planner.resolve.variants import Variant
from planner.search.candidates import Candidate

# vCPUs per GPU: the smallest ratio among AWS's 8-GPU training shapes
# (p4d.24xlarge: 96 vCPUs for 8 A100; p5.48xlarge and g5.48xlarge: 192 for 8),
# AWS EC2 accelerated-computing instance pages.
VCPUS_PER_GPU = 12
# Host RAM per byte of GPU memory: every process can stage its whole GPU state
# in host memory (checkpoint save/load goes through the host). Every 8-GPU
# cloud shape meets it (p4d.24xlarge 1152 GiB for 320 GB of GPU memory,
# p5.48xlarge 2 TiB for 640 GB, NVIDIA DGX A100 2 TB for 640 GB).
HOST_RAM_PER_GPU_BYTE = 1.0
# Checkpoints kept on local disk while training: the last one and the one
# being written (the rotation of HF Trainer's save_total_limit=2 pattern).
CHECKPOINTS_KEPT = 2
# Bytes per trained parameter in a checkpoint: bf16 weights (2) + the
# optimizer state in the files DeepSpeed writes (fp32 master 4, Adam m 4, v 4);
# 8-bit Adam keeps m and v in one byte each (Dettmers et al. 2022, 8-bit
# optimizers); SGD without momentum keeps the fp32 master only.
CHECKPOINT_BYTES_PER_TRAINED_PARAM = {
    "adamw": 14, "paged-adamw": 14, "adamw-8bit": 8, "paged-adamw-8bit": 8, "sgd": 6,
}
# Stored bytes per weight by precision (scales of int4/nf4 groups ignored: < 4 %).
WEIGHT_BYTES = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0,
                "int4": 0.5, "nf4": 0.5}
# Gradient traffic per step in units of the gradient bytes: ring all-reduce
# sends 2x (Patarasuk and Yuan 2009); ZeRO-3 adds a parameter all-gather in the
# backward pass, 3x in all (Rajbhandari et al. 2020, ZeRO, section 7).
ALLREDUCE_FACTOR = 2.0
# ZeRO-3 reduce-scatters the gradients once (1x); its parameter all-gathers are
# counted separately, per micro-batch and pass, as the estimator times them.
ZERO3_REDUCE_FACTOR = 1.0
GRAD_BYTES = 2  # bf16 gradients
# Pipeline: each chunk boundary carries the activations forward and their gradients
# backward, s x b x h 16-bit values each per micro-batch, split over TP ranks
# (Narayanan et al. 2021, sec 2.2; the estimator's PP traffic). Expert all-to-alls
# (4 per MoE layer, 6 with full recompute) move 16-bit activations too.
PP_BOUNDARY_FACTOR = 2
ACTIVATION_BYTES = 2
# Standard NIC rates, Gbit/s (Ethernet 10-400 GbE, InfiniBand HDR/NDR, multi-rail).
NIC_GBPS = (1, 10, 25, 50, 100, 200, 400, 800, 1600, 3200)
# Above this a TCP stack cannot feed the GPUs: plan RDMA (GPUDirect RDMA;
# NCCL documentation, "Using NCCL with RDMA").
RDMA_FROM_GBPS = 100


def _nic(gbps: float) -> int:
    for rate in NIC_GBPS:
        if gbps <= rate:
            return rate
    return NIC_GBPS[-1] * math.ceil(gbps / NIC_GBPS[-1])


def _params(instance: Variant) -> tuple[int, int]:
    """(total parameters, trained parameters)."""
    from planner.estimate import lora_params, param_counts

    total = param_counts(instance.arch).total
    job = instance.train_job
    if job is None or job.method == "full":
        return total, total
    return total, lora_params(instance.arch, job.lora_rank, job.lora_targets)


def host_resources(instance: Variant, cand: Candidate) -> dict:
    """{cpu_cores, ram_bytes, nvme_bytes, network} for the whole row (all its nodes)."""
    gpus = cand.gpu_count
    total, trained = _params(instance)
    ram = int(gpus * (cand.gpu_memory_bytes * HOST_RAM_PER_GPU_BYTE + cand.memory.host))
    weights_bytes = int(total * WEIGHT_BYTES.get(cand.weights, 2.0))
    lay = cand.layout
    if instance.kind == "serve":
        nvme = cand.nodes * weights_bytes
        network = "none"
        if lay.tp * lay.pp > cand.per_node:
            # a replica spans nodes: TP across nodes all-reduces every layer
            network = "RDMA 200Gbps" if lay.tp > cand.per_node else "25Gbps"
        return {"cpu_cores": gpus * VCPUS_PER_GPU, "ram_bytes": ram, "nvme_bytes": nvme,
                "network": network}
    job = instance.train_job
    dataset = instance.workload.dataset_bytes
    if dataset is None:
        from planner.estimate import defaults

        per_token = instance.workload.bytes_per_token or defaults.BYTES_PER_TOKEN
        dataset = int((instance.workload.dataset_tokens or 0) * per_token)
    checkpoint = trained * CHECKPOINT_BYTES_PER_TRAINED_PARAM.get(job.optimizer, 14)
    nvme = cand.nodes * (dataset + weights_bytes) + CHECKPOINTS_KEPT * checkpoint
    return {"cpu_cores": gpus * VCPUS_PER_GPU, "ram_bytes": ram, "nvme_bytes": int(nvme),
            "network": train_network(instance, cand, trained)}


def train_network(instance: Variant, cand: Candidate, trained: int) -> str:
    """The inter-node network a training row needs ("none" on one node).

    The bytes each GPU sends over the network during the run, for the traffic the
    estimator times on the network (same placement rules as
    ``planner.estimate.evaluate``): data-parallel gradients and ZeRO-3 parameter
    all-gathers when a DP group spans nodes (tp x dp > GPUs per node); pipeline
    activations and their gradients at every chunk boundary when the row spans nodes;
    expert all-to-alls when an EP group spans nodes. Times the GPUs of a node, over the
    run time.
    """
    from planner.estimate.timing import virtual_stages

    if cand.nodes <= 1:
        return "none"
    job = instance.train_job
    arch = instance.arch
    lay = cand.layout
    per_node = cand.per_node
    # optimizer steps as the estimator counts them (fractional for a dataset
    # smaller than one global batch), so traffic and time cover the same work
    steps = (cand.tokens or 0) / (job.global_batch * job.seq_len)
    micro = math.ceil(job.global_batch / (lay.dp * lay.micro_batch))
    per_step = 0.0
    if lay.dp > 1 and lay.tp * lay.dp > per_node:
        factor = ZERO3_REDUCE_FACTOR if lay.zero == 3 else ALLREDUCE_FACTOR
        per_step += factor * GRAD_BYTES * trained / (lay.tp * lay.pp)
        if lay.zero == 3:
            total, _ = _params(instance)
            stage_bytes = total * WEIGHT_BYTES.get(cand.weights, 2.0) / (lay.tp * lay.pp)
            passes = 3 if lay.recompute == "full" else 2
            per_step += micro * passes * stage_bytes * (lay.dp - 1) / lay.dp
    tokens = job.seq_len * lay.micro_batch
    if lay.pp > 1:
        chunks = virtual_stages(lay.pp, micro, -(-arch.layers // lay.pp))
        per_step += micro * chunks * PP_BOUNDARY_FACTOR * ACTIVATION_BYTES * tokens \
            * arch.hidden / lay.tp
    if lay.ep > 1 and arch.is_moe and lay.tp * lay.ep > per_node:
        passes = 6 if lay.recompute == "full" else 4
        moe_layers = -(-(arch.layers - arch.dense_layers) // lay.pp)
        per_step += micro * passes * moe_layers * tokens * arch.experts_per_token \
            * arch.hidden * ACTIVATION_BYTES * (lay.ep - 1) / lay.ep
    on_node = min(cand.gpu_count, per_node)
    seconds = cand.seconds or 0.0
    gbps = on_node * per_step * steps * 8 / 1e9 / seconds if seconds > 0 else 0.0
    rate = _nic(gbps)
    if lay.tp > per_node or rate >= RDMA_FROM_GBPS:
        return f"RDMA {max(rate, RDMA_FROM_GBPS)}Gbps"
    return f"{rate}Gbps"
