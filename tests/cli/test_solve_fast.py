"""`planner solve FILE` without typer (planner/cli/fast.py) gives the typer app's bytes.

As for `check` (test_check_fast.py): each command line runs through the `planner` script's
`main` (the fast path) and through the typer app's own `main`, and the two must print the
same stdout, stderr and exit code, with the streams apart and merged (`2>&1`, so the order
of warnings and answer is compared too). Command lines the fast path does not take must
reach the typer app; one fresh interpreter shows the fast path loads no typer or click.
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

SEVEN_B = str(ROOT / "examples" / "7b-memory.plan")
STD = 'import "std"\n'
TINY = ('model "tiny" { params = 1.1B  layers = 22  hidden = 2048  heads = 32  kv_heads = 4\n'
        '  ffn = 5632  vocab = 32000  tied = false  mlp = gated  precision = bf16 }\n')
PLANS = {
    # placed, with a sweep: a table per workload, the swept column
    "good.plan": STD + 'gpu "L4" { available = 8 }\ngpu "A100-80G" { available = 8 }\n' + TINY
                 + 'finetune "tune" { model = "tiny" method = qlora dataset = 1MB deadline <= 24h }\n'
                   'serve "chat" { model = "tiny" users = 4 context = 4k }\n'
                   'sweep "tune".dataset = [1MB, 1GB]\n',
    # placed, with a warning on stderr before the answer (kv_heads not written)
    "with a warning.plan": STD + 'gpu "A100-80G" { available = 8 }\n'
                           'model "t" { params = 9B  layers = 22  hidden = 2048  heads = 32\n'
                           '  ffn = 5632  vocab = 32000 }\nserve "s" { model = "t" users = 2 context = 2k }\n',
    # infeasible: exit 1 with the reasons
    "infeasible.plan": STD + 'gpu "L4" { available = 1 }\n'
                       'finetune "big" { model = "DeepSeek-R1" method = full dataset = 1MB }\n',
    "names.plan": STD + 'serve "x" { model = "nope" users = 1 context = 1k }\n',  # did you mean
    "parse.plan": 'gpu "A" {\n  memory = 80GB\n',  # the block never closes
}


@pytest.fixture
def plans(tmp_path, monkeypatch):
    for name, text in PLANS.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _fast_main_spied(monkeypatch):
    """``planner.cli.main`` and a list that records each fast run of ``solve``."""
    import planner.cli
    import planner.cli.fast as fast

    taken: list[str] = []
    run_solve = fast.run_solve
    monkeypatch.setattr(fast, "run_solve", lambda file: (taken.append(file), run_solve(file)))
    return planner.cli.main, taken


ARGVS = [
    ["solve", SEVEN_B],
    ["solve", "good.plan"],
    ["solve", ".//with a warning.plan"],  # solve's FILE is a str: printed as written
    ["solve", "infeasible.plan"],
    ["solve", "names.plan"],
    ["solve", "parse.plan"],
    ["solve", "missing.plan"],
    ["solve", "."],
    ["solve", ""],
]


@pytest.mark.parametrize("merged", [False, True], ids=["apart", "merged"])
@pytest.mark.parametrize("argv", ARGVS, ids=lambda argv: argv[1].replace(str(ROOT), "")[:40])
def test_the_fast_path_prints_what_typer_prints(plans, monkeypatch, argv, merged):
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, argv, merged=merged)
    assert taken == [argv[1]]  # the fast path ran it
    assert run_bytes(typer_main(), argv, merged=merged) == fast
    assert fast[0] in (0, 1, 2) and (fast[1] or fast[2])


def test_the_answers_and_codes_are_the_commands(plans, monkeypatch):
    """Not just the same as typer: the right answer. A placed plan exits 0 with a table
    per workload, an infeasible one 1 with the reasons, a bad one 2 with its diagnostic,
    and a warning comes before the answer."""
    fast_main, _ = _fast_main_spied(monkeypatch)
    code, out, err = run_bytes(fast_main, ["solve", "good.plan"], merged=False)
    assert code == 0 and b"tune" in out and b"chat" in out and err == b""
    code, out, _ = run_bytes(fast_main, ["solve", "infeasible.plan"], merged=False)
    assert code == 1 and b"L4: needs" in out
    code, out, err = run_bytes(fast_main, ["solve", "names.plan"], merged=False)
    assert code == 2 and out == b"" and b"names.plan:2:" in err and b"nope" in err
    code, out, err = run_bytes(fast_main, ["solve", "with a warning.plan"], merged=True)
    assert code == 0 and out.index(b"warning: model") < out.index(b"plan with a warning: optimal")


def test_a_checker_failure_exits_3_on_both_paths(plans, monkeypatch):
    from planner import verify

    monkeypatch.setattr(verify, "check", lambda plan, result: ["memory: 99 GiB > 72 GiB"])
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, ["solve", "good.plan"], merged=False)
    assert taken and fast == run_bytes(typer_main(), ["solve", "good.plan"], merged=False)
    assert fast[0] == 3 and fast[1] == b"" and b"99 GiB" in fast[2]


@pytest.mark.parametrize("argv", [
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


def test_the_environment_that_sends_solve_to_typer(monkeypatch):
    from planner.cli import fast

    assert fast.plain_solve_file(["solve", SEVEN_B]) == SEVEN_B
    with pytest.MonkeyPatch.context() as patch:  # a shell completion request (click's _PROG_COMPLETE)
        patch.setenv("_PLANNER_COMPLETE", "bash_complete")
        assert fast.plain_solve_file(["solve", SEVEN_B]) is None
    with pytest.MonkeyPatch.context() as patch:  # click expands wildcards in arguments on Windows
        patch.setattr(fast.os, "name", "nt")
        assert fast.plain_solve_file(["solve", SEVEN_B]) is None


@pytest.mark.parametrize("raised, code", [(EOFError(), 1), (KeyboardInterrupt(), 130)])
def test_eof_and_interrupt_end_as_under_typer(plans, monkeypatch, raised, code):
    import planner.cli.loading

    def load(file, root=None):
        raise raised

    monkeypatch.setattr(planner.cli.loading, "load_plan_with_warnings", load)
    fast_main, taken = _fast_main_spied(monkeypatch)
    fast = run_bytes(fast_main, ["solve", "good.plan"], merged=False)
    assert taken and fast == run_bytes(typer_main(), ["solve", "good.plan"], merged=False)
    assert fast[0] == code
    if isinstance(raised, EOFError):
        assert fast[2].startswith(b"\nAborted")


class _BrokenPipe(io.TextIOWrapper):
    """A stdout whose reader has gone, until ``broken`` is cleared: the answer's write fails
    as a pipe's does once its buffer is full."""
    broken = True

    def write(self, text):
        if self.broken:
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")
        return super().write(text)


