"""The serving search's pruning by proven latency floors and its rate-decided ``carried``
(docs/solve.md, "Pruning") change nothing it finds: every GPU type's outcome (options,
feasible candidates, nearest misses, counts) is the plain search's, to the bit."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.resolve.variants import build_variants
from planner.search import serve as serve_search
from planner.search.serve import search_serve

from support.solving import load_text


def _plain(monkeypatch) -> None:
    """The search without the shortcuts: every replica count it asks for evaluated."""
    monkeypatch.setattr(serve_search._Shape, "latency_floors",
                        lambda self, variant: [None, None])
    monkeypatch.setattr(serve_search._Shape, "carries",
                        lambda self, replicas: self.at(replicas).carried)
    monkeypatch.setattr(serve_search, "_may_be_fastest", lambda variant, out, missed: True)


def _outcomes(text: str) -> list[str]:
    found = []
    for variant in build_variants(load_text(text)):
        for order, offer in enumerate(variant.offers):
            found.append(repr(search_serve(variant, offer, order)))
    return found


def _both(text: str) -> tuple[list[str], list[str]]:
    from _pytest.monkeypatch import MonkeyPatch

    pruned = _outcomes(text)
    with MonkeyPatch.context() as mp:
        _plain(mp)
        plain = _outcomes(text)
    return pruned, plain


CHAT = """import "std"
plan "p" { objective = cost }
gpu "L4" { available = 64 }
gpu "L40S" { available = 16 }
gpu "H100-SXM" { available = 8 }
serve "a" { model = "Llama-3.1-70B" rate = 1/s context = 8192 prompt = 6144 output = 512
            weights = auto ttft <= 2s ttft_p99 <= 6s tpot <= 50ms }
serve "b" { model = "Llama-3.1-8B" rate = 20/s context = 4096 prompt = 3584 output = 64
            prefix_cache = 50% weights = auto ttft <= 500ms tpot <= 25ms }
serve "c" { model = "Llama-3.1-8B" users = 40 context = 4096 prompt = 3000 output = 64
            tpot <= 20ms }
serve "d" { model = "Llama-3.1-70B" users = 3000 context = 8192 prompt = 6144 output = 512
            ttft <= 2s }
sweep "a".rate = [0.25/s, 4/s]
"""


def test_chat_service_like_plan_is_the_plain_search(monkeypatch):
    """chat-service's shape (where the floors decide most L4 shapes and the nearest miss of
    several GPU types), a closed loop whose TPOT limit the floor decides and one that few
    replica counts carry."""
    pruned, plain = _both(CHAT)
    assert pruned == plain


@st.composite
def plans(draw):
    model = draw(st.sampled_from(["Llama-3.1-8B", "Llama-3.1-70B", "Mixtral-8x7B", "Qwen2.5-14B"]))
    engine = draw(st.sampled_from(["vllm", "sglang", "trtllm", "transformers"]))
    load = (f"rate = {draw(st.sampled_from(['0.1', '0.5', '2', '9', '40']))}/s"
            if draw(st.booleans()) else f"users = {draw(st.sampled_from([1, 5, 30, 200]))}")
    prompt = draw(st.sampled_from([100, 900, 3000, 7000]))
    output = draw(st.sampled_from([1, 2, 64, 600]))
    limits = []
    if draw(st.booleans()):
        limits.append(f"ttft <= {draw(st.sampled_from(['30ms', '150ms', '600ms', '2s', '9s']))}")
    if draw(st.booleans()):
        limits.append(f"tpot <= {draw(st.sampled_from(['4ms', '12ms', '30ms', '90ms']))}")
    if draw(st.booleans()):
        limits.append(f"ttft_p99 <= {draw(st.sampled_from(['1s', '20s']))}")
    gpus = draw(st.lists(st.sampled_from(["L4", "L40S", "A100-80G", "H100-SXM"]), min_size=1,
                         max_size=2, unique=True))
    counts = [draw(st.sampled_from([1, 4, 8, 16])) for _ in gpus]
    prefix = draw(st.sampled_from(["", "prefix_cache = 50%"]))
    return "\n".join([
        'import "std"', 'plan "p" { objective = cost }',
        *(f'gpu "{g}" {{ available = {n} }}' for g, n in zip(gpus, counts)),
        f'serve "s" {{ model = "{model}" {load} context = {prompt + output + 16} '
        f'prompt = {prompt} output = {output} engine = {engine} {prefix} {" ".join(limits)} }}',
    ])


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans())
def test_random_services_are_the_plain_search(text):
    pruned, plain = _both(text)
    assert pruned == plain, text
