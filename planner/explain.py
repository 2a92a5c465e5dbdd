"""Every English sentence about a choice: why a row was decided as it was, why a GPU type
has no option, which shared limits bind or conflict.

Reads the search's outcomes (``planner.search``) and CP-SAT's typed answer
(``planner.choose.types``); writes ``decided_by`` and the ``reasons`` of each row and the
``binding`` lines of the result. Nothing else in the pipeline writes a sentence, and
nothing parses one: numbers are spelled by ``planner.units``.
"""

from __future__ import annotations

import math

from planner.choose.types import BUDGET, Choice, Conflict, LimitId, LimitUse
from planner.resolve.timing import RUN_RATE
from planner.resolve.variants import Variant
from planner.search import Breach, Candidate, GpuOutcome, VariantSearch
from planner.search.candidates import latency_excess
from planner.units import (
    COST_SCALE, HOURS_SCALE, MAX_UNITS, apart, cost_units, count, duration, factor, hours_units, latency,
    latency_at_least,
    layout, load, memory, moment, money, money_per, n_gpus, per_second, plain,
)

NAMES_SHOWN = 8  # workloads named per limit in binding/conflicts before "and N more"


def rank(objective: str):
    """Per-row order: the objective, then GPUs, hours, cost, then the stable order.

    Costs and hours in CP-SAT's integer units, so that a row's "first choice" is the one
    CP-SAT would pick for it alone (two options that differ below 1e-4 tie there too). The
    best of a GPU type named in a reason and the alternatives of ``--explain`` both use it,
    so they name the same layout.
    """
    def key(c: Candidate) -> tuple:
        values = {"cost": cost_units(c.cost), "gpus": c.gpu_count, "hours": hours_units(c.hours)}
        rest = tuple(values[k] for k in ("gpus", "hours", "cost") if k != objective)
        return (values[objective], *rest, c.stable)
    return key


def best_of(out: GpuOutcome, objective: str) -> Candidate:
    """A GPU type's best option by the objective among those the search kept for the
    solver (it has options): what CP-SAT would pick on that type."""
    return min(out.options, key=rank(objective))


def describe(c: Candidate) -> str:
    return layout(c.layout, c.weights, serving=c.kind == "serve")


def summary(c: Candidate, currency: str, variant: Variant | None = None) -> str:
    """The choice in one line: GPUs, nodes, layout, time and cost -- with ``variant``, the
    cost as it counts in the period (per period for a service or a recurring job)."""
    node = f"{c.nodes} node{'s' if c.nodes != 1 else ''}"
    head = f"{c.gpu_count} x {c.gpu} ({node}; {describe(c)})"
    timing = variant.timing if variant is not None else None
    if c.kind == "serve":
        if timing is None:
            return f"{head}: {money(c.cost_per_hour, currency)}/h, {money(c.cost, currency)} over {duration(c.hours)}"
        spent = "" if abs(c.hours - timing.period_hours) < 1e-9 else f" for {duration(c.hours)}"
        return f"{head}: {money(c.cost_per_hour, currency)}/h{spent}, {money_per(c.cost, currency, timing.period_hours)}"
    if timing is None:
        return f"{head}: {duration(c.hours)}, {money(c.cost, currency)}"
    if timing.runs_per_period is None:
        return f"{head}: {duration(c.hours)}, {money(c.cost, currency)} one-off"
    return (f"{head}: {duration(c.hours)}, {money(c.cost, currency)} per run, "
            f"{money_per(timing.per_period(c.cost), currency, timing.period_hours)} "
            f"({plain(round(timing.runs_per_period, 2))} runs)")


# ---------------------------------------------------------------- shared limits


def _names(amounts: tuple[tuple[str, float], ...]) -> str:
    """Group names (already heaviest first), at most NAMES_SHOWN of them."""
    names = [name for name, _ in amounts]
    text = ", ".join(names[:NAMES_SHOWN])
    if len(names) > NAMES_SHOWN:
        text += f" and {len(names) - NAMES_SHOWN} more"
    return text


def _amount(limit: LimitId, value: float, currency: str) -> str:
    """GPUs of an availability limit, money of the budget."""
    return money(value, currency) if limit.kind == BUDGET else plain(value)


