"""`params` checked against the computed count, and a sequence against the model's context."""

from __future__ import annotations

import pytest

from planner.errors import PlanError, PlanErrors, PlanTypeError, PlanWarning
from planner.resolve.load import load_plan
from support.cli import run_cli

HEAD = 'import "std"\ngpu "A100-80G" { available = 8 }\n'


def _load(tmp_path, text: str, warnings: list | None = None):
    path = tmp_path / "p.plan"
    path.write_text(HEAD + text)
    return load_plan(str(path), warnings=warnings)


def _errors(tmp_path, text: str) -> list[PlanError]:
    with pytest.raises(PlanError) as caught:
        _load(tmp_path, text)
    e = caught.value
    return e.errors if isinstance(e, PlanErrors) else [e]


# ---------------------------------------------------------------- params


def test_a_declared_count_far_from_the_computed_one_is_an_error_naming_both(tmp_path):
    # the issue's case: a 9B `params` on DeepSeek-R1-Distill-Qwen-1.5B (1,777,088,000 counted:
    # 28 layers of 1536 wide, untied 151,936 x 1536 embeddings; specs/models.plan)
    (error,) = _errors(tmp_path, 'model "m" { like = "DeepSeek-R1-Distill-Qwen-1.5B"  params = 9B }\n')
    assert isinstance(error, PlanTypeError)
    assert "`params = 9B` is 406.4% more than the 1,777,088,000 parameters" in error.message
    assert "(1.78B)" in error.message
    assert (error.span.line, error.span.column) == (3, 62)


def test_within_two_percent_passes(tmp_path):
    # 1.75B is 1.5% under the 1,777,088,000 counted
    _load(tmp_path, 'model "m" { like = "DeepSeek-R1-Distill-Qwen-1.5B"  params = 1.75B }\n')
    (error,) = _errors(tmp_path, 'model "m" { like = "DeepSeek-R1-Distill-Qwen-1.5B"  params = 1.73B }\n')
    assert "`params = 1.73B` is 2.6% less" in error.message


def test_an_incompletely_described_model_gets_a_warning(tmp_path):
    # TinyLlama-1.1B's shape without kv_heads: the count assumes 32 KV heads (MHA), k and v
    # 22 x 2 x 2048 x (2048 - 256) = 161,480,704 more than with its 4: 1,261,529,088
    text = ('model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  ffn = 5632\n'
            '  vocab = 32000  tied = false  mlp = gated }\n')
    warnings: list = []
    _load(tmp_path, text, warnings)
    (warning,) = warnings
    assert isinstance(warning, PlanWarning)
    assert "kv_heads = heads (kv_heads not written)" in warning.message
    assert "`params = 1.1B` is 12.8% less than the 1,261,529,088" in warning.message
    # with kv_heads written the model is complete, and the count matches (1,100,048,384)
    warnings.clear()
    _load(tmp_path, text.replace("ffn = 5632", "ffn = 5632  kv_heads = 4"), warnings)
    assert warnings == []


def test_the_cli_prints_a_warning_and_keeps_the_exit_code(tmp_path):
    path = tmp_path / "p.plan"
    path.write_text(HEAD + 'model "t" { params = 9B  layers = 22  hidden = 2048  heads = 32\n'
                    '  ffn = 5632  vocab = 32000 }\n')
    code, out, err = run_cli("check", str(path))
    assert code == 0 and "ok" in out
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:3:22: warning: model \"t\": `params = 9B`")
    assert err.splitlines()[1] == "  model \"t\" { params = 9B  layers = 22  hidden = 2048  heads = 32"
    assert err.splitlines()[2].strip() == "^^"


def test_an_inherited_count_does_not_follow_a_changed_architecture(tmp_path):
    # Llama-3.1-8B's 8.03B does not describe a 16-layer copy: it is dropped, not checked
    plan = _load(tmp_path, 'model "half" { like = "Llama-3.1-8B"  layers = 16 }\n')
    assert {m.name: m for m in plan.models}["half"].params is None
    # a change the count does not depend on keeps it, and it is still checked
    plan = _load(tmp_path, 'model "short" { like = "Llama-3.1-8B"  max_context = 8k }\n')
    assert {m.name: m for m in plan.models}["short"].params == 8_030_000_000
    (error,) = _errors(tmp_path, 'model "Llama-3.1-8B" { params = 7B }\n')
    assert "`params = 7B` is 12.8% less than the 8,030,261,248" in error.message


# ---------------------------------------------------------------- context


SERVE = 'serve "chat" {{ model = "{model}"  users = 1  context = {context} }}\n'


@pytest.mark.parametrize("model, context, limit", [
    ("Llama-2-7B", "32k", 4096),  # the issue's cases: Llama-2-7B at 32k, Mistral at 128k
    ("Mistral-7B", "128k", 32768),
])
def test_a_context_beyond_the_model_is_an_error(tmp_path, model, context, limit):
    (error,) = _errors(tmp_path, SERVE.format(model=model, context=context))
    assert f"`context = {int(context[:-1]) * 1000}` is longer than model `{model}` supports: " \
           f"max_context {limit}" in error.message
    assert "rope_scaling" in error.message and error.span.line == 3


def test_a_stated_rope_scaling_factor_allows_a_longer_context(tmp_path):
    serve = SERVE.format(model="Llama-2-7B", context="16k")
    _load(tmp_path, 'model "Llama-2-7B" { rope_scaling = 4 }\n' + serve)  # 4 x 4096 = 16384 >= 16000
    (error,) = _errors(tmp_path, 'model "Llama-2-7B" { rope_scaling = 2 }\n' + serve)
    assert "max_context 4096 × rope_scaling 2 = 8192" in error.message


def test_training_sequence_lengths_written_swept_or_defaulted(tmp_path):
    tune = 'finetune "t" {{ model = "Llama-2-7B"  dataset = 1GB {extra}}}\n'
    (error,) = _errors(tmp_path, tune.format(extra="seq_len = 8k "))
    assert "`seq_len = 8000` is longer than model `Llama-2-7B` supports" in error.message
    # docs/language.md: seq_len defaults to 4096 for fine-tuning, Llama 2's limit
    _load(tmp_path, tune.format(extra=""))  # 4096 <= 4096
    errors = _errors(tmp_path, 'pretrain "p" { model = "Llama-2-7B"  dataset = 1B tokens }\n')
    assert "`seq_len` (default 8192) is longer" in errors[0].message
    errors = _errors(tmp_path, tune.format(extra="seq_len = 2k ") + 'sweep "t".seq_len = [2k, 6k]\n')
    (error,) = errors
    assert 'with seq_len = 6k: `seq_len = 6000`' in error.message
