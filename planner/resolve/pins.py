"""Every row a plan will solve, checked before any solving: layout pins and sweep variants.

``check`` must report every input error ``solve`` would meet, so the rules a
row's pins and values must follow are checked here, on each row solve will
build (a workload, or each combination of the sweeps that match it):

- pins against the model: ``tp`` divides the attention heads and KV heads
  (MLA: the heads), ``pp`` at most the layers, ``ep`` only on a mixture of
  experts and dividing its experts;
- pins against each other: ``ep`` at most ``dp`` (training) or ``tp``
  (serving), ``count`` a multiple of the pinned degrees, ZeRO and offload as
  DeepSpeed takes them (parameter offload needs stage 3, optimizer offload
  stage 1 or more);
- pins against the job: ``dp`` and ``micro_batch`` divide the global batch;
  ``cp`` splits the sequence into 2 × cp equal chunks, ``vpp`` divides a stage's layers and
  needs micro-batches a multiple of ``pp``; ``recompute = selective`` only on the Megatron
  stack; a pinned ``gpu`` has fp8 tensor cores when the job's ``precision = fp8``;
- training pins together: ``sp`` needs ``tp`` > 1, ``shard`` (HSDP) needs ZeRO-3 and divides
  dp × cp, ``vpp`` > 1 needs ``pp`` > 1;
- values across keys: a service's load is ``users`` or ``rate``, and its
  ``prompt`` and ``output`` fit its ``context`` (``plan.request_shape_problem``);
  ``rank`` and ``targets`` only with LoRA methods;
- values against the model: ``context`` (serving) and ``seq_len`` (training, written or
  default) at most its ``max_context`` times the ``rope_scaling`` factor it states.

A rule broken whatever the sweeps is reported once, at the pin or key; a rule
broken only in some variants is reported once per sweep value that breaks it,
at that value, naming the variant. The number of rows is bounded
(``limits.MAX_ROWS``).
"""

from __future__ import annotations

import math

from planner import plan as P
from planner.errors import Collector, PlanError, PlanLimitError, PlanTypeError, Span
from planner.frozen import frozen
from planner.syntax.limits import MAX_ROWS, thousands

# Workload fields the rules read (each sweep sets some of them).
_FIELDS = ("model", "prompt", "context", "output", "users", "rate", "batch", "seq_len", "method",
           "rank", "stack", "precision", "weights", "engine")


@frozen
class Problem:
    """A layout pin or workload key a rule refuses, and the message."""

    rule: str  # one name per rule, for reporting each once
    key: str  # the layout pin or workload key it is reported at
    message: str
    reads: frozenset[str]  # the workload fields the rule read


def check_variants(plan: P.Plan, errors: Collector) -> None:
    """Add an error for every broken rule of every row ``plan`` solves (see the module docstring)."""
    from planner.resolve.variants import sweeps_by_workload

    matching = sweeps_by_workload(plan)
    if not _rows_within_limit(plan, matching, errors):
        return
    models = {m.name: m for m in plan.models}
    gpus = {g.name: g for g in plan.gpus}
    archs: dict[str, object] = {}
    reported: set[tuple[str, Span | None]] = set()
    for workload in plan.workloads:
        sweeps = matching[workload.name]
        for combination in _combinations(sweeps):
            update = {f: v for sweep, i in combination for f, v in sweep.updates[i].items()}
            name = update.get("model", workload.model)
            arch = _arch(name, models, archs)
            if arch is None:
                continue  # an incomplete model: reported by the load's checks
            for problem in problems(workload, update, arch, gpus, models[name].rope_scaling):
                span, message = _where(workload, problem, combination)
                if (problem.rule, span) not in reported:
                    reported.add((problem.rule, span))
                    errors.add(PlanTypeError(message, span))


