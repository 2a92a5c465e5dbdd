"""Parse time of a generated fleet by the fast reader and by lark's parser (prints figures).

    python benchmarks/parse_speed.py [--workloads 1000,10000] [--repeats 5]

The text is ``fleet_text(n)`` of benchmarks/e2e.py. Printed per size: the median seconds
of ``--repeats`` parses by planner/syntax/fast.py and by lark's LALR parser
(planner/syntax/lalr.py, what every text the fast reader leaves goes to), the two
alternating, and the ratio; both with the cycle collector paused, as parse_recovering
runs them (planner/collector.py). Both trees are compared once per size.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from e2e import fleet_text  # noqa: E402
from planner.syntax import fast, lalr  # noqa: E402
from planner.collector import paused  # noqa: E402


def timed(read) -> float:
    with paused():
        start = time.perf_counter()
        read()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="1000,10000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"{'workloads':>10} {'bytes':>10} {'fast':>8} {'lark':>8} {'ratio':>6}")
    for n in (int(x) for x in args.workloads.split(",")):
        text = fleet_text(n)
        mine, reference = fast.read(text, "fleet.plan"), lalr.parse(text, lalr.At("fleet.plan", 0))
        assert mine is not None and mine[0] == reference[0], "the readers disagree"
        runs: dict[str, list[float]] = {"fast": [], "lark": []}
        for _ in range(args.repeats):
            runs["fast"].append(timed(lambda: fast.read(text, "fleet.plan")))
            runs["lark"].append(timed(lambda: lalr.parse(text, lalr.At("fleet.plan", 0))))
        quick, slow = statistics.median(runs["fast"]), statistics.median(runs["lark"])
        print(f"{n:>10} {len(text):>10} {quick:>7.3f}s {slow:>7.3f}s {slow / quick:>5.1f}x")


if __name__ == "__main__":
    main()
