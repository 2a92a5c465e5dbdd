"""The result of a solve as types: the JSON contract of docs/solve.md ("The JSON result").

Every renderer, the diff, the exports and the checker read these types; ``to_json`` gives
the contract's object (keys in the order of the fields below, every key always present,
null where it does not apply) and ``from_json`` reads one back. Fields may be added, never
renamed. Floats are rounded once, when the pipeline builds the result (``rounded``), so
every reader sees the numbers the JSON shows.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from functools import cache

from planner.frozen import frozen
from planner.units import round_money, round_sig

MEMORY_COMPONENTS = ("weights", "gradients", "optimizer", "activations", "kv_cache", "overhead")
# Fields that hold an amount of money: kept to the cent, so a total is the sum of the rows
# it shows and every spelling of an amount agrees. Rates (per hour) keep 6 digits.
MONEY_FIELDS = frozenset({"cost", "total_cost", "budget", "cost_per_run", "cost_per_period",
                          "run_rate_cost", "one_off_cost"})


@frozen
class Inputs:
    """What a row was solved for (``planner diff`` names the ones that changed)."""

    model: str
    method: str | None = None
    users: int | None = None
    context: int | None = None
    dataset_tokens: int | None = None
    dataset_bytes: int | None = None
    epochs: float | None = None
    seq_len: int | None = None
    deadline_hours: float | None = None
    tpot_ms: float | None = None
    ttft_ms: float | None = None
    weights: str | None = None
    kv: str | None = None
    prompt: int | None = None
    batch: int | None = None
    optimizer: str | None = None
    rank: int | None = None
    budget: float | None = None
    stack: str | None = None  # training stack (megatron | fsdp | deepspeed | hf)
    precision: str | None = None  # training matmul precision (bf16 | fp8)
    # serving: the load and the request shape, the engine, the p99 limits
    output: int | None = None
    rate: float | None = None  # requests/s (users: None)
    prefix_cache: float | None = None
    engine: str | None = None
    ttft_p99_ms: float | None = None
    tpot_p99_ms: float | None = None
    every_hours: float | None = None  # as written: `every` (a recurring job)
    runs: int | None = None  # as written: `runs` per period (a recurring job)
    start_after_hours: float | None = None


@frozen
class RowLayout:
    """A row's layout; the training-only keys are None on a service."""

    tp: int
    pp: int
    dp: int | None
    ep: int
    zero: int | None
    recompute: str | None
    offload: str | None
    micro_batch: int | None
    replicas: int
    weights: str
    sp: bool | None = None  # Megatron sequence parallelism
    cp: int | None = None  # context-parallel degree
    shard: int | None = None  # ZeRO-3 partition group (HSDP); 0: all dp x cp ranks
    vpp: int | None = None  # interleaved pipeline stages per GPU


@frozen
class MemoryUse:
    """Bytes per GPU by component."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    kv_cache: int
    overhead: int
    total: int

    def component(self, name: str) -> int:
        return getattr(self, name)


@frozen
class Host:
    """Host resources of the whole row (all its nodes)."""

    cpu_cores: int
    ram_bytes: int
    nvme_bytes: int
    network: str


@frozen
class Overheads:
    """Time a training run spends beside its steps (docs/estimation.md sec 12), included in
    the row's ``hours``: loading the weights, saving checkpoints, and the expected restarts
    after failures and spot interruptions (``goodput``: the share of time not lost)."""

    load_hours: float
    checkpoints: int
    checkpoint_interval_hours: float
    checkpoint_hours: float
    restart_hours: float
    goodput: float


@frozen
class Service:
    """What a service row does under its load (docs/estimation.md sec 9): means from the
    steady state of its most loaded replica, medians and 99th percentiles from a seeded
    simulation of it, throughput and shares of the GPUs' peaks over all its replicas."""

    engine: str
    ttft_mean_seconds: float | None  # None: the load is not carried
    ttft_p50_seconds: float | None  # None: not simulated (the load is not carried)
    ttft_p99_seconds: float | None
    tpot_mean_seconds: float | None
    tpot_p50_seconds: float | None
    tpot_p99_seconds: float | None
    requests_per_second: float
    output_tokens_per_second: float
    capacity_requests_per_second: float  # the most its replicas sustain
    load_share: float  # requests/s over that capacity; headroom = 1 - load_share
    compute_share: float  # of the GPUs' peak FLOP/s, over wall time
    bandwidth_share: float  # of the GPUs' HBM bandwidth, over wall time
    concurrency: float  # requests in the most loaded replica
    running_limit: int  # requests a replica runs at once (engine cap, KV cache)
    kv_tokens: int  # KV cache of a replica, tokens


