"""What serving costs inside a solve: steady states evaluated, simulations run and their CPU.

    python benchmarks/serve_solve.py [examples/chat-service.plan ...]

For each plan (default: every example with a service), one solve on one core: its CPU
seconds, the layouts the serving search evaluated (steady states), the simulations run
(a placed row is simulated once; p99 limits add the candidates checked) and their CPU,
per serve row. Figures, not assertions: speed is measured here, never in tests.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from planner.estimate import serve as S
from planner.pipeline import solve_file

ROOT = Path(__file__).resolve().parent.parent


class _Counted:
    """Wraps a function: calls and CPU seconds (the outermost call only)."""

    def __init__(self, fn):
        self.fn, self.calls, self.seconds, self.depth = fn, 0, 0.0, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        self.depth += 1
        start = time.process_time()
        try:
            return self.fn(*args, **kwargs)
        finally:
            self.depth -= 1
            if not self.depth:
                self.seconds += time.process_time() - start


def main(paths: list[str]) -> None:
    if not paths:
        paths = [str(p) for p in sorted((ROOT / "examples").glob("*.plan"))
                 if "serve " in p.read_text(encoding="utf-8")]
    print(f"{'plan':32s} {'solve CPU s':>11s} {'serve rows':>10s} {'steady':>7s} "
          f"{'sims':>5s} {'sim CPU s':>9s} {'sim s/row':>9s}")
    for path in paths:
        S._simulated.cache_clear()
        S.steady.cache_clear()
        steady, simulated = _Counted(S.steady_state), _Counted(S.simulate)
        S.steady_state, S.simulate = steady, simulated
        try:
            start = time.process_time()
            result = solve_file(path)
            seconds = time.process_time() - start
        finally:
            S.steady_state, S.simulate = steady.fn, simulated.fn
        rows = sum(1 for r in result.workloads if r.kind == "serve")
        per_row = simulated.seconds / rows if rows else 0.0
        print(f"{Path(path).name:32s} {seconds:11.2f} {rows:10d} {steady.calls:7d} "
              f"{simulated.calls:5d} {simulated.seconds:9.2f} {per_row:9.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
