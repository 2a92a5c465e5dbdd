"""End-to-end wall time and peak memory of planner commands, as a user runs them (prints figures).

    python benchmarks/e2e.py [--repeats 5] [--fleets 100,1000,10000] [--infeasible 100,200]
                             [--timeout 600] [--cold] [--source]

Each command runs as its own process (`python -c "from planner.cli import main; main()"`,
what the `planner` console script does), `--repeats` times; the figure is the median wall
time, beside its ratio to a bare interpreter start (`python -c pass`) measured in the same
run, and the largest resident set of the runs (from `os.wait4`). The on-disk cache
(planner/cache.py) is warmed by one unmeasured run first, as it is after a user's first
command; `--cold` leaves it off instead.

Commands: `check`, `solve`, `diff` (the plan against itself), `report` and `estimate` (the
first workload) on every example, and `check` and `solve` on generated fleets of N
workloads over 12 GPU types (`fleet_text`), a tenth of them swept over three values.
A generated fleet's run that exceeds `--timeout` seconds is reported as such.
`--infeasible` fleets are the same with every GPU type's availability divided by
`INFEASIBLE_SHARE`: no choice fits, and `solve` answers with the limits that cannot hold
(its exit code is 1); the figure is the whole command, search included.

The runs read and write compiled bytecode (in a temporary ``PYTHONPYCACHEPREFIX``), as an
installed package does (pip compiles it at install); ``--source`` leaves that to the
environment (with ``PYTHONDONTWRITEBYTECODE`` set, every module is compiled from source
on every run, some 0.05-0.1 s per command here).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.plan"))
PLANNER = [sys.executable, "-c", "from planner.cli import main; main()"]

FLEET_GPUS = ["A10G", "L4", "L40S", "V100-16G", "V100-32G", "A100-40G", "A100-80G", "MI250X",
              "MI300X", "H100-SXM", "H200", "B200"]  # 12 catalog types with network and per_node
SERVE_MODELS = ["Llama-3.1-8B", "Mistral-7B", "Qwen2.5-14B", "Qwen2.5-32B", "Llama-3.1-70B"]
TUNE_MODELS = ["Llama-3.1-8B", "Mistral-7B", "Qwen2.5-7B", "Qwen2.5-14B"]


INFEASIBLE_SHARE = 32  # availability divided by this: the generated fleets then fit nowhere


def infeasible_text(n: int) -> str:
    """``fleet_text(n)`` with every availability divided by ``INFEASIBLE_SHARE``."""
    return re.sub(r"available = (\d+)", lambda m: f"available = {int(m.group(1)) // INFEASIBLE_SHARE}",
                  fleet_text(n))


def fleet_text(n: int) -> str:
    """A plan of ``n`` workloads over 12 GPU types: services (four in five) with latency limits
    and LoRA fine-tunes with deadlines; every tenth workload swept over three values."""
    lines = ['import "std"', f'plan "fleet-{n}" {{ objective = cost }}']
    scale = max(1, n // 100)  # the pool grows with the fleet, so that it stays placeable
    lines += [f'gpu "{g}" {{ available = {(64 + 32 * (i % 4)) * scale} }}' for i, g in enumerate(FLEET_GPUS)]
    for i in range(n):
        if i % 5 == 4:
            model = TUNE_MODELS[i % len(TUNE_MODELS)]
            lines.append(f'finetune "t{i}" {{ model = "{model}"  dataset = {10 + i % 7 * 10}M tokens  '
                         f'method = lora  deadline <= {12 + i % 3 * 12}h }}')
            if i % 10 == 9:
                lines.append(f'sweep "t{i}".deadline = [12h, 24h, 48h]')
        else:
            model = SERVE_MODELS[i % len(SERVE_MODELS)]
            lines.append(f'serve "s{i}" {{ model = "{model}"  users = {4 + i % 13 * 4}  context = 8192  '
                         f'prompt = 2048  output = 256  ttft <= 2s  tpot <= 60ms }}')
            if i % 10 == 0:
                lines.append(f'sweep "s{i}".users = [8, 32, 128]')
    return "\n".join(lines) + "\n"


def run_once(argv: list[str], timeout: float) -> tuple[float, int, int]:
    """(wall seconds, exit code, peak resident KiB) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return time.perf_counter() - start, proc.returncode, usage.ru_maxrss
        if time.perf_counter() > deadline:
            proc.kill()
            _, _, usage = os.wait4(proc.pid, 0)
            return float("inf"), -9, usage.ru_maxrss
        time.sleep(0.002)


