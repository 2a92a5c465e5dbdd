"""Numbers are bounded where they are written: every numeric key has a range, every unit a kind.

Regression tests for the fuzz findings `decimal.Overflow` in `values._decimal`
(a huge exponent with a unit multiplier) and `KeyError: 'Gbps'` in
`values._scaled` (a unit of another kind before `tokens`), and for values no
fleet can have (a price of 1e300/h, 1e40 tokens, a batch of 10**18).
"""

from __future__ import annotations

import itertools

import pytest

from planner.errors import PlanError, PlanTypeError
from planner.syntax import parse_plan
from planner.syntax.keys import DATASET_BYTES, DATASET_TOKENS, KEYS, SERVE_ONLY_LAYOUT, is_limit
from planner.syntax.units import ALL_UNITS, UNITS, spell
from planner.syntax.values import range_text
from support.paths import DOCS

NUMERIC = ("count", "tokens", "bytes", "duration", "flops", "bandwidth", "fraction", "price", "money",
           "real", "available", "zero", "rate", "share", "throughput")


REQUIRED = {"serve": {"model": '"m"', "users": "1", "context": "4k"},
            "finetune": {"model": '"m"', "dataset": "1GB"}, "pretrain": {"model": '"m"', "dataset": "1GB"},
            # a run measured something; a calibration sets one factor of its engine or stack
            "measured": {"workload": '"w"', "ttft": "1s"},
            "calibration": {"gpu": '"g"', "engine": "vllm", "hbm_fraction": "0.9"}}
TRAINING_CALIBRATION = {"gpu": '"g"', "stack": "megatron", "utilization": "0.5"}


def _entry(kind: str, key: str, text: str) -> str:
    """A one-block plan writing ``key = text`` with the block's other required keys
    (a layout key inside a finetune block)."""
    op = "<=" if is_limit("serve" if kind == "layout" else kind, key) else "="
    if kind == "layout" and key in SERVE_ONLY_LAYOUT:
        return f'serve "s" {{ model = "m" users = 1 context = 4k layout {{ {key} {op} {text} }} }}'
    if kind == "layout":
        return f'finetune "f" {{ model = "m" dataset = 1GB layout {{ {key} {op} {text} }} }}'
    # a service's load is users or rate, not both
    skip = {key, "users"} if key == "rate" else {key}
    required = REQUIRED.get(kind, {})
    if kind == "calibration" and key in ("utilization", "collective_efficiency"):
        required = TRAINING_CALIBRATION
    others = "".join(f"{k} = {v} " for k, v in required.items() if k not in skip)
    return f'{kind} "x" {{ {others}{key} {op} {text} }}'


def _error(text: str) -> PlanError | None:
    try:
        parse_plan(text, "b.plan")
    except PlanError as error:
        return error
    return None


def _numeric_keys():
    for kind, table in KEYS.items():
        for key, spec in table.items():
            if spec.kind in NUMERIC:
                yield kind, key, spec


def test_every_numeric_key_has_a_finite_range():
    for kind, key, spec in _numeric_keys():
        assert spec.low is not None and spec.high is not None, (kind, key)
        assert spec.high < 2**63, (kind, key)  # CP-SAT's integers


@pytest.mark.parametrize("kind, key, spec", list(_numeric_keys()), ids=lambda v: getattr(v, "kind", v))
def test_bounds_are_kept_and_beyond_them_is_an_error(kind, key, spec):
    # the bounds themselves, spelled in the key's own units, are accepted (an open low is not)
    high = spell(spec.kind, spec.high)
    if key not in ("prompt", "output"):  # less than `context`, whose own bound is the same
        assert _error(_entry(kind, key, high)) is None, (key, high)
    if not spec.low_open:
        assert _error(_entry(kind, key, spell(spec.kind, spec.low))) is None, key
    # ten times the bound is refused at the value, naming the range in plan words
    beyond = spell(spec.kind, spec.high * 10) if spec.kind != "zero" else "30"
    error = _error(_entry(kind, key, beyond))
    assert isinstance(error, PlanTypeError), (key, beyond)
    assert error.span.file == "b.plan" and f"`{key}`" in error.message
    assert range_text(spec) in error.message


