"""Collectives by topology: the time of one NCCL collective on a group of GPUs laid out on
nodes (docs/estimation.md sec 5, "Collectives").

A collective of buffer S (nccl-tests' size: the whole buffer of an all-reduce, the gathered
tensor of an all-gather or reduce-scatter) on n ranks takes

    t = alpha + f(n) * S / busbw

with f the nccl-tests bus-bandwidth factor (2(n-1)/n all-reduce, (n-1)/n the others) and
busbw the bus bandwidth the group reaches: inside one node the achieved fraction of the GPU
link (NVLink, xGMI, PCIe); across nodes the node's NICs aggregated (rings laid out node by
node cross the node boundary once per node, and the node's channels leave from every NIC),
so a group with g ranks on each node gets g NICs' worth; all-to-all cannot aggregate NICs.
alpha is NCCL's own latency model (ring steps, tree depth). Pure functions of numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from planner.estimate.types import GpuSpec, Layout
from planner.frozen import frozen

# ---------------------------------------------------------------- achieved bandwidth
# Achieved ring bus bandwidth over the GPU link's one-way rate, 8 GPUs, large messages
# (nccl-tests all_reduce_perf): NVIDIA GTC25 S72583 "NCCL Tests Allreduce Bus Bandwidth"
# (docs/estimation.md sec 5, "Collectives"): A100 NVLink3 232 of 300 GB/s, H100 NVLink4 370 of
# 450, B200 NVLink5 700 of 900.
ETA_NVLINK3 = 232.0 / 300.0
ETA_NVLINK4 = 370.0 / 450.0
ETA_NVLINK5 = 700.0 / 900.0
# GPUs whose NVLink generation has no published figure (V100's NVLink2) and AMD's xGMI (no
# RCCL figure found): the lowest measured NVLink fraction (sec 5).
ETA_LINK_UNMEASURED = ETA_NVLINK3
# PCIe-only nodes: 28 GB/s bus bandwidth on 8 x RTX 5090 over PCIe Gen5 x16 (64 GB/s one way),
# NVIDIA/nccl issue #1639, where NCCL's author notes PCIe systems are bound by the host's CPU
# and memory (sec 5).
ETA_PCIE = 28.0 / 64.0
# Between nodes: 192 GB/s all-reduce bus bandwidth on DGX A100s with 8 x 200 Gb/s HDR
# InfiniBand (GTC25 S72583, 32 GPUs; NVIDIA/nccl #812) and 48-49 GB/s per 400 Gb/s NDR NIC
# (nccl-tests #267): 0.96 of the line rate (sec 5).
ETA_NET = 0.96
# All-to-all inside a node, over the ring figure: GTC25 "Alltoall Bus Bandwidth", 8 GPUs:
# A100 210 vs 232, H100 320 vs 370, B200 640 vs 700 -> the smallest ratio (sec 5).
A2A_INTRA_OVER_RING = 320.0 / 370.0

# GPU families by NVLink generation, first match wins (as timing.host_link_bytes_per_s).
_NVLINK = (
    (("GB200", "GB300", "B100", "B200", "B300"), ETA_NVLINK5),
    (("GH200", "H100", "H200", "H800", "H20"), ETA_NVLINK4),
    (("A100", "A800"), ETA_NVLINK3),
)
# A GPU link this slow is PCIe: x16 Gen5 carries 64 GB/s one way, every NVLink and xGMI
# generation more (docs/estimation.md sec 5).
PCIE_MAX_BYTES_PER_S = 64e9

# ---------------------------------------------------------------- latency (NCCL cost model)
# NCCL v2.30.7-1 src/graph/tuning.cc, Simple protocol, microseconds: base latency per
# collective, and per ring step / tree level over NVLink, PCIe and the network (sec 5).
NCCL_BASE_LATENCY_S = 8.4e-6
NCCL_RING_HOP_S = {"nvlink": 3.4e-6, "pcie": 5.7e-6, "net": 14.0e-6}
NCCL_TREE_HOP_S = {"nvlink": 4.0e-6, "pcie": 4.0e-6, "net": 14.0e-6}


@frozen
class Fabric:
    """What one GPU type's nodes give a collective (bytes/s, seconds)."""

    intra_busbw: float  # ring bus bandwidth of a group inside one node
    nic: float  # achieved network bandwidth of one GPU's share of the node's NICs
    per_node: int
    link: str  # "nvlink" | "pcie": the hop latency inside a node


def link_fraction(gpu: GpuSpec) -> tuple[float, str]:
    """(achieved fraction of the link in a ring, link kind) for this GPU type."""
    name = gpu.name.upper()
    if "PCIE" in name or gpu.intra_node_bytes_per_s <= PCIE_MAX_BYTES_PER_S:
        return ETA_PCIE, "pcie"
    for families, eta in _NVLINK:
        if any(f in name for f in families):
            return eta, "nvlink"
    return ETA_LINK_UNMEASURED, "nvlink"


