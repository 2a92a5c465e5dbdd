"""The current model families read from their published config.json (tests/fixtures/configs,
sources in its README): each count within 1% of the published figure, and equal to the
count made module by module from the transformers implementation (docs/estimation.md sec 1)."""

from __future__ import annotations

import json

import pytest

from planner import plan
from planner.errors import PlanImportError, Span
from planner.estimate import lora_params, param_counts
from planner.resolve.bridge import arch_from_model
from planner.resolve.hfconfig import read_config, read_config_info
from support.paths import CONFIGS

SPAN = Span("plan.plan", 3, 5, 3, 30)


def _info(name: str):
    path = CONFIGS / f"{name}.json"
    return read_config_info(str(path), path.read_text(), SPAN)


def _counts(name: str):
    return param_counts(arch_from_model(plan.Model(name=name, **_info(name).fields)))


# (fixture, published total, the published line, exact count by module)
PUBLISHED = [
    # huggingface.co/Qwen/Qwen3-8B model card: "Number of Parameters: 8.2B"
    ("Qwen3-8B", 8.2e9, 8_190_735_360),
    # huggingface.co/Qwen/Qwen3-32B README (rev 9216db57): "Number of Parameters: 32.8B"
    # (the Hub's safetensors total at that revision: 32,762,123,264)
    ("Qwen3-32B", 32.8e9, 32_762_123_264),
    # keras-hub qwen3_moe_presets.py: "Mixture-of-Experts (MoE) model has 30.5 billion total
    # parameters with 3.3 billion activated, built on 48 layers" (params 30532122624)
    ("Qwen3-30B-A3B", 30.5e9, 30_532_122_624),
    # keras-hub qwen3_moe_presets.py: "235 billion total parameters with 22 billion activated,
    # built on 94 [layers]" (params 235093634560)
    ("Qwen3-235B-A22B", 235e9, 235_093_634_560),
    # keras-hub gemma2 presets: gemma2_9b_en "params": 9241705984
    ("gemma-2-9b-it", 9_241_705_984, 9_241_705_984),
    # keras-hub gemma2 presets: gemma2_27b_en "params": 27227128320
    ("gemma-2-27b", 27_227_128_320, 27_227_128_320),
    # Gemma 3 report (arXiv:2503.19786): "ranging in scale from 1 to 27 billion parameters"
    ("gemma-3-27b-it", 27e9, 27_009_346_304),
    # keras-hub phi3 presets: "3.8 billion parameters, 32 layers, 4k context length"
    ("Phi-3-mini-4k-instruct", 3.8e9, 3_821_079_552),
    # Phi-3 technical report (arXiv:2404.14219): phi-3-medium, 14B parameters
    ("Phi-3-medium-4k-instruct", 14e9, 13_960_238_080),
    # huggingface.co/openai/gpt-oss-20b README: "gpt-oss-20b ... (21B parameters with 3.6B
    # active parameters)"; keras-hub gpt_oss_20b_en 20_914_757_184
    ("gpt-oss-20b", 21e9, 20_914_757_184),
    # huggingface.co/openai/gpt-oss-120b README: "gpt-oss-120b ... (117B parameters with 5.1B
    # active parameters)"; keras-hub gpt_oss_120b_en 116_829_156_672
    ("gpt-oss-120b", 117e9, 116_829_156_672),
    # keras-hub mistral presets: magistral_small_2506_en / 2507_en "params": 23572403200 (the
    # text model; the Hub's 24,011,361,280 adds the Pixtral tower, test below)
    ("Magistral-Small-2509", 23_572_403_200, 23_572_403_200),
    # mistralai/Ministral-8B-Instruct-2410: "8B" (the model's name)
    ("Ministral-8B-Instruct-2410-AWQ-W4A16", 8e9, 8_019_808_256),
]