def _rows_within_limit(plan: P.Plan, matching: dict[str, list[P.Sweep]], errors: Collector) -> bool:
    rows = 0
    for workload in plan.workloads:
        sweeps = matching[workload.name]
        rows += math.prod(len(s.updates) for s in sweeps)
        if rows > MAX_ROWS:
            where = sweeps[-1].spans.get("values", sweeps[-1].span) if sweeps else \
                workload.spans.get("name", workload.span)
            errors.add(PlanLimitError(
                f"the plan has more than {thousands(MAX_ROWS)} rows to solve (every workload times the "
                "product of the values of its sweeps); sweep fewer values or split the plan", where))
            return False
    return True


def _combinations(sweeps: list[P.Sweep]):
    """Each combination of one value per sweep, as ((sweep, value index), ...)."""
    combos: list[tuple] = [()]
    for sweep in sweeps:
        combos = [c + ((sweep, i),) for c in combos for i in range(len(sweep.updates))]
    return combos


def _arch(name: str, models: dict, archs: dict):
    if name not in archs:
        from planner.resolve.bridge import arch_from_model

        try:
            archs[name] = arch_from_model(models[name]) if name in models else None
        except PlanError:
            archs[name] = None
    return archs[name]


def _where(workload, problem: Problem, combination) -> tuple[Span | None, str]:
    """The span and message of ``problem``: at the last sweep value that set a field the rule
    read, naming the variant; at the pin or key when no sweep did."""
    label = f'{workload.kind} "{workload.name}"'
    swept = [(sweep, i) for sweep, i in combination if problem.reads & set(sweep.updates[i])]
    if not swept:
        layout = workload.layout
        if layout is not None and problem.key in layout.spans:
            return layout.spans[problem.key], f"{label}: layout {problem.message}"
        return workload.spans.get(problem.key, workload.span), f"{label}: {problem.message}"
    sweep, i = swept[-1]
    scenario = ", ".join(f"{s.key} = {s.labels[j]}" for s, j in combination)
    return sweep.spans.get(f"values[{i}]", sweep.span), f"{label} with {scenario}: {problem.message}"


def problems(workload, update: dict, arch, gpus: dict | None = None,
             rope_scaling: float | None = None) -> list[Problem]:
    """The rules the row (``workload`` with the sweep ``update``) breaks; ``gpus`` (by name)
    for the pinned GPU's fp8 tensor cores; ``rope_scaling`` is the factor the row's model
    states (``rope_scaling`` key), which extends its context."""
    row = {f: update.get(f, value) for f, value in _fields(workload).items()}
    out = _values(workload, row) + _context(workload, row, arch, rope_scaling)
    pins = workload.layout
    if pins is not None:
        out += _pins_and_model(pins, arch, row)
        out += _pins_together(workload.kind, pins)
        if workload.kind != "serve":
            from planner.resolve.variants import global_batch

            batch = global_batch(workload.kind, row["batch"], row["seq_len"])
            out += _pins_and_batch(pins, batch)
            out += _training_pins(workload, pins, arch, row, batch, gpus or {})
    return out


def _fields(workload) -> dict:
    """The workload's value of each of _FIELDS, None for a field its kind does not have (read
    from the model's fields: getattr of a field it lacks raised inside pydantic, ten times
    slower, and did so for most of the 14 fields of 10,000 workloads' rows)."""
    declared = type(workload).model_fields
    return {f: getattr(workload, f) if f in declared else None for f in _FIELDS}


def _values(workload, row: dict) -> list[Problem]:
    out = []
    if workload.kind == "serve":
        out += _serve_values(row)
    if workload.kind == "finetune" and row["method"] == "full":
        for key in ("rank", "targets"):
            value = row["rank"] if key == "rank" else workload.targets
            if value is not None:
                out.append(Problem(f"full-{key}", key, f"`{key}` applies to lora and qlora, but method = full",
                                   frozenset({"method", key})))
    return out