def measure(argv: list[str], repeats: int, timeout: float) -> tuple[float, int, int]:
    """Median wall seconds, the exit code and the largest peak resident KiB of ``repeats`` runs."""
    runs = [run_once(argv, timeout) for _ in range(repeats)]
    if any(code == -9 for _, code, _ in runs):
        return float("inf"), -9, max(r for _, _, r in runs)
    return statistics.median(t for t, _, _ in runs), runs[-1][1], max(r for _, _, r in runs)


def first_workload(plan: Path) -> str | None:
    found = re.search(r'^(?:serve|finetune|pretrain)\s+"([^"]+)"', plan.read_text(), re.MULTILINE)
    return found.group(1) if found else None


def commands(plan: Path) -> list[tuple[str, list[str]]]:
    out = [("check", ["check", str(plan)]), ("solve", ["solve", str(plan)]),
           ("diff", ["diff", str(plan), str(plan)]), ("report", ["report", str(plan)])]
    workload = first_workload(plan)
    if workload:
        out.append(("estimate", ["estimate", str(plan), "--workload", workload]))
    return out


def show(name: str, what: str, figures: tuple[float, int, int], bare: float) -> None:
    seconds, code, rss = figures
    if seconds == float("inf"):
        print(f"  {name:<28} {what:<9} {'timeout':>9} {'':>7}  exit -  peak {rss / 1024:7.0f} MiB")
        return
    print(f"  {name:<28} {what:<9} {seconds:8.3f}s {seconds / bare:6.1f}x  exit {code}  "
          f"peak {rss / 1024:7.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    # 10,000 workloads with these sweeps make 14,000 rows and 2,000 sweeps, within the
    # 16,384 rows and 4,096 sweeps a plan may hold (planner.syntax.limits)
    parser.add_argument("--fleets", default="100,1000,10000", help="workload counts of generated fleets")
    parser.add_argument("--fleet-repeats", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per generated-fleet run")
    parser.add_argument("--cold", action="store_true", help="without the on-disk cache")
    parser.add_argument("--infeasible", default="100,200", help="workload counts of fleets that fit nowhere")
    parser.add_argument("--source", action="store_true", help="do not write compiled bytecode")
    options = parser.parse_args()
    if not options.source:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="planner-e2e-pyc-")

    cache = tempfile.mkdtemp(prefix="planner-e2e-cache-")
    os.environ["PLANNER_CACHE_DIR"] = "off" if options.cold else cache
    bare = measure([sys.executable, "-c", "pass"], max(options.repeats, 5), 10)[0]
    print(f"bare interpreter start: {bare:.3f}s (median of {max(options.repeats, 5)}); "
          f"cache {'off' if options.cold else 'warm'}; bytecode {'off' if options.source else 'on'}; "
          f"{os.cpu_count()} cores")
    print("examples (median of %d runs, ratio to the bare start, peak resident memory):" % options.repeats)
    for what, args in commands(ROOT / "examples" / "tour.plan"):  # compiles the bytecode once
        run_once(PLANNER + args, 300)
    for plan in EXAMPLES:
        if not options.cold:
            run_once(PLANNER + ["check", str(plan)], 60)  # warms the cache
        for what, args in commands(plan):
            show(plan.name, what, measure(PLANNER + args, options.repeats, 300), bare)
    sizes = [int(s) for s in options.fleets.split(",") if s.strip()]
    if sizes:
        print(f"generated fleets over {len(FLEET_GPUS)} GPU types (median of {options.fleet_repeats}):")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"fleet-{n}.plan"
            path.write_text(fleet_text(n))
            for what in ("check", "solve"):
                figures = measure(PLANNER + [what, str(path)], options.fleet_repeats, options.timeout)
                show(f"fleet of {n} workloads", what, figures, bare)
        for n in [int(s) for s in options.infeasible.split(",") if s.strip()]:
            path = Path(tmp) / f"infeasible-{n}.plan"
            path.write_text(infeasible_text(n))
            figures = measure(PLANNER + ["solve", str(path)], options.fleet_repeats, options.timeout)
            show(f"infeasible fleet of {n}", "solve", figures, bare)


if __name__ == "__main__":
    main()
