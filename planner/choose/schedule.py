"""A canonical schedule from any feasible one: every run as early as the pool allows.

CP-SAT returns some feasible start per run; which one depends on its search. Taking the
runs in the order of those starts and placing each in turn at the earliest step where it
fits beside the runs already placed (the serial schedule-generation scheme) gives a
schedule where no run starts later than CP-SAT had it -- moving a run earlier frees the
later steps it held, so each run's original start still fits -- and so every release,
due time and availability still holds. Pure arithmetic, deterministic, quick.
"""

from __future__ import annotations

from planner.choose.limits import held
from planner.choose.prepare import Inst, Opt, Timed


def earliest(insts: list[Inst], chosen: dict[str, Opt], timed: Timed, available: dict[str, int | None],
             starts: dict[tuple[str, int], int]) -> dict[tuple[str, int], int]:
    """``starts`` moved as early as the pool allows, in their order (ties by group, run)."""
    holding = held(insts, chosen)
    caps = {g: n for g, n in available.items() if n is not None}
    base: dict[str, int] = {}
    runs = []
    for group, per in sorted(holding.items()):
        releases = timed.releases.get(group, ())
        if not releases:
            for gpu, (_, gpus) in per.items():
                base[gpu] = base.get(gpu, 0) + gpus
        for k, release in enumerate(releases):
            runs.append((starts[group, k], group, k, release, per))
    placed: dict[str, list[tuple[int, int, int]]] = {}
    out: dict[tuple[str, int], int] = {}
    for start, group, k, release, per in sorted(runs, key=lambda r: r[:3]):
        ends = sorted({e for lane in placed.values() for _, e, _ in lane if release < e < start})
        out[group, k] = next(t for t in [release, *ends, start]
                             if _fits(t, per, placed, base, caps))
        for gpu, (steps, gpus) in per.items():
            if steps and gpus:
                placed.setdefault(gpu, []).append((out[group, k], out[group, k] + steps, gpus))
    return out


def _fits(t: int, per: dict[str, tuple[int, int]], placed, base: dict[str, int],
          caps: dict[str, int]) -> bool:
    """Whether a run holding ``per`` (GPU type -> (steps, GPUs)) fits from step ``t``: use
    only rises where a placed run starts, so those steps and ``t`` are the ones to check."""
    for gpu, (steps, gpus) in per.items():
        if gpu not in caps or not steps or not gpus:
            continue
        lane = placed.get(gpu, [])
        for p in {t} | {s for s, _, _ in lane if t < s < t + steps}:
            used = base.get(gpu, 0) + sum(n for s, e, n in lane if s <= p < e)
            if used + gpus > caps[gpu]:
                return False
    return True
