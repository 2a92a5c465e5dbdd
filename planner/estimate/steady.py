"""Steady state of one serving replica under a closed loop of users or an open request rate.

One model gives throughput, TTFT and TPOT. At a throughput of X requests/s every busy
second carries X x (output - 1) decode tokens and X x prefill tokens; a step of mean length
t therefore holds D = X (output - 1) t / u decodes and P = X prefill t / u prompt tokens
(u: the share of time the replica is busy). The engine's rule says how P is laid into steps:

* mixed (vLLM V1, TensorRT-LLM): prefill chunks of up to budget - D tokens ride in a share
  f of the decode steps, t = (1 - f) T(D, 0) + f T(D, chunk); decodes are slowed by the
  prefill sharing their steps;
* alone (SGLang, vLLM V0): prefill steps of their own between decode steps,
  t = T(D, 0) + (P / chunk) T(0, chunk); decodes wait while a prompt is prefilled;
* serial (plain ``generate``): one request at a time.

t is the fixed point of that equation (D and P grow with t). TPOT = t. TTFT = the rest of
the step in progress + M/D/1 queueing for the prefill lane (utilisation P / (budget - D)) +
the prompt's own prefill steps. A closed loop of N users is the throughput at which Little's
law gives N = X (TTFT + (output - 1) TPOT), with the replica always busy; an open rate X
has u = 1 - exp(-requests in the system). Past the engine's limits (running sequences, KV
memory, token budget) the replica saturates: an open rate then has no steady state
(TTFT is infinite) and a closed loop's extra users wait in the queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from planner.estimate.step import Replica, ServeLoad, replica
from planner.frozen import frozen

_ITERATIONS = 48  # a root search stops by 2 x this many steps (``_bracketed``; a dozen is usual)
# The scan of ``_Model.least_batch``: rungs 2^(1/8) apart (9%) down to a thousandth of a
# sequence per step.
LADDER_STEP = 2.0 ** 0.125
LADDER_FLOOR = 1e-3


@frozen
class SteadyState:
    """One replica's steady state under its load: throughput, mean latencies, shares."""

    fits: bool  # the weights and one request's KV fit the replica
    saturated: bool  # the load exceeds what the replica can carry
    requests_per_second: float
    output_tokens_per_second: float
    ttft_seconds: float  # mean
    tpot_seconds: float  # mean time per output token after the first
    concurrency: float  # requests in the replica (Little's law)
    decoding: float  # mean sequences in a busy step's decode batch
    busy: float  # share of time the replica runs steps
    compute_share: float  # share of the GPUs' peak FLOP/s used, over wall time
    bandwidth_share: float  # share of the GPUs' HBM bandwidth used, over wall time
    running_limit: int  # running sequences the engine and KV memory allow
    kv_tokens: int
    token_budget: int
    output: int  # tokens per request (for the latency)

    @property
    def latency_seconds(self) -> float:
        """Mean time from arrival to the last token."""
        return self.ttft_seconds + self.tpot_seconds * (self.output - 1)


@dataclass(slots=True)  # not frozen: built some 20 times a steady state, never changed
class _Point:
    """The replica at one throughput (requests/s) and the decode batch that carries it."""

    rate: float
    tpot: float
    ttft: float
    decoding: float
    compute: float  # compute seconds at peak per second of steps
    memory: float
    prefill: float  # a request's own prefill steps, without waiting (part of ttft)


