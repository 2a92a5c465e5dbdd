"""`check` reports every input error `solve` would meet: pins, and every sweep combination.

Regression tests for plans that `check` passed and `solve` then refused
(exit 2) or accepted wrongly: pins the job cannot take, sweeps that each pass
alone but combine into `prompt >= context`, a swept `method = full` dropping
the written `rank`, ZeRO stages DeepSpeed cannot offload with.
"""

from __future__ import annotations

import math
import random

import pytest

from planner.errors import PlanError, PlanErrors, PlanLimitError, PlanNameError
from planner.resolve.load import load_plan
from planner.resolve.variants import build_variants
from planner.syntax.limits import MAX_ROWS

HEAD = ('import "std"\ngpu "A100-80G" { available = 64 }\n'
        'model "odd" { layers = 5  hidden = 768  heads = 12  ffn = 3072  vocab = 50257 }\n'
        'model "moe" { layers = 4  hidden = 1024  heads = 16  kv_heads = 4  ffn = 4096  vocab = 32000\n'
        '  experts = 8  experts_per_token = 2  expert_ffn = 1408 }\n')  # the plan's lines 1-5


def load(body: str):
    return load_plan("mem/p.plan", reader=lambda path: HEAD + body)


def errors(body: str) -> list[PlanError]:
    with pytest.raises(PlanError) as caught:
        load(body)
    error = caught.value
    return error.errors if isinstance(error, PlanErrors) else [error]


