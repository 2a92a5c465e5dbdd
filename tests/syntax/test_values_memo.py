"""convert_value's memo (planner/syntax/values.py): a value written again converts to the same
fields, in a dict of its own; a different spec for the same key is not served another's
result; errors are not kept and each names its own span."""

from __future__ import annotations

import pytest

from planner.errors import PlanTypeError, Span
from planner.syntax.ast import Value
from planner.syntax.keys import KEYS, Key
from planner.syntax.values import convert_value

CONTEXT = KEYS["serve"]["context"]


def value(text: str, line: int) -> Value:
    return Value("quantity", text, Span("p.plan", line, 5, line, 5 + len(text)), number=text[:-1], unit=text[-1])


def test_a_value_written_again_converts_to_the_same_fields_in_a_dict_of_its_own():
    first = convert_value("context", CONTEXT, value("8k", 1))
    first["context"] = -1  # a caller that changes its dict changes nobody else's
    again = convert_value("context", CONTEXT, value("8k", 2))
    assert again == {"context": 8000} and again is not first
    dataset = Value("tokens", "10M tokens", Span("p.plan", 3, 1, 3, 11), number="10", unit="M")
    one, two = (convert_value("dataset", KEYS["finetune"]["dataset"], dataset) for _ in range(2))
    assert one == two == {"dataset_tokens": 10_000_000, "dataset_bytes": None} and one is not two


def test_another_spec_for_the_same_key_converts_by_its_own_range():
    assert convert_value("context", CONTEXT, value("4k", 1)) == {"context": 4000}
    narrow = Key("tokens", low=2, high=1000)
    with pytest.raises(PlanTypeError):
        convert_value("context", narrow, value("4k", 1))


def test_errors_are_not_kept_and_name_their_own_span():
    bad = [Value("word", "many", Span("p.plan", line, 9, line, 13)) for line in (4, 7)]
    spans = []
    for v in bad:
        with pytest.raises(PlanTypeError) as error:
            convert_value("context", CONTEXT, v)
        spans.append(error.value.span)
    assert spans == [bad[0].span, bad[1].span]
