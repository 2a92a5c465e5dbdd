"""The serving model against every public serving measurement (tests/support/fidelity_serving.py).

Acceptance (issue 12): in every group the median absolute error is at most 20%, and no case is
off by more than 50%. ``python benchmarks/fidelity.py`` prints the rows.
"""

from __future__ import annotations

import statistics

import pytest

from support import fidelity_serving as F

MEDIAN_BOUND = 0.20
CASE_BOUND = 0.50


def _check(rows) -> None:
    assert rows
    errors = [abs(r.error) for r in rows]
    worst = max(rows, key=lambda r: abs(r.error))
    assert statistics.median(errors) <= MEDIAN_BOUND
    assert abs(worst.error) <= CASE_BOUND, f"{worst.case} {worst.metric}: {worst.error:+.1%}"


def test_litgpt_single_stream():
    rows = F.litgpt_rows()
    assert len(rows) == 6
    _check(rows)
    # nf4 is slower than bf16 on the same model, as LitGPT measured (dequantizing kernels)
    by_id = {r.case: r.predicted for r in rows}
    assert by_id["litgpt_inference_llama_2_7b_bnb_nf4"] < by_id["litgpt_inference_llama_2_7b_none"]


def test_trtllm_max_throughput():
    rows = F.trtllm_throughput_rows()
    assert len(rows) == 20
    _check(rows)


@pytest.mark.slow
def test_trtllm_online():
    rows = F.trtllm_online_rows()
    assert len(rows) == 20
    _check(rows)


def test_vllm_latency():
    rows = F.vllm_latency_rows()
    assert len(rows) == 3
    _check(rows)
