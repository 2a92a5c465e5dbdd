"""Proven lower bounds on the TTFT and TPOT 99th percentiles a closed loop's simulation
would give, without running it (docs/estimation.md sec 9.9).

A closed loop of ``users`` far above a replica's running slots keeps a queue of about
``users - slots`` requests: every measured request waits for most of them to be served.
Simulating that takes as many steps as serving ``3 x users`` requests (some 35 us each),
while the wait it must at least come to follows from the simulation's own rules:

* first come, first served with at most ``slots`` running: a request that enters behind
  ``N - 1`` others cannot be admitted before ``N - slots`` of them have finished;
* at most ``slots`` requests are ever started and unfinished (running, or preempted and
  waiting at the head of the queue), so all but ``slots`` of those finishing did all their
  work in between: their prefill, their ``output - 1`` decodes;
* a step of ``e`` decodes takes at least ``g(e)`` = the step of ``e`` decodes at the
  shortest context, so ``e x min(g(1), g(slots) / slots)``; and the steps carrying some
  work take at least one step carrying all of it (a step's time is a sum and maximum of
  constants and concave functions of its tokens and contexts: subadditive).

Which requests see a full queue is settled by the same arguments (the j-th completion
cannot come before the work of j requests), so that the bound holds for enough of the
requests the percentile is taken over. ``ttft_p99_floor`` is 0 where nothing is proven.
``tpot_p99_floor``: a request's decodes take a step each, at least its decode alone.
"""

from __future__ import annotations

import dataclasses
import math

from planner.estimate.simulate import join_span
from planner.estimate.step import Replica, ServeLoad
from planner.frozen import frozen

# The simulation's clock is a sum of floating-point step times (and ``run_sum``'s runs are
# exact to 1e-12): the floor is lowered by this share so that rounding cannot put it above.
ROUNDING_MARGIN = 1e-6