def _context(workload, row: dict, arch, rope_scaling: float | None) -> list[Problem]:
    """A sequence longer than the model was trained for: the context of a service, the
    sequence length of a training job (written, or its default), against ``max_context``
    times the RoPE scaling factor the model states."""
    if not arch.max_context:
        return []
    limit = int(arch.max_context * (rope_scaling or 1.0))
    if workload.kind == "serve":
        key, length, said = "context", row["context"], f"`context = {row['context']}`"
        if length is None:  # the engine's max model length defaults to prompt + output
            if row["prompt"] is None or row["output"] is None:
                return []  # the request shape's own error says what is missing
            key, length = "prompt", row["prompt"] + row["output"]
            said = f"`prompt` + `output` ({length} tokens)"
    else:
        from planner.estimate import defaults

        key, length = "seq_len", row["seq_len"]
        said = f"`seq_len = {length}`"
        if length is None:
            pretrain = workload.kind == "pretrain"
            length = defaults.DEFAULT_PRETRAIN_SEQ_LEN if pretrain else defaults.DEFAULT_FINETUNE_SEQ_LEN
            said = f"`seq_len` (default {length})"
    if length <= limit:
        return []
    scaled = f" × rope_scaling {rope_scaling:g} = {limit}" if rope_scaling else ""
    hint = "" if rope_scaling else (
        f"; if the model is run with RoPE scaling (YaRN, linear), state its factor: "
        f"`model \"{row['model']}\" {{ rope_scaling = {-(-length // arch.max_context)} }}`")
    return [Problem("context", key, f"{said} is longer than model `{row['model']}` supports: "
                    f"max_context {arch.max_context}{scaled}{hint}",
                    frozenset({"model", "context", "prompt", "output", "seq_len"}))]


def _serve_values(row: dict) -> list[Problem]:
    """A service's load is one of users and rate; its request shape holds together
    (``plan.request_shape_problem``)."""
    out = []
    if row["users"] is not None and row["rate"] is not None:
        out.append(Problem("load", "users", "`users` and `rate` both set: a service's load is one of "
                           "them (concurrent requests, or requests per second)",
                           frozenset({"users", "rate"})))
    problem = P.request_shape_problem(row["context"], row["prompt"], row["output"])
    if problem is not None:
        out.append(Problem("shape", problem[0], problem[1], frozenset({"context", "prompt", "output"})))
    if row["weights"] == "nf4" and (row["engine"] or _default_engine()) == "vllm":
        # vLLM 0.33.0's QUANTIZATION_METHODS has no bitsandbytes (docs/exports.md, "Refused")
        out.append(Problem("nf4-vllm", "weights", "weights = nf4 is bitsandbytes' 4-bit format, which "
                           "vLLM (0.33) does not load; serve it with engine = transformers, or plan "
                           "weights = int4 (AWQ, GPTQ)", frozenset({"weights", "engine"})))
    return out


def _pins_and_model(pins: P.Layout, arch, row: dict) -> list[Problem]:
    model = frozenset({"model"})
    name = row["model"]
    out = []
    if pins.tp is not None and (arch.heads % pins.tp or (not arch.is_mla and arch.kv_heads % pins.tp)):
        heads = f"{arch.heads} attention heads" + ("" if arch.is_mla else f" and {arch.kv_heads} KV heads")
        out.append(Problem("tp", "tp", f"tp = {pins.tp} must divide the {heads} of model `{name}`", model))
    if pins.pp is not None and pins.pp > arch.layers:
        out.append(Problem("pp", "pp", f"pp = {pins.pp} is more than the {arch.layers} layers of model "
                           f"`{name}`: each pipeline stage needs at least one layer", model))
    if pins.ep is not None and pins.ep > 1 and not arch.is_moe:
        out.append(Problem("ep-dense", "ep", f"ep = {pins.ep} needs a mixture-of-experts model; `{name}` "
                           "has no experts (write ep = 1 or leave it out)", model))
    if pins.ep is not None and arch.is_moe and arch.experts % pins.ep:
        out.append(Problem("ep-experts", "ep", f"ep = {pins.ep} must divide the {arch.experts} experts of "
                           f"model `{name}`", model))
    return out


