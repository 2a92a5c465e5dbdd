"""planner.resolve.hfconfig: config.json text -> Model fields, and its errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from planner import plan
from planner.resolve.bridge import arch_from_model
from planner.errors import PlanImportError, Span
from planner.estimate import param_counts
from planner.resolve.hfconfig import SUPPORTED_MODEL_TYPES, read_config
from planner.resources import specs_dir
from planner.syntax import parse_plan
from support.paths import CONFIGS

FIXTURES = CONFIGS
SPAN = Span("plan.plan", 3, 5, 3, 30)


def _catalog() -> dict[str, plan.Model]:
    path = specs_dir() / "models.plan"
    return {m.name: m for m in parse_plan(path.read_text(), str(path)).models}


def _read(name: str) -> dict:
    path = FIXTURES / name
    return read_config(str(path), path.read_text(), SPAN)


def _arch(name: str, fields: dict):
    return arch_from_model(plan.Model(name=name, **fields))


# Each fixture is the published config.json of a catalog model (see fixtures/configs/README.md).
@pytest.mark.parametrize(
    "fixture, catalog_name",
    [
        ("DeepSeek-R1-Distill-Llama-8B.json", "DeepSeek-R1-Distill-Llama-8B"),  # dense GQA
        ("Mixtral-8x7B-v0.1.json", "Mixtral-8x7B"),  # MoE
        ("DeepSeek-V3.json", "DeepSeek-V3"),  # MoE + MLA, fp8
        ("Qwen2.5-7B.json", "Qwen2.5-7B"),  # qkv bias
        ("opt-13b.json", "OPT-13B"),  # learned positions, biases, LayerNorm
    ],
)
def test_fixture_gives_the_catalog_architecture(fixture, catalog_name):
    entry = _catalog()[catalog_name]
    from_config = _arch(catalog_name, _read(fixture))
    assert from_config == arch_from_model(entry)


def test_llama_fields_map_one_to_one():
    fields = _read("DeepSeek-R1-Distill-Llama-8B.json")
    assert fields == {
        "layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn": 14336,
        "vocab": 128256, "tied": False, "mlp": "gated", "norm": "rms", "positions": 0,
        "max_context": 131072, "precision": "bf16", "qkv_bias": False, "linear_bias": False,
    }


def test_deepseek_v3_reads_moe_mla_and_fp8():
    f = _read("DeepSeek-V3.json")
    assert f["precision"] == "fp8"  # quantization_config wins over torch_dtype bfloat16
    assert (f["experts"], f["shared_experts"], f["experts_per_token"]) == (256, 1, 8)
    assert (f["expert_ffn"], f["dense_layers"]) == (2048, 3)
    assert (f["q_lora_rank"], f["kv_lora_rank"]) == (1536, 512)
    assert (f["qk_nope_dim"], f["qk_rope_dim"], f["v_head_dim"]) == (128, 64, 128)
    # MLA attention scores use nope + rope = 192 per head
    assert _arch("v3", f).head_dim == 192


def test_opt_positions_include_the_offset_of_two():
    f = _read("opt-13b.json")
    # transformers OPTLearnedPositionalEmbedding: max_position_embeddings + 2 rows
    assert (f["positions"], f["max_context"]) == (2050, 2048)
    assert (f["tied"], f["linear_bias"], f["norm"], f["mlp"]) == (True, True, "layer", "plain")
    assert f["precision"] == "fp16"


def test_gpt_neox_pythia_count_matches_the_published_total():
    # Pythia-1.4B: 1,414,647,808 parameters (EleutherAI/pythia README, "Total Params").
    # By hand: embed_in + embed_out 2 x 50304 x 2048 = 206,045,184; per layer
    # 2 LayerNorms 8,192 + qkv 2048x6144+6144 + dense 2048^2+2048 + MLP 2x2048x8192+8192+2048
    # = 50,358,272, x 24 = 1,208,598,528; final LayerNorm 4,096.
    f = _read("pythia-1.4b.json")
    assert (f["mlp"], f["norm"], f["linear_bias"], f["qkv_bias"]) == ("plain", "layer", True, True)
    assert param_counts(_arch("pythia", f)).total == 1_414_647_808


def _qwen2_moe_a27b() -> dict:
    # Qwen/Qwen1.5-MoE-A2.7B config.json (the shape fields)
    return {
        "model_type": "qwen2_moe", "hidden_size": 2048, "num_hidden_layers": 24,
        "num_attention_heads": 16, "num_key_value_heads": 16, "intermediate_size": 5632,
        "moe_intermediate_size": 1408, "shared_expert_intermediate_size": 5632,
        "num_experts": 60, "num_experts_per_tok": 4, "decoder_sparse_step": 1,
        "mlp_only_layers": [], "vocab_size": 151936, "max_position_embeddings": 8192,
        "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    }


def test_qwen2_moe_shared_expert_counts_in_expert_widths():
    f = read_config("c.json", json.dumps(_qwen2_moe_a27b()), SPAN)
    assert (f["experts"], f["experts_per_token"], f["expert_ffn"]) == (60, 4, 1408)
    assert (f["shared_experts"], f["dense_layers"], f["qkv_bias"]) == (4, 0, True)
    # Qwen1.5-MoE-A2.7B model card: 14.3B parameters in total, 2.7B activated
    # (the card counts activated parameters without embeddings; ours include them).
    counts = param_counts(_arch("a27b", f))
    assert counts.total == pytest.approx(14.3e9, rel=0.01)
    assert counts.active - counts.embedding == pytest.approx(2.0e9, rel=0.05)


def test_deepseek_v2_lite_has_no_query_compression():
    # deepseek-ai/DeepSeek-V2-Lite config.json: q_lora_rank null
    cfg = {
        "model_type": "deepseek_v2", "hidden_size": 2048, "num_hidden_layers": 27,
        "num_attention_heads": 16, "num_key_value_heads": 16, "intermediate_size": 10944,
        "moe_intermediate_size": 1408, "n_routed_experts": 64, "n_shared_experts": 2,
        "num_experts_per_tok": 6, "first_k_dense_replace": 1, "moe_layer_freq": 1,
        "q_lora_rank": None, "kv_lora_rank": 512, "qk_nope_head_dim": 128,
        "qk_rope_head_dim": 64, "v_head_dim": 128, "vocab_size": 102400,
        "max_position_embeddings": 163840, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
    }
    f = read_config("lite.json", json.dumps(cfg), SPAN)
    assert f["q_lora_rank"] == 0 and f["kv_lora_rank"] == 512
    # DeepSeek-V2-Lite model card: 15.7B total parameters
    assert param_counts(_arch("lite", f)).total == pytest.approx(15.7e9, rel=0.01)


def test_mistral_reads_head_dim_only_when_it_differs():
    base = {
        "model_type": "mistral", "hidden_size": 5120, "num_hidden_layers": 40,
        "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
        "vocab_size": 131072, "head_dim": 128,
    }
    assert read_config("n.json", json.dumps(base), SPAN)["head_dim"] == 128  # 5120/32 = 160
    same = dict(base, hidden_size=4096)
    assert "head_dim" not in read_config("m.json", json.dumps(same), SPAN)


def test_kv_heads_default_to_heads_and_dtype_key_is_accepted():
    cfg = {
        "model_type": "llama", "hidden_size": 4096, "num_hidden_layers": 32,
        "num_attention_heads": 32, "intermediate_size": 11008, "vocab_size": 32000,
        "dtype": "float16",
    }
    f = read_config("l.json", json.dumps(cfg), SPAN)
    assert f["kv_heads"] == 32 and f["precision"] == "fp16"
    assert "max_context" not in f


# ---------------------------------------------------------------- errors


def test_unknown_model_type_names_file_and_supported_families():
    with pytest.raises(PlanImportError) as caught:
        read_config("models/x/config.json", '{"model_type": "bert", "hidden_size": 768}', SPAN)
    error = caught.value
    assert "models/x/config.json" in error.message and "'bert'" in error.message
    assert "not supported" in error.message
    for family in SUPPORTED_MODEL_TYPES:
        assert family in error.hint
    assert error.span == SPAN


def test_close_model_type_gets_a_suggestion():
    with pytest.raises(PlanImportError) as caught:
        read_config("c.json", '{"model_type": "lama"}', SPAN)
    assert "did you mean 'llama'" in caught.value.hint


def test_missing_field_names_file_field_and_purpose():
    cfg = json.loads((FIXTURES / "DeepSeek-R1-Distill-Llama-8B.json").read_text())
    del cfg["hidden_size"]
    with pytest.raises(PlanImportError) as caught:
        read_config("models/r1/config.json", json.dumps(cfg), SPAN)
    error = caught.value
    assert "models/r1/config.json" in error.message
    assert "'hidden_size'" in error.message and "'llama'" in error.message
    assert "every weight matrix" in error.hint


def test_missing_mla_field_in_deepseek_config():
    cfg = json.loads((FIXTURES / "DeepSeek-V3.json").read_text())
    del cfg["kv_lora_rank"]
    with pytest.raises(PlanImportError) as caught:
        read_config("v3/config.json", json.dumps(cfg), SPAN)
    assert "'kv_lora_rank'" in caught.value.message
    assert "latent" in caught.value.hint


def test_missing_model_type():
    with pytest.raises(PlanImportError) as caught:
        read_config("c.json", '{"hidden_size": 1}', SPAN)
    assert "no 'model_type'" in caught.value.message


def test_invalid_json_reports_line_and_column():
    text = '{\n  "model_type": "llama",\n  "hidden_size": 4096,,\n}'
    with pytest.raises(PlanImportError) as caught:
        read_config("broken/config.json", text, SPAN)
    message = caught.value.message
    assert "broken/config.json" in message and "invalid JSON" in message
    # the second comma of line 3 is its 23rd character
    assert "line 3 column 23" in message


def test_wrong_value_type_is_reported():
    cfg = {"model_type": "llama", "hidden_size": "4096", "num_hidden_layers": 1,
           "num_attention_heads": 1, "intermediate_size": 1, "vocab_size": 1}
    with pytest.raises(PlanImportError) as caught:
        read_config("c.json", json.dumps(cfg), SPAN)
    assert "'hidden_size'" in caught.value.message and "whole number" in caught.value.message


def test_unsupported_quantization_is_reported():
    cfg = json.loads((FIXTURES / "Qwen2.5-7B.json").read_text())
    cfg["quantization_config"] = {"quant_method": "hqq"}
    with pytest.raises(PlanImportError) as caught:
        read_config("q/config.json", json.dumps(cfg), SPAN)
    assert "'hqq'" in caught.value.message


def test_quantized_checkpoints_map_to_plan_precisions():
    cfg = json.loads((FIXTURES / "Qwen2.5-7B.json").read_text())
    for quant, expected in [
        ({"quant_method": "awq", "bits": 4}, "int4"),
        ({"quant_method": "gptq", "bits": 8}, "int8"),
        ({"quant_method": "bitsandbytes", "load_in_4bit": True,
          "bnb_4bit_quant_type": "nf4"}, "nf4"),
    ]:
        text = json.dumps(dict(cfg, quantization_config=quant))
        assert read_config("q.json", text, SPAN)["precision"] == expected


def test_fields_are_valid_model_fields():
    for name in sorted(p.name for p in FIXTURES.glob("*.json")):
        fields = _read(name)
        model = plan.Model(name="m", **fields)  # pydantic rejects unknown keys (extra=forbid)
        assert dataclasses.asdict(arch_from_model(model))["name"] == "m"


# ---------------------------------------------------------------- through the loader


def test_plan_config_key_reads_a_local_file(tmp_path):
    from planner.resolve.load import load_plan

    (tmp_path / "models").mkdir()
    source = (FIXTURES / "Mixtral-8x7B-v0.1.json").read_text()
    (tmp_path / "models" / "config.json").write_text(source)
    (tmp_path / "p.plan").write_text(
        'model "mine" { config = "models/config.json"  max_context = 8192 }\n'
    )
    mine = {m.name: m for m in load_plan(str(tmp_path / "p.plan")).models}["mine"]
    assert (mine.experts, mine.experts_per_token, mine.hidden) == (8, 2, 4096)
    assert mine.max_context == 8192  # the block's own value wins over the file's
    catalog = _catalog()["Mixtral-8x7B"].model_copy(update={"max_context": 8192})
    expected = arch_from_model(catalog)
    assert arch_from_model(mine) == dataclasses.replace(expected, name="mine")


def test_plan_config_error_points_at_the_plan(tmp_path):
    from planner.resolve.load import load_plan

    (tmp_path / "config.json").write_text('{"model_type": "t5"}')
    (tmp_path / "p.plan").write_text('model "mine" {\n  config = "config.json"\n}\n')
    with pytest.raises(PlanImportError) as caught:
        load_plan(str(tmp_path / "p.plan"))
    error = caught.value
    assert "'t5'" in error.message and "config.json" in error.message
    assert error.span is not None and error.span.file.endswith("p.plan")
