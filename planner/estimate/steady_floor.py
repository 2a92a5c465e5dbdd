"""Proven lower bounds on the mean TTFT and TPOT of every carried steady state of one
replica, whatever its users or rate (docs/estimation.md sec 9.10).

The serving search asks, shape by shape, for the fewest replicas whose steady state meets
a service's mean latency limits, trying several replica counts of a shape before it
concludes that none does. Where a bound below is above a limit, no replica count can meet
it, and the search skips those steady states (docs/solve.md, "Pruning"). Two facts of the
step (``Replica.step_parts``) carry the bounds, the ones ``queue_bound`` rests on: a step's
time grows with each of its arguments, and without bitsandbytes' dequantization it is
subadditive (the steps that carry some work take at least one step carrying all of it).

* TTFT: every state's TTFT is its queueing terms (at least 0) plus the prompt's own steps
  (``_Model._ttft``, ``_Model._single``), which carry its whole prefill between them.
* TPOT: every state's TPOT is a round (``_Model._round``) at least its decode step alone,
  of a positive decode batch (a state at batch 0 would divide by zero), so at least a step
  of the least positive float's tokens; a serial engine's is one decode step.
"""

from __future__ import annotations

import dataclasses
import math

from planner.estimate.queue_bound import ROUNDING_MARGIN
from planner.estimate.step import Replica, ServeLoad

# ``_Model._own_steps`` counts ceil(prefill / chunk - 1e-9) chunks: they may carry 1e-9 of a
# chunk (at most of the prompt) less than the prompt, and the division rounds once more.
CHUNK_SLACK = 2e-9


def mean_latency_floors(load: ServeLoad, rep: Replica) -> tuple[float, float]:
    """(TTFT, TPOT) at most those of ``steady_state(load', rep)`` for every ``load'`` that
    differs from ``load`` in its users or rate alone and whose state is carried (not
    saturated); each lowered by ``ROUNDING_MARGIN`` for the floating-point sums."""
    eng = rep.engine
    prefill = load.prefill_tokens
    prefix = load.prompt - prefill
    nd = load.output - 1
    whole = prefill
    if not (eng.serial or nd == 0 or eng.mixed or eng.chunked):
        # whole prompts in prefill steps of their own (vLLM V0): a prompt over the token
        # budget is one step of the budget (``_Model.prefill_steps``)
        whole = min(prefill, float(rep.token_budget))
    carried = whole * (1.0 - CHUNK_SLACK)
    lean = rep
    if rep.dequant_dense or rep.dequant_routed:
        lean = dataclasses.replace(rep, dequant_dense=0.0, dequant_routed=0.0)
    # the prompt's own steps together: its tokens, their causal pairs and sampled rows (the
    # step of a chunk of c tokens counts c x (prefix + (prefill + 1) / 2) pairs)
    ttft = lean.stepper()(0.0, 0.0, carried, 0.0, carried * (prefix + (prefill + 1.0) / 2.0),
                          carried / prefill)[0]
    tpot = rep.stepper()(math.ulp(0.0), 0.0, 0.0, 0.0, 0.0, 0.0)[0] if nd else 0.0
    return ttft * (1.0 - ROUNDING_MARGIN), tpot * (1.0 - ROUNDING_MARGIN)
