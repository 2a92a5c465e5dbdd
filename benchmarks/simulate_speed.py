"""How fast the serving simulation runs: CPU seconds per run and steps per second.

    python benchmarks/simulate_speed.py

Loads a search would check (an 8B and a 70B model under Poisson arrivals and closed loops,
each engine's scheduling rule), 400 requests each (twice the users for a closed loop), one core.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.fidelity_serving import _gpu, _model  # noqa: E402

from planner.estimate.simulate import simulate  # noqa: E402
from planner.estimate.step import ServeLoad  # noqa: E402

H100 = "H100 80GB HBM3"
CASES = [
    ("8B H100 vllm rate 2", dict(model="LLaMA 3.1 8B", tp=1, rate=2.0, engine="vllm")),
    ("8B H100 vllm rate 20", dict(model="LLaMA 3.1 8B", tp=1, rate=20.0, engine="vllm")),
    ("8B H100 sglang rate 20", dict(model="LLaMA 3.1 8B", tp=1, rate=20.0, engine="sglang")),
    ("8B H100 trtllm rate 20", dict(model="LLaMA 3.1 8B", tp=1, rate=20.0, engine="trtllm")),
    ("8B H100 vllm 64 users", dict(model="LLaMA 3.1 8B", tp=1, users=64, engine="vllm")),
    ("8B H100 vllm 512 users", dict(model="LLaMA 3.1 8B", tp=1, users=512, engine="vllm")),
    ("70B 4xH100 vllm rate 5", dict(model="LLaMA 3.1 70B", tp=4, rate=5.0, engine="vllm")),
    ("70B 4xH100 vllm 200 users", dict(model="LLaMA 3.1 70B", tp=4, users=200, engine="vllm")),
]


def main() -> None:
    print(f"{'case (prompt 1000, output 250)':46s} {'CPU s':>7s} {'steps':>7s} "
          f"{'steps/s':>9s} {'p99 TTFT ms':>12s} {'p99 TPOT ms':>12s}")
    for name, c in CASES:
        load = ServeLoad(_model(c["model"]), _gpu(H100), prompt=1000, output=250, tp=c["tp"],
                         engine=c["engine"], users=c.get("users", 0), rate=c.get("rate", 0.0))
        start = time.process_time()
        r = simulate(load, requests=max(400, 2 * c.get("users", 0)), seed=0)
        seconds = time.process_time() - start
        print(f"{name:46s} {seconds:7.3f} {r.steps:7d} {r.steps / seconds:9.0f} "
              f"{r.ttft_p99 * 1e3:12.1f} {r.tpot_p99 * 1e3:12.2f}")


if __name__ == "__main__":
    main()