def binding_sentence(use: LimitUse, currency: str) -> str:
    def amount(value: float) -> str:
        return _amount(use.limit, value, currency)

    if use.at_hours is not None:  # a scheduled pool: the moment the peak is first reached
        text = (f"{use.limit}: {amount(use.used)} of {amount(use.available)} in use at "
                f"{moment(use.at_hours)} by {_names(use.users)}")
    else:
        text = f"{use.limit}: {amount(use.used)} of {amount(use.available)} used by {_names(use.users)}"
    if use.first_choices_need is not None:
        text += f"; first choices need {amount(use.first_choices_need)}"
    return text


def conflict_sentence(conflict: Conflict, currency: str) -> str:
    def amount(value: float) -> str:
        return _amount(conflict.limit, value, currency)

    text = f"{conflict.limit}: {amount(conflict.available)} available, wanted by {_names(conflict.wanted_by)}"
    if conflict.needs_at_least is not None:
        text += f"; needs at least {amount(conflict.needs_at_least)}"
    return text


def limit_sentences(choice: Choice, currency: str) -> list[str]:
    """The result's ``binding`` lines: binding limits, then a conflicting core, then what
    a time limit left undecided."""
    out = [binding_sentence(u, currency) for u in choice.binding]
    out += [conflict_sentence(c, currency) for c in choice.conflicts]
    if choice.core_undecided:
        # a check ran out of time, or was not run on a large model (docs/solve.md)
        out.append("not proven minimal: these limits cannot all hold, but a smaller set might already fail")
    if choice.timed_out is not None:
        out.append(f"time limit: no feasible choice found within {plain(choice.timed_out)} s")
    return out


# ---------------------------------------------------------------- why a GPU type has no option


def _range_text(c: Candidate, currency: str) -> str:
    """What a candidate out of the solver's range costs, after "costs"."""
    if not math.isfinite(c.hours):
        # planner.estimate.rent: restarts would take half the run's time or more
        return ("without end: the run never finishes, restarts after failures and "
                "interruptions taking more of its time than its steps")
    return (f"{money(c.cost, currency)} over {duration(c.hours)}, beyond the solver's range "
            f"(at most {money(MAX_UNITS / COST_SCALE, currency)} and "
            f"{duration(MAX_UNITS / HOURS_SCALE)} per workload)")


# What limits a run's time, by ``Timing.run_limit_by``: (before the amount, as a noun).
_RUN_LIMITS = {
    "deadline": ("deadline", "the deadline"),
    "every": ("runs every", "the interval between runs"),
    "window": ("room in the window", "the room in the window"),
}


def _run_limit(variant: Variant) -> tuple[str, str]:
    by = variant.timing.run_limit_by if variant.timing is not None else "deadline"
    return _RUN_LIMITS[by or "deadline"]


def _breach(variant: Variant, b: Breach, c: Candidate, currency: str) -> str:
    if b.kind == "memory":
        return f"needs {memory(b.needs)} per GPU ({describe(c)}), {c.gpu} has {memory(b.allowed)} usable"
    if b.kind == "deadline":
        took, allowed = apart(duration, b.needs, b.allowed)
        return f"takes {took} on {c.gpu_count} {c.gpu}, {_run_limit(variant)[0]} {allowed}"
    if b.kind in ("ttft", "tpot", "ttft_p99", "tpot_p99"):
        return f"{_limit_name(b.kind)} {_latency_over(b.needs, b.allowed, b.at_least)}"
    if b.kind == "capacity":
        return _carries(variant, c) + f", the load is {load(variant.serve_job.users, variant.serve_job.rate)}"
    if b.kind == "budget":
        return f"costs {money(b.needs, currency)}, workload budget {money(b.allowed, currency)}"
    if b.kind == "availability":
        return f"uses {int(b.needs)} {c.gpu}, {int(b.allowed)} available"
    if b.kind == "host_ram":
        return _host_text(c)
    if b.kind == "range":
        return f"it costs {_range_text(c, currency)}"
    return f"{c.gpu} is not offered to the solver (give it `available`)"


def _memory_reason(out: GpuOutcome) -> str:
    least = out.least_memory
    if least is None:
        return (f"{out.gpu}: no layout within {out.cap} GPUs (TP must divide the heads and fit "
                "a node, PP at most the layers, DP the global batch, and the pinned values hold)")
    where = f"all {out.cap} available" if out.available is not None and least.gpu_count >= out.cap else ""
    where_laid = describe(least) + (f", {where}" if where else "")
    return (f"{out.gpu}: needs {memory(least.memory.total)} per GPU at best ({where_laid}), "
            f"has {memory(least.usable_bytes)} usable")


