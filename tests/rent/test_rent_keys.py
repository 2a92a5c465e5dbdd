"""The rental keys of a GPU block (issue 16, docs/language.md `gpu` keys): `shapes`,
`host_ram`, `host_cpus`, `host_nvme`, written, checked and bridged to GpuSpec."""

from __future__ import annotations

import pytest

from planner.errors import PlanError
from planner.resolve.bridge import gpu_spec
from planner.resolve.load import load_plan
from planner.resources import specs_dir
from planner.syntax import parse_plan

BASE = ('gpu "G" { memory = 80GiB  bf16 = 300TFLOPS  hbm = 2TB/s  interconnect = 300GB/s  '
        'network = 50Gbps  per_node = 8  price = 2/h  %s }')


def _gpu(extra: str):
    return parse_plan(BASE % extra, "g.plan").gpus[0]


def test_shapes_and_host_reach_the_gpu_spec():
    spec = gpu_spec(_gpu("shapes = [8, 1, 2, 4]  host_ram = 1152GiB  host_cpus = 96  host_nvme = 0GB"))
    assert spec.shapes == (1, 2, 4, 8)  # ascending, whatever the order written
    assert spec.host_ram_bytes == 1152 * 2**30 and spec.host_cpus == 96 and spec.host_nvme_bytes == 0


def test_unset_rental_keys_mean_any_count_and_no_host_check():
    spec = gpu_spec(_gpu(""))
    assert spec.shapes == () and spec.host_ram_bytes is None and spec.host_cpus is None


@pytest.mark.parametrize("text, words", [
    ("shapes = 8", "takes a list"),
    ("shapes = [1, 1, 8]", "lists `1` twice"),
    ("shapes = [0, 8]", "must be from 1 to 1024"),
    ("shapes = [1.5, 8]", "whole number"),
    ("host_ram = 512", "needs a unit"),
    ("host_cpus = 0", "must be from 1"),
])
def test_bad_rental_values_are_errors_at_the_value(text, words):
    with pytest.raises(PlanError) as info:
        _gpu(text)
    assert words in str(info.value)


def test_largest_shape_must_be_a_node():
    with pytest.raises(PlanError) as info:
        gpu_spec(_gpu("shapes = [1, 2, 4]"))
    message = str(info.value)
    assert "per_node = 8" in message and "[1, 2, 4]" in message


def test_catalog_shapes_end_at_per_node():
    """Every catalog GPU with both `shapes` and `per_node` sells whole nodes."""
    gpus = parse_plan((specs_dir() / "gpus.plan").read_text(), "gpus.plan").gpus
    with_shapes = [g for g in gpus if g.shapes]
    assert len(with_shapes) >= 16
    for g in with_shapes:
        if g.per_node is not None:
            assert max(g.shapes) == g.per_node, g.name
    by_name = {g.name: g for g in gpus}
    assert by_name["A100-40G"].shapes == [1, 2, 4, 8]
    assert by_name["A100-40G"].host_ram == 1152 * 2**30  # AWS p4d.24xlarge
    assert by_name["H200"].host_nvme is None  # not sourced: left unset


def test_a_plan_changing_a_catalog_per_node_keeps_the_smaller_shapes():
    # the catalog's A10G is sold as [1, 4, 8] (AWS g5); a plan's 4-GPU node sells [1, 4]
    plan = load_plan("mem/p.plan", reader=lambda path: 'import "std"\n'
                     'gpu "A10G" { available = 4  per_node = 4 }\n')
    spec = gpu_spec(next(g for g in plan.gpus if g.name == "A10G"))
    assert spec.gpus_per_node == 4 and spec.shapes == (1, 4)
