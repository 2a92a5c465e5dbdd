"""``planner solve`` as a function: a plan in, the typed ``Result`` out.

The stages, each in its own module: ``resolve`` (the checked plan and its variants),
``search`` (candidate layouts per variant and GPU type), ``choose`` (CP-SAT picks one per
variant under the shared limits), ``explain`` (the sentences), and here the rows of
``planner.result`` are assembled. ``solve_file`` runs the independent checker
(``planner.verify``) before returning. Floats are rounded once (``Result.rounded``) and
every list has a stable order, so the same plan gives the same result byte for byte.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict

from planner import explain, periods, verify
from planner import plan as p
from planner.choose.decide import choose
from planner.choose.types import Item, Option, Problem, SolveOptions
from planner.choose.types import BUDGET, OBJECTIVES, Choice, LimitUse
from planner.errors import PlanTypeError
from planner.progress import progress
from planner.resolve.load import load_plan
from planner.resolve.timing import period_hours, window_hours
from planner.resolve.variants import (
    GpuOffer, Variant, build_variants, dataset_bytes, dataset_tokens, offered_gpus,
)
from planner.calibration_use import calibration_use
from planner.collector import paused
from planner.estimate.types import HostResources
from planner.result import (
    Alternative, Host, Inputs, MemoryUse, Overheads, Result, Row, RowLayout, Service, rounded,
)
from planner.search import Candidate, Frontiers, VariantSearch, search
from planner.search.candidates import host_of
from planner.serving import finite, service_of, serving_inputs
from planner.units import COST_SCALE, MAX_UNITS, cost_units, round_money

ALTERNATIVES_SHOWN = 3  # with --explain: the next best per GPU type and count


class SolveInternalError(Exception):
    """The checker found a chosen row that breaks a constraint: a bug, never user input."""

    def __init__(self, violations: list[str]):
        super().__init__("; ".join(violations))
        self.violations = violations


def solve_file(path: str, *, reader=None, objective: str | None = None, time_limit: float = 10.0,
               explain: bool = False) -> Result:
    """The checked result of the plan at ``path`` (docs/solve.md, "The JSON result")."""
    plan = load_plan(path, reader=reader)
    return solve_checked(plan, file=path, objective=objective, time_limit=time_limit, explain=explain)


def solve_checked(plan: p.Plan, *, file: str, objective: str | None = None,
                  time_limit: float = 10.0, explain: bool = False,
                  options: SolveOptions | None = None) -> Result:
    """``solve_plan``, then the independent checker (``planner.verify``) on its answer."""
    with paused():
        result = solve_plan(plan, file=file, objective=objective, time_limit=time_limit,
                            explain=explain, options=options)
        violations = verify.check(plan, result)
    if violations:
        raise SolveInternalError(violations)
    return result


def solve_plan(plan: p.Plan, *, file: str, objective: str | None = None, time_limit: float = 10.0,
               explain: bool = False, options: SolveOptions | None = None) -> Result:
    """The result of ``plan``, not yet checked (``solve_checked`` checks it)."""
    with paused():
        return _solve(plan, file=file, objective=objective, time_limit=time_limit,
                      explain=explain, options=options)


def _solve(plan: p.Plan, *, file: str, objective: str | None, time_limit: float,
           explain: bool, options: SolveOptions | None) -> Result:
    settings = plan.settings
    objective = objective or (settings.objective if settings else "cost")
    if objective not in OBJECTIVES:
        raise PlanTypeError(f"objective {objective!r}: expected one of {', '.join(OBJECTIVES)}")
    currency = settings.currency if settings else "USD"
    budget = settings.budget if settings else None
    offers = offered_gpus(plan)
    variants = build_variants(plan)
    window = window_hours(plan)
    searches = _search_all(variants)
    row_options = _RowOptions()
    ordered, solver_options = zip(*(row_options(v, s) for v, s in zip(variants, searches))) \
        if variants else ((), ())
    problem = Problem(
        items=tuple(Item(name=v.name, group=v.group, options=opts)
                    for v, opts in zip(variants, solver_options)),
        available={o.name: o.available for o in offers},
        budget=_solver_budget(settings, budget, variants, ordered),
        objective=objective,
        window=periods.window(variants, window),
    )
    choice = choose(problem, time_limit=time_limit, options=options)
    derived = _Derived()
    # rounded here, once, so that totals are the sums of the amounts the rows show
    rows = tuple(rounded(_row_of(v, s, opts, choice, currency, objective, explain, window, derived))
                 for v, s, opts in zip(variants, searches, ordered))
    result = _result(plan, file, objective, currency, budget, offers, choice, rows)
    # the rows are rounded already and rounding is idempotent: the rest of the result here
    return dataclasses.replace(dataclasses.replace(result, workloads=()).rounded(), workloads=rows)


class _Options:
    """The solver's option of a candidate for a variant, one object per (candidate, cost):
    a fleet's rows of one shape share their candidates, and now their options too (50 a
    row, 700,000 objects at 10,000 workloads otherwise)."""

    def __init__(self) -> None:
        self._made: dict[tuple[int, float], tuple[Candidate, Option]] = {}

    def __call__(self, variant: Variant, c: Candidate) -> Option:
        cost = periods.option_cost(variant, c)
        key = (id(c), cost)
        held = self._made.get(key)
        if held is None or held[0] is not c:  # the entry keeps c: its id is not reused
            held = self._made[key] = (c, Option(gpu=c.gpu, gpus=c.billed_gpus, cost=cost,
                                                hours=c.hours, key=c.stable))
        return held[1]


class _RowOptions:
    """A row's options in stable order and the solver's options of them, once per distinct
    (candidate tuples of its GPU types, runs per period): rows of one shape share their
    outcomes' tuples (planner.search.search), so they share these too."""

    def __init__(self) -> None:
        self.option = _Options()
        self._rows: dict[tuple, tuple] = {}

    def __call__(self, variant: Variant, s: VariantSearch) -> tuple[tuple[Candidate, ...], tuple[Option, ...]]:
        parts = tuple(o.options for o in s.outcomes.values())
        key = (tuple(map(id, parts)), variant.timing.runs_per_period)
        held = self._rows.get(key)
        # the entry keeps the parts: their ids are not reused while it lives
        if held is None or any(a is not b for a, b in zip(held[0], parts)):
            ordered = tuple(sorted(s.options, key=lambda c: c.stable))
            held = self._rows[key] = (parts, ordered, tuple(self.option(variant, c) for c in ordered))
        return held[1], held[2]