class _Model:
    def __init__(self, load: ServeLoad, rep: Replica):
        self.load, self.rep = load, rep
        self._parts = rep.stepper()  # Replica.step_parts without the method call
        self.eng = rep.engine
        self.prefill = load.prefill_tokens
        self.prefix = load.prompt - self.prefill
        self.nd = load.output - 1
        self.ctx = load.prompt + load.output / 2.0  # mean context of a decoding sequence
        self.budget = rep.token_budget
        self.running = rep.max_running
        # bitsandbytes' single-token path: throughput can fall as the batch grows (below)
        self.scan = bool(rep.dequant_dense or rep.dequant_routed)
        # A root search asks for the same decode batch more than once (the throughput and
        # the state at it, the bracket's end again): its rounds are kept, keyed by the batch.
        self._rounds: dict[float, tuple[float, float, float, float]] = {}
        self._last: tuple = (None, None)  # the last step: its arguments and figures

    # ---- steps
    def chunk(self, decodes: float) -> float:
        """Prompt tokens a mixed step carries for one request: the room the decodes leave
        (whole prompts only, unless the engine chunks or no step could hold the prompt)."""
        room = self.budget - decodes
        if self.eng.chunked or self.prefill > self.budget:
            return min(self.prefill, room)
        return self.prefill

    def step(self, decodes: float, prefill: float, chunk: float) -> tuple[float, float, float]:
        """(seconds, compute seconds, memory seconds at peak) of a step with ``decodes``
        decodes and ``prefill`` prompt tokens in chunks of ``chunk`` (``Replica.step``'s
        figures as a tuple: a steady state asks for some seventy steps). The last step is
        kept: a state's own prefill steps (``_own_steps``) are most often the mixed step of
        the round just worked out."""
        key = (decodes, prefill, chunk)
        last = self._last
        if last[0] == key:
            return last[1]
        chunks = prefill / chunk if prefill else 0.0
        kv = chunks * (self.prefix + (self.prefill + chunk) / 2.0)
        pairs = prefill * (self.prefix + (self.prefill + 1.0) / 2.0)
        samples = decodes + prefill / self.prefill
        found = self._parts(decodes, decodes * self.ctx, prefill, kv, pairs, samples)
        self._last = (key, found)
        return found

    # ---- one decode batch
    def limit(self) -> float:
        """The largest mean decode batch the engine's limits allow: its running sequences,
        and for mixed steps the token budget shared with the prefill that batch needs."""
        if self.eng.mixed:
            return min(float(self.running), self.budget / (1.0 + self.prefill / self.nd))
        return float(self.running)

    def round_at(self, d: float) -> tuple[float, float, float, float]:
        """(mean step seconds, prefill tokens per step, compute s, memory s) with ``d``
        decodes per step and the prefill that keeps their requests coming."""
        found = self._rounds.get(d)
        if found is None:
            found = self._rounds[d] = self._round(d)
        return found

    def _round(self, d: float) -> tuple[float, float, float, float]:
        p = d * self.prefill / self.nd
        if self.eng.mixed:
            c = self.chunk(d)
            f, size = (p / c, c) if p <= c else (1.0, p)
            (t0, comp0, mem0), (t1, comp1, mem1) = self.step(d, 0.0, c), self.step(d, size, c)
            return ((1.0 - f) * t0 + f * t1, p, (1.0 - f) * comp0 + f * comp1,
                    (1.0 - f) * mem0 + f * mem1)
        c, size, n = self.prefill_steps(p)
        (t0, comp0, mem0), (t1, comp1, mem1) = self.step(d, 0.0, c), self.step(0.0, size, c)
        return (t0 + n * t1, p, comp0 + n * comp1, mem0 + n * mem1)

    def prefill_steps(self, p: float) -> tuple[float, float, float]:
        """Prefill steps of their own for ``p`` prompt tokens per round: (chunk of one
        prompt, tokens per prefill step, prefill steps per round). The prompts waiting
        together share a step, up to the budget."""
        c = min(self.prefill, self.budget) if self.eng.chunked else self.prefill
        size = min(self.budget, max(c, p))
        return c, size, p / size

    def rate_at(self, d: float, u: float) -> float:
        """Requests/s that keep ``d`` decodes per busy step: u x d / ((output - 1) x t)."""
        return u * d / (self.nd * self.round_at(d)[0]) if d > 0 else 0.0

    def at(self, rate: float, u: float) -> _Point | None:
        """The steady state at ``rate`` requests/s with busy share ``u``, or None beyond the
        replica's limits: the least decode batch that carries ``rate``."""
        if self.nd == 0 or self.eng.serial:
            return self._single(rate)
        d = self.least_batch(lambda x: self.rate_at(x, u), rate * (1.0 - 1e-12), self.limit())
        return None if d is None else self.point_at(d, u)

    def least_batch(self, grows, target: float, hi: float) -> float | None:
        """The least decode batch d in (0, hi] with grows(d) >= target, or None.

        ``grows`` (the throughput, or the requests in the replica) grows with d: a step's
        time grows less than in proportion to its tokens, so a bracketing search finds it. Not so
        with bitsandbytes' 4-bit kernels: a step of one token runs the fused gemv, one of
        two dequantizes every weight, so from one to two tokens a step costs several times
        more and the throughput falls (measured: vllm-project/vllm issue #22780, two
        concurrent requests slower in total than one; docs/estimation.md 9.4). There a
        ladder of batches is scanned first, and the search runs in the first rung that
        reaches the target: the least batch is the state the replica settles in (a
        larger one carrying the same load would have passed through it)."""
        if hi <= 0:
            return None
        grows = _remembered(grows)
        lo = 0.0
        if self.scan:
            for point in self.ladder(hi):
                if grows(point) >= target:
                    hi = point
                    break
                lo = point
            else:
                return None
        elif grows(hi) < target:
            return None
        return _bracketed(lambda d: grows(d) - target, lo, hi)

    def ladder(self, hi: float) -> list[float]:
        """Decode batches a scan visits up to ``hi``: a geometric ladder of LADDER_STEP,
        and the batches where a step of the round crosses one and two tokens (where the
        single-token path ends)."""
        points = {hi}
        x = hi
        while x > LADDER_FLOOR:
            x /= LADDER_STEP
            points.add(x)
        crossings = [1.0, 2.0]
        if not self.eng.mixed:  # a prefill step of P = d x prefill / (output - 1) tokens
            crossings += [self.nd / self.prefill, 2.0 * self.nd / self.prefill]
        points.update(c for c in crossings if 0.0 < c < hi)
        return sorted(points)

    def point_at(self, d: float, u: float) -> _Point:
        """The steady state whose busy steps carry ``d`` decodes."""
        t, _, comp, mem = self.round_at(d)
        rate = u * d / (self.nd * t)
        ttft, own = self._ttft(rate, t, d, u)
        return _Point(rate, t, ttft, d, comp / t, mem / t, own)

    def _ttft(self, rate: float, t: float, d: float, u: float) -> tuple[float, float]:
        """(mean TTFT, the request's own prefill steps in it)."""
        p = rate * self.prefill * t / u
        if self.eng.mixed:
            c = self.chunk(d)
            size = c if p <= c else p
            service = self._own_steps(d, c, size)
            rho = p / (self.budget - d)
            residual = u * t / 2.0
        else:
            # the prefill lane is busy for the prefill steps' share of the time; a prompt
            # waits for the step in progress, the queue, then its own prefill steps (each
            # shared with the prompts waiting beside it)
            c, size, n = self.prefill_steps(p)
            t0, t1 = self.step(d, 0.0, c)[0], self.step(0.0, size, c)[0]
            service = self._own_steps(0.0, c, size)
            rho = u * n * t1 / (t0 + n * t1)
            residual = u * t0 / 2.0
        if rho >= 1.0:
            return math.inf, service
        return residual + rho / (2.0 * (1.0 - rho)) * service + service, service

    def _own_steps(self, d: float, c: float, size: float) -> float:
        """Seconds of the steps that prefill one prompt in chunks of ``c`` tokens, beside
        ``d`` decodes, each step carrying ``size`` prompt tokens: ceil(prompt / c) of them,
        the last with what the full chunks leave (when the steps carry only this prompt)."""
        k = math.ceil(self.prefill / c - 1e-9)
        if size > c or k == 1:
            return k * self.step(d, size, c)[0]
        last = self.prefill - (k - 1) * c
        return (k - 1) * self.step(d, c, c)[0] + self.step(d, last, last)[0]

    def _single(self, rate: float) -> _Point | None:
        """One request at a time: serial engines, and requests of a single output token (one
        prefill each; a batching engine would put several in a step, so this is conservative)."""
        c = self.prefill
        pre, pre_comp, pre_mem = self.step(0.0, c, c)
        dec, dec_comp, dec_mem = self.step(1.0, 0.0, c)
        service = pre + self.nd * dec
        rho = rate * service
        if rho >= 1.0:
            return None
        ttft = rho / (2.0 * (1.0 - rho)) * service + pre
        comp = (pre_comp + self.nd * dec_comp) / service
        mem = (pre_mem + self.nd * dec_mem) / service
        return _Point(rate, dec if self.nd else 0.0, ttft, 1.0, comp, mem, pre)

    # ---- capacity
    def capacity(self) -> float:
        """The largest throughput (requests/s) with a steady state, replica always busy."""
        if self.running < 1:
            return 0.0
        if self.nd == 0 or self.eng.serial:
            c = self.prefill
            return 1.0 / (self.step(0.0, c, c)[0] + self.nd * self.step(1.0, 0.0, c)[0])
        hi = self.limit()
        if self.scan:  # the throughput may peak below the limit (``least_batch``)
            return max(self.rate_at(x, 1.0) for x in self.ladder(hi))
        return self.rate_at(hi, 1.0)


