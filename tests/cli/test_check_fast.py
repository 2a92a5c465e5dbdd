"""`planner check FILE...` without typer (planner/cli/fast.py) gives the typer app's bytes.

Each command line runs through the `planner` script's `main` (the fast path) and through
the typer app's own `main` (planner.cli.commands), and the two must print the same stdout,
stderr and exit code, with stdout and stderr kept apart and merged into one stream (as
`2>&1` does, so the order of the lines is compared too). Command lines the fast path does
not take must reach the typer app; one fresh interpreter shows the fast path loads no typer,
click or pydantic.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys

import pytest

from support.cli import run_bytes, typer_main
from support.paths import ROOT

TOUR = str(ROOT / "examples" / "tour.plan")
DEEPSEEK = str(ROOT / "examples" / "deepseek-r1.plan")
STD = 'import "std"\ngpu "A100-80G" { available = 8 }\n'
PLANS = {
    # a valid plan with a warning (kv_heads not written), named with spaces
    "with a warning.plan": STD + 'model "t" { params = 9B  layers = 22  hidden = 2048  heads = 32\n'
                                 '  ffn = 5632  vocab = 32000 }\n',
    "values.plan": 'gpu "A" {\n  memory = 80TFLOPS\n  per_node = 0\n}\n',  # two value errors
    "parse.plan": 'gpu "A" {\n  memory = 80GB\n',  # the block never closes
    "names.plan": STD + 'model "a" { like = "DeepSeek-R1-Distill-Qwen-1.5" }\n',  # did you mean
}


@pytest.fixture
def plans(tmp_path, monkeypatch):
    for name, text in PLANS.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)  # relative names, as a pre-commit hook passes them
    return tmp_path


ARGVS = [
    ["check", TOUR],
    ["check", "with a warning.plan"],
    ["check", "values.plan"],
    ["check", "parse.plan"],
    ["check", "names.plan"],
    ["check", "missing.plan"],
    ["check", "./with a warning.plan", TOUR, "parse.plan", "missing.plan", DEEPSEEK, ".//names.plan"],
    ["check", ""],  # Path("") is "."
    ["check", "."],
]


def _fast_main_spied(monkeypatch):
    """``planner.cli.main`` and a list that records each fast run."""
    import planner.cli
    import planner.cli.fast as fast

    taken: list[list] = []
    run_check = fast.run_check
    monkeypatch.setattr(fast, "run_check", lambda files: (taken.append(files), run_check(files)))
    return planner.cli.main, taken


@pytest.mark.parametrize("merged", [False, True], ids=["apart", "merged"])
@pytest.mark.parametrize("argv", ARGVS, ids=lambda argv: " ".join(argv[1:]).replace(str(ROOT), "")[:40])
def test_the_fast_path_prints_what_typer_prints(plans, monkeypatch, argv, merged):
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, argv, merged=merged)
    assert len(taken) == 1  # the fast path ran it
    assert run_bytes(typer_main(), argv, merged=merged) == fast
    assert fast[0] in (0, 2) and fast[1]


@pytest.mark.parametrize("argv", [
    ["check"], [], ["check", "--root", ".", TOUR], [TOUR], ["check", TOUR, "--root", "."],
    ["check", "--help"], ["check", "-x", TOUR], ["check", "-", TOUR], ["check", "--", TOUR],
    ["--version"], ["fmt", TOUR], ["chek", TOUR], ["check", "a\x1b[31mb.plan"],
], ids=repr)
def test_other_command_lines_go_to_typer(monkeypatch, argv):
    from planner.cli.fast import plain_check_files

    assert plain_check_files(argv) is None
    import planner.cli.commands

    reached: list = []
    monkeypatch.setattr(planner.cli.commands, "main", lambda: reached.append(sys.argv[1:]))
    fast_main, taken = _fast_main_spied(monkeypatch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["planner", *argv])
        fast_main()
    assert reached == [argv] and taken == []


def test_the_environment_and_the_streams_that_send_check_to_typer(plans, monkeypatch):
    from planner.cli import fast

    assert fast.plain_check_files(["check", TOUR]) is not None
    with pytest.MonkeyPatch.context() as patch:  # a shell completion request (click's _PROG_COMPLETE)
        patch.setenv("_PLANNER_COMPLETE", "bash_complete")
        assert fast.plain_check_files(["check", TOUR]) is None
    with pytest.MonkeyPatch.context() as patch:  # click expands wildcards in arguments on Windows
        patch.setattr(fast.os, "name", "nt")
        assert fast.plain_check_files(["check", TOUR]) is None
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # click re-wraps it in UTF-8
    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    for stream, argv, taken in [(ascii_out, ["check", TOUR], False), (io.StringIO(), ["check", TOUR], True),
                                (strict, ["check", "\udcff.plan"], False), (None, ["check", TOUR], False),
                                (io.BytesIO(), ["check", TOUR], False)]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdout", stream)
            assert (fast.plain_check_files(argv) is not None) is taken, (stream, argv)


def test_an_unreadable_existing_file_is_typers_usage_error(plans, monkeypatch):
    from planner.cli import fast

    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != "values.plan" and real(path, mode))
    assert fast.plain_check_files(["check", TOUR, "values.plan"]) is None
    code, out, err = run_bytes(typer_main(), ["check", TOUR, "values.plan"], merged=False)
    assert (code, out) == (2, b"") and b"'values.plan' is not readable" in err


@pytest.mark.parametrize("raised, code", [(EOFError(), 1), (KeyboardInterrupt(), 130)])
def test_eof_and_interrupt_end_as_under_typer(plans, monkeypatch, raised, code):
    import planner.cli.loading

    def load(file, root=None):
        raise raised

    monkeypatch.setattr(planner.cli.loading, "load_plan_with_warnings", load)
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, ["check", TOUR], merged=False)
    assert taken and fast == run_bytes(typer_main(), ["check", TOUR], merged=False)
    assert fast[0] == code
    if isinstance(raised, EOFError):
        assert fast[2].startswith(b"\nAborted")


class _BrokenPipe(io.TextIOWrapper):
    """A stdout whose reader has gone, until ``broken`` is cleared."""
    broken = True

    def flush(self):
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        super().flush()


def test_a_broken_pipe_exits_1_and_silences_the_last_flush(plans, monkeypatch):
    fast_main, taken = _fast_main_spied(monkeypatch)
    for main in (fast_main, typer_main()):
        stdout = _BrokenPipe(io.BytesIO(), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "argv", ["planner", "check", TOUR])
            patch.setattr(sys, "stdout", stdout)
            patch.setattr(sys, "stderr", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
            with pytest.raises(SystemExit) as done:
                main()
            assert done.value.code == 1
            sys.stdout.flush()  # the interpreter's last flush: wrapped, no error
            assert type(sys.stdout).__name__ == type(sys.stderr).__name__ == "PacifyFlushWrapper"
        stdout.broken = False
    assert len(taken) == 1


@pytest.mark.slow
def test_the_planner_script_checks_without_typer(plans):
    """Fresh interpreters, stderr merged into stdout: the same bytes, and no typer, click or
    pydantic loaded on the fast path."""
    argv = ["check", "with a warning.plan", TOUR, "names.plan", "missing.plan"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe's buffering
    runs = {}
    for name, entry in [("fast", "planner.cli"), ("typer", "planner.cli.commands")]:
        script = ("import atexit, json, sys\n"
                  "atexit.register(lambda: open('modules.json', 'w').write(json.dumps(sorted(sys.modules))))\n"
                  f"from {entry} import main\nmain()\n")
        done = subprocess.run([sys.executable, "-c", script, *argv], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=plans, env=env)
        modules = json.loads((plans / "modules.json").read_text())
        libraries = [m for m in modules if m.split(".")[0] in ("typer", "click", "pydantic")]
        runs[name] = (done.returncode, done.stdout, libraries)
    assert runs["typer"][2]  # the check did load typer on that path
    assert runs["fast"] == (runs["typer"][0], runs["typer"][1], [])
    assert runs["fast"][0] == 2 and b"names.plan: 1 error" in runs["fast"][1]