def test_a_broken_pipe_exits_1_and_silences_the_last_flush(plans, monkeypatch):
    fast_main, taken = _fast_main_spied(monkeypatch)
    for main in (fast_main, typer_main()):
        stdout = _BrokenPipe(io.BytesIO(), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "argv", ["planner", "solve", SEVEN_B])
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
def test_the_planner_script_solves_without_typer(plans):
    """Fresh interpreters, stderr merged into stdout: the same bytes, and no typer or click
    loaded on the fast path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a pipe's buffering
    for argv, expected in [(["solve", "with a warning.plan"], 0), (["solve", "infeasible.plan"], 1)]:
        runs = {}
        for name, entry in [("fast", "planner.cli"), ("typer", "planner.cli.commands")]:
            script = ("import atexit, json, sys\n"
                      "atexit.register(lambda: open('modules.json', 'w').write(json.dumps(sorted(sys.modules))))\n"
                      f"from {entry} import main\nmain()\n")
            done = subprocess.run([sys.executable, "-c", script, *argv], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, cwd=plans, env=env)
            modules = json.loads((plans / "modules.json").read_text())
            libraries = [m for m in modules if m.split(".")[0] in ("typer", "click")]
            runs[name] = (done.returncode, done.stdout, libraries)
        assert runs["typer"][2]  # the solve did load typer on that path
        assert runs["fast"] == (runs["typer"][0], runs["typer"][1], [])
        assert runs["fast"][0] == expected
