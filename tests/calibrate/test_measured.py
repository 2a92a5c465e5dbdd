"""Measured blocks: figures written or read from a vLLM result file, and every mistake in
them an error at file:line:col (exit 2), never a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from planner.calibrate import validate
from planner.errors import PlanError
from planner.resolve.load import load_plan
from support.cli import run_cli
from support.paths import FIXTURES

BENCH = FIXTURES / "vllm_bench" / "llama-3.1-8b-h100-c16.json"
HEAD = '''import "std"
gpu "H100-SXM" { available = 8 }
serve "chat" { model = "Llama-3.1-8B" users = 4 context = 8k prompt = 500 output = 100 weights = bf16 }
finetune "tune" { model = "Llama-3.1-8B" dataset = 1GB method = lora }
'''
LAYOUT = 'layout { gpu = "H100-SXM" tp = 1 pp = 1 replicas = 1 }'


def _plan(tmp_path, body: str, bench: str | None = None):
    (tmp_path / ".git").mkdir(exist_ok=True)
    if bench is not None:
        (tmp_path / "bench.json").write_text(bench, encoding="utf-8")
    path = tmp_path / "m.plan"
    path.write_text(HEAD + body, encoding="utf-8")
    return path


def _error(tmp_path, body: str, bench: str | None = None) -> PlanError:
    with pytest.raises(PlanError) as caught:
        load_plan(str(_plan(tmp_path, body, bench)))
    return caught.value


def test_a_result_file_gives_figures_load_shape_and_date(tmp_path):
    shutil.copy(BENCH, tmp_path / "bench.json")
    path = _plan(tmp_path, f'measured "c16" {{ workload = "chat" from = "bench.json" {LAYOUT} }}\n')
    m = load_plan(str(path)).measured[0]
    assert (m.users, m.rate, m.prompt, m.output, m.date) == (16, None, 1000, 200, "2025-06-01")
    assert (m.tokens_per_second, m.requests_per_second) == (1514.934625, 7.574673)
    assert m.ttft == pytest.approx(0.036983) and m.tpot_p99 == pytest.approx(0.010355)
    assert m.itl == pytest.approx(0.010429)
    result = validate(load_plan(str(path)), str(path))
    assert {c.figure for c in result.cases} == {"tokens_per_second", "requests_per_second", "ttft",
                                                "ttft_p50", "ttft_p99", "tpot", "tpot_p50", "tpot_p99",
                                                "itl"}
    assert all(c.source.endswith("bench.json") for c in result.cases)


def test_what_the_block_writes_comes_before_the_file(tmp_path):
    shutil.copy(BENCH, tmp_path / "bench.json")
    path = _plan(tmp_path, f'measured "c16" {{ workload = "chat" from = "bench.json" ttft = 50ms '
                           f'date = "2025-07-01" users = 12 {LAYOUT} }}\n')
    m = load_plan(str(path)).measured[0]
    assert (m.ttft, m.date, m.users) == (0.05, "2025-07-01", 12)
    assert "ttft" not in m.sources and m.sources["tpot"].endswith("bench.json")


def test_validate_json_has_the_documented_shape(tmp_path):
    shutil.copy(BENCH, tmp_path / "bench.json")
    path = _plan(tmp_path, f'measured "c16" {{ workload = "chat" from = "bench.json" {LAYOUT} }}\n')
    code, out, err = run_cli("validate", str(path), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert set(data) >= {"cases", "median_abs_error"}
    for case in data["cases"]:
        assert set(case) >= {"name", "workload", "figure", "measured", "estimated", "error"}
        assert case["error"] == pytest.approx(case["estimated"] / case["measured"] - 1, rel=1e-4)
    assert set(data["median_abs_error"]) == {c["figure"] for c in data["cases"]}


@pytest.mark.parametrize("body, bench, words", [
    (f'measured "m" {{ workload = "chta" ttft = 1s date = "2025-06-01" {LAYOUT} }}', None,
     ["unknown workload `chta`", "did you mean `chat`"]),
    (f'measured "m" {{ workload = "chat" tft = 1s date = "2025-06-01" {LAYOUT} }}', None,
     ["unknown key `tft`", "did you mean `ttft`"]),
    (f'measured "m" {{ workload = "chat" ttft = 1GB date = "2025-06-01" {LAYOUT} }}', None,
     ["`ttft` takes a duration"]),
    ('measured "m" { workload = "chat" ttft = 1s date = "2025-06-01" layout { gpu = "H100-SXM" tp = 1 } }',
     None, ["must be fully pinned", "pp", "replicas (or count)"]),
    (f'measured "m" {{ workload = "chat" ttft = 1s {LAYOUT} }}', None, ['needs `date = "YYYY-MM-DD"`']),
    (f'measured "m" {{ workload = "chat" step_time = 1s date = "2025-06-01" {LAYOUT} }}', None,
     ["`step_time` is a training figure", "serve block"]),
    ('measured "m" { workload = "tune" ttft = 1s date = "2025-06-01" layout { gpu = "H100-SXM" tp = 1 '
     'pp = 1 dp = 1 zero = 0 recompute = none offload = none micro_batch = 1 } }', None,
     ["`ttft` is a serving figure"]),
    ('measured "m" { workload = "chat" ttft = 1s date = "2025-06-01" layout { gpu = "H100" tp = 1 '
     'pp = 1 replicas = 1 } }', None, ["unknown GPU `H100`"]),
    (f'measured "m" {{ workload = "chat" prompt = 8000 ttft = 1s date = "2025-06-01" {LAYOUT} }}', None,
     ["does not fit workload `chat`"]),
    (f'measured "m" {{ workload = "chat" from = "missing.json" {LAYOUT} }}', None, ["no such file"]),
    (f'measured "m" {{ workload = "chat" from = "../x.json" {LAYOUT} }}', None, ["outside the plan's root"]),
    (f'measured "m" {{ workload = "chat" from = "bench.txt" {LAYOUT} }}', None,
     ["reads a benchmark result file (.json) only"]),
    (f'measured "m" {{ workload = "chat" from = "bench.json" {LAYOUT} }}', "{not json",
     ["is not JSON: line 1 column 2"]),
    (f'measured "m" {{ workload = "chat" from = "bench.json" {LAYOUT} }}', "[1, 2]", ["not an object"]),
    (f'measured "m" {{ workload = "chat" from = "bench.json" {LAYOUT} }}', '{"completed": 3}',
     ["is not a `vllm bench serve --save-result` file", "`output_throughput`"]),
    (f'measured "m" {{ workload = "chat" from = "bench.json" {LAYOUT} }}', "{}\n{}",
     ["holds more than one JSON value"]),
])
def test_mistakes_are_errors_at_the_text(tmp_path, body, bench, words):
    if bench is None and "bench.txt" in body:
        (tmp_path / "bench.txt").write_text("{}", encoding="utf-8")
    error = _error(tmp_path, body + "\n", bench)
    text = str(error) if not hasattr(error, "errors") else " ".join(str(e) for e in error.errors)
    for word in words:
        assert word in text, (word, text)
    first = error.errors[0] if hasattr(error, "errors") else error
    assert first.span is not None and first.span.file.endswith("m.plan") and first.span.line >= 5


def _bench(**changes) -> str:
    data = json.loads(BENCH.read_text(encoding="utf-8"))
    data.update(changes)
    return json.dumps(data)


@pytest.mark.parametrize("changes, words", [
    (dict(max_concurrency=None), ["sends every request at once", "write the load"]),
    (dict(request_rate=4.0), ["both a request rate", "and a concurrency cap"]),
    (dict(request_rate=4.0, max_concurrency=None, burstiness=0.5), ["burstiness 0.5"]),
    (dict(completed=0), ["`completed` = 0"]),
    (dict(mean_ttft_ms="fast"), ["`mean_ttft_ms`"]),
])
def test_result_files_that_do_not_say_one_steady_load(tmp_path, changes, words):
    error = _error(tmp_path, f'measured "m" {{ workload = "chat" from = "bench.json" {LAYOUT} }}\n',
                   _bench(**changes))
    for word in words:
        assert word in str(error), (word, str(error))


def test_a_burst_is_measured_when_the_block_states_the_load(tmp_path):
    path = _plan(tmp_path, f'measured "m" {{ workload = "chat" from = "bench.json" users = 16 {LAYOUT} }}\n',
                 _bench(max_concurrency=None))
    assert load_plan(str(path)).measured[0].users == 16


def test_the_command_line_prints_errors_and_exits_2(tmp_path):
    path = _plan(tmp_path, f'measured "m" {{ workload = "chat" from = "missing.json" {LAYOUT} }}\n')
    for command in (["validate", str(path)], ["calibrate", str(path), "-o", str(tmp_path / "c.plan")],
                    ["check", str(path)]):
        code, out, err = run_cli(*command)
        assert code == 2 and "m.plan:5:" in err and "Traceback" not in err, (command, err)
