"""The serving keys of issue 12: a load of users or a rate, the request shape and its
defaults, the engine, the p99 limits; each mistake at its place."""

from __future__ import annotations

import pytest

from planner.errors import PlanError, PlanErrors, PlanNameError, PlanTypeError
from planner.resolve.variants import request_shape
from planner.syntax import parse_plan

HEAD = 'plan "p" { objective = cost }\n'  # every case starts on line 2


def _error(text: str) -> PlanError:
    with pytest.raises((PlanError, PlanErrors)) as caught:
        parse_plan(HEAD + text, "bad.plan")
    error = caught.value
    return error.errors[0] if isinstance(error, PlanErrors) else error


CASES = [
    # (text after HEAD, error class, words the message must contain, line, column)
    ('serve "s" { model = "m" context = 8k }', PlanTypeError, ["`users = 32`", "`rate = 20/s`"], 2, 7),
    ('serve "s" { model = "m" users = 3 rate = 2/s context = 8k }', PlanTypeError, ["not both"], 2, 35),
    ('serve "s" { model = "m" rate = 20 context = 8k }', PlanTypeError, ["`rate` needs a unit", "/s", "/min"], 2, 32),
    ('serve "s" { model = "m" rate = 20GB/s context = 8k }', PlanTypeError, ["`rate` takes a request rate", "GB/s"], 2, 32),
    ('serve "s" { model = "m" rate = 0/s context = 8k }', PlanTypeError, ["`rate` must be more than 0 and at most 1000000/s"], 2, 32),
    ('serve "s" { model = "m" users = 3 prompt = 1k }', PlanTypeError, ["needs `context`", "`prompt` and `output`"], 2, 7),
    ('serve "s" { model = "m" users = 3 context = 4k prompt = 3k output = 2k }', PlanTypeError,
     ["`prompt` + `output`", "3000 + 2000", "`context` (4000)"], 2, 57),
    ('serve "s" { model = "m" users = 3 context = 4k output = 4k }', PlanTypeError, ["`output` (4000) must be less than `context`"], 2, 57),
    ('serve "s" { model = "m" users = 3 context = 4k engine = tgi }', PlanTypeError, ["vllm, sglang, trtllm, transformers"], 2, 57),
    ('serve "s" { model = "m" users = 3 context = 4k engine = sgland }', PlanTypeError, ["did you mean `sglang`"], 2, 57),
    ('serve "s" { model = "m" users = 3 context = 4k prefix_cache = 100% }', PlanTypeError, ["`prefix_cache` must be from 0 to 0.99"], 2, 63),
    ('serve "s" { model = "m" users = 3 context = 4k ttft_p99 = 2s }', PlanTypeError, ["limit", "`ttft_p99 <= 2s`"], 2, 48),
    ('serve "s" { model = "m" users = 3 context = 4k tpot_p90 <= 2s }', PlanNameError, ["unknown key `tpot_p90`", "did you mean `tpot_p99`"], 2, 48),
]


@pytest.mark.parametrize("text,kind,words,line,column", CASES)
def test_serving_mistakes(text, kind, words, line, column):
    error = _error(text)
    assert isinstance(error, kind), (type(error), str(error))
    for word in words:
        assert word in str(error), (word, str(error))
    assert (error.span.line, error.span.column) == (line, column), str(error)


def _serve(body: str):
    return parse_plan(HEAD + f'serve "s" {{ model = "m" {body} }}', "ok.plan").workloads[0]


@pytest.mark.parametrize("body,shape", [
    ("users = 3 context = 8k", (8000, 6000, 2000)),  # prompt 0.75 x context, output the rest
    ("users = 3 context = 32768 prompt = 4096", (32768, 4096, 28672)),  # an old plan reads as before
    ("users = 3 context = 8k output = 500", (8000, 7500, 500)),
    ("users = 3 prompt = 3k output = 1k", (4000, 3000, 1000)),  # context = prompt + output
    ("users = 3 context = 8k prompt = 3k output = 1k", (8000, 3000, 1000)),  # room to spare
])
def test_request_shape_defaults(body, shape):
    assert request_shape(_serve(body)) == shape


def test_rates_and_shares_in_base_units():
    s = _serve("rate = 90/min prompt = 1k output = 100 prefix_cache = 0.4 engine = trtllm")
    assert s.rate == pytest.approx(1.5) and s.users is None
    assert s.prefix_cache == pytest.approx(0.4) and s.engine == "trtllm"
    assert _serve("users = 3 context = 4k").engine == "vllm"


def test_a_sweep_keeps_one_load_and_a_request_that_fits():
    from planner.resolve.load import load_plan

    def errors(text: str) -> str:
        with pytest.raises((PlanError, PlanErrors)) as caught:
            load_plan("mem/s.plan", reader=lambda path: 'import "std"\n' + text)
        found = caught.value
        return "\n".join(str(e) for e in getattr(found, "errors", [found]))

    body = ('gpu "L4" { available = 8 }\n'
            'serve "s" { model = "Llama-3.1-8B" rate = 2/s context = 4k prompt = 3k }\n')
    found = errors(body + 'sweep "s".users = [1, 2]')
    assert 'serve "s" with users = 1: `users` and `rate` both set' in found
    found = errors(body + 'sweep "s".prompt = [1k, 4k]')
    assert 'serve "s" with prompt = 4k: `prompt` (4000) must be less than `context`' in found
    assert "prompt = 1k" not in found
    # the same sweep on a service with room for it is fine
    load_plan("mem/s.plan", reader=lambda path: 'import "std"\n' + body + 'sweep "s".rate = [1/s, 4/s]')
