"""Memory per GPU of many training layouts of one (job, GPU) pair, sharing what they share.

The training search takes the memory of some 20,000 layouts per model and GPU type before
it times any (planner.search.frontier). Most of them differ in a knob one of the two parts
of the memory does not read: the model states (``train.model_states``) read neither the
micro-batch, the recomputation nor the interleaving; the activations
(``train.train_activation_bytes``) read neither ZeRO, offload, sharding, EP nor DP but
through the micro-batches per step. Each part is kept by the fields it reads; the memory
is then put together as ``evaluate_train`` puts it (``train.memory_of``), the same numbers.
"""

from __future__ import annotations

import copy

from planner.estimate.train import (
    ModelStates, _check_train_layout, memory_of, model_states, train_activation_bytes,
    train_base,
)
from planner.estimate.types import GpuSpec, Layout, Memory, TrainJob


class MemoryProbe:
    """``evaluate_train(job, layout, gpu).memory`` for many layouts (``memory``), and the
    model states the time floors read (``states``)."""

    def __init__(self, job: TrainJob, gpu: GpuSpec):
        self.job, self.gpu = job, gpu
        self.base = train_base(job, gpu)
        # a paged optimizer's spill changes the states it is applied to: a copy each time
        self._paged = job.optimizer.startswith("paged")
        self._states: dict[tuple, ModelStates] = {}
        self._activations: dict[tuple, float] = {}

    def states(self, layout: Layout) -> ModelStates:
        """The model states of ``layout`` before any paging; shared, not to be changed."""
        key = (layout.tp, layout.pp, layout.dp, layout.ep, layout.zero, layout.offload,
               layout.cp, layout.shard)
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = model_states(self.base, layout)
        return found

    def memory(self, layout: Layout) -> Memory:
        base = self.base
        micro_batches = -(-self.job.global_batch // (layout.dp * layout.micro_batch))
        _check_train_layout(base, layout, micro_batches)
        key = (layout.tp, layout.pp, layout.sp, layout.cp, layout.micro_batch, layout.recompute,
               layout.vpp, layout.flash_attention, micro_batches)
        activations = self._activations.get(key)
        if activations is None:
            activations = self._activations[key] = train_activation_bytes(base, layout,
                                                                          micro_batches)
        states = self.states(layout)
        return memory_of(base, copy.copy(states) if self._paged else states, activations)


__all__ = ["MemoryProbe"]
