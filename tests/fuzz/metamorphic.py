"""Metamorphic checks: change one input in a known direction, the optimal cost must follow.

- more users never make a plan cheaper;
- a looser deadline never makes it dearer;
- more GPUs available never make it dearer;
- the same plan solved twice prints the same bytes (``harness.through_every_command``).

Plans come from a small family written from the key table's ranges and the
catalog; each comparison uses two results that CP-SAT proved ``optimal``.
"""

from __future__ import annotations

import json
import random

from fuzz.generate import Case, catalog, complete_gpus
from fuzz.harness import Report, Workspace, judge, run, solve_json

SMALL_MODELS = ("DeepSeek-R1-Distill-Qwen-1.5B", "DeepSeek-R1-Distill-Qwen-7B", "Mistral-7B", "Llama-3.1-8B")


def _plan(p: dict) -> str:
    lines = ['import "std"', 'plan "m" { objective = cost }']
    for gpu, available in p["gpus"]:
        lines.append(f"gpu {json.dumps(gpu)} {{ available = {available} }}")
    if p["kind"] == "serve":
        limit = f"  tpot <= {p['tpot']}" if p.get("tpot") else ""
        lines.append(f'serve "w" {{ model = "{p["model"]}"  users = {p["users"]}  context = {p["context"]}{limit} }}')
    else:
        extra = f"  method = {p['method']}" if p["kind"] == "finetune" else ""
        lines.append(f'{p["kind"]} "w" {{ model = "{p["model"]}"  dataset = {p["dataset"]}{extra}  '
                     f'deadline <= {p["deadline"]}h }}')
    return "\n".join(lines) + "\n"


def family(rng: random.Random) -> dict:
    _gpus, models = catalog()
    model = rng.choice([m for m in SMALL_MODELS if m in models])
    chosen = rng.sample(list(complete_gpus()), rng.randint(1, 2))
    base = {"model": model, "gpus": [(g, rng.choice([1, 2, 4, 8])) for g in chosen],
            "kind": rng.choice(["serve", "finetune", "pretrain"])}
    if base["kind"] == "serve":
        base.update(users=rng.randint(1, 64), context=rng.choice(["2k", "4k", "8k"]),
                    tpot=rng.choice([None, "50ms", "200ms"]))
    else:
        base.update(dataset=rng.choice(["10MB", "100MB", "1GB", "50M tokens"]), deadline=rng.choice([1, 6, 24, 72]),
                    method=rng.choice(["lora", "qlora", "full"]))
    return base


def _variants(base: dict) -> list[tuple[str, dict, str]]:
    """(what, changed plan, direction): "up" = cost may not fall, "down" = may not rise."""
    out = [("more GPUs available", dict(base, gpus=[(g, a * 2) for g, a in base["gpus"]]), "down")]
    if base["kind"] == "serve":
        out.append(("more users", dict(base, users=base["users"] * 2), "up"))
    else:
        out.append(("a looser deadline", dict(base, deadline=base["deadline"] * 2), "down"))
    return out


def check(report: Report, workspace: Workspace, rng: random.Random, label: str, time_limit: float) -> None:
    base = family(rng)
    first = _solve(report, workspace, _plan(base), label, time_limit)
    if first is None:
        return
    for what, changed, direction in _variants(base):
        second = _solve(report, workspace, _plan(changed), f"{label} ({what})", time_limit)
        if second is None:
            continue
        a, b = first, second
        feasible_a, feasible_b = a["status"] != "infeasible", b["status"] != "infeasible"
        report.counts["metamorphic-compared"] += 1
        if direction == "down" and feasible_a and not feasible_b:
            report.fail("metamorphic", f"{label}: {what} made a feasible plan infeasible: {_plan(changed)}")
        elif direction == "up" and feasible_b and not feasible_a:
            report.fail("metamorphic", f"{label}: {what} made an infeasible plan feasible: {_plan(changed)}")
        elif feasible_a and feasible_b and a["status"] == b["status"] == "optimal":
            ca, cb = a["total_cost"], b["total_cost"]
            slack = 1e-5 * max(abs(ca), abs(cb)) + 1e-3
            if (direction == "down" and cb > ca + slack) or (direction == "up" and cb < ca - slack):
                report.fail("metamorphic", f"{label}: {what}: total cost {ca} -> {cb}: {_plan(changed)}")


def _solve(report: Report, workspace: Workspace, text: str, label: str, time_limit: float):
    path = workspace.write(Case("metamorphic", {"fuzz.plan": text.encode()}))
    checked = run(["check", path], 20)
    if not judge(report, label, "check-metamorphic", checked, (0, 2)) or checked.code != 0:
        return None  # a catalog GPU without a price or a network: not a plan to compare
    solved = solve_json(report, label, path, time_limit, command="solve-metamorphic")
    return None if solved is None else solved[0]