@pytest.mark.parametrize("body, words, pin", [
    ('serve "w" { model = "odd" users = 1 context = 1k layout { tp = 8 } }',
     "tp = 8 must divide the 12 attention heads and 12 KV heads of model `odd`", "tp"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens layout { pp = 6 } }',
     "pp = 6 is more than the 5 layers of model `odd`", "pp"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens layout { ep = 2 dp = 2 } }',
     "ep = 2 needs a mixture-of-experts model; `odd` has no experts", "ep"),
    ('pretrain "w" { model = "moe" dataset = 1B tokens layout { ep = 3 dp = 4 } }',
     "ep = 3 must divide the 8 experts of model `moe`", "ep"),
    ('pretrain "w" { model = "moe" dataset = 1B tokens layout { ep = 4 dp = 2 } }',
     "ep = 4 must be at most dp = 2", "ep"),
    ('serve "w" { model = "moe" users = 1 context = 1k layout { tp = 1 ep = 2 } }',
     "ep = 2 must be at most tp = 1", "ep"),
    ('finetune "w" { model = "odd" dataset = 1MB batch = 3 layout { dp = 2 } }',
     "dp = 2 must divide the global batch of 3 sequences", "dp"),
    ('finetune "w" { model = "odd" dataset = 1MB batch = 3 layout { micro_batch = 2 } }',
     "micro_batch = 2 must divide the global batch of 3 sequences", "micro_batch"),
    ('finetune "w" { model = "odd" dataset = 1MB batch = 4 layout { dp = 2 micro_batch = 4 } }',
     "micro_batch = 4 must divide the per-rank batch of 2 sequences", "micro_batch"),
    ('finetune "w" { model = "odd" dataset = 1MB layout { count = 6 tp = 4 } }',
     "count = 6 is not a multiple of tp = 4 = 4", "count"),
    ('serve "w" { model = "odd" users = 1 context = 1k layout { count = 3 tp = 2 replicas = 1 } }',
     "count = 3", "count"),
    ('finetune "w" { model = "odd" dataset = 1MB layout { zero = 2 offload = all } }',
     "offload = all moves parameters to the CPU, which DeepSpeed does only with ZeRO stage 3", "offload"),
    ('finetune "w" { model = "odd" dataset = 1MB layout { zero = 0 offload = all } }',
     "offload = all moves parameters to the CPU, which DeepSpeed does only with ZeRO stage 3 (zero = 0)",
     "offload"),
    ('finetune "w" { model = "odd" dataset = 1MB layout { zero = 0 offload = optimizer } }',
     "offload = optimizer needs ZeRO stage 1, 2 or 3", "offload"),
    # the training layout keys (issue 11)
    ('pretrain "w" { model = "odd" dataset = 1B tokens layout { tp = 1 sp = true } }',
     "sp = true splits what tensor parallelism keeps whole: it needs tp > 1", "sp"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens seq_len = 1000 layout { cp = 8 } }',
     "cp = 8 must split the sequence of 1000 tokens into 2 × cp equal chunks", "cp"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens layout { zero = 2 shard = 4 } }',
     "shard (HSDP) partitions ZeRO-3's states: it needs zero = 3, not 2", "shard"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens batch = 64 layout { dp = 8 shard = 3 } }',
     "shard = 3 must divide dp × cp = 8", "shard"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens layout { pp = 1 vpp = 2 } }',
     "vpp = 2 interleaves pipeline stages: it needs pp > 1", "vpp"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens layout { pp = 2 vpp = 2 } }',
     "vpp = 2 must divide the 3 layers of a stage at pp = 2", "vpp"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens batch = 6 layout { pp = 2 vpp = 3 dp = 2 micro_batch = 1 } }',
     "vpp = 3 needs the 3 micro-batches of a step to be a multiple of pp = 2", "vpp"),
    ('finetune "w" { model = "odd" dataset = 1MB layout { recompute = selective } }',
     "recompute = selective is Megatron's (the attention core alone); the hf stack", "recompute"),
    ('pretrain "w" { model = "odd" dataset = 1B tokens precision = fp8 layout { gpu = "A100-80G" } }',
     "gpu = A100-80G has no fp8 tensor cores", "gpu"),
    # what the stacks' own code refuses (docs/exports.md, "Refused")
    ('finetune "w" { model = "odd" method = qlora dataset = 1MB layout { tp = 2 } }',
     "tp = 2 splits weights, but QLoRA's base weights are bitsandbytes' packed", "tp"),
    ('finetune "w" { model = "odd" method = full dataset = 1MB layout { pp = 2 zero = 3 } }',
     "zero = 3 with pp = 2: DeepSpeed's pipeline engine refuses ZeRO-2 and ZeRO-3", "zero"),
])
def test_pins_the_job_cannot_take_are_check_errors_at_the_pin(body, words, pin):
    (error,) = errors(body)
    assert words in error.message, error.message
    column = body.index(f"{pin} = ", body.index("layout")) + len(f"{pin} = ") + 1  # the pinned value
    assert (error.span.file, error.span.line, error.span.column) == ("mem/p.plan", 6, column), str(error)
    assert error.message.startswith(f'{body.split()[0]} "w": layout {words.split()[0]}')


def test_independent_pin_errors_are_each_reported_once():
    body = ('finetune "w" { model = "odd" dataset = 1MB batch = 3 layout { tp = 8 pp = 9 dp = 2 } }\n'
            'sweep "w".epochs = [1, 2, 3]\n')
    messages = [e.message for e in errors(body)]
    assert len(messages) == 3, messages
    assert any("tp = 8" in m for m in messages) and any("pp = 9" in m for m in messages)
    assert any("dp = 2" in m for m in messages)


def test_sweeps_that_combine_into_prompt_at_least_context():
    # each value passes alone (against the block's context 8k and its default prompt);
    # together they give prompt 7000 >= context 4000 (was: solved `optimal`)
    body = ('serve "w" { model = "odd" users = 1 context = 8k }\n'
            'sweep "w".prompt = [1000, 7000]\nsweep "w".context = [4k, 16k]\n')
    (error,) = errors(body)
    assert (error.span.line, error.span.column) == (8, 22)  # `4k`, the value completing the pair
    assert 'serve "w" with prompt = 7000, context = 4k: `prompt` (7000) must be less than `context` (4000)' \
        in error.message


