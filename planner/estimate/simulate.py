"""A small deterministic discrete-event simulation of one serving replica.

Requests arrive as a Poisson process at ``rate`` (exponential gaps from a seeded
``random.Random``) or from a closed loop of ``users`` (each sends its next request when the
previous one finished). Every step the engine's rule picks the batch, the step lasts
``Replica.step_parts`` (the same step model as the steady state), and the clock moves on:

* vLLM V1 (mixed, chunked): running requests first, in admission order -- a decode takes one
  token, a partly prefilled prompt the rest of it -- within ``max_num_batched_tokens``; then
  waiting requests first come first served while budget, running slots and free KV last, the
  last one cut to the remaining budget. KV is taken as tokens are computed; when it runs out
  the newest running request is preempted and recomputed later
  (vllm/v1/core/sched/scheduler.py);
* TensorRT-LLM (mixed, whole prompts): the same order, but a request is admitted only when
  KV for its prompt and output is free (GUARANTEED_NO_EVICT) and its whole prompt fits the
  step's remaining token budget;
* SGLang, vLLM V0 (prefill alone): a step is either a prefill of waiting prompts (up to the
  chunk size; SGLang cuts a longer prompt) or a decode of every running request; prefill
  first whenever a prompt waits and a slot is free;
* serial (plain ``generate``): one request's prefill, then its decodes, then the next.

Same load and seed, same numbers, byte for byte.
"""

from __future__ import annotations

import math
import random
from collections import deque

from planner.estimate.sim_stats import SimResult, run_sum, statistics
from planner.estimate.step import Replica, ServeLoad, per_sequence_kv, replica

DEFAULT_REQUESTS = 400  # requests per run when the caller gives none
WARMUP_SHARE = 0.1  # first completed requests left out of the statistics


class _Req:
    __slots__ = ("arrival", "todo", "computed", "generated", "first", "last", "kv", "itl")

    def __init__(self, arrival: float, prompt: float):
        self.arrival = arrival
        self.todo = prompt  # tokens to prefill (prompt, or prompt + output after preemption)
        self.computed = 0.0  # of todo
        self.generated = 0
        self.first = -1.0
        self.last = 0.0
        self.kv = 0.0  # KV tokens held
        self.itl = 0.0  # sum of inter-token gaps


def join_span(load: ServeLoad, rep: Replica) -> float:
    """The window over which a closed loop's users send their first requests: one
    request's time with every user decoding (its prefill, then its decodes)."""
    n, ctx, out = load.users, load.prompt + load.output / 2.0, load.output
    prefill = load.prefill_tokens
    pre = rep.step_parts(0.0, 0.0, prefill, load.prompt - prefill + prefill, 0.0, 1.0)[0]
    dec = rep.step_parts(n, n * ctx, 0.0, 0.0, 0.0, n)[0]
    return pre + (out - 1) * dec


