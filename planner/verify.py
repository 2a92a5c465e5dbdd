"""An independent check of a solve result against the plan it came from.

It shares no code with the candidate search or the instance builder: from the
``Plan`` it finds each row's workload, re-applies the row's sweep values,
rebuilds the estimator job from the plan's fields and the documented defaults,
re-evaluates the row's layout with the estimator, and asserts every limit:

- the layout is well formed: gpu_count == tp x pp x dp (training) or
  tp x pp x replicas (serving), nodes == ceil(gpu_count / per_node), TP divides
  the heads, PP the layers, EP > 1 only for MoE and at most DP (training) or TP
  (serving), DP x micro-batch divides the global batch, pinned values are kept,
  the GPU type is offered and allowed for the workload;
- memory per GPU (re-derived) is within the usable memory, and equals the row's;
- the deadline, ttft and tpot are met (re-derived), and hours/cost agree with
  the row's (relative 1e-5: rows are rounded to 6 significant digits);
- a service carries its load, uses no more than the GPUs' peak FLOP/s and HBM
  bandwidth, meets its p99 limits in the seeded simulation, and its serving figures
  (means, medians, p99s, throughput, capacity, shares) are the re-derived ones;
- the GPUs billed (whole instances and nodes), the host RAM of an instance against the
  offload, and a training run's start-up, checkpoints and restarts (``planner.verify_rent``);
- the workload budget, GPUs available per type (groups summed, sweep variants
  of one workload counted at their maximum; in a plan window, at every moment of the
  rows' schedules) and the plan budget hold;
- a row's billing, cost per run and per period, and its runs in the window follow the
  plan's period, repeats and window (``planner.verify_period``), and the totals add up.

``check`` returns the violated constraints as sentences (empty: all hold).
"""

from __future__ import annotations

import fnmatch
import math

from planner import plan as p
from planner.estimate import defaults as d
from planner.estimate import evaluate_serve, evaluate_train
from planner.estimate.serve import simulate_serve
from planner.estimate.types import Layout, ServeJob, TrainJob
from planner.resolve.bridge import arch_from_model, gpu_spec
from planner.result import Result, Row
from planner.verify_rent import host_problem, paid_gpus, paid_hours, run_seconds
from planner.verify_period import check_pool, check_totals, per_period, period_of
from planner.verify_period import check_row as check_period_row

REL_TOL = 1e-5  # rows carry 6 significant digits
LIMIT_TOL = 1e-9  # relative slack on limits, for float noise only
# The plan budget is decided on CP-SAT's integer cost units of 1e-4 currency, each
# option's cost rounded to the nearest unit (docs/solve.md, "CP-SAT model": integer
# scaling): a sum may pass the budget by up to half a unit per workload.
COST_RESOLUTION = 0.5e-4
CENT = 0.01  # results keep money to the cent (docs/solve.md, "The JSON result")


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-9)


def _same_money(shown: float, exact: float) -> bool:
    """An amount kept to the cent against the exact one: within half a cent."""
    return abs(shown - exact) <= CENT / 2 + 1e-9 * abs(exact)


class _Index:
    """The plan's workloads, sweeps, models and GPU types by name, looked up once per check
    (a row's lookups are then constant time: the check is linear in the rows). The arch and
    spec of a name are built once, so the estimator's memos see one object per name."""

    def __init__(self, plan: p.Plan):
        self.plan = plan
        self.workloads: dict[str, p.Workload] = {}
        for w in plan.workloads:
            self.workloads.setdefault(w.name, w)  # the first of a name, as a scan finds it
        self.literal: dict[str, list[tuple[int, p.Sweep]]] = {}
        self.globs: list[tuple[int, p.Sweep]] = []
        for i, sweep in enumerate(plan.sweeps):
            if any(ch in sweep.target for ch in "*?["):
                self.globs.append((i, sweep))
            else:  # fnmatch of a pattern without wildcards is equality
                self.literal.setdefault(sweep.target, []).append((i, sweep))
        self._sweeps: dict[str, list[p.Sweep]] = {}
        self.models = {}
        for m in plan.models:
            self.models.setdefault(m.name, m)
        self._archs: dict[str, object] = {}
        self._specs: dict[str, object] = {}
        # equal training jobs as one object: the estimator's per-(job, GPU) base is memoised
        # by identity, so it is built once per job, not once per row (the checker's own jobs)
        self.jobs: dict[TrainJob, TrainJob] = {}
        self.derived: dict[tuple, tuple] = {}  # a service's (estimate, simulation) by its inputs

    def sweeps(self, name: str) -> list[p.Sweep]:
        """The sweeps whose target matches workload ``name``, in plan order."""
        found = self._sweeps.get(name)
        if found is None:
            matched = self.literal.get(name, []) + [(i, s) for i, s in self.globs
                                                     if fnmatch.fnmatchcase(name, s.target)]
            found = self._sweeps[name] = [s for _, s in sorted(matched, key=lambda m: m[0])]
        return found

    def arch(self, model: str):
        if model not in self._archs:
            self._archs[model] = arch_from_model(self.models[model])
        return self._archs[model]

    def spec(self, block: p.Gpu):
        if block.name not in self._specs:
            self._specs[block.name] = gpu_spec(block, self.plan.calibrations)
        return self._specs[block.name]


