"""examples/calibration/runs.plan, the worked example of docs/calibration.md, end to end
through the command line: validate (exit 0, the JSON shape), calibrate (the file it writes,
imported, validates near 0 on the training runs, whose two factors the runs identify)."""

from __future__ import annotations

import json

import pytest

from support.cli import run_cli
from support.paths import EXAMPLES

EXAMPLE = EXAMPLES / "calibration" / "runs.plan"


def test_validate_prints_the_documented_json_shape():
    code, out, err = run_cli("validate", str(EXAMPLE), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert {"name", "workload", "figure", "measured", "estimated", "error"} <= set(data["cases"][0])
    assert {c["name"] for c in data["cases"]} == {"chat-h100-c16", "base-tp8", "base-dp32"}
    assert data["median_abs_error"]["mfu"] == pytest.approx(abs(next(
        c["error"] for c in data["cases"] if c["figure"] == "mfu")), rel=1e-6)


def test_calibrate_writes_blocks_that_bring_the_training_runs_to_their_figures(tmp_path):
    target = tmp_path / "calibration.plan"
    code, out, err = run_cli("calibrate", str(EXAMPLE), "-o", str(target))
    assert code == 0, err
    text = target.read_text(encoding="utf-8")
    assert 'calibration "A100-80G-megatron"' in text and 'calibration "H100-SXM-vllm"' in text
    assert "step_overhead: not identified" in out  # one load cannot separate it from HBM
    plan = tmp_path / "runs.plan"
    plan.write_text(EXAMPLE.read_text(encoding="utf-8").replace(
        'import "std"', f'import "std"\nimport "{target.name}"', 1), encoding="utf-8")
    (tmp_path / "vllm-llama-3.1-8b-h100-c16.json").write_bytes(
        (EXAMPLE.parent / "vllm-llama-3.1-8b-h100-c16.json").read_bytes())
    code, out, err = run_cli("validate", str(plan), "--format", "json")
    assert code == 0, err
    fitted = [c for c in json.loads(out)["cases"] if c["figure"] in ("step_time", "mfu", "tokens_per_second")]
    assert fitted and max(abs(c["error"]) for c in fitted) < 2e-3