def _remembered(f):
    """``f`` with its values kept by argument: a search evaluates its bracket's end twice
    (``least_batch`` checks it can reach the target, ``_bracketed`` starts from it)."""
    seen: dict[float, float] = {}

    def remembered(x: float) -> float:
        value = seen.get(x)
        if value is None:
            value = seen[x] = f(x)
        return value

    return remembered


def _bracketed(gap, lo: float, hi: float) -> float:
    """The least x in (lo, hi] with gap(x) >= 0, gap growing, gap(hi) >= 0, to a relative
    1e-12: regula falsi (Illinois) where the bracket shrinks, a bisection step where two steps
    did not halve it (gap may jump: bitsandbytes' rungs), so at most about 90 evaluations and
    usually a dozen. ``lo`` itself is never evaluated (a decode batch of 0 has no state)."""
    g_lo, g_hi = -1.0, gap(hi)
    side, widths = 0, [hi - lo, hi - lo]
    for _ in range(_ITERATIONS * 2):
        if hi - lo <= 1e-12 * hi:
            break
        if hi - lo > 0.5 * widths[-2] or g_hi <= g_lo:
            x = 0.5 * (lo + hi)
        else:
            x = (lo * g_hi - hi * g_lo) / (g_hi - g_lo)
            if not lo < x < hi:
                x = 0.5 * (lo + hi)
        widths.append(hi - lo)
        g = gap(x)
        if g >= 0.0:
            hi, g_hi = x, g
            g_lo = g_lo / 2.0 if side == -1 else g_lo
            side = -1
        else:
            lo, g_lo = x, g
            g_hi = g_hi / 2.0 if side == 1 else g_hi
            side = 1
    return hi