def _variant(index: _Index, row: Row):
    workload = index.workloads.get(row.name)
    if workload is None:
        return None
    update: dict = {}
    for sweep in index.sweeps(workload.name):
        label = row.scenario.get(sweep.key)
        if label is None or label not in sweep.labels:
            return None
        update.update(sweep.updates[sweep.labels.index(label)])
    return workload.model_copy(update=update)


def _train_job(plan: p.Plan, w, arch) -> TrainJob:
    if w.dataset_tokens is not None:
        tokens = w.dataset_tokens
    else:
        tokens = round(w.dataset_bytes / (w.bytes_per_token or d.BYTES_PER_TOKEN))
    if w.kind == "pretrain":
        seq = w.seq_len or d.DEFAULT_PRETRAIN_SEQ_LEN
        method, weights = "full", "bf16"
    else:
        seq = w.seq_len or d.DEFAULT_FINETUNE_SEQ_LEN
        method = w.method
        weights = w.weights or {"qlora": "nf4"}.get(method, "bf16")
    batch = w.batch
    if batch is None and w.kind == "pretrain":
        batch = 2 ** int(math.log2(max(1, d.DEFAULT_GLOBAL_BATCH_TOKENS // seq)))
    elif batch is None:
        batch = d.DEFAULT_FINETUNE_GLOBAL_BATCH
    lora = method != "full"
    return TrainJob(
        arch=arch, method=method, tokens=float(tokens * w.epochs), seq_len=seq,
        global_batch=batch, optimizer=w.optimizer, weights=weights,
        lora_rank=(w.rank or d.DEFAULT_LORA_RANK) if lora else 0,
        lora_targets=tuple(w.targets or d.DEFAULT_LORA_TARGETS) if lora else (),
        utilization=w.utilization,
        stack=w.stack or d.DEFAULT_STACK["pretrain" if w.kind == "pretrain" else method],
        precision=w.precision,
    )


def _serve_job(w, arch, weights: str) -> ServeJob:
    # the request shape as docs/language.md states it: context = prompt + output; a
    # missing one of prompt and output is what context leaves of the other
    if w.context is None:
        context, prompt, output = w.prompt + w.output, w.prompt, w.output
    else:
        context = w.context
        prompt, output = w.prompt, w.output
        if prompt is None:
            prompt = context - output if output is not None \
                else max(1, int(context * d.DEFAULT_PROMPT_FRACTION))
        if output is None:
            output = context - prompt
    return ServeJob(arch=arch, users=w.users or 0, rate=w.rate or 0.0, context=context,
                    prompt=prompt, output=output, weights=weights,
                    kv_precision=w.kv or d.DEFAULT_KV_PRECISION,
                    prefix_share=w.prefix_cache or 0.0, engine=w.engine)


def _check_shape(who: str, w, row: Row, arch, spec) -> list[str]:
    """The layout is well formed for the model and keeps the plan's pins."""
    bad = []
    lay = row.layout
    serve = w.kind == "serve"
    spread = lay.replicas if serve else (lay.cp or 1) * lay.dp
    if row.gpu_count != lay.tp * lay.pp * spread:
        bad.append(f"{who}: gpu_count {row.gpu_count} != tp x pp x "
                   f"{'replicas' if serve else 'cp x dp'} = {lay.tp * lay.pp * spread}")
    if row.nodes != -(-row.gpu_count // spec.gpus_per_node):
        bad.append(f"{who}: nodes {row.nodes} for {row.gpu_count} GPUs of {spec.gpus_per_node} per node")
    if arch.heads % lay.tp or (not arch.is_mla and arch.kv_heads % lay.tp):
        bad.append(f"{who}: TP {lay.tp} does not divide the heads")
    if not 1 <= lay.pp <= arch.layers:
        bad.append(f"{who}: PP {lay.pp} is not between 1 and the {arch.layers} layers")
    # expert parallelism: MoE only, over GPUs that exist (DP ranks; a replica's TP GPUs)
    ep_room = lay.tp if serve else lay.dp
    if lay.ep != 1 and (not arch.is_moe or lay.ep > ep_room or arch.experts % lay.ep):
        bad.append(f"{who}: EP {lay.ep} on {arch.experts} experts with "
                   f"{'tp' if serve else 'dp'} {ep_room}")
    if not serve:
        bad += _check_training_shape(who, lay, arch, spec)
    if w.layout is not None:
        for key in ("gpu", "count", "tp", "pp", "dp", "ep", "zero", "recompute", "offload",
                    "micro_batch", "replicas", "sp", "cp", "vpp"):
            pinned = getattr(w.layout, key)
            value = row.gpu if key == "gpu" else row.gpu_count if key == "count" else getattr(lay, key)
            if pinned is not None and value != pinned:
                bad.append(f"{who}: layout pins {key} = {pinned}, row has {value}")
        shard = w.layout.shard
        if shard == "node":
            shard = min(spec.gpus_per_node // (lay.tp * (lay.cp or 1)), lay.dp * (lay.cp or 1))
        if shard is not None and lay.shard != shard:
            bad.append(f"{who}: layout pins shard = {w.layout.shard}, row has {lay.shard}")
    return bad


def _check_training_shape(who: str, lay, arch, spec) -> list[str]:
    """SP needs TP, HSDP ZeRO-3 and a group dividing dp x cp, interleaving a pipeline with a
    layer per chunk."""
    bad = []
    if lay.sp and lay.tp < 2:
        bad.append(f"{who}: SP with TP {lay.tp}")
    data = (lay.cp or 1) * lay.dp
    if lay.shard and (lay.zero != 3 or data % lay.shard):
        bad.append(f"{who}: shard {lay.shard} with ZeRO-{lay.zero} over {data} ranks")
    if (lay.vpp or 1) > 1 and (lay.pp < 2 or -(-arch.layers // lay.pp) % lay.vpp):
        bad.append(f"{who}: {lay.vpp} interleaved stages per GPU at PP {lay.pp}")
    return bad


def _check_serve(who: str, plan: p.Plan, w, row: Row, arch, spec,
                 derived: dict) -> tuple[list[str], object, float, float]:
    """(violations, re-derived estimate, hours, cost) of a service row."""
    bad = []
    lay = row.layout
    if w.weights != "auto" and lay.weights != w.weights:
        bad.append(f"{who}: weights {lay.weights}, the plan says {w.weights}")
    layout = Layout(tp=lay.tp, pp=lay.pp, ep=lay.ep, replicas=lay.replicas)
    job = _serve_job(w, arch, lay.weights)
    # the checker's own re-derivation, once per (job, layout, GPU type) of the check
    key = (job, layout, id(spec))  # specs live in the index for the whole check
    if key not in derived:
        est = evaluate_serve(job, layout, spec)
        derived[key] = (est, simulate_serve(job, layout, spec) if est.carried else None)
    est, sim = derived[key]
    hours = w.duration / 3600.0 if w.duration is not None else period_of(plan)
    cost = paid_gpus(block_of(plan, row), row.gpu_count) * spec.price_per_hour * hours
    if not est.carried:
        load = f"{w.rate} requests/s" if w.rate else f"{w.users} users"
        bad.append(f"{who}: carries at most {est.capacity_requests_per_second:.4g} requests/s, "
                   f"not the load of {load}")
    if not (0.0 <= est.compute_share <= 1.0 and 0.0 <= est.bandwidth_share <= 1.0):
        bad.append(f"{who}: uses {est.compute_share:.3g} of the peak FLOP/s and "
                   f"{est.bandwidth_share:.3g} of the HBM bandwidth (more than the hardware)")
    for name, limit, value in (("TTFT", w.ttft, est.ttft_seconds), ("TPOT", w.tpot, est.tpot_seconds),
                               ("p99 TTFT", w.ttft_p99, sim and sim.ttft_p99),
                               ("p99 TPOT", w.tpot_p99, sim and sim.tpot_p99)):
        if limit is not None and value is not None and value > limit * (1 + LIMIT_TOL):
            bad.append(f"{who}: {name} {value:.4g} s over the limit {limit:.4g} s")
    bad += _check_service(who, row, est, sim)
    return bad, est, hours, cost


def _check_service(who: str, row: Row, est, sim) -> list[str]:
    """The row's serving figures are the re-derived ones (6 significant digits)."""
    got = row.service
    if got is None:
        return [f"{who}: a service row without its serving figures"]
    want = {
        "ttft_mean_seconds": est.ttft_seconds, "tpot_mean_seconds": est.tpot_seconds,
        "requests_per_second": est.requests_per_second,
        "output_tokens_per_second": est.tokens_per_second,
        "capacity_requests_per_second": est.capacity_requests_per_second,
        "compute_share": est.compute_share, "bandwidth_share": est.bandwidth_share,
    }
    if sim is not None:
        want.update(ttft_p50_seconds=sim.ttft_p50, ttft_p99_seconds=sim.ttft_p99,
                    tpot_p50_seconds=sim.tpot_p50, tpot_p99_seconds=sim.tpot_p99)
    return [f"{who}: row says {key} {getattr(got, key)}, re-derived {value:.6g}"
            for key, value in want.items()
            if getattr(got, key) is None or not _close(getattr(got, key), value)]


def _check_train(who: str, plan: p.Plan, w, row: Row, arch, spec,
                 jobs: dict) -> tuple[list[str], object, float, float]:
    """(violations, re-derived estimate, hours, cost) of a training row."""
    bad = []
    lay = row.layout
    layout = Layout(tp=lay.tp, pp=lay.pp, dp=lay.dp, ep=lay.ep, zero=lay.zero,
                    recompute=lay.recompute, offload=lay.offload, micro_batch=lay.micro_batch,
                    sp=bool(lay.sp), cp=lay.cp or 1, shard=lay.shard or 0, vpp=lay.vpp or 1)
    job = _train_job(plan, w, arch)
    job = jobs.setdefault(job, job)  # one object per equal job (_Index.jobs)
    if job.global_batch % (lay.dp * lay.micro_batch):
        bad.append(f"{who}: dp {lay.dp} x micro_batch {lay.micro_batch} does not "
                   f"divide the global batch {job.global_batch}")
    if lay.weights != job.weights:
        bad.append(f"{who}: weights {lay.weights}, the plan gives {job.weights}")
    # what the stacks' own code refuses (docs/exports.md "Refused")
    if job.method == "qlora" and max(lay.tp, lay.ep) > 1:
        bad.append(f"{who}: QLoRA with TP {lay.tp}, EP {lay.ep} (bitsandbytes' packed weights)")
    if job.stack in ("deepspeed", "hf") and lay.pp > 1 and (lay.zero >= 2 or min(lay.ep, lay.tp) > 1):
        bad.append(f"{who}: PP {lay.pp} with ZeRO-{lay.zero}, TP {lay.tp}, EP {lay.ep} on DeepSpeed's engine")
    micro = -(-job.global_batch // (lay.dp * lay.micro_batch))
    if (lay.vpp or 1) > 1 and micro % lay.pp:
        bad.append(f"{who}: {micro} micro-batches are not a multiple of PP {lay.pp} (interleaved)")
        return bad, None, 0.0, 0.0
    if job.precision == "fp8" and spec.fp8_flops <= 0:
        bad.append(f"{who}: fp8 training on {spec.name}, which has no fp8 tensor cores")
        return bad, None, 0.0, 0.0
    est = evaluate_train(job, layout, spec)
    block = block_of(plan, row)
    seconds = run_seconds(block, w, job, spec, est.seconds, row.gpu_count)
    hours = seconds / 3600.0
    cost = paid_gpus(block, row.gpu_count) * paid_hours(block, seconds) * spec.price_per_hour
    if w.deadline is not None and seconds > w.deadline * (1 + LIMIT_TOL):
        bad.append(f"{who}: takes {hours:.4g} h, deadline {w.deadline / 3600:.4g} h")
    if w.budget is not None and cost > w.budget * (1 + LIMIT_TOL):
        bad.append(f"{who}: costs {cost:.6g}, workload budget {w.budget:.6g}")
    return bad, est, hours, cost


def block_of(plan: p.Plan, row: Row) -> p.Gpu:
    return next(g for g in plan.gpus if g.name == row.gpu)


def _check_row(index: _Index, row: Row, gpus: dict[str, p.Gpu]) -> tuple[list[str], float]:
    """(violations, the row's cost re-derived); the row's own cost when it has no workload."""
    plan = index.plan
    who = row.name + ("" if not row.scenario else str(row.scenario))
    w = _variant(index, row)
    if w is None:
        return [f"{who}: no workload/sweep value of the plan gives this row"], row.cost
    block = gpus.get(row.gpu)
    if block is None or block.available is None:
        return [f"{who}: GPU {row.gpu} is not offered"], row.cost
    bad = []
    if w.gpus and row.gpu not in w.gpus:
        bad.append(f"{who}: GPU {row.gpu} not in the workload's gpus {w.gpus}")
    arch = index.arch(w.model)
    spec = index.spec(block)
    bad += _check_shape(who, w, row, arch, spec)
    if w.kind == "serve":
        found, est, hours, cost = _check_serve(who, plan, w, row, arch, spec, index.derived)
    else:
        found, est, hours, cost = _check_train(who, plan, w, row, arch, spec, index.jobs)
    bad += found
    if est is None:  # a layout the estimator cannot evaluate: already said why
        return bad
    total = est.memory.total
    usable = spec.usable_bytes if w.kind == "serve" else spec.train_usable_bytes
    if total > usable:
        bad.append(f"{who}: needs {total} bytes per GPU, {usable} usable on {row.gpu}")
    bad += host_problem(who, block, row.gpu_count, est.memory.host)
    if row.billed_gpus != paid_gpus(block, row.gpu_count):
        bad.append(f"{who}: row bills {row.billed_gpus} GPUs, re-derived {paid_gpus(block, row.gpu_count)}")
    if row.memory_per_gpu_bytes.total != total:
        bad.append(f"{who}: row says {row.memory_per_gpu_bytes.total} bytes per GPU, "
                   f"re-derived {total}")
    if not _close(row.hours, hours):
        bad.append(f"{who}: row says {row.hours} h, re-derived {hours:.6g} h")
    # a recurring job's cost counts once per run in the period
    in_period = cost * per_period(w, period_of(plan))
    if not _same_money(row.cost, in_period):
        bad.append(f"{who}: row says cost {row.cost}, re-derived {in_period:.6g}")
    bad += check_period_row(who, plan, w, row, cost, _same_money)
    return bad, in_period


def check(plan: p.Plan, result: Result) -> list[str]:
    """Every constraint the placed rows of ``result`` break (empty when all hold)."""
    gpus = {g.name: g for g in plan.gpus}
    index = _Index(plan)
    bad: list[str] = []
    exact_cost: dict[str, float] = {}  # in the period, as re-derived
    for row in result.workloads:
        if not row.fits:
            continue
        found, cost = _check_row(index, row, gpus)
        bad.extend(found)
        exact_cost[row.name] = max(exact_cost.get(row.name, 0.0), cost)
    bad += check_pool(plan, result)
    exact = sum(exact_cost[g] for g in sorted(exact_cost))
    budget = plan.settings.budget if plan.settings else None
    if budget is not None and exact > budget * (1 + REL_TOL) + COST_RESOLUTION * len(exact_cost):
        bad.append(f"budget: total cost {exact:.6g} over {budget:.6g}")
    bad += check_totals(plan, result, _same_money)
    return bad