@frozen
class _Work:
    """Step arguments (``Replica.step_parts``) summed over steps: the work some requests
    need, which the steps that serve them carry at least."""

    decodes: float = 0.0
    decode_context: float = 0.0
    prefill: float = 0.0
    prefill_kv: float = 0.0
    prefill_pairs: float = 0.0
    samples: float = 0.0

    def times(self, n: float) -> "_Work":
        return _Work(*(n * v for v in dataclasses.astuple(self)))

    def plus(self, other: "_Work") -> "_Work":
        return _Work(*(a + b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


class _Floor:
    """The bounds of one closed loop's replica."""

    def __init__(self, load: ServeLoad, rep: Replica):
        self.load, self.rep = load, rep
        self.slots = 1 if rep.engine.serial else rep.max_running
        prefill, prompt, out = load.prefill_tokens, float(load.prompt), load.output
        prefix = prompt - prefill
        # a prompt's causal pairs do not depend on how it is cut into chunks: sum of positions
        pairs = prefill * prefix + prefill * (prefill + 1.0) / 2.0
        self.own = _Work(prefill=prefill, prefill_kv=prompt, prefill_pairs=pairs, samples=1.0)
        nd = out - 1
        self.request = self.own.plus(_Work(decodes=nd, decode_context=nd * prompt + nd * out / 2.0,
                                           samples=nd))
        self.decodes = nd  # decode steps a request takes part in after its first token
        # the work bound needs a subadditive step: bitsandbytes' dequantization (added from
        # two tokens) is not, and a step without it is no longer
        lean = rep
        if rep.dequant_dense or rep.dequant_routed:
            lean = dataclasses.replace(rep, dequant_dense=0.0, dequant_routed=0.0)
        self._lean = lean.stepper()
        self.per_decode = self._per_decode(rep.stepper(), prompt)

    def _per_decode(self, step, prompt: float) -> float:
        """Least seconds per decode of a step: g(e) / e is least at e = 1 or e = slots (every
        part of g is a constant plus a concave function of e, past the dequantization's
        switch at 2 tokens), a decode reading at least its prompt's KV."""
        def g(e: float) -> float:
            return step(e, e * (prompt + 1.0), 0.0, 0.0, 0.0, e)[0]

        return min(g(1.0), g(float(self.slots)) / self.slots)

    def seconds(self, work: _Work) -> float:
        """Least time of any steps that carry ``work`` together."""
        w = work
        if w.decodes + w.prefill <= 0:
            return 0.0
        return self._lean(w.decodes, w.decode_context, w.prefill, w.prefill_kv, w.prefill_pairs,
                          w.samples)[0]

    def finished(self, m: int) -> float:
        """Least time from the start (nothing running) to the m-th completion: m requests'
        work and decodes."""
        if m <= 0:
            return 0.0
        return max(self.seconds(self.request.times(m)), m * self.decodes * self.per_decode)

    def queued(self, users: int) -> float:
        """Least TTFT of a request that enters with ``users - 1`` others unfinished: all but
        ``slots - 1`` of them finish before it is admitted, all but ``slots`` of those
        from scratch (the others decode once at least), then its own prefill."""
        done = max(0, users - self.slots)
        fresh = max(0, done - self.slots)
        tail = 1 if self.decodes else 0
        decodes = fresh * self.decodes + (done - fresh) * tail
        work = self.request.times(fresh).plus(self.own)
        return max(self.seconds(work), decodes * self.per_decode)

    def first_full(self, span: float) -> int | None:
        """The least m with ``finished(m) > span`` (None: none, the bound is unbounded only
        for a replica whose steps take no time)."""
        if self.finished(1 << 62) <= span:
            return None
        lo, hi = 1, 1
        while self.finished(hi) <= span:
            lo, hi = hi + 1, hi * 2
        while lo < hi:
            mid = (lo + hi) // 2
            if self.finished(mid) > span:
                hi = mid
            else:
                lo = mid + 1
        return lo


def ttft_p99_floor(load: ServeLoad, rep: Replica, total: int, warmup: float) -> float:
    """A lower bound on ``simulate(load, total, warmup=warmup).ttft_p99`` for a closed loop
    of more requests than users (0.0 for an open rate or a burst): every request's own
    prefill, and where enough of the measured requests provably enter behind every other
    user's request, the wait for those (``_Floor.queued``)."""
    users = load.users
    if not users or total <= users or rep.max_running < 1:
        return 0.0
    f = _Floor(load, rep)
    floor = f.seconds(f.own)
    full = _full_queue_requests(f, users, total, warmup)
    if full >= _at_or_above_p99(total - int(total * warmup)):
        floor = max(floor, f.queued(users))
    return floor * (1.0 - ROUNDING_MARGIN)


def tpot_p99_floor(load: ServeLoad, rep: Replica) -> float:
    """A lower bound on every simulated request's TPOT, so on its 99th percentile: between
    its first and last token a request takes ``output - 1`` decode steps one after another,
    each at least a step of its one decode at the shortest context (0 for one output token)."""
    if load.output < 2 or rep.max_running < 1:
        return 0.0
    one = rep.stepper()(1.0, load.prompt + 1.0, 0.0, 0.0, 0.0, 1.0)[0]
    return one * (1.0 - ROUNDING_MARGIN)


def _full_queue_requests(f: _Floor, users: int, total: int, warmup: float) -> int:
    """Measured requests that provably enter with every user's request in the replica.

    The j-th completion sends the next request of its user (``simulate``: while fewer than
    ``total`` are sent); with every user's first request in, that one enters behind
    ``users - 1`` others. First requests are sent at random moments up to ``join_span``,
    and one sent by then is in the queue before the step that finishes the j-th request
    starts (steps start when arrivals are due; runs of steps stop before an arrival or
    finish nobody), and that step starts after the (j - slots)-th completion (a step
    finishes at most ``slots`` requests), so after ``finished(j - slots)``. Those requests
    enter after every first one: at most ``skip - users`` of them fall in the warm-up the
    statistics leave out."""
    m = f.first_full(join_span(f.load, f.rep))
    if m is None:
        return 0
    first = m + f.slots  # the least j whose request is sent after every first one is in
    sent = max(0, total - users - first + 1)  # j = first .. total - users
    skip = int(total * warmup)
    return max(0, sent - max(0, skip - users))


def _at_or_above_p99(n: int) -> int:
    """Values at or above the 99th percentile of n (``sim_stats.percentile``'s rank)."""
    return n - max(0, math.ceil(99 / 100.0 * n) - 1)
