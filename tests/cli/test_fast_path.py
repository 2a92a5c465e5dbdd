"""`planner check FILE...` and `planner solve FILE` without typer (planner/cli/fast.py) give
the typer app's bytes.

Each command line runs through the `planner` script's `main` (the fast path) and through
the typer app's own `main` (planner.cli.commands), and the two must print the same stdout,
stderr and exit code, with stdout and stderr kept apart and merged into one stream (as
`2>&1` does, so the order of the lines, warnings before an answer, is compared too).
Command lines the fast path does not take must reach the typer app; fresh interpreters show
the fast path loads no typer, click or pydantic.
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
SEVEN_B = str(ROOT / "examples" / "7b-memory.plan")
STD = 'import "std"\ngpu "A100-80G" { available = 8 }\n'
TINY = ('model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4\n'
        '  ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }\n')
PLANS = {
    # valid, with a warning (kv_heads not written), named with spaces
    "with a warning.plan": STD + 'model "t" { params = 9B  layers = 22  hidden = 2048  heads = 32\n'
                                 '  ffn = 5632  vocab = 32000 }\nserve "s" { model = "t" users = 2 context = 2k }\n',
    "values.plan": 'gpu "A" {\n  memory = 80TFLOPS\n  per_node = 0\n}\n',  # two value errors
    "parse.plan": 'gpu "A" {\n  memory = 80GB\n',  # the block never closes
    "names.plan": STD + 'model "a" { like = "DeepSeek-R1-Distill-Qwen-1.5" }\n',  # did you mean
    # placed, with a sweep: a table per workload, the swept column
    "good.plan": 'import "std"\ngpu "L4" { available = 8 }\ngpu "A100-80G" { available = 8 }\n' + TINY
                 + 'finetune "tune" { model = "tiny" method = qlora dataset = 1MB deadline <= 24h }\n'
                   'serve "chat" { model = "tiny" users = 4 context = 4k }\n'
                   'sweep "tune".dataset = [1MB, 1GB]\n',
    # infeasible: exit 1 with the reasons
    "infeasible.plan": 'import "std"\ngpu "L4" { available = 1 }\n'
                       'finetune "big" { model = "DeepSeek-R1" method = full dataset = 1MB }\n',
    "unknown model.plan": 'import "std"\nserve "x" { model = "nope" users = 1 context = 1k }\n',
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
    ["solve", SEVEN_B],
    ["solve", "good.plan"],
    ["solve", ".//with a warning.plan"],  # solve's FILE is a str: printed as written
    ["solve", "infeasible.plan"],
    ["solve", "names.plan"],
    ["solve", "unknown model.plan"],
    ["solve", "parse.plan"],
    ["solve", "missing.plan"],
    ["solve", "."],
    ["solve", ""],
]


def _fast_main_spied(monkeypatch):
    """``planner.cli.main`` and a list that records each fast run: (command, its files)."""
    import planner.cli
    import planner.cli.fast as fast

    taken: list[tuple] = []
    run_check, run_solve = fast.run_check, fast.run_solve
    monkeypatch.setattr(fast, "run_check", lambda files: (taken.append(("check", files)), run_check(files)))
    monkeypatch.setattr(fast, "run_solve", lambda file: (taken.append(("solve", file)), run_solve(file)))
    return planner.cli.main, taken


@pytest.mark.parametrize("merged", [False, True], ids=["apart", "merged"])
@pytest.mark.parametrize("argv", ARGVS, ids=lambda argv: " ".join(argv).replace(str(ROOT), "")[:40])
def test_the_fast_path_prints_what_typer_prints(plans, monkeypatch, argv, merged):
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, argv, merged=merged)
    assert [command for command, _ in taken] == [argv[0]]  # the fast path ran it
    assert run_bytes(typer_main(), argv, merged=merged) == fast
    assert fast[0] in (0, 1, 2) and (fast[1] or fast[2])


def test_solve_answers_as_the_command_does(plans, monkeypatch):
    """Not just typer's bytes: the right answer. A placed plan exits 0 with a table per
    workload, an infeasible one 1 with the reasons, a bad one 2 with its diagnostic, and a
    warning comes before the answer."""
    fast_main, taken = _fast_main_spied(monkeypatch)
    code, out, err = run_bytes(fast_main, ["solve", "good.plan"], merged=False)
    assert code == 0 and b"tune" in out and b"chat" in out and err == b""
    code, out, _ = run_bytes(fast_main, ["solve", "infeasible.plan"], merged=False)
    assert code == 1 and b"L4: needs" in out
    code, out, err = run_bytes(fast_main, ["solve", "unknown model.plan"], merged=False)
    assert code == 2 and out == b"" and b"unknown model.plan:2:" in err and b"nope" in err
    code, out, _ = run_bytes(fast_main, ["solve", "with a warning.plan"], merged=True)
    assert code == 0 and out.index(b"warning: model") < out.index(b"plan with a warning: optimal")
    assert [command for command, _ in taken] == ["solve"] * 4


def test_a_checker_failure_exits_3_on_both_paths(plans, monkeypatch):
    from planner import verify

    monkeypatch.setattr(verify, "check", lambda plan, result: ["memory: 99 GiB > 72 GiB"])
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, ["solve", "good.plan"], merged=False)
    assert taken and fast == run_bytes(typer_main(), ["solve", "good.plan"], merged=False)
    assert fast[0] == 3 and fast[1] == b"" and b"99 GiB" in fast[2]


@pytest.mark.parametrize("argv", [
    ["check"], [], ["check", "--root", ".", TOUR], [TOUR], ["check", TOUR, "--root", "."],
    ["check", "--help"], ["check", "-x", TOUR], ["check", "-", TOUR], ["check", "--", TOUR],
    ["--version"], ["fmt", TOUR], ["chek", TOUR], ["check", "a\x1b[31mb.plan"],
    ["solve"], ["solve", "--format", "json", SEVEN_B], [SEVEN_B, "solve"], ["solve", SEVEN_B, "--explain"],
    ["solve", SEVEN_B, "good.plan"], ["solve", "-"], ["solve", "--", SEVEN_B], ["solve", "--help"],
    ["solve", "-fjson", SEVEN_B], ["solv", SEVEN_B], ["report", SEVEN_B],
], ids=repr)
def test_other_command_lines_go_to_typer(monkeypatch, argv):
    from planner.cli.fast import plain_run

    assert plain_run(argv) is None
    import planner.cli.commands

    reached: list = []
    monkeypatch.setattr(planner.cli.commands, "main", lambda: reached.append(sys.argv[1:]))
    fast_main, taken = _fast_main_spied(monkeypatch)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["planner", *argv])
        fast_main()
    assert reached == [argv] and taken == []


def test_the_environment_and_the_streams_that_send_a_command_to_typer(plans, monkeypatch):
    from planner.cli import fast

    for argv in (["check", TOUR], ["solve", TOUR]):
        assert fast.plain_run(argv) is not None
        with pytest.MonkeyPatch.context() as patch:  # a shell completion request (click's _PROG_COMPLETE)
            patch.setenv("_PLANNER_COMPLETE", "bash_complete")
            assert fast.plain_run(argv) is None
        with pytest.MonkeyPatch.context() as patch:  # click expands wildcards in arguments on Windows
            patch.setattr(fast.os, "name", "nt")
            assert fast.plain_run(argv) is None
    # check's lines go through click.echo; solve writes its answer on sys.stdout itself
    ascii_out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")  # click re-wraps it in UTF-8
    strict = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    for stream, argv, taken in [(ascii_out, ["check", TOUR], False), (io.StringIO(), ["check", TOUR], True),
                                (strict, ["check", "\udcff.plan"], False), (None, ["check", TOUR], False),
                                (io.BytesIO(), ["check", TOUR], False), (ascii_out, ["solve", TOUR], True)]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdout", stream)
            assert (fast.plain_run(argv) is not None) is taken, (stream, argv)


def test_an_unreadable_existing_file_is_typers_usage_error(plans, monkeypatch):
    from planner.cli import fast

    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != "values.plan" and real(path, mode))
    assert fast.plain_check_files(["check", TOUR, "values.plan"]) is None
    code, out, err = run_bytes(typer_main(), ["check", TOUR, "values.plan"], merged=False)
    assert (code, out) == (2, b"") and b"'values.plan' is not readable" in err


@pytest.mark.parametrize("argv", [["check", TOUR], ["solve", "good.plan"]], ids=lambda argv: argv[0])
@pytest.mark.parametrize("raised, code", [(EOFError(), 1), (KeyboardInterrupt(), 130)])
def test_eof_and_interrupt_end_as_under_typer(plans, monkeypatch, argv, raised, code):
    import planner.cli.loading

    def load(file, root=None):
        raise raised

    monkeypatch.setattr(planner.cli.loading, "load_plan_with_warnings", load)
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, argv, merged=False)
    assert taken and fast == run_bytes(typer_main(), argv, merged=False)
    assert fast[0] == code
    if isinstance(raised, EOFError):
        assert fast[2].startswith(b"\nAborted")


class _BrokenFlush(io.TextIOWrapper):
    """A stdout whose reader has gone, until ``broken`` is cleared: ``check``'s flush of each
    line fails."""
    broken = True

    def flush(self):
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        super().flush()


class _BrokenWrite(io.TextIOWrapper):
    """A stdout whose reader has gone, until ``broken`` is cleared: ``solve``'s write of its
    answer fails, as a pipe's does once its buffer is full."""
    broken = True

    def write(self, text):
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        return super().write(text)


