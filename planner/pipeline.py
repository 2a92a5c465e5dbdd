"""``planner solve`` as a function: a plan file in, the JSON result object out.

``solve_file`` loads the plan, builds the instances (``planner.resolve.variants``),
searches candidate layouts per instance and GPU type
(``planner.search.candidates``), lets CP-SAT pick one per instance under the
shared limits (``planner.choose.cpsat``), builds the rows of
docs/solve.md ("The JSON result"), and runs the independent checker
(``planner.verify``) before returning. Floats are rounded to 6
significant digits and every list has a stable order, so the same plan gives
the same object byte for byte.
"""

from __future__ import annotations

import math
from dataclasses import asdict

from planner import plan as p
from planner.errors import PlanTypeError
from planner.resolve.variants import Variant, build_variants, inputs, offered_gpus
from planner.search import candidates as cands
from planner.search.candidates import Candidate, GpuOutcome, VariantSearch, fmt_hours, gib

OBJECTIVES = ("cost", "gpus", "hours")
SIGNIFICANT_DIGITS = 6


class SolveInternalError(Exception):
    """The checker found a chosen row that breaks a constraint: a bug, never user input."""

    def __init__(self, violations: list[str]):
        super().__init__("; ".join(violations))
        self.violations = violations


def round_floats(value):
    """Every float to 6 significant digits (ints, strings and None untouched)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return 0.0 if value == 0 else value
        return float(f"{value:.{SIGNIFICANT_DIGITS}g}")
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [round_floats(v) for v in value]
    return value


def exit_code(result: dict) -> int:
    """0 when every workload was placed (optimal or feasible), 1 when infeasible."""
    return 1 if result["status"] == "infeasible" else 0


def solve_file(path: str, *, reader=None, objective: str | None = None,
               time_limit: float = 10.0, explain: bool = False) -> dict:
    """The JSON result object of docs/solve.md ("The JSON result") for the plan at ``path``."""
    from planner.resolve.load import load_plan

    plan = load_plan(path, reader=reader)
    result = solve_plan(plan, file=path, objective=objective, time_limit=time_limit,
                        explain=explain)
    from planner.verify import check

    violations = check(plan, result)
    if violations:
        raise SolveInternalError(violations)
    return result


# ---------------------------------------------------------------- rows


def layout_dict(c: Candidate) -> dict:
    lay = c.layout
    serve = c.kind == "serve"
    return {
        "tp": lay.tp, "pp": lay.pp, "dp": None if serve else lay.dp, "ep": lay.ep,
        "zero": None if serve else lay.zero,
        "recompute": None if serve else lay.recompute,
        "offload": None if serve else lay.offload,
        "micro_batch": None if serve else lay.micro_batch,
        "replicas": lay.replicas if serve else 1,
        "weights": c.weights,
    }


def _measures(c: Candidate | None) -> dict:
    """The fields of a row that describe one candidate (null when there is none)."""
    if c is None:
        return {
            "gpu": None, "gpu_count": None, "nodes": None, "layout": None,
            "memory_per_gpu_bytes": None, "host_memory_per_gpu_bytes": None,
            "gpu_memory_bytes": None, "usable_memory_bytes": None, "hours": None,
            "cost": None, "cost_per_hour": None, "price_per_hour": None,
            "ttft_seconds": None, "tpot_seconds": None, "tokens_per_second": None,
            "tokens": None,
        }
    return {
        "gpu": c.gpu, "gpu_count": c.gpu_count, "nodes": c.nodes, "layout": layout_dict(c),
        "memory_per_gpu_bytes": c.memory.components(),
        "host_memory_per_gpu_bytes": c.memory.host,
        "gpu_memory_bytes": c.gpu_memory_bytes, "usable_memory_bytes": c.usable_bytes,
        "hours": c.hours, "cost": c.cost, "cost_per_hour": c.cost_per_hour,
        "price_per_hour": c.price_per_hour,
        "ttft_seconds": c.ttft_seconds, "tpot_seconds": c.tpot_seconds,
        "tokens_per_second": c.tokens_per_second,
        "tokens": None if c.tokens is None else int(round(c.tokens)),
    }


def _rank(objective: str):
    """Per-row order: the objective, then GPUs, hours, cost, then the stable order.

    Costs and hours in CP-SAT's integer units, so that a row's "first choice" is the one
    CP-SAT would pick for it alone (two options that differ below 1e-4 tie there too).
    """
    from planner.choose.cpsat import cost_units, hours_units

    def key(c: Candidate) -> tuple:
        values = {"cost": cost_units(c.cost), "gpus": c.gpu_count, "hours": hours_units(c.hours)}
        rest = tuple(values[k] for k in ("gpus", "hours", "cost") if k != objective)
        return (values[objective], *rest, c.stable)
    return key


def _alternatives(s: VariantSearch, chosen: Candidate | None, objective: str) -> list[dict]:
    best: dict[tuple, Candidate] = {}
    key = _rank(objective)
    for c in s.feasible:
        k = (c.gpu, c.gpu_count)
        if chosen is not None and k == (chosen.gpu, chosen.gpu_count):
            continue
        if k not in best or key(c) < key(best[k]):
            best[k] = c
    return [
        {"gpu": c.gpu, "gpu_count": c.gpu_count, "layout": layout_dict(c), "hours": c.hours,
         "cost": c.cost}
        for c in sorted(best.values(), key=key)[:3]
    ]


def _summary(c: Candidate, currency: str) -> str:
    node = f"{c.nodes} node{'s' if c.nodes != 1 else ''}"
    if c.kind == "serve":
        return (f"{c.gpu_count} x {c.gpu} ({node}; {c.describe()}): "
                f"{c.cost_per_hour:,.2f} {currency}/h, {c.cost:,.2f} {currency} "
                f"over {fmt_hours(c.hours)}")
    return (f"{c.gpu_count} x {c.gpu} ({node}; {c.describe()}): {fmt_hours(c.hours)}, "
            f"{c.cost:,.2f} {currency}")


def _better_types(inst: Variant, s: VariantSearch, chosen: Candidate,
                  objective: str) -> list[GpuOutcome]:
    """GPU types that would beat the choice on the objective had no limit ruled them out.

    cost: cheaper per GPU-hour; hours (training): a faster fitting layout, or a higher
    peak where nothing fits; gpus: fits in memory on fewer GPUs. Serving runs for a
    fixed duration, so for it ``hours`` ranks types as ``cost`` does.
    """
    spec_of = {o.name: o.spec for o in inst.offers}
    if objective == "hours" and inst.kind == "serve":
        objective = "cost"

    def better(o: GpuOutcome) -> bool:
        if objective == "hours":
            if o.fastest is not None:
                return o.fastest.hours < chosen.hours
            return spec_of[o.gpu].bf16_flops > spec_of[chosen.gpu].bf16_flops
        if objective == "gpus":
            return o.min_fit_count is not None and o.min_fit_count < chosen.gpu_count
        return spec_of[o.gpu].price_per_hour < chosen.price_per_hour

    rivals = [o for name, o in s.outcomes.items() if name != chosen.gpu and better(o)]
    return sorted(rivals, key=lambda o: (spec_of[o.gpu].price_per_hour, o.gpu))


def _decide(inst: Variant, s: VariantSearch, chosen: Candidate, first: Candidate,
            binding: list[str], currency: str, objective: str) -> tuple[str, list[str]]:
    """What decided the choice, and the sentences that say so (the deciding one first).

    In order: a pinned layout; a shared limit (the row's own first choice was
    not taken); fewer GPUs of the chosen type fit in memory but miss the
    deadline / latency; a GPU type that would be better on the objective
    (``_better_types``: cheaper per GPU-hour for ``cost``) cannot hold it
    (memory) or cannot meet the deadline / latency / workload budget; fewer
    GPUs of the chosen type do not fit in memory; otherwise price.
    """
    summary = _summary(chosen, currency)
    if s.pinned is not None:
        return "pinned", [summary, "layout pinned in the plan: evaluated as given"]
    time_limit = "latency" if inst.kind == "serve" else "deadline"
    if chosen.key != first.key and not binding:
        # no shared limit binds: CP-SAT stopped at the time limit before improving this row
        return "price", [summary, f"first choice {_summary(first, currency)} not reached "
                         "within the time limit (status feasible, see gap)"]
    if chosen.key != first.key:
        lines = [b for b in binding if b.startswith(f"availability {first.gpu}:")]
        decided = "availability" if lines else "budget"
        if not lines:
            lines = [b for b in binding if b.startswith("budget")]
        return decided, [summary, f"first choice {_summary(first, currency)} does not fit "
                         "beside the other workloads: " + "; ".join(lines or binding)]
    out = s.outcomes[chosen.gpu]
    count_reason, count_line = None, None
    fewest = min(out.feasible, key=lambda c: (c.gpu_count, c.cost, c.stable))
    offer = next(o for o in inst.offers if o.name == chosen.gpu)
    if objective == "hours" and inst.kind != "serve":
        # fastest first: more GPUs are wanted, so the count is capped, not chosen by price
        if offer.available is not None and chosen.gpu_count >= offer.available:
            count_reason = "availability"
            count_line = (f"all {offer.available} available {chosen.gpu} in use: "
                          "the fastest layout within them")
    elif chosen.gpu_count > fewest.gpu_count:
        count_reason = "price"
        count_line = (f"{fewest.gpu_count} x {chosen.gpu} ({fewest.describe()}) also meets every "
                      f"limit, at {fewest.cost:,.2f} {currency}")
    elif out.min_fit_count is not None and out.min_fit_count < chosen.gpu_count:
        # fewer GPUs hold it but break a limit: the time limits, or (training) the
        # workload budget, which alone can rule them out (more GPUs may cost less
        # when fewer need offload or recomputation)
        if inst.kind == "serve":
            count_reason, limit = time_limit, "miss the latency limits"
        elif inst.deadline_hours is None and inst.budget is None:
            # no limit of the workload: they cost past what the solver can represent
            count_reason, limit = "budget", "cost beyond the solver's range"
        elif inst.deadline_hours is None:
            count_reason = "budget"
            limit = f"cost more than the workload budget {inst.budget:,.2f} {currency}"
        else:
            count_reason = time_limit
            limit = f"miss the deadline {fmt_hours(inst.deadline_hours)}"
            if inst.budget is not None:
                limit += f" or the workload budget {inst.budget:,.2f} {currency}"
        count_line = (f"{out.min_fit_count} x {chosen.gpu} fit in memory but {limit}; "
                      f"{chosen.gpu_count} is the fewest that meets it")
    elif chosen.gpu_count > 1:
        count_reason = "memory"
        count_line = (f"fewer than {chosen.gpu_count} {chosen.gpu} do not fit in memory "
                      f"({gib(chosen.memory.total)} per GPU of {gib(chosen.usable_bytes)} usable "
                      f"at {chosen.gpu_count})")
    type_reason, type_lines, other_lines = None, [], []
    for o in _better_types(inst, s, chosen, objective):
        if o.failure:
            type_lines.append(o.reason)
            type_reason = type_reason or ("memory" if o.failure == "layout" else o.failure)
        elif o.options:
            alt = min(o.options, key=lambda c: (c.cost, c.gpu_count, c.stable))
            line = (f"{o.gpu}: cheapest is {alt.cost:,.2f} {currency} on {alt.gpu_count} GPUs "
                    f"({alt.describe()})")
            fewest = min(c.gpu_count for c in o.feasible)
            if o.min_fit_count is not None and o.min_fit_count > chosen.gpu_count:
                # it fits only on more GPUs than the choice uses: memory made it dearer
                type_lines.append(f"{line}: it needs at least {o.min_fit_count} GPUs to hold it")
                type_reason = type_reason or "memory"
            elif fewest > chosen.gpu_count:
                # it holds the workload on as few GPUs, but meets the time limits only on more
                type_lines.append(f"{line}: {o.min_fit_count} fit in memory, {fewest} meet "
                                  f"the {'latency limits' if inst.kind == 'serve' else 'deadline'}")
                type_reason = type_reason or time_limit
            else:
                other_lines.append(line)
    counted = [count_line] if count_line else []
    if count_reason in (time_limit, "budget"):
        return count_reason, [summary, *counted, *type_lines, *other_lines]
    if type_reason:
        return type_reason, [summary, *type_lines, *counted, *other_lines]
    if count_reason == "availability":
        return count_reason, [summary, *counted, *other_lines]
    if count_reason == "memory":
        return "memory", [summary, *counted, *other_lines]
    return "price", [summary, *other_lines, *counted]


def _nearest_miss(s: VariantSearch) -> Candidate | None:
    """The candidate closest to working: one that fits memory if any, else least memory."""
    if s.pinned is not None:
        return s.pinned
    timely = [o.cheapest_timely for o in s.outcomes.values() if o.cheapest_timely]
    if timely:
        return min(timely, key=lambda c: (c.cost, c.gpu_count, c.stable))
    fast = [o.fastest for o in s.outcomes.values() if o.fastest]
    if fast:
        return min(fast, key=lambda c: (c.hours, c.gpu_count, c.stable))
    mem = [o.least_memory for o in s.outcomes.values() if o.least_memory]
    if mem:
        return min(mem, key=lambda c: (c.memory.total / c.usable_bytes, c.gpu_count, c.stable))
    return None


def _miss_reasons(inst: Variant, s: VariantSearch) -> tuple[str | None, list[str]]:
    reasons = []
    for name in inst.not_offered:
        reasons.append(f"{name}: not offered to the solver (no `available` in its gpu block)")
    if not s.outcomes:
        if not inst.offers:
            reasons.append("no GPU type is offered to this workload: give a gpu block "
                           "`available = N` (or `unlimited`)")
        return None, reasons
    failures = []
    for name, o in s.outcomes.items():
        reasons.append(o.reason)
        failures.append(o.failure)
    for kind in ("budget", "deadline", "latency", "pinned", "memory", "layout"):
        if kind in failures:
            decided = {"layout": "memory"}.get(kind, kind)
            if kind == "pinned":
                decided = "pinned"
            return decided, reasons
    return None, reasons


def _row(inst: Variant, s: VariantSearch, chosen: Candidate | None, fits: bool,
         decided: str | None, reasons: list[str], alternatives: list[dict]) -> dict:
    row = {
        "name": inst.group,
        "kind": inst.kind,
        "model": inst.model,
        "scenario": dict(inst.scenario),
        "inputs": inputs(inst),
        "fits": fits,
    }
    row.update(_measures(chosen))
    row["host"] = None if chosen is None else asdict(cands.host_of(inst, chosen))
    row["decided_by"] = decided
    row["reasons"] = reasons
    row["alternatives"] = alternatives
    return row


# ---------------------------------------------------------------- solve


def solve_plan(plan: p.Plan, *, file: str, objective: str | None = None,
               time_limit: float = 10.0, explain: bool = False) -> dict:
    from planner.choose import cpsat

    settings = plan.settings
    objective = objective or (settings.objective if settings else "cost")
    if objective not in OBJECTIVES:
        raise PlanTypeError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    currency = settings.currency if settings else "USD"
    budget = settings.budget if settings else None
    offers = offered_gpus(plan)
    instances = build_variants(plan)
    cands.clear_cache()
    from planner.progress import progress

    searches = []
    # a bar on stderr only when the search runs past a second on a terminal
    with progress("searching layouts", total=len(instances)) as tick:
        for inst in instances:
            searches.append(cands.search(inst))
            tick(detail=inst.name)

    rank = _rank(objective)
    ordered: list[list[Candidate]] = [sorted(s.options, key=lambda c: c.stable) for s in searches]
    problem = cpsat.Problem(
        instances=tuple(
            cpsat.Item(
                name=inst.name, group=inst.group,
                options=tuple(cpsat.Option(gpu=c.gpu, gpus=c.gpu_count, cost=c.cost,
                                           hours=c.hours, key=c.stable) for c in opts))
            for inst, opts in zip(instances, ordered)
        ),
        available={o.name: o.available for o in offers},
        budget=_solver_budget(settings, budget, instances, ordered),
        objective=objective,
    )
    result = cpsat.solve(problem, time_limit=time_limit)
    binding = list(result.binding)
    limit_conflicts = [c for c in result.conflicts if not c.startswith("no options:")]
    rows = []
    for inst, s, opts in zip(instances, searches, ordered):
        pick = result.picks.get(inst.name)
        if pick is not None:
            chosen = opts[pick]
            first = opts[result.first_choices.get(inst.name, pick)]
            decided, reasons = _decide(inst, s, chosen, first, binding, currency, objective)
            alts = _alternatives(s, chosen, objective) if explain else []
            rows.append(_row(inst, s, chosen, True, decided, reasons, alts))
        elif opts:
            # placed alone, but the shared limits cannot hold every workload at once
            first = min(opts, key=rank)
            mine = [c for c in limit_conflicts
                    if inst.group in result.competing.get(c.split(":", 1)[0], ())]
            decided = "budget" if any(c.startswith("budget") for c in mine) else "availability"
            reasons = [f"alone it would be {_summary(first, currency)}",
                       *(mine or limit_conflicts)]
            alts = _alternatives(s, first, objective) if explain else []
            rows.append(_row(inst, s, first, False, decided, reasons, alts))
        else:
            miss = _nearest_miss(s)
            decided, reasons = _miss_reasons(inst, s)
            rows.append(_row(inst, s, miss, False, decided, reasons, []))

    used: dict[str, dict[str, int]] = {}
    group_cost: dict[str, float] = {}
    for row in rows:
        if not row["fits"]:
            continue
        g = used.setdefault(row["gpu"], {})
        g[row["name"]] = max(g.get(row["name"], 0), row["gpu_count"])
        group_cost[row["name"]] = max(group_cost.get(row["name"], 0.0), row["cost"])
    status = result.status
    if any(not r["fits"] for r in rows):
        status = "infeasible"
    out = {
        "plan": settings.name if settings else _stem(plan.file),
        "file": file,
        "status": status,
        "gap": 0.0 if status != "feasible" else float(result.gap),
        "objective": objective,
        "currency": currency,
        "total_cost": sum(group_cost[g] for g in sorted(group_cost)),
        "budget": budget,
        "gpus": {
            o.name: {
                "available": o.available,
                "used": sum(used.get(o.name, {}).values()),
                "price_per_hour": o.spec.price_per_hour,
                "memory_bytes": o.spec.memory_bytes,
                "usable_bytes": o.spec.usable_bytes,
                "per_node": o.spec.gpus_per_node,
            }
            for o in offers
        },
        "binding": binding + limit_conflicts,
        "workloads": rows,
    }
    return round_floats(out)


def _solver_budget(settings, budget, instances, ordered) -> float | None:
    """The plan budget as CP-SAT gets it: within its integer range, or left out.

    A budget past the range (``cpsat.MAX_UNITS`` cost units) cannot bind when every
    workload's costliest option together costs less; then it is left out. A budget that
    could still bind beyond the range is an input error at the budget.
    """
    from planner.choose.cpsat import COST_SCALE, MAX_UNITS, cost_units

    if budget is None or cost_units(budget) <= MAX_UNITS:
        return budget
    costliest: dict[str, float] = {}
    for inst, opts in zip(instances, ordered):
        if opts:
            costliest[inst.group] = max(costliest.get(inst.group, 0.0),
                                        max(c.cost for c in opts))
    if sum(costliest[g] for g in sorted(costliest)) <= budget:
        return None
    raise PlanTypeError(f"budget {budget:,.2f} is beyond what the solver can compare "
                        f"({MAX_UNITS / COST_SCALE:,.0f}) and could bind: write a smaller budget",
                        settings.spans.get("budget", settings.span))


def _stem(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-5] if name.endswith(".plan") else name


__all__ = ["solve_file", "solve_plan", "exit_code", "SolveInternalError"]
