"""Start-up of planner commands: wall and CPU time per command and example, and what each
command imports (prints figures).

    python benchmarks/startup.py [--repeats 7] [--commands check,solve] [--imports]
                                 [--bytecode] [--against OTHER_CHECKOUT]

Each run is its own process, as the `planner` console script starts it (`python -c "from
planner.cli import main; main()"`). Printed per command and example: the median wall
time and the median CPU time (user + system, from `os.wait4`) of ``--repeats`` runs, beside
a bare interpreter start (`python -c pass`) measured in the same run. CPU time is the
steadier figure on a shared machine: wall time also counts waiting for a busy core. The
on-disk cache (planner/cache.py) is warmed by one unmeasured run first, as after a user's
first command.

``--bytecode`` lets the runs read and write compiled bytecode (in a temporary
``PYTHONPYCACHEPREFIX``), as an installed package does (pip compiles it); without it the
environment decides, and with ``PYTHONDONTWRITEBYTECODE`` set every module is compiled
from source on every run.

``--against DIR`` runs each command also from another checkout of planner (e.g. a
``git worktree`` of main), alternating its runs with this one's so that both see the
same load, and prints both.

``--imports`` also prints, per command on the first example, the time of the imports it
makes (`python -X importtime`), the largest top-level packages first, and the total.

``--instructions`` also counts, per command and example and in each checkout, the
instructions one run executes (valgrind's cachegrind without its cache simulation, about
15 s a run): unlike seconds, the count does not move with the machine's load, so two
checkouts compare on a busy machine too. Needs ``valgrind`` on the PATH.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.plan"))
PLANNER = [sys.executable, "-c", "from planner.cli import main; main()"]


def run_once(argv: list[str], checkout: Path = ROOT) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds, exit code) of one process importing planner from ``checkout``."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=checkout, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def medians(runs: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            runs[-1][2])


def measure(argv: list[str], repeats: int, checkouts: list[Path]) -> list[tuple[float, float, int]]:
    """Median wall and CPU seconds and the exit code of ``repeats`` runs from each checkout,
    the checkouts' runs alternating."""
    runs: list[list] = [[] for _ in checkouts]
    for _ in range(repeats):
        for i, checkout in enumerate(checkouts):
            runs[i].append(run_once(argv, checkout))
    return [medians(r) for r in runs]


def first_workload(plan: Path) -> str | None:
    found = re.search(r'^(?:serve|finetune|pretrain)\s+"([^"]+)"', plan.read_text(), re.MULTILINE)
    return found.group(1) if found else None


def arguments(command: str, plan: Path) -> list[str] | None:
    """The argv after `planner` that runs ``command`` on ``plan`` (None: not applicable); the
    plan's path relative to the checkout, so that each checkout reads its own examples."""
    path = str(plan.relative_to(ROOT))
    if command == "estimate":
        workload = first_workload(plan)
        return None if workload is None else ["estimate", path, "--workload", workload]
    return [command, path]


def instructions(argv: list[str], checkout: Path) -> int | None:
    """Instructions one run executes (cachegrind's ``I refs``), None when valgrind says none."""
    env = dict(os.environ, PYTHONPATH=str(checkout))
    proc = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no",
                           "--cachegrind-out-file=/dev/null", *argv],
                          capture_output=True, text=True, cwd=checkout, env=env)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    return int(found.group(1).replace(",", "")) if found else None


def print_instructions(plans: list[Path], wanted: list[str], checkouts: list[Path]) -> None:
    """Billions of instructions per command and example in each checkout, and their ratio."""
    print("instructions, billions (cachegrind, one run each; bytecode as above):")
    bare = [instructions([sys.executable, "-c", "pass"], c) for c in checkouts]
    print(f"{'bare interpreter':<32} " + "   ".join(_billions(n) for n in bare))
    for plan in plans:
        for command in wanted:
            args = arguments(command, plan)
            if args is None:
                continue
            counts = [instructions(PLANNER + args, c) for c in checkouts]
            ratio = ""
            if len(counts) == 2 and all(counts):
                ratio = f"   {counts[0] / counts[1]:.3f}x"
            print(f"{plan.name:<22} {command:<9} " + "   ".join(_billions(n) for n in counts) + ratio)


def _billions(n: int | None) -> str:
    return f"{'-':>8}" if n is None else f"{n / 1e9:7.3f}G"


def import_times(argv: list[str]) -> tuple[dict[str, int], int]:
    """Microseconds of import time per top-level package (the sum of its modules' own times,
    so a package is not charged for what it imports from another), and the total, of one run."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]],
                          capture_output=True, text=True, cwd=ROOT)
    per: dict[str, int] = defaultdict(int)
    for line in proc.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+\d+ \| *(\S+)", line)
        if found:
            per[found.group(2).split(".")[0]] += int(found.group(1))
    return dict(per), sum(per.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--commands", default="check,solve,fmt,estimate")
    parser.add_argument("--examples", default="", help="comma-separated file names (default: all)")
    parser.add_argument("--imports", action="store_true", help="also print import times per command")
    parser.add_argument("--bytecode", action="store_true",
                        help="read and write compiled bytecode (in a temporary directory)")
    parser.add_argument("--against", type=Path, help="another checkout to run alternately")
    parser.add_argument("--instructions", action="store_true",
                        help="also count each run's instructions with valgrind (load-independent)")
    options = parser.parse_args()
    if options.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on the PATH")
    checkouts = [ROOT] + ([options.against.resolve()] if options.against else [])
    if options.bytecode:
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="planner-startup-pyc-")
    wanted = [c for c in options.commands.split(",") if c]
    plans = [p for p in EXAMPLES if not options.examples or p.name in options.examples.split(",")]

    os.environ["PLANNER_CACHE_DIR"] = tempfile.mkdtemp(prefix="planner-startup-cache-")
    bare_wall, bare_cpu, _ = measure([sys.executable, "-c", "pass"], max(options.repeats, 5), [ROOT])[0]
    print(f"bare interpreter: wall {bare_wall:.3f}s cpu {bare_cpu:.3f}s "
          f"(medians of {max(options.repeats, 5)}); {os.cpu_count()} cores; cache warm; bytecode "
          f"{'off' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'on'}")
    columns = f"{'wall':>8} {'cpu':>8}  exit"
    if options.against:
        print(f"{'':<32} {'this checkout':^24}   {str(options.against):^24}")
        columns += f"   {columns}"
    print(f"{'example':<22} {'command':<9} {columns}")
    for plan in plans:
        for checkout in checkouts:
            run_once(PLANNER + ["check", str(plan.relative_to(ROOT))], checkout)  # warms the caches
        for command in wanted:
            args = arguments(command, plan)
            if args is None:
                continue
            figures = "   ".join(f"{wall:7.3f}s {cpu:7.3f}s  {code:>4}"
                                 for wall, cpu, code in measure(PLANNER + args, options.repeats, checkouts))
            print(f"{plan.name:<22} {command:<9} {figures}")
    if options.instructions:
        print_instructions(plans, wanted, checkouts)
    if options.imports and plans:
        for command in wanted:
            args = arguments(command, plans[0])
            if args is None:
                continue
            per, total = import_times(PLANNER + args)
            top = sorted(per.items(), key=lambda item: -item[1])[:8]
            listed = ", ".join(f"{name} {us / 1000:.0f}" for name, us in top)
            print(f"imports of {command} {plans[0].name}: {total / 1000:.0f} ms ({listed})")


if __name__ == "__main__":
    main()
