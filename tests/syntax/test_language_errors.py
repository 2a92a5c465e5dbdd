"""Bad plans: each error names the problem, at the right line and column."""

from __future__ import annotations

import pytest

from planner.errors import PlanError, PlanErrors, PlanNameError, PlanSyntaxError, PlanTypeError
from planner.syntax import parse_plan

HEAD = 'plan "p" { objective = cost }\n'  # every case starts on line 2

CASES = [
    # (text after HEAD, error class, words the message must contain, line, column)
    ('gpu "A" {\n  memory = 80 GB\n}', PlanSyntaxError, ["`GB` is separated", "`80GB`"], 3, 12),
    ('gpu "A" { memory = 80TFLOPS }', PlanTypeError, ["`memory`", "`TFLOPS`", "KiB", "GB"], 2, 20),
    ('gpu "A" { memory = 81920 }', PlanTypeError, ["`memory` needs a unit", "MiB"], 2, 20),
    ('finetune "t" {\n model = "m"\n dataset = 1B\n}', PlanTypeError, ["ambiguous", "`1B tokens`", "`1GB`"], 4, 12),
    ('finetune "t" { model = "m" dataset = 1GB\n  deadline = 24h }', PlanTypeError, ["limit", "`deadline <= 24h`"], 3, 3),
    ('serve "s" { model = "m" users = 0 context = 8k }', PlanTypeError, ["`users` must be from 1 to 10M", "`0`"], 2, 33),
    ('serve "s" { model = "m" users = -2 context = 8k }', PlanTypeError, ["`users` must be from 1 to 10M", "-2"], 2, 33),
    ('serve "s" { model = "m" users = 3 contxt = 8k }', PlanNameError, ["unknown key `contxt`", "did you mean `context`"], 2, 35),
    ('serve "s" { model = "m" users = 3 context = 8k\n layout { tp = 3 } }', PlanTypeError, ["`tp` must be a power of two"], 3, 16),
    ('gpu "A" { usable = 120% }', PlanTypeError, ["`usable` must be from 10% to 100%", "120%"], 2, 20),
    ('serv "s" { }', PlanNameError, ["unknown block `serv`", "did you mean `serve`"], 2, 1),
    ('gpu { memory = 1GB }', PlanSyntaxError, ["needs a name in double quotes"], 2, 5),
    ('gpu "A" { memory = 1GB', PlanSyntaxError, ["unexpected end of file", "`}`"], 2, 23),
    ('gpu "A" { memory: 1GB }', PlanSyntaxError, ["`:`", "key = value"], 2, 17),
    ('model "A" { like = "x }', PlanSyntaxError, ["string is not closed"], 2, 20),
    ('gpu "A" { memory = 8kv }', PlanTypeError, ["cannot read `8kv`", "bytes"], 2, 20),
    ('serve "s" { model = "m" users = 2.5 context = 8k }', PlanTypeError, ["whole number", "2.5"], 2, 33),
    ('finetune "t" { model = "m" dataset = 1GB method = qlra }', PlanTypeError, ["full, lora, qlora", "did you mean `qlora`"], 2, 51),
    ('serve "s" { model = "m" users <= 3 context = 8k }', PlanTypeError, ["not a limit", "`users = 3`"], 2, 25),
    ('gpu "A" { price = 1.79 }', PlanTypeError, ["price per GPU-hour", "`1.79/h`"], 2, 19),
    ('gpu "A" { price_date = "2026-13-01" }', PlanTypeError, ["YYYY-MM-DD"], 2, 24),
    ('gpu "A" { available = lots }', PlanTypeError, ["count or `unlimited`"], 2, 23),
    ('gpu "A" {}\ngpu "A" {}', PlanNameError, ["duplicate gpu `A`", "line 2"], 3, 5),
    ('finetune "t" { model = "m" }', PlanTypeError, ["needs `dataset = 1GB`"], 2, 10),
    ('sweep "t".layout = [1]', PlanNameError, ["`layout` cannot be swept"], 2, 11),
    ('serve "s" { model = "m" users = 3 context = 8k prompt = 8k }', PlanTypeError, ["less than `context`"], 2, 57),
    ('finetune "t" { model = "m" dataset = 1GB\nlayout { count = 4 tp = 1 pp = 1 dp = 2 } }', PlanTypeError,
     ["tp × cp × pp × dp = 2", "cp is 1 unless pinned"], 3, 18),
    ('finetune "t" { model = "m" dataset = 1GB\nlayout { shard = nodes } }', PlanTypeError,
     ["a count or `node`", "did you mean"], 3, 18),
    ('serve "s" { model = "m" users = 3 context = 8k layout { zero = 1 } }', PlanTypeError, ["training only"], 2, 57),
    ('gpu "A" { memory = 1e400GB }', PlanTypeError, ["`memory` must be from 1MiB to 16TiB", "1e400GB"], 2, 20),
    ('model "m" { tied = yes }', PlanTypeError, ["true or false"], 2, 20),
    ('gpu "A" { memory = 1GB memory = 2GB }', PlanNameError, ["written twice"], 2, 24),
    ('gpu "A" { bf16 = 0TFLOPS }', PlanTypeError, ["`bf16` must be from 0.1TFLOPS to 100PFLOPS"], 2, 18),
    ('serve "s" { model = "m" users = 3 context = 8k gpus = "A10G" }', PlanTypeError, ["takes a list"], 2, 55),
    ('gpu "A" { memory = 1GB } }', PlanSyntaxError, ["unexpected `}`", "a block such as"], 2, 26),
    ('gpu "A" { memory = 1GB \x01 }', PlanSyntaxError, ["unexpected character `\\x01`"], 2, 24),
    ('sweep "t". = [1]', PlanSyntaxError, ["the key to sweep"], 2, 12),
    ('plan "q" { }', PlanNameError, ["a second `plan` block"], 2, 6),
    ('sweep "t".users = 3', PlanSyntaxError, ["a sweep takes a list"], 2, 19),
    ('finetune "t" { model = "m" dataset = 100 }', PlanTypeError, ["needs a unit", "`100GB`", "`100 tokens`"], 2, 38),
    ('gpu "A" { available = 1.5k }', PlanError, [], 2, 23),  # 1500: valid, see below
]


