"""Run fuzz cases through the command line, in process, and say what each one did.

Each case is written into a fresh directory laid out as a CI job would see a
pull request: ``root/`` is a git work tree (it holds ``.git``) with the plan
and the files it names, and ``outside/secret.plan`` beside it holds a secret,
also planted in the environment. Commands run through ``planner.cli.main``
with stdout and stderr captured and a per-command time limit (SIGALRM).

Outcomes, counted per command (``check:0``, ``solve:1`` ...), and failures:

- ``traceback``: an exception other than SystemExit left ``main``;
- ``hang``: a command ran past its time limit;
- ``exit-3``: the solver's checker rejected a solution;
- ``bad-exit``: an exit code the command never gives for that input;
- ``bad-error``: exit 2 without a ``path:line:col: error:`` (or ``error:``) line;
- ``secret``: the planted secret appeared in any output;
- ``invalid-json``: ``--format json`` printed something that is not strict JSON;
- ``check-ok-solve-2`` / ``check-ok-export-2``: check passed, a later command said bad input;
- ``fmt-roundtrip``: fmt changed the meaning, or fmt of fmt changed the text;
- ``nondeterministic``: the same plan solved twice printed different bytes;
- ``metamorphic``: more users cheaper, a looser deadline or more GPUs dearer.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import sys
import traceback
from collections import Counter
from dataclasses import dataclass, field
from unittest import mock

from fuzz.generate import SECRET, Case

FAILURES = ("traceback", "hang", "exit-3", "bad-exit", "bad-error", "secret", "invalid-json",
            "check-ok-solve-2", "check-ok-export-2", "check-ok-validate-2", "fmt-roundtrip", "nondeterministic", "metamorphic")
_LINE = re.compile(r"\bline \d+")
_ERROR_LINE = re.compile(r"^(\S.*?:\d+:\d+: )?error: ", re.MULTILINE)


class Hang(Exception):
    """A command ran past its time limit."""


@dataclass
class Run:
    code: int | None
    out: str
    err: str
    crash: str | None = None  # the traceback's last lines
    hung: bool = False


@dataclass
class Report:
    counts: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (failure, detail)

    def fail(self, failure: str, detail: str) -> None:
        self.counts[failure] += 1
        self.failures.append((failure, detail))


def _alarm(signum, frame):
    raise Hang()


def _memoized_get_command():
    """typer builds the click command tree again on every ``app()`` call (50 ms for planner's
    commands); a campaign of many calls in one process builds it once. Each call still goes
    through ``planner.cli.main``, with click's parsing, contexts and exit codes."""
    import typer.main

    build = getattr(typer.main.get_command, "__wrapped__", typer.main.get_command)
    built: dict[int, object] = {}

    def get_command(typer_instance):
        if id(typer_instance) not in built:
            built[id(typer_instance)] = build(typer_instance)
        return built[id(typer_instance)]

    get_command.__wrapped__ = build
    typer.main.get_command = get_command


_memoized_get_command()


def run(argv: list[str], seconds: float) -> Run:
    """``planner ARGV`` through ``planner.cli.main``, in process, within ``seconds``."""
    from planner.cli import main

    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        with mock.patch.object(sys, "argv", ["planner", *argv]), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as done:
                code = done.code if isinstance(done.code, int) else (0 if done.code is None else 2)
    except Hang:
        return Run(None, out.getvalue(), err.getvalue(), hung=True)
    except Exception:  # noqa: BLE001 - a traceback is the finding
        return Run(None, out.getvalue(), err.getvalue(), crash="".join(traceback.format_exc().splitlines(True)[-6:]))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return Run(code, out.getvalue(), err.getvalue())