def _host_text(c: Candidate) -> str:
    """A layout whose offload does not fit the host RAM of its instance."""
    needed, held = c.host_breach
    on_node = min(c.gpu_count, c.per_node)
    return (f"offload puts {memory(needed)} in the host memory of {n_gpus(on_node)} "
            f"({describe(c)}), the instance has {memory(held)} of host RAM (`host_ram`)")


def host_notes(spec, host, c: Candidate) -> list[str]:
    """Where the host figures the planner derives for a chosen row (planning floors,
    planner.estimate.host) are above what its instance has (``host_cpus``, ``host_nvme``):
    notes, not rejections. The CPU floor is a rule of thumb some sold shapes are below
    (AWS p3.16xlarge: 8 vCPUs per GPU), and data and checkpoints may live on network
    storage instead of local NVMe."""
    nodes = max(1, c.nodes)
    # an instance of the billed shape on one node, whole nodes beyond
    share = min(c.billed_gpus or c.gpu_count, spec.gpus_per_node) / spec.gpus_per_node
    out = []
    if spec.host_cpus is not None and host.cpu_cores / nodes > spec.host_cpus * share:
        out.append(f"host: {host.cpu_cores // nodes} CPU cores per node by the planner's floor "
                   f"(12 per GPU), the instance has {spec.host_cpus * share:g} (`host_cpus`): "
                   "data loading may need more")
    if spec.host_nvme_bytes is not None and host.nvme_bytes / nodes > spec.host_nvme_bytes * share:
        out.append(f"host: {memory(host.nvme_bytes / nodes)} of local disk per node for data and "
                   f"checkpoints, the instance has {memory(spec.host_nvme_bytes * share)} of NVMe "
                   "(`host_nvme`): keep them on network storage")
    return out


def _host_reason(out: GpuOutcome) -> str:
    return f"{out.gpu}: fits the GPUs only when " + _host_text(out.miss.nearest)


def _deadline_reason(variant: Variant, out: GpuOutcome) -> str:
    fastest, cap, deadline = out.fastest, out.cap, variant.run_limit_hours
    if not math.isfinite(fastest.hours):  # planner.estimate.rent: restarts outweigh the work
        return (f"{out.gpu}: fastest on {n_gpus(fastest.gpu_count)} ({describe(fastest)}) "
                "never finishes: restarts after failures and interruptions would take more of "
                "its time than its steps")
    if deadline <= 0:  # a slot narrower than the schedule's minute: no run fits, however fast
        return (f"{out.gpu}: fastest is {duration(fastest.hours)} on {n_gpus(fastest.gpu_count)} "
                f"({describe(fastest)}); {_run_limit(variant)[1]} leaves no whole minute for a run")
    need = math.ceil(fastest.gpu_count * fastest.hours / deadline)
    if out.available is not None and fastest.gpu_count * 2 > cap:
        where = f"on all {cap} available" if fastest.gpu_count == cap else \
            f"on {fastest.gpu_count} of {cap} available"
    else:
        where = f"on {n_gpus(fastest.gpu_count)}"
    took, allowed = apart(duration, fastest.hours, deadline)
    text = (f"{out.gpu}: fastest is {took} {where} ({describe(fastest)}), "
            f"{_run_limit(variant)[0]} {allowed}: needs at least {need}")
    batch = variant.train_job.global_batch
    if fastest.layout.dp == batch and fastest.gpu_count < cap:
        # data parallelism cannot exceed the global batch (one sequence per rank)
        text += f"; DP is capped by the global batch of {batch} sequences (raise `batch`)"
    return text


def _limit_name(kind: str) -> str:
    """``TTFT``, ``TPOT``, ``p99 TTFT``."""
    name, _, p99 = kind.partition("_")
    return ("p99 " if p99 else "") + name.upper()


def _carries(variant: Variant, c: Candidate) -> str:
    """What a service layout carries at most: requests/s, and for users the requests its
    replicas run at once."""
    est = c.service
    held = "" if variant.serve_job.rate else \
        f" ({plain(est.running_limit * c.layout.replicas)} requests at once)"
    return (f"carries at most {per_second(est.capacity_requests_per_second)}{held} on "
            f"{c.gpu_count} {c.gpu} ({describe(c)})")