def test_a_swept_full_method_does_not_drop_a_written_rank():
    body = ('finetune "w" { model = "odd" dataset = 1MB method = lora rank = 8 targets = [q, v] }\n'
            'sweep "w".method = [lora, full]\n')
    messages = sorted(e.message for e in errors(body))
    assert len(messages) == 2
    assert all("with method = full" in m for m in messages)
    assert "`rank` applies to lora and qlora, but method = full" in messages[0]
    assert "`targets` applies to lora and qlora, but method = full" in messages[1]
    swept_rank = errors('finetune "w" { model = "odd" dataset = 1MB method = full }\nsweep "w".rank = [8]\n')
    assert "`rank` applies to lora and qlora" in swept_rank[0].message


def test_a_pin_broken_only_by_some_sweep_values_is_reported_at_those_values():
    body = ('finetune "w" { model = "odd" dataset = 1MB layout { dp = 4 } }\n'
            'sweep "w".batch = [8, 6, 16, 10]\nsweep "w".epochs = [1, 2]\n')
    found = errors(body)
    assert [(e.span.line, e.span.column) for e in found] == [(7, 23), (7, 30)]  # `6` and `10`, once each
    assert "dp = 4 must divide the global batch of 6 sequences" in found[0].message
    # swept models: the pin is checked against each one
    (error,) = errors('serve "w" { model = "odd" users = 1 context = 1k layout { pp = 5 } }\n'
                      'sweep "w".model = ["odd", "moe"]\n')
    assert (error.span.line, error.span.column) == (7, 27) and "4 layers of model `moe`" in error.message


def test_two_sweeps_of_one_key_on_a_workload():
    body = ('serve "chat-a" { model = "odd" users = 1 context = 1k }\n'
            'sweep "chat-*".users = [1, 2]\nsweep "chat-a".users = [3]\n')
    (error,) = errors(body)
    assert isinstance(error, PlanNameError) and "is swept on `users` twice" in error.message


def test_the_rows_of_a_plan_are_bounded():
    side = math.isqrt(MAX_ROWS) + 1  # two sweeps of this many values: just over the limit
    values = ",\n".join(str(i) for i in range(1, side + 1))
    body = ('serve "w" { model = "odd" users = 1 context = 64k }\n'
            f'sweep "w".users = [{values}]\nsweep "w".prompt = [{values}]\n')
    (error,) = errors(body)
    assert isinstance(error, PlanLimitError) and f"more than {MAX_ROWS:,} rows" in error.message


def test_import_depth_is_bounded(tmp_path):
    (tmp_path / ".git").mkdir()
    for i in range(40):
        (tmp_path / f"i{i}.plan").write_text(f'import "i{i + 1}.plan"\n')
    (tmp_path / "i40.plan").write_text('gpu "G" {}\n')
    with pytest.raises(PlanLimitError, match="imports nest deeper than the limit of 32"):
        load_plan(str(tmp_path / "i0.plan"))


def test_a_model_swept_in_must_be_complete():
    body = ('model "half" { layers = 2 }\nserve "w" { model = "odd" users = 1 context = 1k }\n'
            'sweep "w".model = ["odd", "half"]\n')
    (error,) = errors(body)
    assert 'model "half" is used but has no hidden, heads, ffn, vocab' in error.message


_MODELS = ("odd", "moe", "DeepSeek-R1-Distill-Qwen-7B", "Mixtral-8x7B", "DeepSeek-V3")


def _random_pinned(rng: random.Random) -> str:
    kind = rng.choice(["serve", "finetune", "pretrain"])
    pins = {k: rng.choice(v) for k, v in {
        "tp": [1, 2, 4, 8, 16], "pp": [1, 2, 3, 7, 64], "ep": [1, 2, 3, 8], "count": [1, 4, 6, 8, 64]}.items()
        if rng.random() < 0.5}
    if kind == "serve":
        pins.update({"replicas": rng.choice([1, 2, 3])} if rng.random() < 0.4 else {})
        head = f'serve "w" {{ model = "{rng.choice(_MODELS)}" users = 2 context = 2k'
    else:
        pins.update({k: rng.choice(v) for k, v in {
            "dp": [1, 2, 3, 4, 8], "micro_batch": [1, 2, 3], "zero": [0, 1, 2, 3],
            "offload": ["none", "optimizer", "all"]}.items() if rng.random() < 0.4})
        batch = f" batch = {rng.choice([6, 8, 16, 24])}" if rng.random() < 0.5 else ""
        head = f'{kind} "w" {{ model = "{rng.choice(_MODELS)}" dataset = 1MB{batch}'
    layout = " ".join(f"{k} = {v}" for k, v in pins.items())
    sweep = 'sweep "w".model = ["odd", "moe"]\n' if rng.random() < 0.3 else ""
    return f"{head} layout {{ {layout} }} }}\n{sweep}"