class Workspace:
    """A directory reused across cases: ``root/`` (a git work tree) and ``outside/``."""

    def __init__(self, base: str):
        self.base = base
        self.root = os.path.join(base, "root")
        outside = os.path.join(base, "outside")
        os.makedirs(outside, exist_ok=True)
        with open(os.path.join(outside, "secret.plan"), "w") as handle:
            handle.write(f"{SECRET}=1\n")
        os.environ["PLANNER_FUZZ_SECRET"] = SECRET  # /proc/self/environ holds it

    def write(self, case: Case) -> str:
        shutil.rmtree(self.root, ignore_errors=True)
        os.makedirs(os.path.join(self.root, ".git"))
        for name, data in case.files.items():
            path = os.path.join(self.root, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as handle:
                handle.write(data)
        for name, target in case.links.items():
            os.symlink(target, os.path.join(self.root, name))
        with contextlib.suppress(OSError):
            os.mkfifo(os.path.join(self.root, "fifo.plan"))
        return os.path.join(self.root, case.main)


def _strict_json(text: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def judge(report: Report, label: str, command: str, result: Run, codes: tuple[int, ...]) -> bool:
    """Count ``result`` and record any failure; True when it is a clean exit in ``codes``."""
    if result.hung:
        report.fail("hang", f"{label}: {command}")
        return False
    if result.crash is not None:
        report.fail("traceback", f"{label}: {command}: {result.crash}")
        return False
    report.counts[f"{command}:{result.code}"] += 1
    if SECRET in result.out or SECRET in result.err:
        report.fail("secret", f"{label}: {command}")
    if result.code == 3:
        report.fail("exit-3", f"{label}: {command}: {result.err[:300]}")
        return False
    if result.code not in codes:
        report.fail("bad-exit", f"{label}: {command} exit {result.code}: {result.err[:300]}")
        return False
    if result.code == 2 and (not _ERROR_LINE.search(result.err) or "Traceback" in result.err):
        report.fail("bad-error", f"{label}: {command}: {result.err[:300]}")
    return True


def meaning(text: str, path: str):
    """What ``text`` says: its plan without positions, or its error messages (a message naming
    another line, "the first is at line 3", moves with the text fmt rewrites)."""
    from planner.errors import PlanError
    from planner.syntax import parse_plan

    try:
        return ("plan", parse_plan(text, path).semantic())
    except PlanError as error:
        errors = getattr(error, "errors", [error])
        return ("errors", sorted(_LINE.sub("line N", e.message) for e in errors))


def fmt_round_trip(report: Report, label: str, path: str) -> None:
    """fmt keeps the meaning and is idempotent (only for text fmt accepts)."""
    result = run(["fmt", path], 60)
    if not judge(report, label, "fmt", result, (0, 2)) or result.code != 0:
        return
    with open(path, "rb") as handle:
        original = handle.read().decode("utf-8").removeprefix("\ufeff")

    formatted = result.out
    if meaning(formatted, path) != meaning(original, path):
        report.fail("fmt-roundtrip", f"{label}: fmt changed the meaning")
        return
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(formatted)
    again = run(["fmt", path], 60)
    if again.code != 0 or again.out != formatted:
        report.fail("fmt-roundtrip", f"{label}: fmt is not idempotent")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(original)


def solve_json(report: Report, label: str, path: str, time_limit: float, command: str = "solve"):
    """Solve ``path`` to JSON; the parsed result, or None (failures recorded)."""
    result = run(["solve", path, "--format", "json", "--time-limit", str(time_limit)], 60 + 4 * time_limit)
    if not judge(report, label, command, result, (0, 1, 2)):
        return None
    if result.code == 2:
        report.fail("check-ok-solve-2", f"{label}: {result.err[:400]}")
        return None
    try:
        return _strict_json(result.out), result.out
    except ValueError as error:
        report.fail("invalid-json", f"{label}: {error}")
        return None


def through_every_command(report: Report, label: str, path: str, time_limit: float, rng) -> None:
    """A plan check accepted: solve, solve again (same bytes), diff, export and report."""
    solved = solve_json(report, label, path, time_limit)
    if solved is None:
        return
    result, text = solved
    if result.get("status") == "optimal":
        again = solve_json(report, label, path, time_limit)
        if again is not None and again[0].get("status") == "optimal" and again[1] != text:
            report.fail("nondeterministic", f"{label}: two solves differ")
    fmt = rng.choice(["table", "markdown", "csv"])
    judge(report, label, f"solve-{fmt}", run(["solve", path, "--format", fmt, "--time-limit", str(time_limit)],
                                             60 + 4 * time_limit), (0, 1))
    diff = run(["diff", path, path, "--format", "json", "--time-limit", str(time_limit)], 120 + 8 * time_limit)
    if judge(report, label, "diff", diff, (0, 1)):
        try:
            _strict_json(diff.out)
        except ValueError as error:
            report.fail("invalid-json", f"{label}: diff: {error}")
    target = rng.choice(["deepspeed", "vllm", "skypilot"])
    export = run(["export", path, "--to", target, "--time-limit", str(time_limit)], 60 + 4 * time_limit)
    placed = result.get("status") in ("optimal", "feasible")
    # the target does not apply: --to vllm on a plan with no service, or on a service planned for
    # another engine (what the user asked of export, not a value check missing from `check`);
    # or the target's stack cannot run a layout solved for another stack (docs/exports.md,
    # "Refused": a Megatron pipeline with ZeRO-2 --to deepspeed), said with the reason
    mismatch = ("workload in the plan to export" in export.err or "writes vLLM commands" in export.err
                or ": refused for " in export.err)
    if judge(report, label, f"export-{target}", export, (0, 1, 2)) and export.code == 2 and placed \
            and not mismatch:
        # every row placed: refusing to export one is a pin or value check missing from `check`
        report.fail("check-ok-export-2", f"{label}: export --to {target}: {export.err[:300]}")
    page = run(["report", path, "--time-limit", str(time_limit)], 60 + 4 * time_limit)
    if judge(report, label, "report", page, (0, 1)) and "<html" not in page.out.lower():
        report.fail("bad-exit", f"{label}: report printed no page")


def calibration_commands(report: Report, label: str, path: str, checked: bool) -> None:
    """validate (table, json) and calibrate: exit 0 or 2 with a message; strict JSON; a plan
    check accepted with a measured block is never bad input to them."""
    measured = b"measured" in open(path, "rb").read()
    out = os.path.join(os.path.dirname(path), "calibration.plan")
    for command, argv in (("validate", ["validate", path]),
                          ("validate-json", ["validate", path, "--format", "json"]),
                          ("calibrate", ["calibrate", path, "-o", out])):
        result = run(argv, 120)
        if not judge(report, label, command, result, (0, 2)):
            continue
        if result.code == 2 and checked and measured:
            report.fail("check-ok-validate-2", f"{label}: {command}: {result.err[:300]}")
        if command == "validate-json" and result.code == 0:
            try:
                _strict_json(result.out)
            except ValueError as error:
                report.fail("invalid-json", f"{label}: validate: {error}")
    if checked and measured and os.path.exists(out):
        again = run(["check", out], 60)  # what calibrate wrote is a plan check accepts
        judge(report, label, "check-calibration", again, (0,))


def run_case(report: Report, workspace: Workspace, case: Case, label: str, rng, solve: bool,
             time_limit: float = 1.0) -> bool:
    """``case`` through check and fmt, and when ``solve`` and check passed, every command.
    True when check passed."""
    path = workspace.write(case)
    checked = run(["check", path], 60)
    ok = judge(report, label, "check", checked, (0, 2))
    if ok and checked.code == 0 and ": ok (" not in checked.out:
        report.fail("bad-exit", f"{label}: check exit 0 without `ok`")
    fmt_round_trip(report, label, path)
    passed = ok and checked.code == 0
    if case.kind == "measured":
        calibration_commands(report, label, path, passed)
    if passed and solve:
        through_every_command(report, label, path, time_limit, rng)
    return passed