def _first(text: str) -> PlanError | None:
    try:
        parse_plan(HEAD + text, "bad.plan")
    except PlanErrors as errors:
        return errors.errors[0]
    except PlanError as error:
        return error
    return None


@pytest.mark.parametrize("text, cls, words, line, column", CASES[:-1])
def test_bad_input(text, cls, words, line, column):
    error = _first(text)
    assert error is not None, text
    assert isinstance(error, cls), (type(error), error)
    for word in words:
        assert word in error.message, (word, error.message)
    assert (error.span.file, error.span.line, error.span.column) == ("bad.plan", line, column), str(error)


def test_case_count():
    assert len(CASES) - 1 >= 15


def test_a_plain_count_with_a_multiplier_is_fine():
    assert _first(CASES[-1][0]) is None


def test_three_independent_mistakes_are_all_reported():
    text = (
        'gpu "A" { memory = 80TFLOPS }\n'          # wrong unit
        'serve "s" { model = "m" users = 0\n'      # out of range
        '  context = 8k }\n'
        'finetune "t" { model = "m" dataset = 1B }\n'  # ambiguous
    )
    with pytest.raises(PlanErrors) as caught:
        parse_plan(text, "three.plan")
    errors = caught.value.errors
    assert [(e.span.line, e.span.column) for e in errors] == [(1, 20), (2, 33), (4, 38)]
    assert "`memory`" in errors[0].message and "from 1 to 10M" in errors[1].message and "ambiguous" in errors[2].message


def test_every_wrong_unit_names_key_unit_and_allowed():
    error = _first('serve "s" { model = "m" users = 3 context = 8k tpot <= 50GB }')
    assert "`tpot`" in error.message and "`GB`" in error.message and "ms, s, min, h, d" in error.message


def test_currency_must_match_the_plan():
    error = _first('gpu "A" { price = 1 EUR/h }')
    assert error is None  # no currency in this file's plan block
    with pytest.raises(PlanTypeError, match="currency is USD"):
        parse_plan('plan "p" { currency = "USD" }\ngpu "A" { price = 1 EUR/h }', "c.plan")


def test_rank_with_full_finetuning():
    error = _first('finetune "t" { model = "m" dataset = 1GB method = full rank = 8 }')
    assert "applies to lora and qlora" in error.message


def test_diagnostics_show_the_line_and_a_caret(tmp_path):
    from planner.diagnostics import format_error

    path = tmp_path / "c.plan"
    path.write_text('gpu "A" {\n  memory = 80TFLOPS\n}\n')
    with pytest.raises(PlanError) as caught:
        parse_plan(path.read_text(), str(path))
    text = format_error(caught.value)
    first, source, caret = text.splitlines()
    assert first.startswith(f"{path}:2:12: error: `memory`")
    assert source == "    memory = 80TFLOPS"
    assert caret == "  " + " " * 11 + "^" * 8
