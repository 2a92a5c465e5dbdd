"""The long fuzz campaign: N inputs through check and fmt, valid plans through every command.

Inputs come from tests/fuzz/generate.py (plans written from the key table,
valid plans, mutations of the shipped examples, catalog and config fixtures,
hostile paths and sizes, raw bytes); each runs in process through
``planner.cli.main`` with a per-command time limit (tests/fuzz/harness.py).
A plan that passes ``check`` is also, at ``--solve-fraction`` (valid plans at
``--valid-solve-fraction``, plans with a key at a bound of its range at
``--bounds-solve-fraction``; ``--bounds`` runs each bound once), solved to JSON twice, rendered, diffed, exported
and reported; ``--metamorphic-fraction`` of inputs add a metamorphic check
(more users never cheaper, looser deadline and more GPUs never dearer).

Every input is seeded from (--seed, its index), so any finding is reproduced
by ``--first INDEX --n 1``; the files of each failing input are kept under
``--keep DIR``. Prints counts per outcome (command:exit code), then failures.

Run: python benchmarks/fuzz.py --n 1000000 [--seed S] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from multiprocessing import Pool

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from fuzz import generate, harness, metamorphic  # noqa: E402

_options: argparse.Namespace | None = None
_workspace: harness.Workspace | None = None


def _init(options: argparse.Namespace) -> None:
    global _options, _workspace
    _options = options
    _workspace = harness.Workspace(tempfile.mkdtemp(prefix="planner-fuzz-"))


def _chunk(bounds: tuple[int, int]) -> tuple[Counter, list[tuple[str, str, int]], float]:
    """Inputs [first, last) of the campaign: counts and failures (failure, detail, index)."""
    options, workspace = _options, _workspace
    report = harness.Report()
    failures: list[tuple[str, str, int]] = []
    start = time.perf_counter()
    for index in range(*bounds):
        rng = random.Random(f"{options.seed}:{index}")
        case = generate.case(rng)
        report.counts[f"input:{case.kind}"] += 1
        before = len(report.failures)
        fraction = options.bounds_solve_fraction if case.kind == "bounds" else \
            options.valid_solve_fraction if case.valid else options.solve_fraction
        label = f"#{index} {case.kind}"
        harness.run_case(report, workspace, case, label, rng, solve=rng.random() < fraction,
                         time_limit=options.time_limit)
        if rng.random() < options.metamorphic_fraction:
            metamorphic.check(report, workspace, rng, f"#{index} metamorphic", options.time_limit)
        for failure, detail in report.failures[before:]:
            failures.append((failure, detail, index))
            if options.keep:
                _keep(options.keep, workspace, index, failure)
    return report.counts, failures, time.perf_counter() - start


def _keep(directory: str, workspace: harness.Workspace, index: int, failure: str) -> None:
    target = os.path.join(directory, f"{index}-{failure}")
    if not os.path.exists(target):
        shutil.copytree(workspace.root, target, symlinks=True, ignore=shutil.ignore_patterns("fifo.plan", ".git"))


def _bounds(options) -> None:
    """Every numeric key at each bound of its range, for each workload kind, through every command."""
    _init(options)
    report = harness.Report()
    rng = random.Random(options.seed)
    cases = [(t, k, high, kind) for t, k in generate.bound_keys() for high in (False, True)
             for kind in (generate.WORKLOAD_KINDS if t in ("gpu", "model", "layout") else (t,))]
    for i, (table, key, high, kind) in enumerate(cases):
        case = generate.bound_case(table, key, high, "A100-80G", kind)
        harness.run_case(report, _workspace, case, f"{table}.{key}={'high' if high else 'low'} ({kind})", rng,
                         solve=True, time_limit=options.time_limit)
        if options.keep and report.failures:
            _keep(options.keep, _workspace, i, report.failures[-1][0])
    _print(report.counts, [(f, d, 0) for f, d in report.failures], 0.0, options)


def _print(counts, failures, seconds, options) -> None:
    print(f"seed {options.seed}, inputs {options.first:,} to {options.first + options.n - 1:,}, "
          f"{options.jobs} jobs, {seconds:,.0f} s")
    for key in sorted(counts):
        print(f"  {key:<28} {counts[key]:>10,}")
    print("failures:")
    for failure in harness.FAILURES:
        print(f"  {failure:<28} {counts.get(failure, 0):>10,}")
    for failure, detail, index in sorted(failures, key=lambda f: f[2])[:200]:
        print(f"- [{failure}] {detail.strip()[:600]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="inputs to run")
    parser.add_argument("--first", type=int, default=0, help="index of the first input")
    parser.add_argument("--seed", default="0")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--solve-fraction", type=float, default=0.005)
    parser.add_argument("--valid-solve-fraction", type=float, default=0.05)
    parser.add_argument("--bounds-solve-fraction", type=float, default=0.2)
    parser.add_argument("--metamorphic-fraction", type=float, default=0.001)
    parser.add_argument("--time-limit", type=float, default=1.0, help="CP-SAT seconds per solve")
    parser.add_argument("--keep", default=None, metavar="DIR", help="keep the files of failing inputs here")
    parser.add_argument("--bounds", action="store_true",
                        help="instead: every numeric key at each bound of its range, through every command")
    options = parser.parse_args()
    if options.bounds:
        _bounds(options)
        return
    bounds = [(i, min(i + options.chunk, options.first + options.n))
              for i in range(options.first, options.first + options.n, options.chunk)]
    counts: Counter = Counter()
    failures: list[tuple[str, str, int]] = []
    start = time.perf_counter()
    done = 0
    with Pool(options.jobs, initializer=_init, initargs=(options,), maxtasksperchild=20) as pool:
        for chunk_counts, chunk_failures, _seconds in pool.imap_unordered(_chunk, bounds):
            counts.update(chunk_counts)
            failures.extend(chunk_failures)
            done += sum(v for k, v in chunk_counts.items() if k.startswith("input:"))
            print(f"{done:,} inputs, {time.perf_counter() - start:,.0f} s, "
                  f"{sum(1 for f in failures):,} failures", file=sys.stderr, flush=True)
    _print(counts, failures, time.perf_counter() - start, options)


if __name__ == "__main__":
    main()
