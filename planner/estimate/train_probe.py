"""Memory per GPU of many training layouts of one (job, GPU) pair, sharing what they share.

The training search takes the memory of some 20,000 layouts per model and GPU type before
it times any (planner.search.frontier). Most of them differ in a knob one of the two parts
of the memory does not read: the model states (``train.model_states``) read neither the
micro-batch, the recomputation nor the interleaving; the activations
(``train.train_activation_bytes``) read neither ZeRO, offload, sharding, EP nor DP but
through the micro-batches per step. Each part is kept by the fields it reads; the memory
is then put together as ``evaluate_train`` puts it (``train.memory_of``), the same numbers.
The climbs' seconds are ``evaluate_train``'s too, their compute and exposed communication
kept by what those read (``train_time.exposed_step``).
"""

from __future__ import annotations

import copy

from planner.estimate import rent
from planner.estimate.common import build
from planner.estimate.train import (
    ModelStates, _check_train_layout, activation_overhead, memory_of, model_states,
    train_activation_bytes, train_base,
)
from planner.estimate import timing as T
from planner.estimate.train_time import exposed_step, offloaded_step, step_compute, traffic
from planner.estimate.types import GpuSpec, Layout, Memory, TrainJob


class MemoryProbe:
    """``evaluate_train(job, layout, gpu)``'s memory (``memory``, its total and host bytes
    alone: ``total``) and seconds (``seconds``) for many layouts, and the model states the
    time floors read (``states``)."""

    def __init__(self, job: TrainJob, gpu: GpuSpec):
        self.job, self.gpu = job, gpu
        self.base = train_base(job, gpu)
        self.usable = gpu.train_usable_bytes  # GpuSpec works it out at each read
        # a paged optimizer's spill changes the states it is applied to: a copy each time
        self._paged = job.optimizer.startswith("paged")
        self._states: dict[tuple, ModelStates] = {}
        self._activations: dict[tuple, float] = {}
        # the parts of Memory.total each part of the memory gives, as the ints Memory holds
        self._state_bytes: dict[tuple, tuple[int, int]] = {}  # (weights + grads + optimizer, host)
        self._activation_bytes: dict[tuple, int] = {}  # activations + overhead
        self._host: dict[tuple[int, int], bool] = {}
        self._exposed: dict[tuple, tuple[float, float, float, float]] = {}

    def states(self, layout: Layout) -> ModelStates:
        """The model states of ``layout`` before any paging; shared, not to be changed."""
        key = (layout.tp, layout.pp, layout.dp, layout.ep, layout.zero, layout.offload,
               layout.cp, layout.shard)
        found = self._states.get(key)
        if found is None:
            found = self._states[key] = model_states(self.base, layout)
        return found

    def memory(self, layout: Layout) -> Memory:
        return self.states_and_memory(layout)[1]

    @property
    def paged(self) -> bool:
        """A paged optimizer: its spill reads the whole memory, which then does not add up
        from ``parts``."""
        return self._paged

    def total(self, layout: Layout) -> tuple[int, int]:
        """(``memory(layout).total``, ``memory(layout).host``)."""
        if self._paged:
            memory = self.memory(layout)
            return memory.total, memory.host
        states, activations, host = self.parts(layout)
        return states + activations, host

    def parts(self, layout: Layout) -> tuple[int, int, int]:
        """Without a paged optimizer (whose spill reads the sum): (weights + gradients +
        optimizer, activations + overhead, host) of ``memory(layout)``, as the ints
        ``memory_of`` makes of them. The first reads the model states alone, the second the
        activations alone, and they add up to ``Memory.total`` (ints: any order is exact),
        so each is kept by the fields its part reads."""
        base = self.base
        micro_batches = -(-self.job.global_batch // (layout.dp * layout.micro_batch))
        _check_train_layout(base, layout, micro_batches)
        key = (layout.tp, layout.pp, layout.sp, layout.cp, layout.micro_batch, layout.recompute,
               layout.vpp, layout.flash_attention, micro_batches)
        activations = self._activation_bytes.get(key)
        if activations is None:  # Memory.activations and Memory.overhead, as memory_of makes them
            found = self._activations_of(layout, micro_batches, key)
            activations = self._activation_bytes[key] = int(found) + int(activation_overhead(found))
        key = (layout.tp, layout.pp, layout.dp, layout.ep, layout.zero, layout.offload,
               layout.cp, layout.shard)
        states = self._state_bytes.get(key)
        if states is None:
            found = self.states(layout)
            states = self._state_bytes[key] = (
                int(found.weights) + int(found.gradients) + int(found.optimizer), int(found.host))
        return states[0], activations, states[1]

    def activation_part(self, layout: Layout, micro_batch: int) -> int:
        """``parts(layout)[1]`` at ``micro_batch`` (the rest of ``layout`` as it is), the
        layout built (and checked) only when its activations are new: they are all that
        the micro-batch changes of the memory."""
        micro_batches = -(-self.job.global_batch // (layout.dp * micro_batch))
        key = (layout.tp, layout.pp, layout.sp, layout.cp, micro_batch, layout.recompute,
               layout.vpp, layout.flash_attention, micro_batches)
        found = self._activation_bytes.get(key)
        if found is None:
            found = self.parts(build(Layout, **{**layout.__dict__, "micro_batch": micro_batch}))[1]
        return found

    def host_fits(self, count: int, host: int) -> bool:
        """Whether the instances of ``count`` GPUs hold ``host`` bytes per GPU in their host
        RAM (``rent.host_limits``, kept by its two numbers); without host bytes there is no
        limit to break, not asked then."""
        if host <= 0:
            return True
        key = (count, host)
        found = self._host.get(key)
        if found is None:
            found = self._host[key] = not rent.host_limits(count, self.gpu, host)
        return found

    def _activations_of(self, layout: Layout, micro_batches: int, key: tuple) -> float:
        activations = self._activations.get(key)
        if activations is None:
            activations = self._activations[key] = train_activation_bytes(self.base, layout,
                                                                          micro_batches)
        return activations

    def states_and_memory(self, layout: Layout) -> tuple[ModelStates, Memory, int]:
        """(the model states a paged optimizer's spill applied to, the memory, the
        micro-batches per step)."""
        base = self.base
        micro_batches = -(-self.job.global_batch // (layout.dp * layout.micro_batch))
        _check_train_layout(base, layout, micro_batches)
        key = (layout.tp, layout.pp, layout.sp, layout.cp, layout.micro_batch, layout.recompute,
               layout.vpp, layout.flash_attention, micro_batches)
        activations = self._activations_of(layout, micro_batches, key)
        states = self.states(layout)
        if self._paged:
            states = copy.copy(states)
        return states, memory_of(base, states, activations), micro_batches

    def known(self, layout: Layout) -> tuple:
        """(model states, memory, traffic) of ``layout``: what ``evaluate_train`` takes as
        ``known`` for a job that differs from this one in its tokens alone."""
        states, memory, micro_batches = self.states_and_memory(layout)
        return states, memory, traffic(self.base, layout, states, micro_batches)

    def seconds(self, layout: Layout) -> float:
        """``evaluate_train(job, layout, gpu).seconds``: ``step_time`` of the states as
        ``evaluate_train`` times them (a paged optimizer's spill applied), its compute and
        exposed communication (``step_compute``, ``exposed_step``) kept by what they read:
        layouts that differ in offload or in a ZeRO stage below 3 alone share them."""
        base = self.base
        if self._paged:
            states, _, micro_batches = self.states_and_memory(layout)
        else:  # without paging the memory changes none of the states
            micro_batches = -(-self.job.global_batch // (layout.dp * layout.micro_batch))
            _check_train_layout(base, layout, micro_batches)
            states = self.states(layout)
        key = (layout.tp, layout.cp, layout.pp, layout.dp, layout.ep, layout.shard, layout.sp,
               layout.flash_attention, layout.recompute, layout.vpp, layout.micro_batch,
               layout.zero >= 3, states.trained_dense, states.trained_routed,
               states.gather_dense, states.gather_routed, states.linear_params)
        found = self._exposed.get(key)
        if found is None:
            compute, micro = step_compute(base, layout, states, micro_batches, self.job.tokens)
            found = self._exposed[key] = (compute, micro) + exposed_step(
                base, layout, states, micro_batches, compute, micro,
                T.bubble_fraction(layout.pp, micro_batches, layout.vpp))
        compute, communication, bubble = offloaded_step(base, layout, states, micro_batches,
                                                        *found)
        return compute + communication + bubble


__all__ = ["MemoryProbe"]