def _pins_together(kind: str, pins: P.Layout) -> list[Problem]:
    none = frozenset()
    out = []
    within = "tp" if kind == "serve" else "dp"
    if pins.ep is not None and pins.ep > 1 and getattr(pins, within) is not None \
            and getattr(pins, within) < pins.ep:
        out.append(Problem("ep-within", "ep", f"ep = {pins.ep} must be at most {within} = "
                           f"{getattr(pins, within)}: each expert-parallel rank is a GPU of its own", none))
    if pins.count is not None:
        parts = ("tp", "pp", "replicas") if kind == "serve" else ("tp", "cp", "pp", "dp")
        known = [k for k in parts if getattr(pins, k) is not None]
        spread = math.prod(getattr(pins, k) for k in known)
        if pins.count % spread:
            shown = " × ".join(f"{k} = {getattr(pins, k)}" for k in known)
            out.append(Problem("count", "count", f"count = {pins.count} is not a multiple of {shown} "
                               f"= {spread}", none))
    if pins.offload == "all" and pins.zero is not None and pins.zero < 3:
        out.append(Problem("offload-all", "offload", f"offload = all moves parameters to the CPU, which "
                           f"DeepSpeed does only with ZeRO stage 3 (zero = {pins.zero})", none))
    if pins.offload == "optimizer" and pins.zero == 0:
        out.append(Problem("offload-optimizer", "offload", "offload = optimizer needs ZeRO stage 1, 2 or 3 "
                           "(DeepSpeed offloads the optimizer of a ZeRO partition); zero = 0", none))
    return out


def _pins_and_batch(pins: P.Layout, batch: int) -> list[Problem]:
    reads = frozenset({"batch", "seq_len"})
    out = []
    if pins.dp is not None and batch % pins.dp:
        out.append(Problem("dp", "dp", f"dp = {pins.dp} must divide the global batch of {batch} sequences "
                           "(set `batch`)", reads))
    elif pins.micro_batch is not None and batch % (pins.micro_batch * (pins.dp or 1)):
        per = f"per-rank batch of {batch // pins.dp}" if pins.dp else f"global batch of {batch}"
        out.append(Problem("micro_batch", "micro_batch", f"micro_batch = {pins.micro_batch} must divide "
                           f"the {per} sequences (set `batch`)", reads))
    return out