def _latency_reason(variant: Variant, out: GpuOutcome) -> str:
    best = out.fastest
    parts = []
    for kind, value, limit, at_least in latency_excess(variant, best):
        parts.append(f"best {_limit_name(kind)} is {_latency_over(value, limit, at_least)}")
    return f"{out.gpu}: " + "; ".join(parts) + f" (on {n_gpus(best.gpu_count)}: {describe(best)})"


def _latency_over(value: float, limit: float, at_least: bool) -> str:
    """``21 s, limit 6 s``; for a proven lower bound (not simulated, docs/estimation.md
    sec 9.9) ``at least 41.9 s, limit 6 s``, its digits rounded down."""
    if not at_least:
        took, allowed = apart(latency, value, limit)
        return f"{took}, limit {allowed}"
    took, allowed = apart(latency, value, limit, latency_at_least)
    return f"at least {took}, limit {allowed}"


def _capacity_reason(variant: Variant, out: GpuOutcome) -> str:
    """No layout within the GPUs offered carries the load: the one that carries most."""
    c = out.most_carried
    job = variant.serve_job
    wanted = load(job.users, job.rate)
    if c is None:
        return f"{out.gpu}: no layout within {out.cap} GPUs carries {wanted}"
    return f"{out.gpu}: {_carries(variant, c)}, the load is {wanted}"


def miss_reason(variant: Variant, out: GpuOutcome, currency: str) -> str:
    """Why ``out``'s GPU type has no option for ``variant``: the nearest miss, in words."""
    miss = out.miss
    c = miss.nearest
    if miss.kind == "precision":
        return (f"{out.gpu}: no fp8 tensor cores, which `precision = fp8` needs "
                "(write `precision = bf16`, or offer a GPU that has them)")
    if miss.kind in ("memory", "layout"):
        return _memory_reason(out)
    if miss.kind == "host":
        return _host_reason(out)
    if miss.kind == "deadline":
        return _deadline_reason(variant, out)
    if miss.kind == "latency":
        return _latency_reason(variant, out)
    if miss.kind == "capacity":
        return _capacity_reason(variant, out)
    if miss.kind == "budget":
        return (f"{out.gpu}: cheapest is {money(c.cost, currency)} on {n_gpus(c.gpu_count)} "
                f"({duration(c.hours)}), workload budget {money(variant.budget, currency)}")
    if miss.kind == "range":
        text = f"{out.gpu}: cheapest on {n_gpus(c.gpu_count)} costs {_range_text(c, currency)}"
        return text + (": shrink the dataset or the epochs" if variant.kind != "serve" else "")
    return f"{c.gpu} (pinned layout): " + "; ".join(_breach(variant, b, c, currency) for b in c.breaches)


def misses(variant: Variant, s: VariantSearch, currency: str) -> tuple[str | None, list[str]]:
    """``decided_by`` and the reasons of a row that fits nowhere: one per GPU type."""
    reasons = [f"{name}: not offered to the solver (no `available` in its gpu block)"
               for name in variant.not_offered]
    if not s.outcomes:
        if not variant.offers:
            reasons.append("no GPU type is offered to this workload: give a gpu block "
                           "`available = N` (or `unlimited`)")
        return None, reasons
    reasons += [miss_reason(variant, o, currency) for o in s.outcomes.values()]
    kinds = [o.miss.kind for o in s.outcomes.values()]
    for kind in ("budget", "range", "deadline", "latency", "capacity", "pinned", "host", "memory",
                 "layout", "precision"):
        if kind in kinds:
            return next(o.miss.decides for o in s.outcomes.values() if o.miss.kind == kind), reasons
    return None, reasons


def not_together(variant: Variant, alone: Candidate, choice: Choice, currency: str) -> tuple[str, list[str]]:
    """A row that fits alone but not beside the others: the limits it competes for (the
    choice failed, so nothing binds: its limit sentences are the conflicts)."""
    every = limit_sentences(choice, currency)
    mine = [c for c in choice.conflicts if c.wanted_by_group(variant.group)]
    decided = "budget" if any(c.limit.kind == BUDGET for c in mine) else "availability"
    lines = [conflict_sentence(c, currency) for c in mine] or every
    return decided, [f"alone it would be {summary(alone, currency, variant)}", *lines]


