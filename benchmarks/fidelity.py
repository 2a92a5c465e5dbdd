"""Planner vs published measurements, case by case, with the median error per group.

    python benchmarks/fidelity.py              # every case
    python benchmarks/fidelity.py --calibrate  # held out: calibrated on half, error on the rest

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
from support.heldout import halves, held_out, median_abs_error, rms_log_error  # noqa: E402

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


def _factors(values: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1e3:.2f} ms" if k == "step_overhead" else f"{k} {v:.4f}"
                     for k, v in values.items())


def _change(before, after) -> str:
    return (f"median |error| {median_abs_error(before) * 100:.1f}% -> "
            f"{median_abs_error(after) * 100:.1f}%, RMS log error {rms_log_error(before):.3f} -> "
            f"{rms_log_error(after):.3f}")


def calibrated(gpus: tuple[str, ...] = ("H100-SXM", "H200")) -> None:
    """Held out (tests/support/heldout.py): per GPU type, the TensorRT-LLM cases in two
    halves; fit on one, median |error| of the other before and after; then swapped."""
    for gpu in gpus:
        start = time.process_time()
        result = held_out(gpu)
        a, b = halves(gpu)
        print(f"== calibration held out: {gpu}, trtllm, {len(a) + len(b)} cases "
              f"({time.process_time() - start:.1f} s of CPU)")
        for k, fold in enumerate(result.folds, 1):
            f = fold.fitted
            print(f"\nfold {k}: fitted to {len(fold.fitted_cases)} cases ({f.points} figures, "
                  f"RMS log error {f.rms_before:.3f} -> {f.rms_after:.3f}): {_factors(f.values)}")
            if f.at_bound:
                print("  at a bound: " + ", ".join(f"{n} ({side})" for n, side in f.at_bound.items()))
            if f.unidentified:
                print("  not identified: " + ", ".join(f.unidentified))
            print(f"{'held-out case':52s} {'metric':16s} {'published':>11s} {'default':>8s} "
                  f"{'fitted':>8s}")
            for r0, r1 in zip(fold.before, fold.after):
                print(f"{r0.case[:52]:52s} {r0.metric:16s} {r0.published:11.2f} "
                      f"{r0.error * 100:+7.1f}% {r1.error * 100:+7.1f}%")
            print(f"the {len(fold.before)} held-out figures: {_change(fold.before, fold.after)}")
        print(f"\npooled ({len(result.before)} figures, each estimated by the fold that did not "
              f"fit it): {_change(result.before, result.after)}\n")


if __name__ == "__main__":
    if "--calibrate" in sys.argv[1:]:
        calibrated()
    else:
        main()
        derivation()