@pytest.mark.parametrize("name, published, exact", PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_total_within_one_percent_of_the_published_count(name, published, exact):
    total = _counts(name).total
    assert total == exact
    assert total == pytest.approx(published, rel=0.01)


def test_gemma2_counts_equal_the_reports_non_embedding_figures():
    # Gemma 2 report (arXiv:2408.00118), parameter table: "the 9B model has 8,324,201,984
    # [non-embedding parameters] and the 27B model has 26,047,480,320"
    for name, non_embedding in [("gemma-2-9b-it", 8_324_201_984), ("gemma-2-27b", 26_047_480_320)]:
        c = _counts(name)
        assert c.total - c.embedding == non_embedding


def test_llama4_scout_text_and_vision_within_one_percent_of_109b():
    # huggingface.co/blog/llama4-release: "Llama 4 Scout also has 17B active parameters out
    # of ~109B total". The text model alone is 1.1% under: the 109B holds the vision encoder,
    # 850,960,896 (34 layers, 1408 wide) + projector 4096 x 5120 = 20,971,520, counted from
    # the transformers Llama4VisionModel and Llama4MultiModalProjector modules.
    c = _counts("Llama-4-Scout-17B-16E-Instruct")
    assert c.total == 107_769_861_120
    assert c.total + 850_960_896 + 20_971_520 == pytest.approx(109e9, rel=0.01)
    assert c.active == 17_172_894_720
    assert c.active == pytest.approx(17e9, rel=0.011)


def test_magistral_with_its_vision_tower_is_the_hubs_total():
    # the Hub's safetensors total for Magistral-Small-2509 (rev 92ad3595): 24,011,361,280,
    # "24B"; the text model is 438,958,080 less (the Pixtral tower and projector)
    assert _counts("Magistral-Small-2509").total + 438_958_080 == 24_011_361_280


@pytest.mark.parametrize("name, published", [("gpt-oss-20b", 3.6e9), ("gpt-oss-120b", 5.1e9)])
def test_gpt_oss_active_counts_without_the_input_embedding(name, published):
    # the model card's "active" leaves the input embedding out (it is a lookup, not a matmul)
    c = _counts(name)
    assert c.active - c.input_embedding == pytest.approx(published, rel=0.01)


@pytest.mark.parametrize("name, active", [("Qwen3-30B-A3B", 3_353_032_704),
                                          ("Qwen3-235B-A22B", 22_190_763_520)])
def test_qwen3_moe_active_counts(name, active):
    # total - (experts - experts_per_token) routed experts of every layer, embeddings in
    assert _counts(name).active == active


# ---------------------------------------------------------------- what each family adds


def test_qwen3_has_q_k_norms_and_no_qwen2_biases():
    f = _info("Qwen3-8B").fields
    assert (f["qkv_bias"], f["qk_norm"], f["tied"]) == (False, True, False)
    a = arch_from_model(plan.Model(name="q", **f))
    # per layer: attention 41,943,040 + q/k norms 2 x 128 (modeling_qwen3 Qwen3RMSNorm(head_dim))
    assert param_counts(a).attention == 41_943_040 + 256


def test_gemma_configs_without_tie_word_embeddings_are_tied():
    # Gemma2Config and Gemma3TextConfig default tie_word_embeddings to true; the published
    # configs do not state it. Untied, gemma-2-9b would count 917,504,000 more.
    for name in ("gemma-2-9b-it", "gemma-2-27b", "gemma-3-27b-it"):
        assert "tie_word_embeddings" not in json.dumps(json.loads((CONFIGS / f"{name}.json").read_text()))
        f = _info(name).fields
        assert f["tied"] is True and f["norms_per_layer"] == 4
    f = _info("gemma-3-27b-it").fields
    # text_config omits these; Gemma3TextConfig: vocab_size 262208, max_position_embeddings 131072
    assert (f["vocab"], f["max_context"], f["qk_norm"]) == (262_208, 131_072, True)


def test_gpt_oss_sinks_router_bias_and_mxfp4_warning():
    info = _info("gpt-oss-20b")
    f = info.fields
    assert (f["sinks"], f["router_bias"], f["linear_bias"], f["qkv_bias"]) == (True, True, True, True)
    assert "precision" not in f  # mxfp4 has no plan precision: counted as bf16, and said so
    assert info.unmodelled_quantization == "mxfp4"
    (field, message), = info.warnings
    assert field == "precision" and "mxfp4" in message and "bf16" in message


def test_wrapped_configs_read_text_config_and_the_wrappers_dtype():
    info = _info("Magistral-Small-2509")  # "dtype": "bfloat16" at the top level only
    assert info.fields["precision"] == "bf16" and info.fields["head_dim"] == 128
    assert "vision" in info.extra_weights
    cfg = json.loads((CONFIGS / "Magistral-Small-2509.json").read_text())
    del cfg["text_config"]["hidden_size"]
    with pytest.raises(PlanImportError) as caught:
        read_config("m/config.json", json.dumps(cfg), SPAN)
    assert "'text_config.hidden_size'" in caught.value.message


def test_llama4_with_interleaved_moe_layers_is_refused():
    # Llama-4-Maverick alternates dense and MoE layers (interleave_moe_layer_step 2); the
    # plan models dense layers as a leading run, so such a config is an error, not a guess
    cfg = json.loads((CONFIGS / "Llama-4-Scout-17B-16E-Instruct.json").read_text())
    cfg["text_config"]["interleave_moe_layer_step"] = 2
    with pytest.raises(PlanImportError) as caught:
        read_config("maverick/config.json", json.dumps(cfg), SPAN)
    assert "leading run of dense layers" in caught.value.message
    cfg["text_config"]["moe_layers"] = list(range(8, 48))  # the first 8 dense: a leading run
    f = read_config("c.json", json.dumps(cfg), SPAN)
    assert (f["dense_layers"], f["ffn"], f["expert_ffn"], f["shared_experts"]) == (8, 16384, 8192, 1)


def test_phi3_lora_adapts_the_fused_matrices_once():
    # Phi3Attention.qkv_proj (3072 -> 3 x 3072) and Phi3MLP.gate_up_proj (3072 -> 2 x 8192):
    # PEFT adapts each fused matrix once: r x (in + out) per matrix (Hu et al. 2021 sec 4.1).
    a = arch_from_model(plan.Model(name="phi", **_info("Phi-3-mini-4k-instruct").fields))
    per_layer = 8 * ((3072 + 9216) + (3072 + 3072) + (3072 + 16384) + (8192 + 3072))
    assert lora_params(a, 8, ("q", "k", "v", "o", "gate", "up", "down")) == 32 * per_layer
    assert lora_params(a, 8, ("q",)) == lora_params(a, 8, ("q", "k", "v")) == 32 * 8 * (3072 + 9216)


def test_rope_scaling_block_extends_max_context():
    base = json.loads((CONFIGS / "Qwen2.5-7B.json").read_text())
    base["max_position_embeddings"] = 32768
    # the Qwen2.5 README's YaRN block: factor 4 over an original 32768 allows 131072
    base["rope_scaling"] = {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768}
    assert read_config("q.json", json.dumps(base), SPAN)["max_context"] == 131072
    # transformers >= 5 spells it rope_parameters
    base["rope_parameters"] = base.pop("rope_scaling")
    assert read_config("q.json", json.dumps(base), SPAN)["max_context"] == 131072
    # a factor alone (Gemma 3's linear 8) leaves max_position_embeddings as the limit
    base["rope_parameters"] = {"rope_type": "linear", "factor": 8.0}
    assert read_config("q.json", json.dumps(base), SPAN)["max_context"] == 32768
    base["rope_parameters"] = {"factor": "big", "original_max_position_embeddings": 1}
    with pytest.raises(PlanImportError) as caught:
        read_config("q.json", json.dumps(base), SPAN)
    assert "'rope_parameters.factor'" in caught.value.message


def test_ministral_model_type_reads_as_mistral():
    # transformers MinistralConfig (model_type "ministral"): Qwen2's layer with q/k/v biases
    # removed, MistralConfig's fields; num_key_value_heads defaults to 8, as Mistral's does
    cfg = json.loads((CONFIGS / "Ministral-8B-Instruct-2410-AWQ-W4A16.json").read_text())
    cfg["model_type"] = "ministral"
    f = read_config("m.json", json.dumps(cfg), SPAN)
    assert param_counts(arch_from_model(plan.Model(name="m", **f))).total == 8_019_808_256
    del cfg["num_key_value_heads"]
    assert read_config("m.json", json.dumps(cfg), SPAN)["kv_heads"] == 8