# ---------------------------------------------------------------- what decided a placed row


def better_types(variant: Variant, s: VariantSearch, chosen: Candidate,
                 objective: str) -> list[GpuOutcome]:
    """GPU types that would beat the choice on the objective had no limit ruled them out.

    cost: cheaper per GPU-hour; hours (training): a faster fitting layout, or a higher
    peak where nothing fits; gpus: fits in memory on fewer GPUs. Serving runs for a
    fixed duration, so for it ``hours`` ranks types as ``cost`` does.
    """
    spec_of = {o.name: o.spec for o in variant.offers}
    if objective == "hours" and variant.kind == "serve":
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


def _time_limit(variant: Variant) -> str:
    return "latency" if variant.kind == "serve" else "deadline"


def _count_reason(variant: Variant, s: VariantSearch, chosen: Candidate, currency: str,
                  objective: str) -> tuple[str | None, str | None]:
    """Why the chosen type needs this many GPUs: (decided_by, sentence), or (None, None)."""
    pins = _count_pins(variant)
    if pins:
        return "pinned", f"{n_gpus(chosen.gpu_count)}: the count is pinned in the plan (layout {pins})"
    out = s.outcomes[chosen.gpu]
    fewest = min(out.feasible, key=lambda c: (c.gpu_count, c.cost, c.stable))
    if objective == "hours" and variant.kind != "serve":
        # fastest first: more GPUs are wanted, so the count is capped, not chosen by price
        if out.available is not None and chosen.gpu_count >= out.available:
            return "availability", (f"all {out.available} available {chosen.gpu} in use: "
                                    "the fastest layout within them")
        return None, None
    if chosen.gpu_count > fewest.gpu_count:
        return "price", (f"{fewest.gpu_count} x {chosen.gpu} ({describe(fewest)}) also meets every "
                         f"limit, at {in_period(variant, fewest.cost, currency)}")
    if variant.kind == "serve" and chosen.gpu_count > (out.min_fit_count or chosen.gpu_count):
        return _serve_count_reason(variant, out, chosen)
    if out.min_fit_count is not None and out.min_fit_count < chosen.gpu_count:
        # fewer GPUs hold it but break a limit: the time limits, or (training) the
        # workload budget, which alone can rule them out (more GPUs may cost less
        # when fewer need offload or recomputation)
        if variant.kind == "serve":
            reason, limit = "latency", "miss the latency limits"
        elif variant.run_limit_hours is None and variant.budget is None:
            # no limit of the workload: they cost past what the solver can represent
            reason, limit = "budget", "cost beyond the solver's range"
        elif variant.run_limit_hours is None:
            reason = "budget"
            limit = f"cost more than the workload budget {money(variant.budget, currency)}"
        else:
            reason = "deadline"
            limit = f"miss {_run_limit(variant)[1]} {duration(variant.run_limit_hours)}"
            if variant.budget is not None:
                limit += f" or the workload budget {money(variant.budget, currency)}"
        return reason, (f"{out.min_fit_count} x {chosen.gpu} fit in memory but {limit}; "
                        f"{chosen.gpu_count} is the fewest that meets it")
    if chosen.gpu_count > 1 and variant.kind == "serve":
        # a service's KV pool fills what the weights leave: say what must fit beside them
        m = chosen.memory
        return "memory", (f"fewer than {chosen.gpu_count} {chosen.gpu} cannot hold the weights and "
                          f"one {count(variant.serve_job.context)}-token sequence "
                          f"(weights {memory(m.weights)}, activations and overhead "
                          f"{memory(m.activations + m.overhead)} per GPU of {memory(chosen.usable_bytes)} "
                          f"usable at {chosen.gpu_count})")
    if chosen.gpu_count > 1:
        return "memory", (f"fewer than {chosen.gpu_count} {chosen.gpu} do not fit in memory "
                          f"({memory(chosen.memory.total)} per GPU of {memory(chosen.usable_bytes)} usable "
                          f"at {chosen.gpu_count})")
    return None, None