@pytest.mark.slow
def test_what_check_accepts_the_search_takes_without_an_input_error():
    # every pin error belongs to check: a plan that loads never meets one in the search
    from planner.search import Frontiers, search

    rng = random.Random(13)
    loaded = 0
    for _ in range(300):
        body = _random_pinned(rng)
        try:
            plan = load(body)
        except PlanError:
            continue
        loaded += 1
        frontiers = Frontiers()
        for row in build_variants(plan):
            search(row, frontiers)  # a PlanError here would be an input error solve found late
    assert loaded > 30


@pytest.mark.parametrize("fields, words, key", [
    ("kv_heads = 5", "kv_heads 5 must divide heads 12", "kv_heads"),
    ("kv_heads = 24", "kv_heads 24 must divide heads 12", "kv_heads"),
    ("experts = 4  experts_per_token = 5  expert_ffn = 64", "experts_per_token 5 must be from 1 to the 4 experts",
     "experts_per_token"),
    ("experts = 4  experts_per_token = 2  expert_ffn = 64  dense_layers = 6",
     "dense_layers 6 is more than the 5 layers", "dense_layers"),
])
def test_shapes_no_model_has(fields, words, key):
    body = f'model "x" {{ like = "odd"  {fields} }}\nserve "w" {{ model = "x" users = 1 context = 1k }}\n'
    (error,) = errors(body)
    assert words in error.message and error.span.line == 6
    assert error.span.column == body.index(f"{key} = ") + len(f"{key} = ") + 1


def test_a_swept_stack_is_reported_at_the_value_that_breaks_the_pin():
    body = ('finetune "w" { model = "odd" dataset = 1MB layout { recompute = selective } }\n'
            'sweep "w".stack = [megatron, fsdp]\n')
    (error,) = errors(body)
    assert error.message.startswith('finetune "w" with stack = fsdp: recompute = selective'), error.message
    assert (error.span.line, error.span.column) == (7, body.index("fsdp") - body.index("sweep") + 1)


def test_a_vpp_no_pipeline_depth_can_take():
    # found by the campaign: vpp = 1024 with pp free passed check, then solve raised ValueError
    (error,) = errors('finetune "w" { model = "odd" dataset = 1MB layout { vpp = 4 } }\n')
    assert "no number of stages splits the 5 layers of model `odd`" in error.message
    load('finetune "w" { model = "moe" dataset = 1MB layout { vpp = 2 } }\n')  # pp = 2 gives 2 layers a stage


def test_nf4_served_by_vllm_is_an_error_at_the_value_that_asks_for_it():
    # vLLM 0.33.0 has no bitsandbytes quantization method (its QUANTIZATION_METHODS)
    (error,) = errors('serve "w" { model = "odd" users = 1 context = 1k weights = nf4 }')
    assert "weights = nf4 is bitsandbytes' 4-bit format, which vLLM (0.33) does not load" in error.message
    assert (error.span.line, error.span.column) == (6, 1 + len('serve "w" { model = "odd" users = 1 context = 1k weights = '))
    load('serve "w" { model = "odd" users = 1 context = 1k weights = nf4 engine = transformers }')
    # swept: reported at the sweep value, naming the variant
    (swept,) = errors('serve "w" { model = "odd" users = 1 context = 1k }\nsweep "w".weights = [bf16, nf4]')
    assert swept.span.line == 7 and 'serve "w" with weights = nf4:' in swept.message
