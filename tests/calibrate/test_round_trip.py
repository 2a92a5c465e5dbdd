"""Round trip: runs the estimator made with known factors give those factors back.

The figures come from the estimator itself with chosen factors (tests/support/synthetic.py),
so a fit that works finds them again (within 1%: the acceptance of issue 14), and the plan
that imports the written calibration validates at ~0 error.
"""

from __future__ import annotations

import pytest

from planner.calibrate import calibrate, validate
from planner.estimate.types import Factors
from planner.resolve.load import load_plan
from support.synthetic import synthetic_plan

SERVE_HEAD = '''import "std"
gpu "H100-SXM" { available = 8 }
serve "chat-8b" { model = "Llama-3.1-8B" users = 16 prompt = 1000 output = 200 weights = bf16 }
serve "chat-70b" { model = "Llama-3.1-70B" users = 4 prompt = 500 output = 300 weights = bf16 }
serve "rag-8b" { model = "Llama-3.1-8B" rate = 2/s prompt = 6000 output = 100 weights = bf16 }
'''
SERVE_RUNS = [
    '  workload = "chat-8b" users = 1 date = "2025-06-01"\n'
    '  layout { gpu = "H100-SXM" tp = 1 pp = 1 replicas = 1 }\n  # FIGURES: ttft tpot',
    '  workload = "chat-8b" date = "2025-06-02"\n'
    '  layout { gpu = "H100-SXM" tp = 1 pp = 1 replicas = 1 }\n  # FIGURES: tokens_per_second ttft tpot',
    '  workload = "chat-70b" date = "2025-06-03"\n'
    '  layout { gpu = "H100-SXM" tp = 4 pp = 1 replicas = 1 }\n  # FIGURES: ttft tpot',
    '  workload = "rag-8b" date = "2025-06-04"\n'
    '  layout { gpu = "H100-SXM" tp = 1 pp = 1 replicas = 1 }\n  # FIGURES: ttft tpot',
]
SERVE_FACTORS = Factors(step_overhead=2.0e-3, hbm_fraction=0.78, compute_fraction=0.5)

TRAIN_HEAD = '''import "std"
gpu "A100-80G" { available = 64 network = 25Gbps }
pretrain "base" { model = "Llama-3.1-8B" dataset = 1B tokens seq_len = 4096 batch = 256 }
pretrain "small" { model = "Mistral-7B" dataset = 1B tokens seq_len = 4096 batch = 256 }
'''
TRAIN_RUNS = [
    '  workload = "base" date = "2025-05-01"\n  layout { gpu = "A100-80G" tp = 8 pp = 1 dp = 1 '
    'zero = 1 recompute = selective offload = none micro_batch = 1 }\n  # FIGURES: step_time mfu',
    '  workload = "small" date = "2025-05-02"\n  layout { gpu = "A100-80G" tp = 1 pp = 1 dp = 32 '
    'zero = 1 recompute = none offload = none micro_batch = 1 }\n  # FIGURES: step_time tokens_per_second',
]
TRAIN_FACTORS = Factors(utilization=0.55, collective_efficiency=0.6)


def _recovered(tmp_path, head, runs, key, factors, names):
    path = synthetic_plan(tmp_path, head, runs, {key: factors})
    plan = load_plan(str(path))
    outcome = calibrate(plan, str(path))
    (group,) = outcome.groups
    assert set(group.written) == set(names), outcome.notes
    for name in names:
        assert group.fitted.values[name] == pytest.approx(getattr(factors, name), rel=0.01), name
    assert group.residual < 1e-3
    return path, outcome


def _validates_at_zero(tmp_path, path, outcome):
    (tmp_path / "calibration.plan").write_text(outcome.text, encoding="utf-8")
    text = path.read_text(encoding="utf-8").replace('import "std"\n',
                                                    'import "std"\nimport "calibration.plan"\n', 1)
    calibrated = tmp_path / "calibrated.plan"
    calibrated.write_text(text, encoding="utf-8")
    result = validate(load_plan(str(calibrated)), str(calibrated))
    fitted = [c for c in result.cases if c.figure not in ("ttft_p50", "ttft_p99", "tpot_p50", "tpot_p99")]
    assert fitted and all(c.calibration == outcome.written[0] for c in fitted)
    assert max(abs(c.error) for c in fitted) < 2e-3  # the block keeps 4 significant digits
    before = validate(load_plan(str(path)), str(path))
    assert max(abs(c.error) for c in before.cases) > 0.05  # the defaults were far off


def test_serving_factors_come_back(tmp_path):
    path, outcome = _recovered(tmp_path, SERVE_HEAD, SERVE_RUNS, ("H100-SXM", "engine", "vllm"),
                               SERVE_FACTORS, ("step_overhead", "hbm_fraction", "compute_fraction"))
    _validates_at_zero(tmp_path, path, outcome)


def test_training_factors_come_back(tmp_path):
    path, outcome = _recovered(tmp_path, TRAIN_HEAD, TRAIN_RUNS, ("A100-80G", "stack", "megatron"),
                               TRAIN_FACTORS, ("utilization", "collective_efficiency"))
    _validates_at_zero(tmp_path, path, outcome)