def _search_all(variants: list[Variant]) -> list[VariantSearch]:
    frontiers = Frontiers()
    searches = []
    # a bar on stderr only when the search runs past a second on a terminal
    with progress("searching layouts", total=len(variants)) as tick:
        for variant in variants:
            searches.append(search(variant, frontiers))
            tick(detail=variant.name)
    return searches


def _result(plan: p.Plan, file: str, objective: str, currency: str, budget: float | None,
            offers: list[GpuOffer], choice: Choice, rows: tuple[Row, ...]) -> Result:
    group_cost: dict[str, float] = {}
    for row in rows:
        if row.fits:
            group_cost[row.name] = max(group_cost.get(row.name, 0.0), row.cost)
    status = "infeasible" if any(not r.fits for r in rows) else choice.status
    choice = _budget_as_shown(choice, group_cost)
    period, window = period_hours(plan), window_hours(plan)
    return Result(
        plan=plan.settings.name if plan.settings else _stem(plan.file),
        file=file,
        status=status,
        gap=0.0 if status != "feasible" else float(choice.gap),
        objective=objective,
        currency=currency,
        budget=budget,
        gpus=periods.gpu_uses(offers, rows, period, window),
        binding=tuple(explain.limit_sentences(choice, currency)),
        workloads=rows,
        period_hours=period,
        window_hours=window,
        **periods.totals(rows),
    )


def _budget_as_shown(choice: Choice, group_cost: dict[str, float]) -> Choice:
    """The binding plan budget with the amounts the rows show (to the cent), so that its
    sentence adds up with the table rather than with the solver's 1e-4 units."""
    def shown(use: LimitUse) -> LimitUse:
        if use.limit.kind != BUDGET:
            return use
        users = tuple(sorted(((g, group_cost[g]) for g, _ in use.users if g in group_cost),
                             key=lambda u: (-u[1], u[0])))
        return dataclasses.replace(use, used=round_money(sum(c for _, c in users)), users=users)
    return dataclasses.replace(choice, binding=tuple(shown(u) for u in choice.binding))


# ---------------------------------------------------------------- rows


