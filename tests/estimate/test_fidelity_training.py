"""The training model against every public training and memory measurement
(tests/support/fidelity_training.py; ``python benchmarks/fidelity.py`` prints the rows).

Acceptance (issue 11): over the public training throughput and time cases (Megatron 2021
Table 1, Korthikanti Table 5, FSDP 34B/70B on both clusters, Llama 3 405B Table 4) the median
absolute error is at most 10% and no case is off by more than 25%; the public memory cases are
no worse than before. Each group is bounded too, at its own level, so a regression in any of
them fails (the FSDP group's H100 rows run 15-17% fast: docs/estimation.md sec 5, "Fidelity").
The held-out checks are bounded loosely: they guard against a regression, they were not fitted.
"""

from __future__ import annotations

import statistics

import pytest

from support import fidelity_training as F

ACCEPTANCE = (F.MEGATRON, F.KORTHIKANTI, F.FSDP, F.LLAMA3)
# group -> (median bound, worst-case bound), |predicted / published - 1|
BOUNDS = {
    F.MEGATRON: (0.10, 0.25),
    F.KORTHIKANTI: (0.10, 0.25),
    F.FSDP: (0.15, 0.25),
    F.LLAMA3: (0.10, 0.25),
    F.ZERO: (0.01, 0.025),  # as before: within the table's printed rounding
    F.ACTIVATIONS: (1e-9, 1e-9),  # Table 2's formulas exactly
    F.MCORE: (0.15, 0.40),
    F.FP8: (0.10, 0.20),
    F.QLORA: (0.25, 0.50),
    F.FIG1: (0.05, 0.10),
}


@pytest.fixture(scope="module")
def rows():
    return F.training_rows() + F.held_out_rows()


def _errors(rows, group):
    found = [r for r in rows if r.group == group]
    assert found, group
    return found, [abs(r.error) for r in found]


@pytest.mark.parametrize("group", sorted(BOUNDS))
def test_group_within_bounds(rows, group):
    found, errors = _errors(rows, group)
    median_bound, case_bound = BOUNDS[group]
    worst = max(found, key=lambda r: abs(r.error))
    assert statistics.median(errors) <= median_bound, group
    assert abs(worst.error) <= case_bound, f"{worst.case}: {worst.error:+.1%}"


def test_acceptance_over_the_public_training_cases(rows):
    errors = [abs(r.error) for r in rows if r.group in ACCEPTANCE]
    assert len(errors) == 10 + 8 + 4 + 3
    assert statistics.median(errors) <= 0.10
    assert max(errors) <= 0.25


def test_every_public_case_is_run(rows):
    counts = {g: sum(r.group == g for r in rows) for g in F.GROUPS}
    assert counts == {F.MEGATRON: 10, F.KORTHIKANTI: 8, F.FSDP: 4, F.LLAMA3: 3, F.ZERO: 54,
                      F.ACTIVATIONS: 10}


def test_the_derivation_reproduces_the_constant():
    # efficiency.TRAIN_UTILIZATION_A100 is the median utilization at which this model
    # reproduces the 18 A100 runs it is derived from (rounded to 3 digits)
    from planner.estimate.efficiency import TRAIN_UTILIZATION_A100

    implied = [c.implied_utilization() for c in F.derivation_cases()]
    assert len(implied) == 18
    assert round(statistics.median(implied), 3) == TRAIN_UTILIZATION_A100


def test_sequence_parallel_and_selective_speed_korthikanti_up(rows):
    # the paper's point: SP + selective recomputation beats full recomputation by ~30%
    by_case = {r.case: r.predicted for r in rows if r.group == F.KORTHIKANTI}
    for size in ("22B", "175B", "530B", "1T"):
        base = by_case[f"korthikanti2022_table5_{size} baseline"]
        present = by_case[f"korthikanti2022_table5_{size} present"]
        assert 1.2 < base / present < 1.45, size
