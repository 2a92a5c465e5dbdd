"""Calibration blocks: checked against their sourced bounds, and used by solve in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest

from planner import api
from planner.calibrate import calibrate
from planner.errors import PlanError
from planner.resolve.load import load_plan

PLAN = '''import "std"
gpu "H100-SXM" {{ available = 8 }}
serve "chat" {{ model = "Llama-3.1-8B" users = 16 prompt = 1000 output = 200 weights = bf16 }}
pretrain "base" {{ model = "Llama-3.1-8B" dataset = 1B tokens seq_len = 4096 batch = 256 {extra} }}
{calibrations}
'''
SERVING = 'calibration "h100-vllm" { gpu = "H100-SXM" engine = vllm step_overhead = 3ms hbm_fraction = 0.7 ' \
          'runs = 4 residual = 2.5% date = "2025-06-01" }'
TRAINING = 'calibration "h100-megatron" { gpu = "H100-SXM" stack = megatron utilization = 0.4 }'


def _load(tmp_path, calibrations: str, extra: str = ""):
    path = tmp_path / "p.plan"
    path.write_text(PLAN.format(calibrations=calibrations, extra=extra), encoding="utf-8")
    return path, load_plan(str(path))


@pytest.mark.parametrize("block, words", [
    ('calibration "c" { gpu = "H100-SXM" engine = vllm compute_fraction = 0.95 }',
     ["`compute_fraction` = 0.95 is outside its bounds for H100-SXM", "0.139 to 0.803"]),
    ('calibration "c" { gpu = "H100-SXM" engine = vllm hbm_fraction = 0.2 }', ["outside its bounds"]),
    ('calibration "c" { gpu = "H100-SXM" engine = vllm step_overhead = 50ms }', ["0ms to 40ms"]),
    ('calibration "c" { gpu = "H100-SXM" engine = transformers step_overhead = 5ms }',
     ["does not apply to the transformers engine"]),
    ('calibration "c" { gpu = "H100-SXM" engine = vllm utilization = 0.5 }', ["`utilization` is a training factor"]),
    ('calibration "c" { gpu = "H100-SXM" stack = fsdp }', ["sets no factor"]),
    ('calibration "c" { gpu = "H100-SXM" hbm_fraction = 0.8 }', ["needs `engine = vllm`"]),
    ('calibration "c" { gpu = "H100-SMX" engine = vllm hbm_fraction = 0.8 }', ["did you mean `H100-SXM`"]),
    (SERVING + '\ncalibration "again" { gpu = "H100-SXM" engine = vllm hbm_fraction = 0.8 }',
     ["a second one for H100-SXM with engine vllm"]),
])
def test_calibration_mistakes(tmp_path, block, words):
    with pytest.raises(PlanError) as caught:
        _load(tmp_path, block)
    for word in words:
        assert word in str(caught.value), (word, str(caught.value))
    assert caught.value.span is not None and caught.value.span.line >= 5


def test_a_row_says_which_calibration_it_used_in_every_format(tmp_path):
    path, plan = _load(tmp_path, SERVING + "\n" + TRAINING)
    result = api.solve(plan, file=str(path))  # the independent checker re-derives each row
    chat = next(r for r in result.workloads if r.name == "chat")
    base = next(r for r in result.workloads if r.name == "base")
    assert chat.calibration.name == "h100-vllm" and chat.calibration.engine == "vllm"
    assert chat.calibration.factors == {"step_overhead": 0.003, "hbm_fraction": 0.7}
    assert (chat.calibration.runs, chat.calibration.residual) == (4, 0.025)
    assert base.calibration.factors == {"utilization": 0.4}
    plain_path, plain = _load(tmp_path, "")
    uncalibrated = api.solve(plain, file=str(plain_path))
    before = {r.name: r for r in uncalibrated.workloads}
    assert before["chat"].calibration is None
    assert chat.service.tpot_mean_seconds > before["chat"].service.tpot_mean_seconds * 1.2
    assert base.hours > before["base"].hours * 1.2  # 0.4 of peak instead of 0.652
    table = api.render(result, "table")
    assert 'calibrated: "h100-vllm" (step_overhead 3 ms, hbm_fraction 0.7; 4 runs to 2025-06-01, ' \
           'residual 2.5%)' in table
    assert 'calibrated: "h100-megatron" (utilization 0.4)' in api.render(result, "markdown")
    rows = list(csv.DictReader(io.StringIO(api.render(result, "csv"))))
    assert rows[0]["calibration"].startswith('"h100-vllm"') or rows[1]["calibration"].startswith('"h100-vllm"')
    data = json.loads(api.render(result, "json"))
    used = {r["name"]: r["calibration"] for r in data["workloads"]}
    assert used["chat"]["factors"] == {"step_overhead": 0.003, "hbm_fraction": 0.7}
    assert "calibrated: " in api.report(result)


def test_a_workloads_own_utilization_comes_before_a_calibrated_one(tmp_path):
    path, plan = _load(tmp_path, TRAINING, extra="utilization = 0.5")
    base = next(r for r in api.solve(plan, file=str(path)).workloads if r.name == "base")
    assert base.calibration is None  # the calibration's one factor did not apply


def test_a_fit_that_cannot_tell_factors_apart_leaves_them_at_their_defaults(tmp_path):
    body = ('measured "one" { workload = "chat" users = 1 tpot = 9ms date = "2025-06-01"\n'
            '  layout { gpu = "H100-SXM" tp = 1 pp = 1 replicas = 1 } }\n')
    path, plan = _load(tmp_path, body)
    outcome = calibrate(plan, str(path))
    (group,) = outcome.groups
    assert len(group.written) == 1  # one figure identifies one factor
    notes = " ".join(outcome.notes[group.name])
    assert "not identified" in notes and "its default" in notes
    assert group.residual < 1e-6
    written = load_plan_text(tmp_path, outcome.text)
    assert sum(getattr(written, f) is not None for f in ("step_overhead", "hbm_fraction",
                                                         "compute_fraction")) == 1


def load_plan_text(tmp_path, text: str):
    path = tmp_path / "cal.plan"
    path.write_text('import "std"\n' + text, encoding="utf-8")
    (calibration,) = load_plan(str(path)).calibrations
    return calibration


def test_estimate_says_which_calibration_it_used_and_uses_it(tmp_path):
    from planner.layout_estimate import estimate_plan
    from planner.render.estimate import render_json, render_text

    path, plan = _load(tmp_path, SERVING)
    (tmp_path / "plain").mkdir()
    plain_path, plain = _load(tmp_path / "plain", "")
    calibrated = estimate_plan(plan, str(path), "chat")
    default = estimate_plan(plain, str(plain_path), "chat")
    (row,), (before,) = calibrated.workloads, default.workloads
    assert (row.gpu, row.gpu_count, row.layout) == (before.gpu, before.gpu_count, before.layout)
    assert before.calibration is None
    assert row.calibration.name == "h100-vllm"
    assert row.tpot_seconds > before.tpot_seconds * 1.2  # 0.7 of the HBM peak, 3 ms a step
    assert 'calibrated: "h100-vllm" (step_overhead 3 ms, hbm_fraction 0.7;' in render_text(calibrated)
    assert "calibrated" not in render_text(default)
    data = json.loads(render_json(calibrated))
    assert data["workloads"][0]["calibration"]["factors"] == {"step_overhead": 0.003, "hbm_fraction": 0.7}
