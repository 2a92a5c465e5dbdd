"""The shipped catalog (specs/*.plan), planner.resolve.bridge, and `planner specs`."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from planner import plan
from planner.resolve.bridge import arch_from_model, gpu_spec
from planner.errors import PlanTypeError, Span
from planner.estimate import defaults, param_counts
from planner.resources import specs_dir
from planner.syntax import parse_plan

GPUS_FILE = specs_dir() / "gpus.plan"
MODELS_FILE = specs_dir() / "models.plan"

REQUIRED_GPUS = {
    "A10G", "L4", "L40S", "RTX-3090", "RTX-4090", "RTX-A6000", "V100-16G", "V100-32G",
    "A100-40G", "A100-80G", "A100-40G-PCIe", "A100-80G-PCIe", "H100-SXM", "H100-PCIe",
    "H100-NVL", "H200", "H20", "H800", "B200", "MI250X", "MI300X", "MI325X",
}
REQUIRED_MODELS = {
    "DeepSeek-R1", "DeepSeek-V3",
    "DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-7B",
    "DeepSeek-R1-Distill-Qwen-14B", "DeepSeek-R1-Distill-Qwen-32B",
    "DeepSeek-R1-Distill-Llama-8B", "DeepSeek-R1-Distill-Llama-70B",
    "Llama-2-7B", "Llama-2-13B", "Llama-2-70B", "Llama-3.1-8B", "Llama-3.1-70B",
    "Llama-3.1-405B", "Qwen2.5-7B", "Qwen2.5-14B", "Qwen2.5-32B", "Qwen2.5-72B",
    "Mistral-7B", "Mixtral-8x7B", "Mixtral-8x22B", "OPT-13B", "OPT-66B", "OPT-175B",
}


def _plan(path):
    return parse_plan(path.read_text(), str(path))


GPUS = {g.name: g for g in _plan(GPUS_FILE).gpus}
MODELS = {m.name: m for m in _plan(MODELS_FILE).models}


# ---------------------------------------------------------------- source comments

_BLOCK = re.compile(r'^(gpu|model)\s+"([^"]+)"')


def blocks_without_source(text: str) -> list[str]:
    """Names of gpu/model blocks with no `# source:` comment directly above or inside.

    "Directly above" is the run of comment lines ending on the line before the
    block; "inside" is any line up to the block's closing brace.
    """
    lines = text.splitlines()
    missing = []
    for i, line in enumerate(lines):
        match = _BLOCK.match(line)
        if not match:
            continue
        above = []
        j = i - 1
        while j >= 0 and lines[j].lstrip().startswith("#"):
            above.append(lines[j])
            j -= 1
        inside = []
        depth = 0
        for k in range(i, len(lines)):
            inside.append(lines[k])
            depth += lines[k].count("{") - lines[k].count("}")
            if depth <= 0 and "{" in "".join(inside):
                break
        if not any("# source:" in part for part in above + inside):
            missing.append(f"{match.group(1)} {match.group(2)}")
    return missing


@pytest.mark.parametrize("path", [GPUS_FILE, MODELS_FILE], ids=["gpus", "models"])
def test_every_block_has_a_source_comment(path):
    assert blocks_without_source(path.read_text()) == []


def test_source_checker_finds_a_block_without_source():
    text = (
        '# source: datasheet\ngpu "A" { memory = 1GB }\n\n'
        '# a comment that is no source\ngpu "B" {\n  memory = 1GB\n}\n'
        'model "C" {  # source: config.json\n  layers = 1\n}\n'
        '# source: far above\n\nmodel "D" { layers = 1 }\n'
    )
    assert blocks_without_source(text) == ["gpu B", "model D"]


def test_source_checker_counts_every_block_of_the_catalog():
    blocks = [l for l in GPUS_FILE.read_text().splitlines() if _BLOCK.match(l)]
    assert len(blocks) == len(GPUS)


# ---------------------------------------------------------------- catalog content


def test_catalog_has_the_required_entries():
    assert REQUIRED_GPUS <= set(GPUS)
    assert REQUIRED_MODELS <= set(MODELS)


def test_catalog_offers_nothing():
    # a plan offers a GPU by setting `available`; the catalog never does
    assert all(g.available is None for g in GPUS.values())
    code = [line.split("#", 1)[0] for line in GPUS_FILE.read_text().splitlines()]
    assert not any("available" in line for line in code)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_computed_parameters_within_one_percent_of_published(name):
    model = MODELS[name]
    total = param_counts(arch_from_model(model)).total
    assert total == pytest.approx(model.params, rel=0.01), f"{name}: {total} vs {model.params}"


@pytest.mark.parametrize(
    "name, active",
    [
        ("DeepSeek-V3", 37e9),  # DeepSeek-V3 report sec 4.2: 37B activated
        ("DeepSeek-R1", 37e9),
        ("Mixtral-8x7B", 12.9e9),  # Mixtral paper: 13B active; hub 12.9B
        ("Mixtral-8x22B", 39e9),  # Mistral AI: 39B active
    ],
)
def test_moe_active_parameters(name, active):
    # DeepSeek's 37B leaves out part of the embeddings, hence 2 %
    assert param_counts(arch_from_model(MODELS[name])).active == pytest.approx(active, rel=0.02)


def test_gpu_values_are_in_base_units():
    a10g = GPUS["A10G"]
    assert a10g.memory == 23028 * 2**20  # 23028MiB
    assert a10g.network == 12.5e9 / 8  # 12.5Gbps in bytes/s
    assert a10g.price == 1.006
    assert GPUS["A100-80G"].memory == 81920 * 2**20
    assert GPUS["H100-SXM"].hbm == 3.35e12
    assert GPUS["MI300X"].memory == 201310208 * 1024


def test_every_gpu_states_what_the_solver_always_needs():
    for g in GPUS.values():
        for field in ("memory", "bf16", "fp8", "int8", "hbm", "interconnect", "vendor"):
            assert getattr(g, field) is not None, f"{g.name} lacks {field}"
        assert (g.price is None) == (g.price_date is None), g.name
        # fp8 tensor cores run at twice the bf16 rate at most (datasheets round: L40S 733 vs
        # 362.05, hence 5 %);
        # a sparse figure copied by mistake would break this
        assert g.fp8 <= 2.05 * g.bf16, g.name
        assert g.bf16 < 2.5e15, g.name  # above B200's dense 2.25 PFLOPS: a sparse figure


def test_models_state_precision_and_family_shape():
    for m in MODELS.values():
        assert m.precision is not None and m.mlp is not None and m.norm is not None, m.name
    assert MODELS["DeepSeek-V3"].precision == "fp8"
    assert MODELS["OPT-13B"].positions == 2050 and MODELS["OPT-13B"].linear_bias is True


# ---------------------------------------------------------------- planner.resolve.bridge


def test_gpu_spec_fills_documented_defaults():
    spec = gpu_spec(GPUS["A100-80G"])
    assert spec.memory_bytes == 81920 * 2**20
    assert spec.usable_fraction == defaults.DEFAULT_USABLE_FRACTION
    assert spec.train_utilization == defaults.default_train_utilization("A100-80G", "nvidia")
    assert spec.gpus_per_node == 8 and spec.price_per_hour == 2.45
    assert spec.inter_node_bytes_per_s == 50e9 / 8


def test_gpu_spec_keeps_what_the_plan_sets():
    gpu = GPUS["A100-80G"].model_copy(update={"usable": 0.8, "utilization": 0.3, "fp8": None})
    spec = gpu_spec(gpu)
    assert (spec.usable_fraction, spec.train_utilization, spec.fp8_flops) == (0.8, 0.3, 0.0)


def test_gpu_spec_names_a_missing_field_at_the_block():
    span = Span("mine.plan", 4, 1, 6, 2)
    gpu = plan.Gpu(name="X1", span=span, memory=2**30, bf16=1e14, hbm=1e12,
                   interconnect=1e11, network=1e10, per_node=8)
    with pytest.raises(PlanTypeError) as caught:
        gpu_spec(gpu)
    assert "`price`" in caught.value.message and "'X1'" in caught.value.message
    assert caught.value.span == span


def test_catalog_gpu_without_a_sourced_network_must_be_completed_by_the_plan():
    with pytest.raises(PlanTypeError) as caught:
        gpu_spec(GPUS["RTX-4090"])
    assert "`network`" in caught.value.message
    offered = GPUS["RTX-4090"].model_copy(update={"network": 25e9 / 8, "per_node": 8})
    assert gpu_spec(offered).gpus_per_node == 8


def test_arch_defaults_and_mla_head_dim():
    tiny = plan.Model(name="tiny", layers=22, hidden=2048, heads=32, ffn=5632, vocab=32000)
    arch = arch_from_model(tiny)
    assert (arch.kv_heads, arch.head_dim, arch.gated_mlp, arch.norm) == (32, 64, True, "rms")
    assert (arch.precision, arch.experts, arch.kv_lora_rank) == ("bf16", 0, 0)
    assert arch_from_model(MODELS["DeepSeek-V3"]).head_dim == 128 + 64


def test_arch_names_a_missing_field():
    model = plan.Model(name="half", span=Span("p.plan", 2, 1, 2, 9), layers=2, hidden=64, heads=4)
    with pytest.raises(PlanTypeError) as caught:
        arch_from_model(model)
    assert "`ffn`" in caught.value.message and "like" in caught.value.hint


def test_arch_requires_moe_fields_when_experts_are_set():
    model = MODELS["Mixtral-8x7B"].model_copy(update={"expert_ffn": None})
    with pytest.raises(PlanTypeError) as caught:
        arch_from_model(model)
    assert "`expert_ffn`" in caught.value.message


# ---------------------------------------------------------------- planner specs


def _run(*args):
    from planner.cli import app

    result = CliRunner().invoke(app, ["specs", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_specs_gpus_json_is_sorted_and_stable():
    out = _run("gpus", "--format", "json")
    assert out == _run("gpus", "--format", "json")
    rows = json.loads(out)["gpus"]
    names = [r["name"] for r in rows]
    assert names == sorted(names) and REQUIRED_GPUS <= set(names)
    a10g = next(r for r in rows if r["name"] == "A10G")
    assert a10g["memory"] == 23028 * 2**20 and a10g["price_date"] == "2026-06-17"


def test_specs_models_json_carries_computed_counts():
    rows = {r["name"]: r for r in json.loads(_run("models", "--format", "json"))["models"]}
    v3 = rows["DeepSeek-V3"]
    assert v3["params"] == 671_000_000_000 and v3["kv_lora_rank"] == 512
    assert v3["computed_params"] == param_counts(arch_from_model(MODELS["DeepSeek-V3"])).total


def test_specs_tables_show_human_units():
    gpus = _run("gpus")
    assert "memory GiB" in gpus and "A10G" in gpus and "22.5" in gpus  # 23028 MiB = 22.5 GiB
    models = _run("models")
    assert "params B" in models and "671.00" in models and "MLA kv512" in models
