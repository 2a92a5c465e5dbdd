"""A seeded slice of the fuzz campaign (benchmarks/fuzz.py runs the long one).

The quick slice sends small inputs written from the key table through the
language in process (parse, convert, fmt round trip); the slow slices send
whole generated cases through `check` and `fmt` on the command line, valid
plans through every command, and metamorphic families through `solve`. No
input may end in anything but a clean exit (see tests/fuzz/harness.py).
"""

from __future__ import annotations

import random

import pytest

from fuzz import generate, harness, metamorphic
from planner.errors import PlanError
from planner.syntax.fmt import format_text


def _round_trip(text: str) -> None:
    """Parse is a Plan or PlanErrors; fmt of what parses keeps its meaning and is idempotent."""
    before = harness.meaning(text, "s.plan")
    try:
        formatted = format_text(text, "s.plan")
    except PlanError:
        return
    assert harness.meaning(formatted, "s.plan") == before, text
    assert format_text(formatted, "s.plan") == formatted, text


def _slice(seed: str, n: int) -> None:
    for i in range(n):
        _round_trip(generate.statement(random.Random(f"{seed}:{i}")))


def test_quick_slice_of_statements():
    _slice("quick", 300)


@pytest.mark.slow
def test_slice_of_statements():
    _slice("slice", 3000)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    return harness.Workspace(str(tmp_path_factory.mktemp("fuzz")))


def _no_failures(report: harness.Report) -> None:
    assert not report.failures, report.failures[:5]


@pytest.mark.slow
def test_slice_of_cases_through_check_and_fmt(workspace):
    report = harness.Report()
    for i in range(150):
        rng = random.Random(f"cases:{i}")
        harness.run_case(report, workspace, generate.case(rng), f"#{i}", rng, solve=False)
    _no_failures(report)
    assert report.counts["check:0"] > 5 and report.counts["check:2"] > 50


@pytest.mark.slow
def test_hostile_cases(workspace):
    report = harness.Report()
    for i in range(12):
        rng = random.Random(f"hostile:{i}")
        harness.run_case(report, workspace, generate.hostile(rng), f"#{i}", rng, solve=False)
    _no_failures(report)


@pytest.mark.slow
def test_valid_plans_through_every_command(workspace):
    report = harness.Report()
    solved = 0
    for i in range(120):  # most generated "valid" plans still miss a rule check states
        rng = random.Random(f"valid:{i}")
        if harness.run_case(report, workspace, generate.valid(rng), f"#{i}", rng, solve=True, time_limit=0.5):
            solved += 1
            if solved == 2:
                break
    _no_failures(report)
    assert solved == 2 and report.counts["report:0"] + report.counts["report:1"] == 2


@pytest.mark.slow
def test_a_metamorphic_family(workspace):
    report = harness.Report()
    metamorphic.check(report, workspace, random.Random("family:3"), "family", 0.5)
    _no_failures(report)
    assert report.counts["metamorphic-compared"] >= 1


@pytest.mark.slow
def test_measured_and_calibration_blocks_and_broken_result_files(workspace):
    report = harness.Report()
    for i in range(80):
        rng = random.Random(f"measured:{i}")
        harness.run_case(report, workspace, generate.measured(rng), f"#{i}", rng, solve=False)
    _no_failures(report)
    assert report.counts["validate:0"] >= 2 and report.counts["validate:2"] >= 10
    assert report.counts["calibrate:0"] >= 2 and report.counts["check-calibration:0"] >= 1
