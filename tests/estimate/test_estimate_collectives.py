"""Collectives by topology, worked by hand from their sources (docs/estimation.md sec 5,
"Collectives").

Sources: nccl-tests doc/PERFORMANCE.md (bus bandwidth: all-reduce 2(n-1)/n, all-gather and
reduce-scatter (n-1)/n of the buffer); NVIDIA GTC25 S72583 (8-GPU ring bus bandwidth: A100
232, H100 370, B200 700 GB/s; DGX A100 with 8 x 200 Gb/s HDR across nodes 192 GB/s; all-to-all
320 vs 370 on H100); NVIDIA/nccl #1639 (8 PCIe Gen5 GPUs: 28 GB/s); NCCL v2.30.7 tuning.cc
(Simple protocol: 8.4 us a collective, ring steps 3.4 us NVLink, 5.7 us PCIe, 14 us network;
tree levels 4 us NVLink, 14 us network).
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from planner.estimate import collectives as C
from planner.estimate.types import Layout
from support.arch import A100_80G

H100 = dataclasses.replace(A100_80G, name="H100-SXM", intra_node_bytes_per_s=450e9,
                           inter_node_bytes_per_s=50e9)
PCIE = dataclasses.replace(A100_80G, name="L40S", intra_node_bytes_per_s=32e9)


def test_link_fractions_by_generation():
    assert C.link_fraction(A100_80G) == (pytest.approx(232 / 300), "nvlink")
    assert C.link_fraction(H100) == (pytest.approx(370 / 450), "nvlink")
    assert C.link_fraction(dataclasses.replace(A100_80G, name="B200")) == (pytest.approx(700 / 900), "nvlink")
    assert C.link_fraction(PCIE) == (pytest.approx(28 / 64), "pcie")
    assert C.link_fraction(dataclasses.replace(A100_80G, name="A100-80G-PCIe")) == (pytest.approx(28 / 64), "pcie")
    # no published figure (V100's NVLink2, AMD xGMI): the lowest measured NVLink fraction
    assert C.link_fraction(dataclasses.replace(A100_80G, name="MI300X", intra_node_bytes_per_s=448e9)) \
        == (pytest.approx(232 / 300), "nvlink")


def test_intra_node_ring_is_the_nvlink_measurement():
    f = C.fabric(A100_80G)
    g = C.group(8, 1, 8)
    assert not g.spans_nodes
    assert C.busbw("ring", g, f) == pytest.approx(232e9)
    # an all-reduce of 1 GB over 8 A100s: 2 x 7/8 x 1 GB / 232 GB/s + 8.4 us + 14 x 3.4 us
    t = C.allreduce_seconds(1e9, g, f)
    assert t == pytest.approx(2 * 7 / 8 * 1e9 / 232e9 + 8.4e-6 + 14 * 3.4e-6, rel=1e-12)
    assert t == pytest.approx(7.5991e-3, rel=1e-4)


def test_across_nodes_the_node_nics_aggregate():
    # DGX A100: eight 200 Gb/s HDR NICs (25 GB/s each). A ring over 4 full nodes crosses each
    # node boundary once and its channels use every NIC: 0.96 x 8 x 25 = 192 GB/s, the GTC25
    # measurement on 32 GPUs (and no more than the NVLink ring's 232)
    selene = dataclasses.replace(A100_80G, inter_node_bytes_per_s=25e9)
    f = C.fabric(selene)
    full_nodes = C.group(32, 1, 8)
    assert (full_nodes.local, full_nodes.nodes) == (8, 4)
    assert C.busbw("ring", full_nodes, f) == pytest.approx(192e9)
    # with TP 8 inside each node the DP ring has one rank a node: its own NIC (a rail)
    rail = C.group(16, 8, 8)
    assert (rail.local, rail.nodes) == (1, 16)
    assert C.busbw("ring", rail, f) == pytest.approx(24e9)
    # TP 4: two DP ranks a node share two NICs' worth
    assert C.busbw("ring", C.group(16, 4, 8), f) == pytest.approx(48e9)
    # H100 with 8 x 400 Gb/s: the NICs (384) outrun the NVLink ring (370), which then binds
    assert C.busbw("ring", C.group(32, 1, 8), C.fabric(H100)) == pytest.approx(370e9)


def test_all_to_all_cannot_aggregate_nics():
    # "Alltoall cannot aggregate the bandwidth of multiple NICs" (nccl-tests #267): 0.96 x one
    # GPU's NIC across nodes; inside a node the all-to-all measurement, 320/370 of the ring
    f = C.fabric(H100)
    assert C.busbw("a2a", C.group(16, 1, 8), f) == pytest.approx(0.96 * 50e9)
    assert C.busbw("a2a", C.group(8, 1, 8), f) == pytest.approx(370e9 * 320 / 370)


def test_latency_ring_and_tree():
    # NCCL's model for an all-reduce over 16 nodes x 8 GPUs: ring 8.4 + (254 - 30) x 3.4 +
    # 30 x 14 = 1190 us; tree 8.4 + 2 x (7 x 4 + log2(16) x 14) = 176.4 us: the tree's
    f = C.fabric(A100_80G)
    g = C.group(128, 1, 8)
    ring = 8.4e-6 + (254 - 30) * 3.4e-6 + 30 * 14e-6
    tree = 8.4e-6 + 2 * (7 * 4e-6 + math.log2(16) * 14e-6)
    assert ring == pytest.approx(1190e-6) and tree == pytest.approx(176.4e-6)
    assert C.latency("allreduce", g, f) == pytest.approx(tree)
    # an all-gather over the same ranks has no tree: 8.4 + 112 x 3.4 + 15 x 14 = 599.2 us
    assert C.latency("gather", g, f) == pytest.approx(599.2e-6)
    # inside a node over PCIe: 8.4 + 7 x 5.7
    assert C.latency("gather", C.group(8, 1, 8), C.fabric(PCIE)) == pytest.approx(48.3e-6)
    assert C.latency("gather", C.group(1, 1, 8), f) == 0.0


def test_groups_in_megatron_rank_order():
    # TP 2, CP 2, DP 4 (one stage), PP 2 on nodes of 8: TP innermost, then CP, DP, PP
    g = C.groups(Layout(tp=2, cp=2, dp=4, pp=2, ep=2, zero=3, shard=2), 8)
    assert (g.tensor.size, g.tensor.local) == (2, 2)
    assert (g.context.size, g.context.local) == (2, 2)
    assert (g.data.size, g.data.local) == (8, 4)  # dp x cp ranks at stride tp: 4 a node
    assert (g.shard.size, g.shard.local) == (2, 2)  # HSDP: inside the node
    assert (g.replica.size, g.replica.local) == (4, 2)  # stride tp x shard = 4: 2 a node
    assert (g.pipeline.size, g.pipeline.local) == (2, 1)
    assert (g.expert_data.size, g.expert.size) == (4, 2)
    assert C.shard_size(Layout(dp=8, zero=3)) == 8 and C.shard_size(Layout(dp=8, zero=3, shard=4)) == 4


def test_node_shares():
    # a ring of 8 ranks a node: the node's NICs carry one rank's bytes of the eight
    assert C.node_share(C.group(32, 1, 8)) == pytest.approx(1 / 8)
    assert C.node_share(C.group(16, 8, 8)) == 1.0
    assert C.node_share(C.group(8, 1, 8)) == 0.0
    # all-to-all over 2 nodes of 8: 8 of a rank's 15 peers are on the other node
    assert C.alltoall_node_share(C.group(16, 1, 8)) == pytest.approx(8 / 15)