def _count_pins(variant: Variant) -> str:
    """The pins that fix a workload's GPU count (``count = 8``, or every degree), as
    written; empty when the count is the search's to choose."""
    pins = variant.pins
    if pins is None:
        return ""
    if pins.count is not None:
        return f"count = {pins.count}"
    spread = "replicas" if variant.kind == "serve" else "dp"
    keys = ("tp", "pp", spread)
    if all(getattr(pins, k) is not None for k in keys):
        return ", ".join(f"{k} = {getattr(pins, k)}" for k in keys)
    return ""


def _serve_count_reason(variant: Variant, out: GpuOutcome, chosen: Candidate) -> tuple[str, str]:
    """A service on more GPUs than hold the model: the latency limits, when a layout on
    fewer GPUs carries the load; else the load itself (capacity)."""
    carry = out.min_carry_count
    wanted = load(variant.serve_job.users, variant.serve_job.rate)
    fewest = min(out.min_meet_count or chosen.gpu_count, chosen.gpu_count)
    # more GPUs than the fewest: the instance or nodes billed for them serve with them all
    filled = (f", and all {chosen.gpu_count} of the {chosen.billed_gpus} GPUs billed serve"
              if chosen.gpu_count > fewest else "")
    if carry is not None and carry < fewest:
        return "latency", (f"{carry} x {chosen.gpu} carry {wanted} but miss the latency "
                           f"limits; {fewest} is the fewest that meets them{filled}")
    return "capacity", (f"{out.min_fit_count} x {chosen.gpu} hold the model; {fewest} "
                        f"is the fewest that carries {wanted}{filled} "
                        f"({per_second(chosen.service.capacity_requests_per_second)} at most)")


def _type_reasons(variant: Variant, s: VariantSearch, chosen: Candidate, currency: str,
                  objective: str) -> tuple[str | None, list[str], list[str]]:
    """Why no better GPU type was chosen: (decided_by, deciding lines, other lines)."""
    reason, deciding, others = None, [], []
    for o in better_types(variant, s, chosen, objective):
        if o.miss is not None:
            deciding.append(miss_reason(variant, o, currency))
            reason = reason or o.failure
        elif o.options:
            line = _best_line(o, objective, currency, variant)
            fewest = min(c.gpu_count for c in o.feasible)
            if o.min_fit_count is not None and o.min_fit_count > chosen.gpu_count:
                # it fits only on more GPUs than the choice uses: memory made it dearer
                deciding.append(f"{line}: it needs at least {n_gpus(o.min_fit_count)} to hold it")
                reason = reason or "memory"
            elif fewest > chosen.gpu_count and variant.kind == "serve":
                # it holds the model on as few GPUs, but carries the load or meets the
                # latency limits only on more
                carry = o.min_carry_count
                if carry is not None and carry < fewest:
                    deciding.append(f"{line}: {o.min_fit_count} fit in memory, {carry} carry the "
                                    f"load, {fewest} meet the latency limits")
                    reason = reason or "latency"
                else:
                    deciding.append(f"{line}: {o.min_fit_count} fit in memory, {fewest} carry the load")
                    reason = reason or "capacity"
            elif fewest > chosen.gpu_count:
                # it holds the workload on as few GPUs, but meets the deadline only on more
                deciding.append(f"{line}: {o.min_fit_count} fit in memory, {fewest} meet the deadline")
                reason = reason or _time_limit(variant)
            else:
                others.append(line)
    return reason, deciding, others


def in_period(variant: Variant, cost: float, currency: str) -> str:
    """A candidate's cost as it counts in the period: ``$4,088.00/month`` for a service or a
    recurring job (its runs per period), ``$55.19`` for a one-off job."""
    t = variant.timing
    if t is None or t.billing != RUN_RATE:
        return money(cost, currency)
    return money_per(t.per_period(cost), currency, t.period_hours)


def _best_line(o: GpuOutcome, objective: str, currency: str, variant: Variant) -> str:
    """``L40S: cheapest is $4,088.00/month on 4 GPUs (TP4 fp8)``: a type's best by the objective."""
    best = best_of(o, objective)
    where = f"on {n_gpus(best.gpu_count)} ({describe(best)})"
    cost = in_period(variant, best.cost, currency)
    if objective == "hours" and best.kind != "serve":
        return f"{o.gpu}: fastest is {duration(best.hours)} {where}, {cost}"
    if objective == "gpus":
        return f"{o.gpu}: fewest is {n_gpus(best.gpu_count)} ({describe(best)}), {cost}"
    return f"{o.gpu}: cheapest is {cost} {where}"