def fabric(gpu: GpuSpec, efficiency: float | None = None) -> Fabric:
    """The GPU type's fabric; ``efficiency`` (calibrated, docs/calibration.md) replaces the
    link's achieved fraction and moves the network's by the same ratio, at most line rate."""
    eta, link = link_fraction(gpu)
    net = ETA_NET
    if efficiency is not None:
        net = min(1.0, ETA_NET * efficiency / eta)
        eta = efficiency
    return Fabric(eta * gpu.intra_node_bytes_per_s, net * gpu.inter_node_bytes_per_s,
                  gpu.gpus_per_node, link)


@frozen
class Group:
    """A collective group: ``size`` ranks, ``local`` of them on each node."""

    size: int
    local: int

    @property
    def nodes(self) -> int:
        return max(1, self.size // self.local)

    @property
    def spans_nodes(self) -> bool:
        return self.size > self.local


def group(size: int, stride: int, per_node: int) -> Group:
    """The group of ``size`` ranks ``stride`` apart in a rank order laid out node by node."""
    if size <= 1:
        return Group(1, 1)
    if stride >= per_node:
        return Group(size, 1)
    return Group(size, max(1, min(size, per_node // stride)))


def busbw(kind: str, g: Group, f: Fabric) -> float:
    """Bus bandwidth of a collective of ``kind`` ("ring": all-reduce, all-gather,
    reduce-scatter, send/recv; "a2a": all-to-all) on group ``g``."""
    intra = f.intra_busbw if kind == "ring" else f.intra_busbw * A2A_INTRA_OVER_RING
    if not g.spans_nodes:
        return intra
    if kind == "a2a":  # "Alltoall cannot aggregate the bandwidth of multiple NICs"
        return min(intra, f.nic)
    return min(intra, f.nic * g.local)


def latency(kind: str, g: Group, f: Fabric) -> float:
    """NCCL's latency of one collective on ``g`` (ring; the tree's when lower, all-reduce)."""
    if g.size <= 1:
        return 0.0
    steps = {"allreduce": 2 * (g.size - 1), "gather": g.size - 1, "p2p": 1, "a2a": 1}[kind]
    inter = {"allreduce": 2 * (g.nodes - 1), "gather": g.nodes - 1,
             "p2p": 1 if g.spans_nodes else 0, "a2a": 1 if g.spans_nodes else 0}[kind]
    ring = NCCL_BASE_LATENCY_S + (steps - inter) * NCCL_RING_HOP_S[f.link] \
        + inter * NCCL_RING_HOP_S["net"]
    if kind != "allreduce" or not g.spans_nodes:
        return ring
    tree = NCCL_BASE_LATENCY_S + 2 * ((g.local - 1) * NCCL_TREE_HOP_S[f.link]
                                      + math.log2(g.nodes) * NCCL_TREE_HOP_S["net"])
    return min(ring, tree)


def allreduce_seconds(nbytes: float, g: Group, f: Fabric, count: float = 1.0) -> float:
    """``count`` all-reduces of ``nbytes`` each (nccl-tests: busbw = algbw x 2(n-1)/n)."""
    if g.size <= 1 or nbytes <= 0:
        return 0.0
    return count * (latency("allreduce", g, f) + allreduce_bytes(nbytes, g.size) / busbw("ring", g, f))


def gather_seconds(nbytes: float, g: Group, f: Fabric, count: float = 1.0) -> float:
    """``count`` all-gathers (or reduce-scatters) of a tensor of ``nbytes`` gathered."""
    if g.size <= 1 or nbytes <= 0:
        return 0.0
    return count * (latency("gather", g, f) + gather_bytes(nbytes, g.size) / busbw("ring", g, f))


def alltoall_seconds(nbytes: float, g: Group, f: Fabric, count: float = 1.0) -> float:
    """``count`` all-to-alls in which each rank sends ``nbytes`` ((n-1)/n of them leave it)."""
    if g.size <= 1 or nbytes <= 0:
        return 0.0
    return count * (latency("a2a", g, f) + nbytes / busbw("a2a", g, f))


def p2p_seconds(nbytes: float, g: Group, f: Fabric, count: float = 1.0) -> float:
    """``count`` point-to-point sends of ``nbytes`` between neighbours of ``g`` (a pipeline)."""
    if g.size <= 1 or nbytes <= 0:
        return 0.0
    return count * (latency("p2p", g, f) + nbytes / busbw("ring", g, f))


def allreduce_bytes(nbytes: float, n: int) -> float:
    """Bytes each rank sends in a ring all-reduce: 2(n-1)/n x the buffer (nccl-tests)."""
    return 2.0 * (n - 1) / n * nbytes if n > 1 else 0.0


def gather_bytes(nbytes: float, n: int) -> float:
    """Bytes each rank sends in an all-gather / reduce-scatter of ``nbytes`` gathered."""
    return (n - 1) / n * nbytes if n > 1 else 0.0


def node_share(g: Group) -> float:
    """Of the bytes a rank of ``g`` sends in a ring (or a pipeline's point-to-point chain),
    the share that leaves its node: a ring laid out node by node crosses each node boundary
    once, so a node's ``local`` ranks together send one rank's bytes through the node's NICs
    (rails: all of them when local = 1)."""
    return 1.0 / g.local if g.spans_nodes else 0.0


def alltoall_node_share(g: Group) -> float:
    """Of the bytes a rank sends in an all-to-all, the share addressed to other nodes: its
    n - local peers there, of its n - 1 peers."""
    return (g.size - g.local) / (g.size - 1) if g.spans_nodes else 0.0


@frozen
class Groups:
    """The collective groups of a training layout, in Megatron-Core's rank order
    (TP innermost, then CP, then DP, PP outermost; EP within DP)."""

    tensor: Group
    context: Group
    data: Group  # gradient reduction and ZeRO sharding: the dp x cp ranks of one stage
    shard: Group  # the ZeRO-3 partition group (all of ``data`` unless HSDP)
    replica: Group  # HSDP: the ranks holding the same shard (size 1 without HSDP)
    expert: Group
    expert_data: Group  # ranks holding the same routed experts: dp x cp / ep
    pipeline: Group


def shard_size(layout: Layout) -> int:
    """Ranks one ZeRO partition spans: ``layout.shard`` (HSDP), or all dp x cp."""
    data = layout.dp * layout.cp
    return layout.shard if 0 < layout.shard < data else data


def groups(layout: Layout, per_node: int) -> Groups:
    tp, cp, dp, ep = layout.tp, layout.cp, layout.dp, layout.ep
    shard = shard_size(layout)
    return Groups(
        tensor=group(tp, 1, per_node),
        context=group(cp, tp, per_node),
        data=group(dp * cp, tp, per_node),
        shard=group(shard, tp, per_node),
        replica=group(dp * cp // shard, tp * shard, per_node),
        expert=group(ep, tp * cp, per_node),
        expert_data=group(max(1, dp // ep) * cp, tp * ep, per_node),
        pipeline=group(layout.pp, tp * cp * dp, per_node),
    )


class Link(NamedTuple):
    """A group's figures for timing: precomputed once per (layout, GPU type) (the search
    asks for the same groups thousands of times)."""

    size: int
    busbw: float  # ring bus bandwidth
    a2a_busbw: float
    allreduce_latency: float
    gather_latency: float
    p2p_latency: float
    a2a_latency: float
    share: float  # node_share: of a ring's bytes, the share that leaves the node
    a2a_share: float


def link(g: Group, f: Fabric) -> Link:
    return Link(g.size, busbw("ring", g, f), busbw("a2a", g, f), latency("allreduce", g, f),
                latency("gather", g, f), latency("p2p", g, f), latency("a2a", g, f),
                node_share(g), alltoall_node_share(g))


_LINK: dict[tuple, tuple[Fabric, Link]] = {}


def _link(size: int, stride: int, f: Fabric) -> Link:
    """``link(group(size, stride, f.per_node), f)``, memoised by the group's two numbers and
    the fabric (a search's layouts share a few dozen groups between them)."""
    per_node = f.per_node
    # group()'s size and ranks per node, without building the Group unless it is new
    local = 1 if size <= 1 or stride >= per_node else max(1, min(size, per_node // stride))
    # by the fabric's identity (hashing it is a Python call); the entry holds the fabric,
    # so its id is not reused while the entry lives
    key = (size if size > 1 else 1, local, id(f))
    hit = _LINK.get(key)
    if hit is None:
        if len(_LINK) >= _LINKS_LIMIT:
            _LINK.clear()
        hit = _LINK[key] = (f, link(group(size, stride, per_node), f))
    return hit[1]


_LINKS: dict[tuple, Groups] = {}
_LINKS_LIMIT = 1 << 16


def links(layout: Layout, f: Fabric) -> Groups:
    """``groups(layout)`` as ``Link``s (the same fields, timing figures instead of shapes),
    memoised by shape and fabric: every job on a GPU type shares them."""
    tp, cp, dp, pp, ep, shard = layout.tp, layout.cp, layout.dp, layout.pp, layout.ep, layout.shard
    key = (f, tp, cp, dp, pp, ep, shard)
    hit = _LINKS.get(key)
    if hit is None:
        part = shard_size(layout)
        # groups(): the same sizes and strides, in its order
        hit = Groups(_link(tp, 1, f), _link(cp, tp, f), _link(dp * cp, tp, f), _link(part, tp, f),
                     _link(dp * cp // part, tp * part, f), _link(ep, tp * cp, f),
                     _link(max(1, dp // ep) * cp, tp * ep, f), _link(pp, tp * cp * dp, f))
        if len(_LINKS) >= _LINKS_LIMIT:
            _LINKS.clear()
        _LINKS[key] = hit
    return hit
