"""config.json files a fuzzer or an attacker would write: every one a PlanImportError naming
the file and the JSON key, never an OverflowError, ValueError, TypeError or RecursionError."""

from __future__ import annotations

import json

import pytest

from planner.errors import PlanImportError, Span
from planner.resolve.hfconfig import read_config
from support.paths import CONFIGS

SPAN = Span("plan.plan", 3, 5, 3, 30)
QWEN = json.loads((CONFIGS / "Qwen2.5-7B.json").read_text())


def _error(text: str) -> PlanImportError:
    with pytest.raises(PlanImportError) as caught:
        read_config("models/c.json", text, SPAN)
    error = caught.value
    assert error.message.startswith("models/c.json: ") and error.span == SPAN
    return error


def _with(**fields) -> str:
    return json.dumps(dict(QWEN, **fields))


@pytest.mark.parametrize("literal, words", [
    ("NaN", "'hidden_size' is NaN, which JSON does not allow"),  # was: ValueError in _as_int
    ("Infinity", "'hidden_size' is Infinity, which JSON does not allow"),  # was: OverflowError
    ("-Infinity", "'hidden_size' is -Infinity"),
    ("1e400", "'hidden_size' is 1e400, a number too large"),
    ("9" * 5000, "'hidden_size' is 99999999999999999999…, a number too large"),
])
def test_numbers_json_does_not_have_or_planner_cannot_hold(literal, words):
    text = _with(hidden_size=1).replace('"hidden_size": 1', f'"hidden_size": {literal}')
    assert words in _error(text).message


def test_non_finite_numbers_anywhere_are_named_by_their_path():
    text = _with(rope_scaling={"factors": [1, 2]}).replace("[1, 2]", "[1, NaN]")
    assert "'rope_scaling.factors[1]' is NaN" in _error(text).message


def test_deep_nesting_is_refused_before_it_is_parsed():
    # was: RecursionError from json.loads
    error = _error('{"model_type": "llama", "x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert "nested 65 or more levels deep" in error.message
    # brackets inside strings are not nesting
    assert read_config("c.json", _with(note="[[[[" * 100), SPAN)["hidden"] == 3584


def test_an_expert_width_of_zero_is_named_not_divided_by():
    text = _with(model_type="qwen2_moe", moe_intermediate_size=0, num_experts=4, num_experts_per_tok=2)
    assert "'moe_intermediate_size' is 0; expected a whole number >= 1" in _error(text).message


@pytest.mark.parametrize("value, words", [
    ([0.5], "'mlp_only_layers[0]' is 0.5; expected a whole number"),  # was: TypeError
    (["a"], "'mlp_only_layers[0]' is 'a'; expected a whole number"),
    ("abc", "'mlp_only_layers' is 'abc'; expected a list of whole numbers"),
    (3, "'mlp_only_layers' is 3; expected a list"),
])
def test_a_list_field_holding_something_else(value, words):
    text = _with(model_type="qwen2_moe", moe_intermediate_size=1408, num_experts=4, num_experts_per_tok=2,
                 mlp_only_layers=value)
    assert words in _error(text).message


@pytest.mark.parametrize("fields, words", [
    ({"num_hidden_layers": True}, "'num_hidden_layers' is true; expected a whole number"),
    ({"num_hidden_layers": [1]}, "'num_hidden_layers' is a list; expected a whole number"),
    ({"num_hidden_layers": {"a": 1}}, "'num_hidden_layers' is an object"),
    ({"num_hidden_layers": 10**12}, "'num_hidden_layers' gives `layers = 1000000000000`; `layers` must be from 1 to 10000"),
    ({"num_hidden_layers": 0}, "`layers` must be from 1 to 10000"),
    # found by the campaign (#95582): 1e-3082 reads as 0.0 (was: ZeroDivisionError)
    ({"num_attention_heads": 1e-3082}, "`heads` must be from 1 to"),
    ({"vocab_size": 2.5}, "'vocab_size' is 2.5; expected a whole number"),
    ({"tie_word_embeddings": "yes"}, "'tie_word_embeddings' is 'yes'; expected true or false"),
    ({"model_type": ["llama"]}, "'model_type' is a list; expected a string"),
    ({"torch_dtype": {"x": 1}}, "'torch_dtype' is an object, not a known weight dtype"),
    ({"quantization_config": {"quant_method": 5}}, "'quantization_config.quant_method' is (none)"),
])
def test_wrong_types_and_ranges_name_the_key(fields, words):
    assert words in _error(_with(**fields)).message


def test_a_config_that_is_not_an_object():
    assert "expected a JSON object, found a list" in _error("[1, 2]").message
    assert "expected a JSON object, found 3" in _error("3").message


def test_string_values_are_quoted_only_when_short_lowercase_names():
    error = _error(_with(model_type="Secret_Value_ABC123_not_a_family"))
    assert "Secret_Value" not in error.message and "'model_type' is a string" in error.message
    assert "'bert', which is not supported" in _error(_with(model_type="bert")).message


@pytest.mark.parametrize("text_config, words", [
    ([], "'text_config' is a list; expected an object"),
    (None, "config has no 'text_config'"),
    ({"model_type": "bert"}, "'text_config.model_type' is 'bert', which is not supported"),
    ({"model_type": "mistral", "num_attention_heads": 32, "hidden_size": "big"},
     "'text_config.hidden_size' is 'big'; expected a whole number"),
])
def test_a_wrapper_without_a_readable_text_config(text_config, words):
    text = json.dumps({"model_type": "mistral3", "text_config": text_config})
    assert words in _error(text).message


@pytest.mark.parametrize("rope, words", [
    ({"factor": True, "original_max_position_embeddings": 4096}, "'rope_scaling.factor' is true"),
    ({"factor": 4, "original_max_position_embeddings": -1}, "'rope_scaling.original_max_position_embeddings' is -1"),
    ({"factor": 1e12, "original_max_position_embeddings": 4096}, "`max_context = "),
    ("yarn", "'rope_scaling' is 'yarn'; expected an object"),
])
def test_rope_scaling_blocks_planner_cannot_read(rope, words):
    assert words in _error(_with(rope_scaling=rope)).message