class _Sim:
    def __init__(self, load: ServeLoad, rep: Replica, total: int, seed: int):
        self.load, self.rep, self.eng = load, rep, rep.engine
        self.parts = rep.stepper()  # ``Replica.step_parts`` without the method call
        self.prefill = load.prefill_tokens
        self.prefix = load.prompt - self.prefill
        self.out = load.output
        self.total = total
        self.rng = random.Random(seed)
        self.now = 0.0
        self.waiting: deque[_Req] = deque()
        self.running: list[_Req] = []
        self.kv_free = float(rep.kv_tokens)
        self.reserve = per_sequence_kv(load, self.eng) if self.eng.reserve_output else 0.0
        self.done: list[_Req] = []
        self.issued = 0
        self.arrivals: deque[float] = deque()
        self.preemptions = self.steps = 0
        self.compute = self.memory = self.running_area = 0.0

    # ---- arrivals
    def start(self) -> None:
        if self.load.rate > 0:
            t = 0.0
            for _ in range(self.total):
                t += self.rng.expovariate(self.load.rate)
                self.arrivals.append(t)
        elif self.total <= self.load.users:  # a burst: every request at once
            for _ in range(self.total):
                self._issue(0.0)
        else:  # a closed loop: users join at random over one request's time, so that
            # identical requests do not march in lock step
            span = join_span(self.load, self.rep)
            for t in sorted(self.rng.uniform(0.0, span) for _ in range(self.load.users)):
                self.arrivals.append(t)

    def _issue(self, t: float) -> None:
        self.issued += 1
        self.waiting.append(_Req(t, self.prefill))

    def _admit_arrivals(self) -> None:
        while self.arrivals and self.arrivals[0] <= self.now:
            self._issue(self.arrivals.popleft())

    # ---- batch selection
    def _batch(self) -> list[tuple[_Req, float]]:
        if self.eng.serial:
            return self._serial()
        if self.eng.mixed:
            return self._mixed()
        return self._alone()

    def _kv_take(self, req: _Req, n: float) -> bool:
        if self.eng.reserve_output:
            return True  # reserved at admission
        if self.kv_free < n:
            return False
        self.kv_free -= n
        req.kv += n
        return True

    def _release(self, req: _Req) -> None:
        self.kv_free += self.reserve if self.eng.reserve_output else req.kv
        req.kv = 0.0

    def _preempt(self) -> _Req:
        """Free the newest running request (recompute later), vLLM's FCFS preemption."""
        victim = self.running.pop()
        self._release(victim)
        victim.todo = self.prefill + victim.generated  # recompute prompt and outputs
        victim.computed = 0.0
        self.waiting.appendleft(victim)
        self.preemptions += 1
        return victim

    def _take_or_preempt(self, req: _Req, n: float) -> bool:
        """KV for ``n`` more tokens of ``req``, preempting newer requests; False if ``req``
        itself had to go."""
        while not self._kv_take(req, n):
            if self._preempt() is req:
                return False
        return True

    def _admission(self, req: _Req, budget: float) -> float | None:
        """Tokens the waiting ``req`` would be admitted with in a step with ``budget`` tokens
        left, or None while it must wait: no budget, no running slot, a whole prompt that
        does not fit the step (an engine that does not chunk), not enough free KV."""
        if budget <= 0 or len(self.running) >= self.rep.max_running:
            return None
        need = req.todo - req.computed
        if need > budget:
            # a prompt no step could hold is cut even by an engine that does not chunk
            if not self.eng.chunked and need <= self.rep.token_budget:
                return None
            need = budget
        if self.kv_free < (self.reserve if self.eng.reserve_output else need):
            return None
        return need

    def _admit(self, picked: list[tuple[_Req, float]], budget: float) -> float:
        """Waiting requests, first come first served, while budget, slots and KV last."""
        while self.waiting:
            req = self.waiting[0]
            need = self._admission(req, budget)
            if need is None:
                break
            if self.eng.reserve_output:
                self.kv_free -= self.reserve
            else:
                self._kv_take(req, need)
            self.waiting.popleft()
            self.running.append(req)
            picked.append((req, need))
            budget -= need
        return budget

    def _mixed(self) -> list[tuple[_Req, float]]:
        budget = float(self.rep.token_budget)
        picked: list[tuple[_Req, float]] = []
        preempted = self.preemptions
        reserve = self.eng.reserve_output
        i = 0
        while i < len(self.running) and budget > 0:
            req = self.running[i]
            left = req.todo - req.computed
            need = left if left > 0 else 1.0
            if budget < need:  # min(need, budget) without the call
                need = budget
            if reserve:
                pass  # KV reserved at admission (``_kv_take``)
            elif self.kv_free >= need:  # ``_kv_take`` inline: it succeeds
                self.kv_free -= need
                req.kv += need
            elif not self._take_or_preempt(req, need):
                break
            picked.append((req, need))
            budget -= need
            i += 1
        if self.preemptions == preempted:  # vLLM admits nothing in a step that preempted
            self._admit(picked, budget)
        return picked

    def _alone(self) -> list[tuple[_Req, float]]:
        budget = float(self.rep.token_budget)
        picked: list[tuple[_Req, float]] = []
        for req in self.running:  # a prompt cut by the chunk size continues first
            if req.computed < req.todo and budget > 0:
                need = min(req.todo - req.computed, budget)
                if not self._kv_take(req, need):
                    break
                picked.append((req, need))
                budget -= need
        self._admit(picked, budget)
        if picked:
            return picked
        i = 0
        while i < len(self.running):  # decode step: every running request, one token
            req = self.running[i]
            if not self._take_or_preempt(req, 1.0):
                break
            picked.append((req, 1.0))
            i += 1
        return picked

    def _serial(self) -> list[tuple[_Req, float]]:
        if not self.running and self.waiting:
            req = self.waiting.popleft()
            self.running.append(req)
            return [(req, req.todo)]
        return [(r, 1.0) for r in self.running]

    def _decode_alone(self, req: _Req) -> None:
        """All remaining decodes of the one running request of a serial engine, at once:
        nothing else can run meanwhile, so the steps' sum is all the clock needs."""
        n = self.out - req.generated
        self._decode_run(n)
        req.generated = self.out - 1
        self._advance(req, 1.0, gap=0.0)

    def _decode_run(self, k: int, parts=None) -> None:
        """Advance ``k`` decode steps of the running requests (none prefilling, none
        finishing before the last step, none admitted meanwhile); their tokens, clock and
        totals. The caller completes those the last step finished. ``parts``: the batch's
        ``_decode_parts``, when the caller has them."""
        self._run(k, self.running, None, 0.0, parts)

    def _decode_parts(self):
        """Step j of the running batch decoding from now (j = 0, 1, ...), each step worked
        out once: a run's search for the next arrival and its sum ask for the same steps."""
        d = float(len(self.running))
        c0 = float(sum(self.load.prompt + r.generated for r in self.running))
        step, known = self.parts, {}

        def parts(j: int) -> tuple[float, float, float]:
            found = known.get(j)
            if found is None:
                found = known[j] = step(d, c0 + j * d, 0.0, 0.0, 0.0, d)
            return found

        return parts

    def _run(self, k: int, decoders: list[_Req], chunk: _Req | None, size: float,
             parts=None) -> None:
        """Advance ``k`` identical steps: each of ``decoders`` takes one token and ``chunk``
        (if any) ``size`` tokens of its prompt, which it does not finish; nothing else runs
        or is admitted, nothing finishes before the last step. Every step argument is linear
        in the step number, so the steps' sum comes from ``_sum``."""
        d = float(len(decoders))
        if chunk is None:
            parts = parts or self._decode_parts()
        else:
            c0 = float(sum(self.load.prompt + r.generated for r in decoders))
            s0, tri, step = self.prefix + chunk.computed, size * (size + 1.0) / 2.0, self.parts

            def parts(j: int) -> tuple[float, float, float]:
                start = s0 + j * size
                return step(d, c0 + j * d, size, start + size, size * start + tri, d)
        seconds, comp, mem = run_sum(parts, 0, k - 1)
        self.running_area += len(self.running) * seconds
        self.now += seconds
        self.steps += k
        self.compute += comp
        self.memory += mem
        for r in decoders:
            r.itl += self.now - r.last
            r.last = self.now
            r.generated += k
        if chunk is not None:
            chunk.computed += k * size
        if not self.eng.reserve_output:
            for r in decoders:
                r.kv += k
            if chunk is not None:
                chunk.kv += k * size
            self.kv_free -= (d + size) * k

    def _fast_forward(self) -> bool:
        """Run, at once, the steps until the next event: a completion, an arrival, a prompt
        finished, KV running out. Either every running request decodes, in one step, and no
        waiting request can join (the steps are then the same rule applied to a batch that
        only grows its contexts), or a prompt is cut at the token budget step after step
        (``_chunk_forward``)."""
        if not self.running or self.eng.serial:
            return False
        most = 0  # tokens of the request furthest on
        for i, r in enumerate(self.running):
            if r.computed < r.todo:
                return self._chunk_forward(i, r)
            if r.generated > most:
                most = r.generated
        d = len(self.running)
        # budget a waiting request would meet; a mixed engine runs no more requests than
        # its budget has tokens (each joined with one at least), so each of them decodes
        left = float(self.rep.token_budget) - (d if self.eng.mixed else 0)
        # A waiting head that cannot join now cannot join during the run: its budget and
        # the slots stay as they are and free KV only shrinks; arrivals queue behind it.
        blocked = bool(self.waiting) and self._admission(self.waiting[0], left) is None
        if self.waiting and not blocked:
            return False
        # up to the first completion, that step included (it decodes the same batch), except
        # when arrivals may land during the run while the queue is blocked: stepping would
        # queue them before the request a closed loop sends on that completion
        k = self.out - most - (1 if blocked and self.arrivals else 0)
        if not self.eng.reserve_output:
            k = min(k, int(self.kv_free // d))
        if k < 2:
            return False
        parts = self._decode_parts()
        if self.arrivals and not blocked:  # every step run must start before the next arrival
            k = self._before_arrival(k, parts)
            if k < 2:
                return False
        self._decode_run(k, parts)
        if most + k >= self.out:  # the furthest finished (and any as far on)
            for req in [r for r in self.running if r.generated >= self.out]:  # in batch order
                self._complete(req)
        return True

    def _before_arrival(self, k: int, parts=None) -> int:
        """The most of the next ``k`` decode steps of the running batch that all start
        before the next arrival (at least 1: the first starts now); ``parts``: the batch's
        ``_decode_parts``."""
        gap = self.arrivals[0] - self.now
        parts = parts or self._decode_parts()

        def fits(n: int) -> bool:  # step n (of 1..k) starts before the arrival
            return n == 1 or run_sum(parts, 0, n - 2)[0] < gap

        # A step takes no less than the first and no more than the last (contexts only grow),
        # so the answer lies in a narrow window; checked at both ends, else the whole range.
        lo, hi = 1, k
        first = parts(0)[0]
        if first > 0:
            top = min(k, int(gap / first * (1.0 + 1e-9)) + 2)
            least = min(top, max(1, int(gap / parts(top - 1)[0] * (1.0 - 1e-9)) + 1))
            if fits(least) and (top == k or not fits(top + 1)):
                lo, hi = least, top
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if fits(mid):
                lo = mid
            else:
                hi = mid - 1
        return lo

    def _chunk_forward(self, i: int, chunk: _Req) -> bool:
        """A long prompt cut at the token budget: until its last chunk, every step is the
        same batch. The batch picks running requests in order, so the decoding ones before
        the first prompt take a token each (a mixed engine; a prefill-only engine runs the
        prompt alone) and the prompt takes all the budget left: the requests after it and
        every waiting one get nothing, whatever arrives. Stops before the prompt's last
        chunk, a completion and KV running out. ``chunk``: the first running request still
        prefilling, ``i`` its place."""
        size = float(self.rep.token_budget - (i if self.eng.mixed else 0))
        left = chunk.todo - chunk.computed
        if size <= 0 or left <= size:
            return False
        k = math.ceil((left - size) / size)  # steps that each leave more than a chunk
        if k < 2:  # the limits below only lower it
            return False
        decoders = self.running[:i] if self.eng.mixed else []
        if decoders:
            k = min(k, min(self.out - r.generated for r in decoders) - 1)
        if not self.eng.reserve_output:
            k = min(k, int(self.kv_free // (len(decoders) + size)))
        if k < 2:
            return False
        self._run(k, decoders, chunk, size)
        return True

    # ---- one step
    def step(self) -> bool:
        self._admit_arrivals()
        if self.eng.serial and self.running and self.running[0].generated:
            self._decode_alone(self.running[0])
            return True
        if self._fast_forward():
            return True
        picked = self._batch()
        if not picked:
            if self.arrivals:
                self.now = max(self.now, self.arrivals[0])
                return True
            if self.waiting or self.running:
                raise ValueError("the replica can no longer schedule its waiting requests")
            return False
        dec = dec_ctx = pre = pre_kv = pairs = samples = 0.0
        prompt = self.load.prompt
        for req, n in picked:
            if req.computed < req.todo:
                start = self.prefix + req.computed
                pre += n
                pre_kv += start + n
                pairs += n * start + n * (n + 1.0) / 2.0
                if req.computed + n >= req.todo:
                    samples += 1.0
            else:
                dec += 1.0
                dec_ctx += prompt + req.generated
        samples += dec
        seconds, comp, mem = self.parts(dec, dec_ctx, pre, pre_kv, pairs, samples)
        self.running_area += len(self.running) * seconds
        self.now += seconds
        self.steps += 1
        self.compute += comp
        self.memory += mem
        now, out = self.now, self.out
        for req, n in picked:
            if req.computed < req.todo:
                self._advance(req, n)
            else:  # ``_advance`` of a decode, inline
                req.generated += 1
                req.itl += now - req.last
                req.last = now
                if req.generated >= out:
                    self._complete(req)
        return True

    def _advance(self, req: _Req, n: float, gap: float | None = None) -> None:
        if req.computed < req.todo:
            req.computed += n
            if req.computed < req.todo:
                return
            if req.first < 0:  # a recomputed request keeps its first token time
                req.first = self.now
                req.generated = 1
                req.last = self.now
        else:
            req.generated += 1
            req.itl += self.now - req.last if gap is None else gap
            req.last = self.now
        if req.generated >= self.out:
            self._complete(req)

    def _complete(self, req: _Req) -> None:
        """``req`` has its last token: it leaves, and in a closed loop its user sends the next."""
        self.running.remove(req)
        self._release(req)
        self.done.append(req)
        if self.load.users and self.issued + len(self.arrivals) < self.total:
            self._issue(self.now)


def simulate(load: ServeLoad, requests: int = 0, seed: int = 0,
             warmup: float = WARMUP_SHARE) -> SimResult:
    """Run ``requests`` requests of ``load`` through one replica; percentiles and means.

    A closed loop with ``requests <= users`` is a burst: every request at time 0, all of
    them counted. Otherwise the first ``warmup`` share of completions is left out.
    """
    rep = replica(load)
    total = requests or DEFAULT_REQUESTS
    if rep.max_running < 1:
        raise ValueError("the model does not fit this replica")
    sim = _Sim(load, rep, total, seed)
    sim.start()
    while sim.step():
        pass
    burst = bool(load.users) and total <= load.users
    return statistics(sim, load, 0.0 if burst else warmup)