@frozen
class CalibrationUse:
    """The calibration a row's estimate used (docs/calibration.md): the block, and the factors
    of it that applied (a workload's own ``utilization`` takes precedence over a calibrated one)."""

    name: str
    gpu: str
    engine: str | None  # serving calibrations
    stack: str | None  # training calibrations
    factors: dict[str, float]  # factor -> value: step_overhead in seconds, the others fractions
    runs: int | None
    residual: float | None  # a fraction
    date: str | None


@frozen
class Alternative:
    """A next-best option of a row (``--explain``)."""

    gpu: str
    gpu_count: int
    layout: RowLayout
    hours: float
    cost: float


@frozen
class Run:
    """One run of a job (or a service's hold) in a scheduled window, in hours from its start."""

    start_hours: float
    end_hours: float


@frozen
class Row:
    """One workload, or one sweep variant of it. When ``fits`` is false the placement
    fields describe the nearest miss (or are None when there is none)."""

    name: str
    kind: str  # serve | finetune | pretrain
    model: str
    scenario: dict[str, str]  # sweep key -> value as written
    inputs: Inputs
    fits: bool
    gpu: str | None = None
    gpu_count: int | None = None
    nodes: int | None = None
    layout: RowLayout | None = None
    memory_per_gpu_bytes: MemoryUse | None = None
    host_memory_per_gpu_bytes: int | None = None
    gpu_memory_bytes: int | None = None
    usable_memory_bytes: int | None = None
    hours: float | None = None  # training: run time; serving: the priced duration
    cost: float | None = None
    cost_per_hour: float | None = None
    price_per_hour: float | None = None
    ttft_seconds: float | None = None
    tpot_seconds: float | None = None
    tokens_per_second: float | None = None
    service: Service | None = None  # serving rows: latencies, throughput, shares
    tokens: int | None = None
    host: Host | None = None
    decided_by: str | None = None
    reasons: tuple[str, ...] = ()
    alternatives: tuple[Alternative, ...] = ()
    # Periods (docs/solve.md, "Periods and the schedule"): how the cost counts in the period.
    billing: str | None = None  # "run-rate" (services, recurring jobs) | "one-off"
    every_hours: float | None = None  # a recurring job's interval between runs
    runs_per_period: float | None = None  # a recurring job's runs per period (period / every)
    cost_per_run: float | None = None  # a job's cost of one run
    cost_per_period: float | None = None  # a run-rate row's cost per period (= cost)
    schedule: tuple[Run, ...] | None = None  # a scheduled window: each run (a service: its hold)
    # What is rented (docs/estimation.md sec 12): GPUs paid for (whole instances, whole
    # nodes), the hours billed per run (training: the run rounded to the billing increment),
    # the GPU type an offer is `like`, and a training run's overheads (in ``hours``).
    billed_gpus: int | None = None
    billed_hours: float | None = None
    gpu_type: str | None = None
    overheads: Overheads | None = None
    calibration: CalibrationUse | None = None  # factors fitted to measured runs, when used

    @property
    def label(self) -> str:
        """``tune[dataset=1GB]``: the workload's name and, for a variant, its scenario."""
        if not self.scenario:
            return self.name
        return self.name + "[" + ",".join(f"{k}={v}" for k, v in self.scenario.items()) + "]"


@frozen
class GpuUse:
    """A GPU type offered to the solver, and how many of it the solution uses."""

    available: int | None  # None: unlimited
    used: int
    price_per_hour: float
    memory_bytes: int
    usable_bytes: int
    per_node: int
    # How busy the type is over the window (or, without one, the period): GPU-hours held,
    # and their share of what is available (of the peak for an unlimited type).
    gpu_hours: float | None = None
    utilization: float | None = None
    peak_at_hours: float | None = None  # a scheduled window: when ``used`` is first reached