class _Derived:
    """A chosen candidate's host figures and serving figures, worked out once per solve for
    each job, layout and GPU type (rows of one shape share them; they re-ran the estimator
    and looked up the simulation per row)."""

    def __init__(self) -> None:
        self._hosts: dict[tuple, tuple] = {}
        self._services: dict[tuple, tuple] = {}

    def host(self, variant: Variant, c: Candidate) -> HostResources:
        """``host_of(variant, c)``: it reads the job, the weights, the layout, the spec of
        the candidate's GPU type and (training) the dataset's bytes."""
        spec = next(o.spec for o in variant.offers if o.name == c.gpu)
        serve = variant.kind == "serve"
        key = (variant.kind, variant.serve_job if serve else variant.train_job, c.weights, c.layout,
               id(spec), None if serve else dataset_bytes(variant.workload))
        held = self._hosts.get(key)
        if held is None or held[0] is not spec:  # the entry keeps spec: its id is not reused
            held = self._hosts[key] = (spec, host_of(variant, c))
        return held[1]

    def service(self, variant: Variant, c: Candidate) -> Service | None:
        """``service_of(variant, c)``: it reads the service's job and the candidate."""
        if c.service is None:
            return None
        key = (variant.serve_job, id(c))
        held = self._services.get(key)
        if held is None or held[0] is not c:
            held = self._services[key] = (c, service_of(variant, c))
        return held[1]


def _row_of(variant: Variant, s: VariantSearch, opts: tuple[Candidate, ...], choice: Choice,
            currency: str, objective: str, with_alternatives: bool, window: float | None,
            derived: _Derived) -> Row:
    pick = choice.picks.get(variant.name)
    if pick is not None:
        chosen = opts[pick]
        first = opts[choice.first_choices.get(variant.name, pick)]
        decided, reasons = explain.decide(variant, s, chosen, first, choice.binding, currency, objective)
        alternatives = _alternatives(variant, s, chosen, objective) if with_alternatives else ()
        return _row(variant, chosen, True, decided, reasons, alternatives, choice, window, derived)
    if opts:
        # placed alone, but the shared limits cannot hold every workload at once
        alone = min(opts, key=explain.rank(objective))
        decided, reasons = explain.not_together(variant, alone, choice, currency)
        alternatives = _alternatives(variant, s, alone, objective) if with_alternatives else ()
        return _row(variant, alone, False, decided, reasons, alternatives, choice, window, derived)
    decided, reasons = explain.misses(variant, s, currency)
    return _row(variant, _nearest_miss(s), False, decided, reasons, (), choice, window, derived)


def _row(variant: Variant, chosen: Candidate | None, fits: bool, decided: str | None,
         reasons: list[str], alternatives: tuple[Alternative, ...], choice: Choice,
         window: float | None, derived: _Derived) -> Row:
    placement = {} if chosen is None else _placement(variant, chosen, derived)
    if chosen is not None:
        placement.update(periods.row_fields(variant, chosen, choice, window, fits))
    if fits:  # the host figures _placement derived, against what the instance has
        spec = next(o.spec for o in variant.offers if o.name == chosen.gpu)
        reasons = list(reasons) + explain.host_notes(spec, placement["host"], chosen)
    else:
        placement.update(billing=variant.timing.billing, every_hours=variant.timing.every_hours,
                         runs_per_period=variant.timing.runs_per_period)
    return Row(name=variant.group, kind=variant.kind, model=variant.model,
               scenario=dict(variant.scenario), inputs=_inputs(variant), fits=fits, **placement,
               decided_by=decided, reasons=tuple(reasons), alternatives=alternatives)


def _placement(variant: Variant, c: Candidate, derived: _Derived) -> dict:
    """The fields of a row that describe one candidate."""
    m = c.memory
    return dict(
        gpu=c.gpu, gpu_count=c.gpu_count, nodes=c.nodes, layout=_layout(c),
        memory_per_gpu_bytes=MemoryUse(weights=m.weights, gradients=m.gradients,
                                       optimizer=m.optimizer, activations=m.activations,
                                       kv_cache=m.kv_cache, overhead=m.overhead, total=m.total),
        host_memory_per_gpu_bytes=m.host, gpu_memory_bytes=c.gpu_memory_bytes,
        usable_memory_bytes=c.usable_bytes, hours=c.hours, cost=c.cost,
        cost_per_hour=c.cost_per_hour, price_per_hour=c.price_per_hour,
        ttft_seconds=finite(c.ttft_seconds), tpot_seconds=finite(c.tpot_seconds),
        tokens_per_second=c.tokens_per_second, service=derived.service(variant, c),
        tokens=None if c.tokens is None else int(round(c.tokens)),
        host=Host(**asdict(derived.host(variant, c))),
        billed_gpus=c.billed_gpus, billed_hours=c.billed_hours,
        gpu_type=next(o.spec.family or o.name for o in variant.offers if o.name == c.gpu),
        overheads=_overheads(c),
        calibration=calibration_use(variant, c.gpu),
    )


def _overheads(c: Candidate) -> Overheads | None:
    o = c.overheads
    if o is None:
        return None
    return Overheads(load_hours=o.load / 3600.0, checkpoints=o.saves,
                     checkpoint_interval_hours=o.interval / 3600.0, checkpoint_hours=o.save / 3600.0,
                     restart_hours=o.lost / 3600.0, goodput=o.goodput)


