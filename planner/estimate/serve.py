"""Serving a layout under the job's load: memory per GPU and the steady state of its replicas
(docs/estimation.md sec 4 and 9).

Each of ``layout.replicas`` replicas of tp x pp GPUs runs the job's engine. A closed loop
of ``users`` gives each replica ceil(users / replicas) or floor(users / replicas) of them;
an open ``rate`` gives each rate / replicas. Latencies are those of the most loaded
replica; throughput and hardware shares are summed (shares: averaged) over all of them.
The search asks for many layouts of one job: the replica constants, their saturation rate
and the steady states are memoised on their (frozen) inputs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import operator

from planner.estimate.common import build, check_layout
from planner.estimate.memory import CUDA_CONTEXT_BYTES, SERVE_CUDA_GRAPH_BYTES, kv_bytes_per_token_per_gpu
from planner.estimate.queue_bound import tpot_p99_floor, ttft_p99_floor
from planner.estimate.simulate import DEFAULT_REQUESTS, WARMUP_SHARE, simulate
from planner.estimate.steady import SteadyState, max_rate, steady_state
from planner.estimate.steady_floor import mean_latency_floors
from planner.estimate.step import Replica, ServeLoad, replica
from planner.estimate.types import GpuSpec, Layout, Memory, ServeEstimate, ServeJob, ServePercentiles

_CACHE = 65536  # steady states kept (a 10,000-workload fleet's search computes some 11,000)
# Replicas kept: each holds its constants and step function (a few KB); the same fleet
# builds some 4,000, so a long-lived process (the language server) stays within tens of MB.
_REPLICAS_KEPT = 8192
SIMULATION_SEED = 0  # every simulation of a row uses this seed: same plan, same bytes
# A closed loop is simulated for CLOSED_LOOP_ROUNDS requests per user, the first round left
# out (every user starts at once, a transient a steady service does not see).
CLOSED_LOOP_ROUNDS = 3


def replica_load(job: ServeJob, layout: Layout, gpu: GpuSpec, users: int | None = None) -> ServeLoad:
    """The load of ``job``'s most loaded replica on ``layout`` (``users`` overrides its share
    of a closed loop)."""
    if job.rate > 0:
        share = dict(rate=job.rate / layout.replicas)
    else:
        share = dict(users=users if users is not None else -(-job.users // layout.replicas))
    return ServeLoad(job.arch, gpu, prompt=job.prompt, output=job.output_tokens, tp=layout.tp,
                     pp=layout.pp, weights=job.weights, kv=job.kv_precision, engine=job.engine,
                     prefix_share=job.prefix_share, context=job.context, within_usable=True, **share)


# A replica's fields but its load: arch and gpu by identity (a plan shares one object per
# model and GPU type; hashing their dozens of fields cost more than a steady state's lookup).
_SHAPE_FIELDS = tuple(f.name for f in dataclasses.fields(ServeLoad)
                      if f.name not in ("arch", "gpu", "users", "rate"))
_shape_fields = operator.attrgetter(*_SHAPE_FIELDS)
_REPLICAS: dict[tuple, tuple] = {}  # shape key -> (arch, gpu, replica, its max_rate or None)
_STEADY: dict[tuple, tuple] = {}  # shape key + load -> (arch, gpu, steady state)


def _shape_key(load: ServeLoad) -> tuple:
    return (id(load.arch), id(load.gpu)) + _shape_fields(load)


def _bounded(cache: dict, most: int = _CACHE) -> dict:
    if len(cache) >= most:
        cache.clear()
    return cache


def _replica_entry(load: ServeLoad) -> list:
    """The cache entry of ``load``'s replica; an entry keeps its arch and gpu, so that an
    id reused after garbage collection cannot return another object's replica."""
    key = _shape_key(load)
    hit = _REPLICAS.get(key)
    if hit is not None and hit[0] is load.arch and hit[1] is load.gpu:
        return hit
    rep = replica(load.__class__(**{**load.__dict__, "users": 1, "rate": 0.0}))
    entry = _bounded(_REPLICAS, _REPLICAS_KEPT)[key] = [load.arch, load.gpu, rep, None]
    return entry


