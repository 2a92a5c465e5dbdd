"""Print how `planner check` and `planner fmt` scale with the size of their input.

Three families of generated plans, each at 1k, 4k and 16k units:

- blocks:   N model blocks of five keys each (a valid plan, no workloads);
- comments: N comments, four around each of N/4 gpu blocks (leading, trailing,
            inside, before the closing brace);
- keys:     one gpu block holding N unknown keys, one per line (check reports N
            errors, each with its line and caret; fmt formats N entries).

Each command runs in process through ``planner.cli.main`` (stdout and stderr
captured, as a user's terminal would receive them), on a file in a temporary
directory. The figure printed is seconds per 1,000 units: flat across 1k, 4k and
16k when the command is linear in its input.

Run: python benchmarks/input_scaling.py [--sizes 1000,4000,16000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
from unittest import mock


def blocks(n: int) -> str:
    return "".join(
        f'model "m{i}" {{ layers = 2  hidden = 64  heads = 4  ffn = 128  vocab = 1000 }}\n' for i in range(n))


def comments(n: int) -> str:
    out = []
    for i in range(max(1, n // 4)):
        out.append(f"# leading comment of block {i}\n")
        out.append(f'gpu "g{i}" {{  # trailing comment {i}\n')
        out.append(f"  # inside block {i}\n")
        out.append("  memory = 24GB\n")
        out.append(f"  # before the closing brace {i}\n")
        out.append("}\n")
    return "".join(out)


def keys(n: int) -> str:
    return 'gpu "g" {\n' + "".join(f"  unknown_{i} = {i}\n" for i in range(n)) + "}\n"


FAMILIES = {"blocks": blocks, "comments": comments, "keys": keys}


def run(*args: str) -> int:
    from planner.cli import main

    out, err = io.StringIO(), io.StringIO()
    with mock.patch.object(sys, "argv", ["planner", *args]), contextlib.redirect_stdout(out), \
            contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else 0
    return 0


def timed(command: str, path: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(command, path)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,4000,16000")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--families", default=",".join(FAMILIES))
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    run("check", os.devnull)  # import everything and build the parser once
    print(f"{'input':<10} {'command':<7} " + " ".join(f"{n:>10,}" for n in sizes)
          + "   (seconds per 1,000 units)")
    with tempfile.TemporaryDirectory() as tmp:
        for family in options.families.split(","):
            for command in ("check", "fmt"):
                figures = []
                for n in sizes:
                    path = os.path.join(tmp, f"{family}-{n}.plan")
                    with open(path, "w", encoding="utf-8") as handle:
                        handle.write(FAMILIES[family](n))
                    figures.append(timed(command, path, options.repeat) / (n / 1000))
                print(f"{family:<10} {command:<7} " + " ".join(f"{f:>10.3f}" for f in figures), flush=True)


if __name__ == "__main__":
    main()
