"""The training layout keys sp, cp, shard and vpp, and the workload keys stack and precision,
end to end: written, pinned, searched, checked, spelled and exported (docs/language.md,
docs/solve.md)."""

from __future__ import annotations

import pytest

from planner.errors import PlanError
from planner.export import artifacts
from planner.result import Result, RowLayout
from planner.units import layout as spell
from planner.verify import check

from pipeline.test_solve import load_text, plan_text, row_of, solve_text

A100 = 'gpu "A100-80G" { available = 16 }\n'


def _solve(body: str, gpus: str = A100, **kw) -> dict:
    return solve_text(plan_text(gpus, body), **kw)


M24 = 'model "m24" { like = "tiny" layers = 24 params = 1.2B }\n'


def test_pinned_keys_are_kept_and_checked():
    body = M24 + ('pretrain "p" { model = "m24" dataset = 2B tokens seq_len = 2k batch = 64\n'
            '  layout { gpu = "A100-80G" tp = 2 pp = 2 dp = 4 zero = 3 recompute = none\n'
            '           offload = none micro_batch = 2 sp = true cp = 1 shard = node vpp = 2 } }\n')
    result = _solve(body)
    row = row_of(result, "p")
    lay = row["layout"]
    # shard = node: the DP ranks of a node, 8 GPUs / (tp 2 x cp 1) = 4
    assert (lay["sp"], lay["cp"], lay["shard"], lay["vpp"]) == (True, 1, 4, 2)
    assert row["gpu_count"] == 16 and row["fits"]
    assert check(load_text(plan_text(A100, body)), Result.from_json(result)) == []
    assert "TP2 SP PP2 VPP2 DP4 ZeRO-3 shard=4 mb2" in row["reasons"][0]


def test_search_uses_sp_with_tp_and_cp_only_where_a_sequence_does_not_fit():
    # a 512K-token sequence of Llama-3.1-8B fits no A100 layout at cp = 1: the search
    # splits the sequence (CP doubles until a layout fits). 512K is 4x its 131072 context:
    # the plan states the RoPE scaling that allows it.
    row = row_of(_solve('model "Llama-3.1-8B" { rope_scaling = 4 }\n'
                        'pretrain "long" { model = "Llama-3.1-8B" dataset = 1B tokens '
                        'seq_len = 512k batch = 4 }\n'), "long")
    assert row["fits"] and row["layout"]["cp"] > 1
    assert row["layout"]["sp"] == (row["layout"]["tp"] > 1)
    # an ordinary sequence needs none
    short = row_of(_solve('pretrain "short" { model = "tiny" dataset = 1B tokens seq_len = 2k }\n'), "short")
    assert short["layout"]["cp"] == 1 and short["layout"]["sp"] == (short["layout"]["tp"] > 1)


def test_fp8_needs_fp8_tensor_cores():
    gpus = 'gpu "A100-80G" { available = 8 }\ngpu "H100-SXM" { available = 8 }\n'
    row = row_of(_solve('pretrain "p" { model = "tiny" dataset = 1B tokens precision = fp8 }\n', gpus,
                        explain=True), "p")
    assert row["gpu"] == "H100-SXM" and row["inputs"]["precision"] == "fp8"
    assert any("A100-80G: no fp8 tensor cores" in r for r in row["reasons"])
    alone = _solve('pretrain "p" { model = "tiny" dataset = 1B tokens precision = fp8 }\n')
    assert alone["status"] == "infeasible"
    assert row_of(alone, "p")["decided_by"] == "memory"


@pytest.mark.parametrize("body,message", [
    ('pretrain "w" { model = "tiny" dataset = 1B tokens layout { tp = 1 sp = true } }',
     "sp = true splits what tensor parallelism keeps whole"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens seq_len = 1000 layout { cp = 8 } }',
     "cp = 8 must split the sequence of 1000 tokens"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens layout { zero = 2 shard = 4 } }',
     "it needs zero = 3"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens batch = 64 layout { dp = 8 shard = 3 } }',
     "shard = 3 must divide dp × cp = 8"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens layout { pp = 1 vpp = 2 } }',
     "it needs pp > 1"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens layout { pp = 2 vpp = 3 } }',
     "vpp = 3 must divide the 11 layers"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens batch = 6 '
     'layout { pp = 2 vpp = 11 dp = 2 micro_batch = 1 } }', "the 3 micro-batches of a step"),
    ('finetune "w" { model = "tiny" dataset = 1MB method = lora layout { recompute = selective } }',
     "the hf stack checkpoints whole layers"),
    ('pretrain "w" { model = "tiny" dataset = 1B tokens precision = fp8 layout { gpu = "A100-80G" } }',
     "has no fp8 tensor cores"),
])
def test_pins_the_job_cannot_take_are_input_errors(body, message):
    with pytest.raises(PlanError) as caught:
        _solve(body + "\n")
    assert message in caught.value.message


def test_stack_is_a_workload_input():
    body = ('finetune "a" { model = "tiny" method = lora dataset = 10MB }\n'
            'finetune "b" { model = "tiny" method = lora dataset = 10MB stack = megatron }\n')
    result = _solve(body)
    a, b = row_of(result, "a"), row_of(result, "b")
    assert (a["inputs"]["stack"], b["inputs"]["stack"]) == ("hf", "megatron")
    # the fused loss and kernels: Megatron holds less and runs faster at the same layout
    assert b["memory_per_gpu_bytes"]["activations"] <= a["memory_per_gpu_bytes"]["activations"] \
        or b["layout"] != a["layout"]


def test_layout_spelling():
    lay = RowLayout(tp=8, pp=4, dp=8, ep=1, zero=3, recompute="full", offload="none",
                    micro_batch=2, replicas=1, weights="bf16", sp=True, cp=2, shard=8, vpp=2)
    assert spell(lay) == "TP8 SP CP2 PP4 VPP2 DP8 ZeRO-3 shard=8 recompute=full mb2 bf16"
    # rows written before these keys existed, and services, show none of them
    old = RowLayout(tp=8, pp=1, dp=2, ep=1, zero=0, recompute="none", offload="none",
                    micro_batch=1, replicas=1, weights="bf16")
    assert spell(old) == "TP8 DP2 bf16"


def test_exports_name_what_their_format_cannot_express():
    body = M24 + ('pretrain "p" { model = "m24" dataset = 2B tokens seq_len = 2k batch = 64\n'
            '  layout { gpu = "A100-80G" tp = 2 pp = 2 dp = 4 zero = 3 recompute = none\n'
            '           offload = none micro_batch = 2 sp = true shard = 4 vpp = 2 } }\n')
    result = Result.from_json(_solve(body))
    (ds,), _ = artifacts(result, "deepspeed")
    notes = " ".join(ds.notes)
    for words in ("sequence parallelism", "interleaved pipeline stages", "HSDP", "megatron stack"):
        assert words in notes, words
    assert "mics_shard_size" not in ds.text
    (sky,), _ = artifacts(result, "skypilot")
    assert sky.notes and "TP2 SP PP2 VPP2 DP4" in sky.notes[0]
