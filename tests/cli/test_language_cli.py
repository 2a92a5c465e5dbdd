"""`planner check` and `planner fmt` from the command line (in-process)."""

from __future__ import annotations


import pytest

from support.cli import run_cli as run
from support.paths import ROOT

TOUR = ROOT / "examples" / "tour.plan"


def test_check_the_tour():
    code, out, err = run("check", str(TOUR))
    assert code == 0, err
    assert out == f"{TOUR}: ok (3 GPUs offered, 2 models used, 3 workloads, 1 sweep)\n"


def test_check_reports_errors_with_caret(tmp_path):
    bad = tmp_path / "bad.plan"
    bad.write_text('gpu "A" {\n  memory = 80TFLOPS\n  per_node = 0\n}\n')
    code, out, err = run("check", str(TOUR), str(bad))
    assert code == 2
    assert out.splitlines() == [f"{TOUR}: ok (3 GPUs offered, 2 models used, 3 workloads, 1 sweep)", f"{bad}: 2 errors"]
    lines = err.splitlines()
    assert lines[0].startswith(f"{bad}:2:12: error: `memory` takes bytes")
    assert lines[1:3] == ["    memory = 80TFLOPS", "             ^^^^^^^^"]
    assert lines[3].startswith(f"{bad}:3:14: error: `per_node` must be from 1 to 1024")


@pytest.mark.parametrize("make, words", [
    (lambda p: None, "no such file"),
    (lambda p: p.mkdir(), "is a directory"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00"), "not UTF-8"),
    (lambda p: p.write_text(""), "is empty"),
])
def test_check_unusable_files(tmp_path, make, words):
    path = tmp_path / "x.plan"
    make(path)
    code, out, err = run("check", str(path))
    assert code == 2 and words in err and "Traceback" not in err
    code, out, err = run("fmt", str(path))
    assert code in (0, 2) and "Traceback" not in err


def test_fmt_prints_check_and_write(tmp_path):
    path = tmp_path / "x.plan"
    path.write_text('gpu "g" { memory = 1GB   price = 2/h }  # c\n')
    canonical = 'gpu "g" {\n  memory = 1GB\n  price = 2/h\n}  # c\n'
    assert run("fmt", str(path)) == (0, canonical, "")
    code, out, _ = run("fmt", "--check", str(path))
    assert code == 1 and "not canonical" in out
    assert run("fmt", "--write", str(path))[0] == 0
    assert path.read_text() == canonical
    assert run("fmt", "--check", str(path))[0] == 0


def test_fmt_rejects_broken_syntax_and_conflicting_flags(tmp_path):
    path = tmp_path / "x.plan"
    path.write_text('gpu "g" { memory = }\n')
    code, _, err = run("fmt", str(path))
    assert code == 2 and f"{path}:1:20: error: unexpected `}}`" in err
    code, _, err = run("fmt", "--write", "--check", str(path))
    assert code == 2 and "not both" in err


@pytest.mark.parametrize("command", ["check", "fmt"])
def test_help_has_an_example(command):
    code, out, _ = run(command, "--help")
    assert code == 0 and "Example" in out and f"planner {command}" in out


def test_shipped_examples_and_specs_check():
    files = sorted((ROOT / "examples").glob("*.plan")) + sorted((ROOT / "specs").glob("*.plan"))
    code, out, err = run("check", *map(str, files))
    assert code == 0, err