def _limit_lines(binding: tuple[LimitUse, ...], gpu: str, currency: str) -> tuple[str, list[str]]:
    """The binding limits that kept a row from its first choice on ``gpu``."""
    mine = [u for u in binding if u.limit == LimitId.availability(gpu)]
    if mine:
        return "availability", [binding_sentence(u, currency) for u in mine]
    budget = [u for u in binding if u.limit.kind == BUDGET]
    return "budget", [binding_sentence(u, currency) for u in (budget or binding)]


def decide(variant: Variant, s: VariantSearch, chosen: Candidate, first: Candidate,
           binding: tuple[LimitUse, ...], currency: str, objective: str) -> tuple[str, list[str]]:
    """What decided a placed row, and the sentences that say so (the deciding one first).

    In order: a pinned layout; a shared limit (the row's own first choice was
    not taken); fewer GPUs of the chosen type fit in memory but miss the
    deadline / latency; a GPU type that would be better on the objective
    (``better_types``: cheaper per GPU-hour for ``cost``) cannot hold it
    (memory) or cannot meet the deadline / latency / workload budget; fewer
    GPUs of the chosen type do not fit in memory; otherwise price.
    """
    line = summary(chosen, currency, variant)
    if s.pinned is not None:
        return "pinned", [line, "layout pinned in the plan: evaluated as given"]
    if chosen.key != first.key and not binding:
        # no shared limit binds: CP-SAT stopped at the time limit before improving this row
        return "price", [line, f"first choice {summary(first, currency, variant)} not reached "
                         "within the time limit (status feasible, see gap)"]
    if chosen.key != first.key:
        decided, lines = _limit_lines(binding, first.gpu, currency)
        # "does not fit" is kept for memory: here a shared limit leaves no room for it
        return decided, [line, f"first choice {summary(first, currency, variant)} has no room "
                         "beside the other workloads: " + "; ".join(lines)]
    count_reason, count_line = _count_reason(variant, s, chosen, currency, objective)
    type_reason, type_lines, other_lines = _type_reasons(variant, s, chosen, currency, objective)
    counted = [count_line] if count_line else []
    if count_reason in (_time_limit(variant), "budget", "capacity"):
        return count_reason, [line, *counted, *type_lines, *other_lines]
    if type_reason:
        return type_reason, [line, *type_lines, *counted, *other_lines]
    if count_reason in ("availability", "memory", "pinned"):
        return count_reason, [line, *counted, *other_lines]
    return "price", [line, *other_lines, *counted]


# ---------------------------------------------------------------- calibration
_BOUND_SOURCE = {
    ("step_overhead", "low"): "no CPU time at all", ("step_overhead", "high"): "the slowest "
    "per-step CPU time published", ("hbm_fraction", "low"): "the lowest published whole-step "
    "bandwidth fraction", ("hbm_fraction", "high"): "the datasheet peak",
    ("compute_fraction", "low"): "the least efficient measured GEMM", ("compute_fraction", "high"):
    "the GPU's best-shape matmul", ("utilization", "low"): "the least efficient measured GEMM",
    ("utilization", "high"): "the GPU's best-shape matmul", ("collective_efficiency", "low"):
    "the lowest published link fraction", ("collective_efficiency", "high"): "the link's line rate",
}


def unidentified_note(name: str, default: float, moves_with: str | None) -> str:
    """Why a factor was not fitted, and that its default holds."""
    why = ("no measured figure depends on it" if moves_with is None else
           f"it moves the measured figures as {moves_with} does: the runs cannot tell them apart")
    return f"{name}: not identified ({why}); its default {factor(name, default)} holds"


def bound_note(name: str, side: str, value: float) -> str:
    """A fitted factor held at one of its bounds: the runs ask for more than it may give."""
    what = _BOUND_SOURCE[(name, side)]
    return (f"{name}: held at its {'lower' if side == 'low' else 'upper'} bound "
            f"{factor(name, value)} ({what}); the runs ask for more: something the model leaves "
            "out is at work (docs/calibration.md, \"When a fit hits a bound\")")


def runs_note(names: list[str]) -> str:
    return "fitted to " + ", ".join(names)


def no_fit_note(gpu: str, scope: str, target: str, why: str) -> str:
    return f"{gpu} with {scope} {target}: no calibration written ({why})"