def _busy(point: _Point, nd: int) -> float:
    """Share of time a replica at ``point`` is busy: 1 - P(no request in service), requests
    in service taken as Poisson (an M/G/infinity view of independent arrivals), each for
    its own prefill and decode steps. Its waits (for the step in progress, in the prefill
    queue) are spent while the replica serves others: they add no busy time."""
    return 1.0 - math.exp(-point.rate * (point.prefill + nd * point.tpot))


def steady_state(load: ServeLoad, rep: Replica | None = None) -> SteadyState:
    """Throughput, mean TTFT and TPOT, concurrency and hardware shares of ``load`` (``rep``:
    its replica, when the caller has it)."""
    rep = rep or replica(load)
    m = _Model(load, rep)
    if rep.max_running < 1:
        return _state(load, rep, None, fits=False, saturated=True)
    cap = m.capacity()
    if load.rate > 0:
        return _open(load, rep, m, cap)
    return _closed(load, rep, m, cap)


def _open(load: ServeLoad, rep: Replica, m: _Model, cap: float) -> SteadyState:
    if m.eng.serial or m.nd == 0:
        if load.rate >= cap:
            return _state(load, rep, m._single(0.0), saturated=True, rate=cap, ttft=math.inf)
        return _state(load, rep, m._single(load.rate), busy=load.rate / cap)
    if load.rate >= cap:
        return _state(load, rep, m.point_at(m.limit(), 1.0), saturated=True, rate=cap,
                      ttft=math.inf)
    u, point = _busy_share(m, load.rate)
    return _state(load, rep, point, busy=u)