@pytest.mark.parametrize("text", [
    "1e999999999999", "9e999999T", "1e-999999999999", "1e400000KB", "-1e999999d", "1e999999%",
    "1e999999TFLOPS", "1e999999Gbps", "9" * 4400, "0." + "0" * 4000 + "1", "1e999999/h", "1e999999 USD/h",
])
@pytest.mark.slow
def test_huge_exponents_and_long_numbers_never_overflow(text):
    # was: decimal.Overflow from `_decimal` (abs) and `_scaled` (the unit multiplier)
    for kind, key, _spec in _numeric_keys():
        error = _error(_entry(kind, key, text))
        assert error is None or isinstance(error, PlanError), (key, text)


def test_every_unit_before_tokens_is_checked():
    # was: KeyError 'Gbps' in `_scaled` for `seq_len = 5Gbps tokens`
    for unit in sorted(ALL_UNITS - {"tokens", "/h"} - set(UNITS["count"])):
        error = _error(_entry("finetune", "seq_len", f"5{unit} tokens"))
        if error is None:
            continue  # `5/h`-like spellings that lex as something else entirely
        assert isinstance(error, PlanError) and "seq_len" in error.message, unit
    error = _error('finetune "f" { model = "m" dataset = 5Gbps tokens }')
    assert "takes a token count; found unit `Gbps`" in error.message


@pytest.mark.slow
def test_every_key_with_every_unit_gives_a_value_or_a_plan_error():
    numbers = ["0", "2.5", "1e30"]
    units = sorted(ALL_UNITS) + [""] + [f"{u} tokens" for u in ("", "k", "GB", "Gbps")]
    for kind, table in KEYS.items():
        for key in table:
            for number, unit in itertools.product(numbers, units):
                text = f"{number}{unit}" if not unit.startswith(" ") else f"{number}{unit}"
                error = _error(_entry(kind, key, text))
                assert error is None or isinstance(error, PlanError)


@pytest.mark.parametrize("text, words", [
    ('gpu "g" { price = 1e300/h }', ["`price` must be from 0/h to 1000000/h", "`1e300/h`"]),
    ('finetune "f" { model = "m" dataset = 1e40 tokens }', ["from 1 tokens to 10000T tokens"]),
    ('finetune "f" { model = "m" dataset = 1GB batch = 1000000000000000000 }', ["`batch` must be from 1 to 1M"]),
    ('gpu "g" { available = 100M }', ["`available` must be from 1 to 1M"]),
    ('serve "s" { model = "m" users = 1 context = 1 }', ["`context` must be from 2 to 100M"]),
    ('finetune "f" { model = "m" dataset = 1GB bytes_per_token = 1e-300 }', ["from 0.1 to 100"]),
    ('gpu "g" { memory = 1e30PB }', ["`memory` must be from 1MiB to 16TiB"]),
    ('gpu "g" { fp8 = 1e-5TFLOPS }', ["`fp8` must be 0, or from 0.1TFLOPS to 100PFLOPS"]),
    ('finetune "f" { model = "m" dataset = 1GB deadline <= 1e6d }', ["more than 0 and at most 36500d"]),
])
def test_impossible_values_are_refused_in_the_plans_words(text, words):
    error = _error(text)
    assert isinstance(error, PlanTypeError), text
    for word in words:
        assert word in error.message, (word, error.message)


def test_dataset_ranges():
    assert range_text(DATASET_BYTES) == "from 1 to 100PB"
    assert range_text(DATASET_TOKENS) == "from 1 tokens to 10000T tokens"


def test_docs_state_every_range():
    doc = (DOCS / "language.md").read_text(encoding="utf-8")
    for kind, table in KEYS.items():
        section = doc.split(f"### `{kind}` keys", 1)[1].split("###", 1)[0]
        rows = {line.split("|")[1].strip().split(" ")[0].strip("`"): line for line in section.splitlines()
                if line.startswith("| `")}
        for key, spec in table.items():
            expected = range_text(spec) or "—"
            if spec.power_of_two:
                expected += ", a power of two"
            assert f"| {expected} |" in rows[key], (kind, key, expected, rows[key])