def _layout(c: Candidate) -> RowLayout:
    lay = c.layout
    serve = c.kind == "serve"
    return RowLayout(
        tp=lay.tp, pp=lay.pp, dp=None if serve else lay.dp, ep=lay.ep,
        zero=None if serve else lay.zero, recompute=None if serve else lay.recompute,
        offload=None if serve else lay.offload, micro_batch=None if serve else lay.micro_batch,
        replicas=lay.replicas if serve else 1, weights=c.weights,
        sp=None if serve else lay.sp, cp=None if serve else lay.cp,
        shard=None if serve else lay.shard, vpp=None if serve else lay.vpp,
    )


def _inputs(variant: Variant) -> Inputs:
    """What this row was solved for."""
    limits = dict(
        model=variant.model, deadline_hours=variant.deadline_hours,
        tpot_ms=None if variant.tpot_seconds is None else variant.tpot_seconds * 1000.0,
        ttft_ms=None if variant.ttft_seconds is None else variant.ttft_seconds * 1000.0,
        budget=variant.budget,
    )
    if variant.serve_job is not None:
        return Inputs(**limits, **serving_inputs(variant))
    job, w = variant.train_job, variant.workload
    limits.update(every_hours=None if w.every is None else w.every / 3600.0, runs=w.runs,
                  start_after_hours=None if w.start_after is None else w.start_after / 3600.0)
    return Inputs(**limits, method=job.method if w.kind == "finetune" else None,
                  dataset_tokens=dataset_tokens(w), dataset_bytes=w.dataset_bytes,
                  epochs=float(w.epochs), seq_len=job.seq_len, weights=job.weights,
                  batch=job.global_batch, optimizer=job.optimizer, rank=job.lora_rank or None,
                  stack=job.stack, precision=job.precision)


def _alternatives(variant: Variant, s: VariantSearch, chosen: Candidate,
                  objective: str) -> tuple[Alternative, ...]:
    """The next best options: the best per (GPU type, count) other than the choice, among
    the options kept for the solver where there are some (so a GPU type's best here is the
    one its reason names, ``explain.best_of``), else among every layout that meets the
    limits."""
    best: dict[tuple, Candidate] = {}
    key = explain.rank(objective)
    kept = {(c.gpu, c.gpu_count) for c in s.options}
    for c in s.feasible + s.options:
        k = (c.gpu, c.gpu_count)
        if k == (chosen.gpu, chosen.gpu_count) or (k in kept and c not in s.options):
            continue
        if k not in best or key(c) < key(best[k]):
            best[k] = c
    return tuple(Alternative(gpu=c.gpu, gpu_count=c.gpu_count, layout=_layout(c), hours=c.hours,
                             cost=periods.option_cost(variant, c))
                 for c in sorted(best.values(), key=key)[:ALTERNATIVES_SHOWN])


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
    carried = [o.most_carried for o in s.outcomes.values() if o.most_carried]
    if carried:  # serving: the layout that carries the most of a load none carries
        return max(carried, key=lambda c: (c.service.capacity_requests_per_second, -c.gpu_count))
    mem = [o.least_memory for o in s.outcomes.values() if o.least_memory]
    if mem:
        return min(mem, key=lambda c: (c.memory.total / c.usable_bytes, c.gpu_count, c.stable))
    return None


def _solver_budget(settings, budget, variants, ordered) -> float | None:
    """The plan budget as CP-SAT gets it: within its integer range, or left out.

    A budget past the range (``MAX_UNITS`` cost units) cannot bind when every workload's
    costliest option together costs less; then it is left out. A budget that could
    still bind beyond the range is an input error at the budget.
    """
    if budget is None or cost_units(budget) <= MAX_UNITS:
        return budget
    costliest: dict[str, float] = {}
    for variant, opts in zip(variants, ordered):
        if opts:
            costliest[variant.group] = max(costliest.get(variant.group, 0.0),
                                           max(periods.option_cost(variant, c) for c in opts))
    if sum(costliest[g] for g in sorted(costliest)) <= budget:
        return None
    raise PlanTypeError(f"budget {budget:,.2f} is beyond what the solver can compare "
                        f"({MAX_UNITS / COST_SCALE:,.0f}) and could bind: write a smaller budget",
                        settings.spans.get("budget", settings.span))


def _stem(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-5] if name.endswith(".plan") else name


__all__ = ["SolveInternalError", "solve_checked", "solve_file", "solve_plan"]
