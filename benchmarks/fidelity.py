"""Planner vs published measurements, case by case, with the median error per group.

    python benchmarks/fidelity.py

Each provider returns rows of (group, case, metric, published, predicted); the error is
predicted / published - 1. Serving: tests/support/fidelity_serving.py (the public serving
cases); training: tests/support/fidelity_training.py (the public training and memory cases,
and the held-out checks of docs/estimation.md sec 5).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.fidelity_serving import serving_rows  # noqa: E402
from support.fidelity_training import derivation_cases, held_out_rows, training_rows  # noqa: E402

PROVIDERS = [("serving", serving_rows), ("training", training_rows),
             ("training, held out", held_out_rows)]


def _table(rows) -> None:
    print(f"{'case':52s} {'metric':16s} {'published':>11s} {'planner':>11s} {'error':>8s}")
    for r in rows:
        print(f"{r.case[:52]:52s} {r.metric:16s} {r.published:11.2f} {r.predicted:11.2f} "
              f"{r.error * 100:+7.1f}%")


def main() -> None:
    for name, provider in PROVIDERS:
        start = time.process_time()
        rows = provider()
        seconds = time.process_time() - start
        groups = list(dict.fromkeys(r.group for r in rows))
        print(f"== {name}: {len(rows)} published numbers, {seconds:.1f} s of CPU")
        for group in groups:
            in_group = [r for r in rows if r.group == group]
            print(f"\n-- {group}")
            _table(in_group)
        print(f"\n{'group':48s} {'rows':>5s} {'median |error|':>15s} {'max |error|':>12s}")
        for group in groups:
            errors = [abs(r.error) for r in rows if r.group == group]
            print(f"{group:48s} {len(errors):5d} {statistics.median(errors) * 100:14.1f}% "
                  f"{max(errors) * 100:11.1f}%")
        print()


def derivation() -> None:
    """The utilization at which the training model reproduces each A100 run it is derived from
    (efficiency.TRAIN_UTILIZATION_A100 is their median)."""
    implied = [(c.case, c.implied_utilization()) for c in derivation_cases()]
    print("== training utilization implied by each derivation run (A100)")
    for case, u in implied:
        print(f"{case:52s} {u:.4f}")
    print(f"median {statistics.median(u for _, u in implied):.4f}\n")


if __name__ == "__main__":
    main()
    derivation()