@pytest.mark.parametrize("argv, stream", [(["check", TOUR], _BrokenFlush), (["solve", SEVEN_B], _BrokenWrite)],
                         ids=["check", "solve"])
def test_a_broken_pipe_exits_1_and_silences_the_last_flush(plans, monkeypatch, argv, stream):
    fast_main, taken = _fast_main_spied(monkeypatch)
    for main in (fast_main, typer_main()):
        stdout = stream(io.BytesIO(), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "argv", ["planner", *argv])
            patch.setattr(sys, "stdout", stdout)
            patch.setattr(sys, "stderr", io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))
            with pytest.raises(SystemExit) as done:
                main()
            assert done.value.code == 1
            sys.stdout.flush()  # the interpreter's last flush: wrapped, no error
            assert type(sys.stdout).__name__ == type(sys.stderr).__name__ == "PacifyFlushWrapper"
        stdout.broken = False
    assert len(taken) == 1


def _fresh(entry: str, argv: list[str], cwd) -> tuple[int, bytes, list[str]]:
    """``main()`` of module ``entry`` under ``planner ARGV`` in a fresh interpreter, stderr
    merged into stdout as a pipe buffers them: (exit code, output, the typer, click and
    pydantic modules it loaded)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    script = ("import atexit, json, sys\n"
              "atexit.register(lambda: open('modules.json', 'w').write(json.dumps(sorted(sys.modules))))\n"
              f"from {entry} import main\nmain()\n")
    done = subprocess.run([sys.executable, "-c", script, *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, cwd=cwd, env=env)
    modules = json.loads((cwd / "modules.json").read_text())
    return done.returncode, done.stdout, [m for m in modules if m.split(".")[0] in ("typer", "click", "pydantic")]


@pytest.mark.slow
@pytest.mark.parametrize("argv, expected, shown", [
    (["check", "with a warning.plan", TOUR, "names.plan", "missing.plan"], 2, b"names.plan: 1 error"),
    (["solve", "with a warning.plan"], 0, b"plan with a warning: optimal"),
    (["solve", "infeasible.plan"], 1, b"L4: needs"),
], ids=["check", "solve-placed", "solve-infeasible"])
def test_the_planner_script_runs_without_typer(plans, argv, expected, shown):
    """Fresh interpreters, stderr merged into stdout: the same bytes, and no typer, click or
    pydantic loaded on the fast path."""
    fast, typer = (_fresh(entry, argv, plans) for entry in ("planner.cli", "planner.cli.commands"))
    assert typer[2]  # the command did load typer on that path
    assert fast == (typer[0], typer[1], [])
    assert fast[0] == expected and shown in fast[1]