def _busy_share(m: _Model, rate: float) -> tuple[float, _Point]:
    """The open loop's busy share u and its steady state. A decode batch d carries ``rate``
    when the replica is busy u(d) = rate (O - 1) t(d) / d of the time; the M/G/infinity view
    says it is busy busy(d) = 1 - exp(-rate x (its prefill + (O - 1) t(d))). u falls and busy
    grows with d, so the state is the least d where busy(d) reaches u(d) (bisection; a scan
    first for bitsandbytes, ``least_batch``). A u(d) above 1 cannot be."""
    def needed(d: float) -> float:
        return rate * m.nd * m.round_at(d)[0] / d

    def gap(d: float) -> float:  # continuous: below 0 while u(d) > 1, which cannot be
        u = needed(d)
        return _busy(m.point_at(d, min(u, 1.0)), m.nd) - u

    d = m.least_batch(gap, 0.0, m.limit())
    if d is None:  # busier than the Poisson view says even at the largest batch
        d = m.limit()
    u = min(1.0, needed(d))
    return u, m.point_at(d, u)


def _closed(load: ServeLoad, rep: Replica, m: _Model, cap: float) -> SteadyState:
    n = load.users
    if m.eng.serial or m.nd == 0:
        # the replica works through the users' requests back to back: Little's law gives
        # the wait, N = X (TTFT + (output - 1) TPOT) at X = capacity
        point = m._single(0.0)
        ttft = max(point.ttft, n / cap - m.nd * point.tpot)
        return _state(load, rep, point, rate=cap, ttft=ttft, busy=1.0, saturated=n > rep.max_running)

    def in_system(p: _Point) -> float:
        return p.rate * (p.ttft + m.nd * p.tpot)

    d = m.least_batch(lambda x: in_system(m.point_at(x, 1.0)), n, m.limit())
    if d is None:  # every running slot busy: the other users wait in the queue
        top = m.point_at(m.limit(), 1.0)
        extra = (n - in_system(top)) / top.rate
        return _state(load, rep, top, ttft=top.ttft + extra, saturated=True, busy=1.0)
    return _state(load, rep, m.point_at(d, 1.0), busy=1.0)


def _state(load: ServeLoad, rep: Replica, point: _Point | None, *, fits: bool = True,
           saturated: bool = False, rate: float | None = None, ttft: float | None = None,
           busy: float = 1.0) -> SteadyState:
    if point is None:
        return SteadyState(fits=fits, saturated=True, requests_per_second=0.0,
                           output_tokens_per_second=0.0, ttft_seconds=math.inf,
                           tpot_seconds=math.inf, concurrency=0.0, decoding=0.0, busy=0.0,
                           compute_share=0.0, bandwidth_share=0.0,
                           running_limit=rep.max_running, kv_tokens=rep.kv_tokens,
                           token_budget=rep.token_budget, output=load.output)
    x = point.rate if rate is None else rate
    first = point.ttft if ttft is None else ttft
    nd = load.output - 1
    return SteadyState(
        fits=fits, saturated=saturated, requests_per_second=x,
        output_tokens_per_second=x * load.output, ttft_seconds=first, tpot_seconds=point.tpot,
        concurrency=x * (first + nd * point.tpot), decoding=point.decoding, busy=busy,
        compute_share=busy * point.compute, bandwidth_share=busy * point.memory,
        running_limit=rep.max_running, kv_tokens=rep.kv_tokens, token_budget=rep.token_budget,
        output=load.output,
    )


def max_rate(load: ServeLoad, rep: Replica | None = None) -> float:
    """Requests/s the replica of ``load`` sustains at most (its saturation throughput)."""
    rep = rep or replica(load)
    return _Model(load, rep).capacity() if rep.max_running >= 1 else 0.0
