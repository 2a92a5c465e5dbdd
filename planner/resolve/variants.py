"""From a checked ``Plan`` to the instances the search solves.

One instance per workload, or per sweep variant of it: a sweep whose glob
matches a workload gives one variant per value (``model_copy(update=...)``);
several sweeps on one workload give the cartesian product, in plan order.
Each instance carries the estimator's plain-data job (``TrainJob`` or
``ServeJob``) built with the documented defaults of
``planner.estimate.defaults``, and the GPU types it may use.

Defaults applied here (docs/solve.md, "Instances"):

- dataset bytes -> tokens with ``bytes_per_token`` (default
  ``defaults.BYTES_PER_TOKEN``); tokens processed = dataset tokens x epochs;
- ``seq_len``: ``DEFAULT_FINETUNE_SEQ_LEN`` / ``DEFAULT_PRETRAIN_SEQ_LEN``;
- global batch (sequences): ``defaults.default_global_batch`` (fine-tuning
  ``DEFAULT_FINETUNE_GLOBAL_BATCH``; pretraining ``DEFAULT_GLOBAL_BATCH_TOKENS //
  seq_len`` rounded down to a power of two);
- LoRA/QLoRA rank and targets: ``DEFAULT_LORA_RANK`` / ``DEFAULT_LORA_TARGETS``;
- base weights: bf16 for full and LoRA, nf4 for QLoRA (QLoRA paper, Dettmers
  et al. 2023, section 3); pretraining trains bf16 weights;
- training stack: ``defaults.default_stack`` (megatron for pretraining, deepspeed for
  full fine-tuning, hf for LoRA and QLoRA); matmul precision bf16;
- serving request shape (``request_shape``): context = prompt + output, a missing prompt
  or output is what context leaves of the other, neither: prompt = ``context x
  DEFAULT_PROMPT_FRACTION``; KV cache precision ``DEFAULT_KV_PRECISION``; engine vllm;
  priced duration: the plan's period (``planner.resolve.timing``);
- serving ``weights = auto``: the precisions the GPU runs (``serve_weight_choices``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools

from planner import plan as p
from planner.estimate.types import Arch, GpuSpec, ServeJob, TrainJob
from planner.frozen import frozen
from planner.resolve.timing import Timing, period_hours, timing, window_hours
from planner.collector import paused


@frozen
class GpuOffer:
    """A GPU type the solver may use: its estimator spec and availability."""

    name: str
    spec: GpuSpec
    available: int | None  # None: unlimited
    calibrations: tuple[p.Calibration, ...] = ()  # the plan's calibrations of this GPU type


@frozen
class Variant:
    """One row to solve: a workload, or one sweep variant of it."""

    name: str  # "tune-7b" or "tune-7b[dataset=1GB]"
    group: str  # the workload's name; variants of one workload share it
    kind: str  # serve | finetune | pretrain
    workload: p.Serve | p.Finetune | p.Pretrain  # with the sweep's updates applied
    scenario: dict[str, str]  # sweep key -> value as written
    model: str
    arch: Arch
    offers: tuple[GpuOffer, ...]  # offered GPU types allowed for this workload
    train_job: TrainJob | None = None
    serve_job: ServeJob | None = None  # weights == arch precision when ``auto``
    weights_auto: bool = False
    # limits, in hours / seconds / currency
    deadline_hours: float | None = None
    ttft_seconds: float | None = None
    tpot_seconds: float | None = None
    ttft_p99_seconds: float | None = None
    tpot_p99_seconds: float | None = None
    budget: float | None = None
    duration_hours: float | None = None  # serving: the priced duration
    not_offered: tuple[str, ...] = ()  # GPU names the workload asks for that have no `available`
    timing: Timing | None = None  # period, repeats and window slots (planner.resolve.timing)

    @property
    def pins(self) -> p.Layout | None:
        return self.workload.layout

    @property
    def run_limit_hours(self) -> float | None:
        """The longest one run may take: the deadline, the interval between repeats, or the
        room its window slot leaves, whichever is least (training; None: no limit)."""
        return self.timing.run_limit_hours if self.timing is not None else self.deadline_hours


def serve_weight_choices(instance: Variant, spec: GpuSpec) -> tuple[str, ...]:
    """Weight precisions to try on ``spec``, best quality first.

    A fixed precision is tried as written. ``auto`` tries bf16 (every GPU),
    fp8 where the GPU has fp8 tensor cores (``fp8_flops > 0``), int8 where it
    has int8 tensor cores (``int8_flops > 0``), and int4 weight-only
    quantization (AWQ/GPTQ-style kernels dequantize int4 to bf16 in the matmul,
    so they need no int4 tensor cores; Lin et al. 2024, AWQ, section 4).
    """
    if not instance.weights_auto:
        assert instance.serve_job is not None
        return (instance.serve_job.weights,)
    choices = ["bf16"]
    if spec.fp8_flops > 0:
        choices.append("fp8")
    if spec.int8_flops > 0:
        choices.append("int8")
    choices.append("int4")
    return tuple(choices)


def offered_gpus(plan: p.Plan) -> list[GpuOffer]:
    """Every GPU type with ``available``, in plan order (catalog blocks first)."""
    from planner.resolve.bridge import gpu_spec

    offers = []
    for gpu in plan.gpus:
        if gpu.available is None:
            continue
        available = None if gpu.available < 0 else int(gpu.available)
        mine = tuple(c for c in plan.calibrations if c.gpu == gpu.name)
        offers.append(GpuOffer(gpu.name, gpu_spec(gpu, mine), available, mine))
    return offers


_GLOB = frozenset("*?[")


def sweeps_by_workload(plan: p.Plan) -> dict[str, list[p.Sweep]]:
    """Each workload's matching sweeps, in plan order: a literal target is looked up,
    only a glob is matched against every workload name."""
    out: dict[str, list[p.Sweep]] = {w.name: [] for w in plan.workloads}
    for sweep in plan.sweeps:
        if _GLOB.isdisjoint(sweep.target):
            if sweep.target in out:
                out[sweep.target].append(sweep)
            continue
        for name, matched in out.items():
            if fnmatch.fnmatchcase(name, sweep.target):
                matched.append(sweep)
    return out


def global_batch(kind: str, batch: int | None, seq_len: int | None) -> int:
    """Sequences per optimizer step: ``batch`` as written, else the documented default."""
    from planner.estimate import defaults

    pretrain = kind == "pretrain"
    if seq_len is None:
        seq_len = defaults.DEFAULT_PRETRAIN_SEQ_LEN if pretrain else defaults.DEFAULT_FINETUNE_SEQ_LEN
    return batch or defaults.default_global_batch(pretrain, seq_len)


def variants(plan: p.Plan, workload, sweeps: list[p.Sweep] | None = None) -> list[tuple[str, dict[str, str], object]]:
    """(name, scenario, workload variant) for each combination of the matching sweeps
    (``sweeps``: those of ``sweeps_by_workload``, else found here)."""
    if sweeps is None:
        sweeps = [s for s in plan.sweeps if fnmatch.fnmatchcase(workload.name, s.target)]
    if not sweeps:
        return [(workload.name, {}, workload)]
    out = []
    for combo in itertools.product(*(range(len(s.updates)) for s in sweeps)):
        update: dict = {}
        scenario: dict[str, str] = {}
        for sweep, i in zip(sweeps, combo):
            update.update(sweep.updates[i])
            scenario[sweep.key] = sweep.labels[i]
        label = ",".join(f"{k}={v}" for k, v in scenario.items())
        out.append((f"{workload.name}[{label}]", scenario, workload.model_copy(update=update)))
    return out


def dataset_tokens(workload: p.Train) -> int:
    """Tokens in the dataset: as written, or bytes / bytes_per_token."""
    from planner.estimate import defaults

    if workload.dataset_tokens is not None:
        return int(workload.dataset_tokens)
    per_token = workload.bytes_per_token or defaults.BYTES_PER_TOKEN
    return int(round((workload.dataset_bytes or 0) / per_token))


def dataset_bytes(workload: p.Train) -> int:
    """Bytes of the dataset: as written, or tokens x bytes_per_token."""
    from planner.estimate import defaults

    if workload.dataset_bytes is not None:
        return workload.dataset_bytes
    per_token = workload.bytes_per_token or defaults.BYTES_PER_TOKEN
    return int((workload.dataset_tokens or 0) * per_token)


def train_job(workload: p.Train, arch: Arch) -> TrainJob:
    from planner.estimate import defaults

    pretrain = workload.kind == "pretrain"
    seq_len = workload.seq_len or (
        defaults.DEFAULT_PRETRAIN_SEQ_LEN if pretrain else defaults.DEFAULT_FINETUNE_SEQ_LEN
    )
    batch = global_batch(workload.kind, workload.batch, seq_len)
    method = "full" if pretrain else workload.method
    if pretrain:
        weights = "bf16"
    else:
        weights = workload.weights or ("nf4" if method == "qlora" else "bf16")
    rank, targets = 0, ()
    if method != "full":
        rank = workload.rank or defaults.DEFAULT_LORA_RANK
        targets = tuple(workload.targets or defaults.DEFAULT_LORA_TARGETS)
    return TrainJob(
        arch=arch,
        method=method,
        tokens=float(dataset_tokens(workload) * workload.epochs),
        seq_len=int(seq_len),
        global_batch=int(batch),
        optimizer=workload.optimizer,
        weights=weights,
        lora_rank=int(rank),
        lora_targets=targets,
        utilization=workload.utilization,
        stack=workload.stack or defaults.default_stack(workload.kind, method),
        precision=workload.precision,
    )


def request_shape(workload: p.Serve) -> tuple[int, int, int]:
    """(context, prompt, output) of a service, the ones not written filled in: context
    defaults to prompt + output; of prompt and output, one not written is what context
    leaves of the other, and with neither the prompt is ``DEFAULT_PROMPT_FRACTION`` of
    context (a plan written when context meant prompt + output reads as before)."""
    from planner.estimate import defaults

    prompt, output = workload.prompt, workload.output
    if workload.context is None:
        return int(prompt + output), int(prompt), int(output)
    context = int(workload.context)
    if prompt is None and output is None:
        prompt = max(1, int(context * defaults.DEFAULT_PROMPT_FRACTION))
    if prompt is None:
        prompt = context - output
    if output is None:
        output = context - prompt
    return context, int(prompt), int(output)


def serve_job(workload: p.Serve, arch: Arch) -> ServeJob:
    from planner.estimate import defaults

    context, prompt, output = request_shape(workload)
    weights = arch.precision if workload.weights == "auto" else workload.weights
    return ServeJob(
        arch=arch,
        users=int(workload.users or 0),
        rate=float(workload.rate or 0.0),
        context=context,
        prompt=prompt,
        output=output,
        weights=weights,
        kv_precision=workload.kv or defaults.DEFAULT_KV_PRECISION,
        prefix_share=float(workload.prefix_cache or 0.0),
        engine=workload.engine,
    )


def build_variants(plan: p.Plan) -> list[Variant]:
    """Every instance of the plan, in plan order (variants in sweep order)."""
    # every variant made stays alive (see planner.collector): 1.0 -> 0.4 s for the
    # 14,000 rows of benchmarks/e2e.py's 10,000-workload fleet
    with paused():
        return _build_variants(plan)


def _build_variants(plan: p.Plan) -> list[Variant]:
    from planner.resolve.bridge import arch_from_model

    offers = offered_gpus(plan)
    period, window = period_hours(plan), window_hours(plan)
    models = {m.name: m for m in plan.models}
    archs: dict[str, Arch] = {}
    instances: list[Variant] = []
    matching = sweeps_by_workload(plan)
    for workload in plan.workloads:
        for name, scenario, variant in variants(plan, workload, matching[workload.name]):
            if variant.model not in archs:
                archs[variant.model] = arch_from_model(models[variant.model])
            arch = archs[variant.model]
            allowed = set(variant.gpus) if variant.gpus else None
            pinned_gpu = variant.layout.gpu if variant.layout else None
            mine = tuple(
                o
                for o in offers
                if (allowed is None or o.name in allowed)
                and (pinned_gpu is None or o.name == pinned_gpu)
            )
            offered_names = {o.name for o in offers}
            asked = sorted((allowed or set()) | ({pinned_gpu} if pinned_gpu else set()))
            common = dict(
                name=name,
                group=workload.name,
                kind=variant.kind,
                workload=variant,
                scenario=scenario,
                model=variant.model,
                arch=arch,
                offers=mine,
                not_offered=tuple(n for n in asked if n not in offered_names),
                timing=timing(variant, period, window),
            )
            if variant.kind == "serve":
                duration = variant.duration
                hours = duration / 3600.0 if duration is not None else period
                instances.append(
                    Variant(
                        **common,
                        serve_job=serve_job(variant, arch),
                        weights_auto=variant.weights == "auto",
                        ttft_seconds=variant.ttft,
                        tpot_seconds=variant.tpot,
                        ttft_p99_seconds=variant.ttft_p99,
                        tpot_p99_seconds=variant.tpot_p99,
                        duration_hours=hours,
                    )
                )
            else:
                instances.append(
                    Variant(
                        **common,
                        train_job=train_job(variant, arch),
                        deadline_hours=None if variant.deadline is None else variant.deadline / 3600.0,
                        budget=variant.budget,
                    )
                )
    return instances


def replace_weights(job: ServeJob, weights: str) -> ServeJob:
    return dataclasses.replace(job, weights=weights)