def replica_of(load: ServeLoad) -> Replica:
    """The replica constants of ``load`` (they do not depend on its users or rate)."""
    return _replica_entry(load)[2]


def replica_max_rate(load: ServeLoad) -> float:
    """``max_rate(load, replica_of(load))``, memoised (it does not depend on the load)."""
    entry = _replica_entry(load)
    if entry[3] is None:
        entry[3] = max_rate(load, entry[2])
    return entry[3]


def steady(load: ServeLoad) -> SteadyState:
    """``steady_state(load)``, memoised."""
    key = _shape_key(load) + (load.users, load.rate)
    hit = _STEADY.get(key)
    if hit is not None and hit[0] is load.arch and hit[1] is load.gpu:
        return hit[2]
    state = steady_state(load, replica_of(load))
    _bounded(_STEADY)[key] = (load.arch, load.gpu, state)
    return state


def serve_memory(job: ServeJob, layout: Layout, gpu: GpuSpec, rep: Replica) -> Memory:
    """Bytes per GPU: weights of the largest stage, a full step's activations, CUDA context
    and graphs, and the KV pool the engine allocates (``transformers``: the cache of its one
    sequence). A pool too small for one sequence of ``context`` tokens (the engine would not
    start) is shown as that sequence's KV, so that the total says how far the GPU is from
    holding it."""
    kv = rep.kv_bytes_per_gpu
    if rep.max_running < 1 or rep.engine.serial:
        # plain ``generate`` allocates the cache of its one sequence, not a pool
        kv = kv_bytes_per_token_per_gpu(job.arch, job.kv_precision, layout.tp, layout.pp) \
            * max(job.context, job.prompt + job.output_tokens)
    return build(Memory, weights=int(rep.weight_bytes_per_gpu), gradients=0, optimizer=0,
                 activations=int(rep.activation_bytes), kv_cache=int(kv),
                 overhead=CUDA_CONTEXT_BYTES + SERVE_CUDA_GRAPH_BYTES, host=0)


def evaluate_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> ServeEstimate:
    """Memory per GPU and the steady state of ``job`` served as ``layout`` on ``gpu``s."""
    check_layout(layout)
    load = replica_load(job, layout, gpu)
    rep = replica_of(load)
    memory = serve_memory(job, layout, gpu, rep)
    gpus = layout.tp * layout.pp * layout.replicas
    if rep.max_running < 1:
        return build(ServeEstimate, memory=memory, gpus=gpus, ttft_seconds=math.inf,
                     tpot_seconds=math.inf, tokens_per_second=0.0, requests_per_second=0.0,
                     capacity_requests_per_second=0.0, compute_share=0.0, bandwidth_share=0.0,
                     carried=False, running_limit=0, concurrency=0.0, kv_tokens=rep.kv_tokens)
    worst = steady(load)
    states = _states(job, layout, gpu, load, worst)
    replicas = sum(n for n, _ in states)
    rps = sum(n * s.requests_per_second for n, s in states)
    capacity = layout.replicas * replica_max_rate(load)
    return build(
        ServeEstimate, memory=memory, gpus=gpus,
        ttft_seconds=worst.ttft_seconds, tpot_seconds=worst.tpot_seconds,
        tokens_per_second=rps * job.output_tokens, requests_per_second=rps,
        capacity_requests_per_second=capacity,
        compute_share=sum(n * s.compute_share for n, s in states) / replicas,
        bandwidth_share=sum(n * s.bandwidth_share for n, s in states) / replicas,
        carried=not worst.saturated, running_limit=worst.running_limit,
        concurrency=worst.concurrency, kv_tokens=rep.kv_tokens,
    )