@frozen
class Result:
    """The solved plan: its status, its totals and one row per workload variant."""

    plan: str
    file: str
    status: str  # optimal | feasible | infeasible
    gap: float
    objective: str
    currency: str
    total_cost: float  # placed rows summed; a swept workload at its costliest variant
    budget: float | None
    gpus: dict[str, GpuUse]
    binding: tuple[str, ...]  # shared limits that bind, or conflict (sentences)
    workloads: tuple[Row, ...]
    # total_cost is the period's total: run_rate_cost (per period) + one_off_cost.
    period_hours: float = 730.0
    window_hours: float | None = None  # the schedule's span; None: everything at once
    run_rate_cost: float = 0.0
    one_off_cost: float = 0.0

    @property
    def exit_code(self) -> int:
        """0 when every workload was placed (optimal or feasible), 1 when infeasible."""
        return 1 if self.status == "infeasible" else 0

    def rounded(self) -> "Result":
        """The same result with every amount of money to the cent (``MONEY_FIELDS``) and
        every other float at ``SIGNIFICANT_DIGITS`` significant digits."""
        return _round(self)

    def to_json(self) -> dict:
        return plain_data(self)

    @classmethod
    def from_json(cls, data: dict) -> "Result":
        return _typed(cls, data)


# ---------------------------------------------------------------- conversions


@cache
def _rounding(cls) -> tuple[tuple[tuple[str, bool], ...], bool]:
    """(each field's name and whether it holds money, whether an instance can be made from
    its fields without __init__: no __post_init__, every field in __init__, a __dict__)."""
    fields = dataclasses.fields(cls)
    direct = (not hasattr(cls, "__post_init__") and all(f.init for f in fields)
              and not hasattr(cls, "__slots__"))
    return tuple((f.name, f.name in MONEY_FIELDS) for f in fields), direct


def _round(value, money: bool = False):
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value  # the common leaves first: a fleet's result has 10^5 of them
    if isinstance(value, float):
        if not math.isfinite(value):
            return None  # no figure: e.g. a run that restarts more than it works never ends
        return round_money(value) if money else round_sig(value)
    if dataclasses.is_dataclass(value):
        fields, direct = _rounding(kind)
        changes = {}
        for name, is_money in fields:
            field = getattr(value, name)
            leaf = type(field)
            # the common leaves inline: a fleet's rows hold 10^6 of them
            changes[name] = field if (leaf is str or leaf is int or leaf is bool or field is None) \
                else _round(field, is_money)
        if not direct:
            return dataclasses.replace(value, **changes)
        out = object.__new__(kind)  # what dataclasses.replace builds, without the frozen
        out.__dict__.update(changes)  # __init__'s per-field object.__setattr__
        return out
    if isinstance(value, dict):
        return {k: _round(v, money) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_round(v, money) for v in value)
    return value


def rounded(value):
    """Any part of a result (a row, an alternative) rounded as ``Result.rounded`` does."""
    return _round(value)


def plain_data(value):
    """Dataclasses as dicts (fields in order), tuples as lists: what ``json`` writes."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_data(v) for v in value]
    return value


@cache
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _typed(kind, data):
    """``data`` (JSON) as ``kind``: a dataclass, a tuple of them, a dict of them, or a scalar."""
    if data is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(kind) if a is not type(None)]
        return _typed(inner[0], data) if len(inner) == 1 else data
    if origin is tuple:
        return tuple(_typed(typing.get_args(kind)[0], v) for v in data)
    if origin is dict:
        return {k: _typed(typing.get_args(kind)[1], v) for k, v in data.items()}
    if dataclasses.is_dataclass(kind):
        hints = _hints(kind)
        names = {f.name for f in dataclasses.fields(kind)}
        return kind(**{k: _typed(hints[k], v) for k, v in data.items() if k in names})
    return data


__all__ = ["Alternative", "CalibrationUse", "GpuUse", "Host", "Inputs", "MEMORY_COMPONENTS", "MONEY_FIELDS", "MemoryUse",
           "Result", "Row", "RowLayout", "Run", "Service", "plain_data", "rounded"]