def _training_pins(workload, pins: P.Layout, arch, row: dict, batch: int, gpus: dict) -> list[Problem]:
    """sp, cp, shard, vpp, selective recomputation and fp8 pins the training row cannot take."""
    from planner.estimate import defaults

    none = frozenset()
    out = []
    if pins.sp and pins.tp is not None and pins.tp < 2:
        out.append(Problem("sp", "sp", "sp = true splits what tensor parallelism keeps whole: it needs "
                           f"tp > 1 (tp = {pins.tp})", none))
    seq_len = row["seq_len"] or (defaults.DEFAULT_PRETRAIN_SEQ_LEN if workload.kind == "pretrain"
                                 else defaults.DEFAULT_FINETUNE_SEQ_LEN)
    if pins.cp is not None and seq_len % (2 * pins.cp):
        out.append(Problem("cp", "cp", f"cp = {pins.cp} must split the sequence of {seq_len} tokens into "
                           "2 × cp equal chunks (Megatron's load-balanced causal split)",
                           frozenset({"seq_len"})))
    if pins.shard is not None:
        if pins.zero is not None and pins.zero < 3:
            out.append(Problem("shard-zero", "shard", "shard (HSDP) partitions ZeRO-3's states: it needs "
                               f"zero = 3, not {pins.zero}", none))
        data = None if pins.dp is None else pins.dp * (pins.cp or 1)
        if pins.shard != "node" and data is not None and data % pins.shard:
            out.append(Problem("shard", "shard", f"shard = {pins.shard} must divide dp × cp = {data}", none))
    if pins.vpp is not None and pins.vpp > 1:
        if pins.pp is None and not any(-(-arch.layers // pp) % pins.vpp == 0 for pp in range(2, arch.layers + 1)):
            out.append(Problem("vpp-any", "vpp", f"vpp = {pins.vpp} chunks of a pipeline stage: no number of "
                               f"stages splits the {arch.layers} layers of model `{row['model']}` into stages of "
                               f"a multiple of {pins.vpp} layers", frozenset({"model"})))
        elif pins.pp is not None and pins.pp < 2:
            out.append(Problem("vpp-pp", "vpp", f"vpp = {pins.vpp} interleaves pipeline stages: it needs "
                               f"pp > 1 (pp = {pins.pp})", none))
        elif pins.pp is not None:
            stage = -(-arch.layers // pins.pp)
            if stage % pins.vpp:
                out.append(Problem("vpp-layers", "vpp", f"vpp = {pins.vpp} must divide the {stage} layers "
                                   f"of a stage at pp = {pins.pp} (every chunk holds as many layers)",
                                   frozenset({"model"})))
            elif pins.dp is not None and pins.micro_batch is not None and batch % pins.dp == 0:
                micro = -(-batch // (pins.dp * pins.micro_batch))
                if micro % pins.pp:
                    out.append(Problem("vpp-micro", "vpp", f"vpp = {pins.vpp} needs the {micro} "
                                       f"micro-batches of a step to be a multiple of pp = {pins.pp} "
                                       "(Megatron-Core's interleaved schedule)",
                                       frozenset({"batch", "seq_len"})))
    stack = row["stack"] or defaults.default_stack(workload.kind, row["method"] or "full")
    if pins.recompute == "selective" and stack != "megatron":
        out.append(Problem("selective", "recompute", "recompute = selective is Megatron's (the attention "
                           f"core alone); the {stack} stack checkpoints whole layers: write "
                           "recompute = full or none", frozenset({"stack", "method"})))
    out += _stack_pins(pins, stack, row["method"])
    gpu = gpus.get(pins.gpu) if pins.gpu is not None else None
    if row["precision"] == "fp8" and gpu is not None and not gpu.fp8:
        out.append(Problem("fp8", "gpu", f"gpu = {pins.gpu} has no fp8 tensor cores, which "
                           "`precision = fp8` needs", frozenset({"precision"})))
    return out


def _stack_pins(pins: P.Layout, stack: str, method: str | None) -> list[Problem]:
    """Pins the stack's own code refuses (docs/exports.md "Refused", DeepSpeed 0.19.8): QLoRA's
    packed 4-bit base weights split by TP or EP; pipeline stages with ZeRO-2/3, or with EP and
    TP together, on DeepSpeed's engine (the deepspeed and hf stacks)."""
    out = []
    reads = frozenset({"method", "stack"})
    for key in ("tp", "ep"):
        degree = getattr(pins, key)
        if method == "qlora" and degree is not None and degree > 1:
            out.append(Problem(f"qlora-{key}", key, f"{key} = {degree} splits weights, but QLoRA's base "
                               "weights are bitsandbytes' packed 4-bit tensors, which no tensor- or "
                               "expert-parallel split takes: QLoRA runs data parallel", reads))
    if stack in ("deepspeed", "hf") and pins.pp is not None and pins.pp > 1:
        if pins.zero is not None and pins.zero >= 2:
            out.append(Problem("pp-zero", "zero", f"zero = {pins.zero} with pp = {pins.pp}: DeepSpeed's "
                               "pipeline engine refuses ZeRO-2 and ZeRO-3 (the "
                               f"{stack} stack); write zero = 0 or 1, or stack = fsdp", reads))
        if (pins.ep or 1) > 1 and (pins.tp or 1) > 1:
            out.append(Problem("pp-ep-tp", "ep", f"ep = {pins.ep} with tp = {pins.tp} and pp = {pins.pp}: "
                               "DeepSpeed's AutoEP with AutoTP runs without pipeline stages only", reads))
    return out


def _default_engine() -> str:
    # imported here: planner.estimate.engines brings the estimator's types, which
    # `planner check` needs nowhere else
    from planner.estimate.engines import DEFAULT_ENGINE

    return DEFAULT_ENGINE
