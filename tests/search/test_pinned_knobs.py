"""Pinned training knobs the search must honour where the rest of the layout is free.

Found by the fuzz campaign (benchmarks/fuzz.py): each plan passed `check` and then failed in
solve, because the search kept a pinned knob at a layout that cannot take it (sp at TP 1, vpp at
PP 1, an HSDP shard below ZeRO-3), or gave up on the interleaved schedule at every DP after it
failed at the largest (a micro-batch count not a multiple of pp is not a memory failure).
"""

from __future__ import annotations

import pytest

from support.solving import solve_text

HEAD = 'import "std"\ngpu "{gpu}" {{ available = {n} }}\n'


def _row(gpu: str, n: str, workload: str) -> dict:
    result = solve_text(HEAD.format(gpu=gpu, n=n) + workload)
    (row,) = result["workloads"]
    assert result["status"] in ("optimal", "feasible") and row["fits"], row["reasons"]
    return row


def test_pinned_sp_takes_a_tensor_parallel_degree_above_one():
    row = _row("A100-80G", "8", 'pretrain "w" { model = "Mistral-7B"  dataset = 1B tokens  layout { sp = true } }')
    assert row["layout"]["sp"] is True and row["layout"]["tp"] >= 2


def test_pinned_shard_runs_under_zero3_on_a_data_degree_it_divides():
    row = _row("A100-80G", "unlimited",
               'pretrain "w" { model = "Mistral-7B"  dataset = 1B tokens  layout { shard = 2 } }')
    lay = row["layout"]
    assert lay["shard"] == 2 and lay["zero"] == 3 and (lay["dp"] * lay["cp"]) % 2 == 0


@pytest.mark.parametrize("pins", ["vpp = 2", "pp = 2  vpp = 2"])
def test_pinned_vpp_finds_the_data_degree_whose_micro_batches_interleave(pins):
    # Mistral-7B's fine-tune batch is 16 sequences: at DP 16 there is one micro-batch, not a
    # multiple of pp = 2; at DP 1 there are 16. Estimated by hand with `planner estimate
    # --tp 2 --pp 2 --dp 1 --vpp 2`: 18.1 GiB of 22.5 GiB, so a layout exists.
    row = _row("A10G", "unlimited",
               'finetune "w" { model = "Mistral-7B"  dataset = 10MB  layout { ' + pins + ' } }')
    lay = row["layout"]
    micro_batches = 16 // (lay["dp"] * lay["micro_batch"])
    assert lay["vpp"] == 2 and lay["pp"] > 1 and micro_batches % lay["pp"] == 0
    assert (32 // lay["pp"]) % 2 == 0


def test_the_search_keeps_to_what_the_stack_runs():
    # DeepSpeed's pipeline engine refuses ZeRO-2/3 (deepspeed/runtime/pipe/engine.py);
    # QLoRA's packed 4-bit base weights take no tensor-parallel split
    full = _row("A10G", "16", 'finetune "w" { model = "Mistral-7B"  method = full  dataset = 100MB }')
    assert full["layout"]["pp"] == 1 or full["layout"]["zero"] <= 1
    qlora = _row("A10G", "16", 'finetune "w" { model = "Llama-3.1-70B"  method = qlora  dataset = 10MB }')
    assert qlora["layout"]["tp"] == 1 and qlora["layout"]["ep"] == 1
    for row in (full, qlora):
        for line in row["alternatives"]:
            assert line["layout"]["tp"] == 1 or row is full
            assert line["layout"]["pp"] == 1 or line["layout"]["zero"] <= 1
