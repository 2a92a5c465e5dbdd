"""`planner solve` on the command line: formats, exit codes, renderers."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest

from planner.render import render
from planner import verify as checker
from planner.pipeline import solve_file

PLAN = """import "std"
plan "cli" { objective = cost }
gpu "L4" { available = 8 }
gpu "A100-80G" { available = 8 }
model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4
               ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }
finetune "tune" { model = "tiny" method = qlora dataset = 1MB deadline <= 24h }
serve "chat" { model = "tiny" users = 4 context = 4k }
sweep "tune".dataset = [1MB, 1GB]
"""
INFEASIBLE = """import "std"
plan "no" { objective = cost }
gpu "L4" { available = 1 }
finetune "big" { model = "DeepSeek-R1" method = full dataset = 1MB }
"""


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    from planner.cli import main

    old = sys.argv
    sys.argv = ["planner", *argv]
    code = 0  # click returns instead of exiting for --help (standalone_mode=False)
    try:
        main()
    except SystemExit as done:
        code = done.code
    finally:
        sys.argv = old
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def files(tmp_path):
    good = tmp_path / "good.plan"
    good.write_text(PLAN)
    bad = tmp_path / "bad.plan"
    bad.write_text(INFEASIBLE)
    broken = tmp_path / "broken.plan"
    broken.write_text('import "std"\nserve "x" { model = "nope" users = 1 context = 1k }\n')
    return good, bad, broken


def test_json_output_and_exit_0(files, capsys):
    good, _, _ = files
    code, out, _ = run(["solve", str(good), "--format", "json", "--time-limit", "5"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["status"] == "optimal" and result["file"] == str(good)
    assert result == solve_file(str(good), time_limit=5.0).to_json()


def test_infeasible_exits_1_with_the_reasons(files, capsys):
    _, bad, _ = files
    code, out, _ = run(["solve", str(bad), "--format", "markdown"], capsys)
    assert code == 1
    assert "does not fit" in out and "L4: needs" in out and "usable" in out


def test_bad_input_exits_2(files, capsys):
    _, _, broken = files
    code, _, err = run(["solve", str(broken)], capsys)
    assert code == 2 and "nope" in err
    code, _, err = run(["solve", str(files[0]), "--format", "xml"], capsys)
    assert code == 2 and "--format" in err
    code, _, err = run(["solve", str(files[0]), "--objective", "speed"], capsys)
    assert code == 2 and "--objective" in err


def test_checker_failure_exits_3(files, capsys, monkeypatch):
    monkeypatch.setattr(checker, "check", lambda plan, result: ["memory: 99 GiB > 72 GiB"])
    code, out, err = run(["solve", str(files[0])], capsys)
    assert code == 3 and "internal error" in err and "99 GiB" in err and out == ""


def test_help_shows_an_example(capsys):
    code, out, _ = run(["solve", "--help"], capsys)
    assert code == 0 and "planner solve examples/" in out


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("r") / "p.plan"
    path.write_text(PLAN)
    return solve_file(str(path), time_limit=5.0, explain=True)


def test_table_has_one_table_per_workload_with_the_swept_column(result):
    text = render(result, "table", explain=True, width=240)
    assert text.count("tune (finetune, tiny)") == 1 and text.count("chat (serve, tiny)") == 1
    header = next(line for line in text.splitlines() if "GPUs" in line and "dataset" in line)
    assert "decided by" in header and "host" in header
    assert "memory per GPU: weights" in text and "alternative:" in text


def test_markdown_tables(result):
    text = render(result, "markdown")
    assert "## tune (finetune, tiny)" in text and "| dataset | GPUs |" in text
    assert "| GPUs | layout |" in text  # the unswept workload has no scenario column
    assert "/month |" in text  # serving shows its monthly cost


def test_csv_has_one_line_per_row(result):
    rows = list(csv.DictReader(io.StringIO(render(result, "csv"))))
    assert len(rows) == len(result.workloads) == 3
    assert [r["scenario"] for r in rows] == ["dataset=1MB", "dataset=1GB", ""]
    for line, row in zip(rows, result.workloads):
        assert int(line["gpu_count"]) == row.gpu_count
        assert int(line["memory_total_bytes"]) == row.memory_per_gpu_bytes.total
        assert line["decided_by"] == row.decided_by


def test_json_renderer_round_trips(result):
    assert json.loads(render(result, "json")) == result.to_json()