def carried_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> bool | None:
    """``evaluate_serve(job, layout, gpu).carried`` of an open rate without its steady state
    (None for a closed loop, which needs it): a replica whose engine can run a sequence
    carries any rate below its saturation rate (``steady._open``), the figure
    ``replica_max_rate`` memoises for every load of the replica."""
    if job.rate <= 0:
        return None
    load = replica_load(job, layout, gpu)
    return replica_of(load).max_running >= 1 and load.rate < replica_max_rate(load)


def latency_floors_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> tuple[float, float]:
    """Proven lower bounds on (TTFT, TPOT) of ``evaluate_serve(job, layout', gpu)`` for every
    ``layout'`` of ``layout``'s TP and PP whose load is carried, whatever its replicas
    (``steady_floor``)."""
    load = replica_load(job, layout, gpu)
    return mean_latency_floors(load, replica_of(load))


def _states(job: ServeJob, layout: Layout, gpu: GpuSpec, load: ServeLoad,
            worst: SteadyState) -> list[tuple[int, SteadyState]]:
    """(replicas, steady state) of every kind of replica: a closed loop that does not
    divide evenly leaves users % replicas replicas with one user more than the others."""
    if job.rate > 0 or job.users % layout.replicas == 0:
        return [(layout.replicas, worst)]
    fuller = job.users % layout.replicas
    rest = layout.replicas - fuller
    fewer = job.users // layout.replicas
    if fewer == 0:  # the other replicas are idle
        idle = build(SteadyState, **{**worst.__dict__, "requests_per_second": 0.0,
                                     "compute_share": 0.0, "bandwidth_share": 0.0})
        return [(fuller, worst), (rest, idle)]
    return [(fuller, worst), (rest, steady(replica_load(job, layout, gpu, users=fewer)))]


def simulate_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> ServePercentiles:
    """Seeded percentiles of the most loaded replica (``simulate``): same job, same layout,
    same numbers, byte for byte."""
    return _simulated(replica_load(job, layout, gpu))


# Simulations kept: a fleet's rows ask for one per distinct chosen layout and load (and the
# checker again), several hundred at 10,000 workloads; each is tens of milliseconds to redo
# and a few hundred bytes to keep.
_SIMULATIONS_KEPT = 16384


def _run_size(load: ServeLoad) -> tuple[int, float]:
    """(requests, warm-up share) of the simulation of ``load``."""
    if load.users:
        return (max(DEFAULT_REQUESTS, CLOSED_LOOP_ROUNDS * load.users),
                max(WARMUP_SHARE, 1.0 / CLOSED_LOOP_ROUNDS))
    return DEFAULT_REQUESTS, WARMUP_SHARE


def p99_floors_serve(job: ServeJob, layout: Layout, gpu: GpuSpec) -> tuple[float, float]:
    """Proven lower bounds on ``simulate_serve(...)``'s (TTFT p99, TPOT p99) of a closed
    loop, without simulating (0.0: none): a loop far above its replicas' slots waits in the
    queue, and a request's decodes take a step each (``queue_bound``)."""
    return _floors(replica_load(job, layout, gpu))


@functools.lru_cache(maxsize=_SIMULATIONS_KEPT)
def _floors(load: ServeLoad) -> tuple[float, float]:
    rep = replica_of(load)
    if rep.max_running < 1 or not load.users:
        return 0.0, 0.0
    return ttft_p99_floor(load, rep, *_run_size(load)), tpot_p99_floor(load, rep)


@functools.lru_cache(maxsize=_SIMULATIONS_KEPT)
def _simulated(load: ServeLoad) -> ServePercentiles:
    requests, warmup = _run_size(load)
    r = simulate(load, requests=requests, seed=SIMULATION_SEED, warmup=warmup)
    return ServePercentiles(ttft_p50=r.ttft_p50, ttft_p99=r.ttft_p99, tpot_p50=r.tpot_p50,
                            tpot_p99=r.tpot_p99, requests=r.requests)
