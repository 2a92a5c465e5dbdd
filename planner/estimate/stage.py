"""The heaviest pipeline stage: which parameters one GPU holds (docs/estimation.md sec 3).

Layers split evenly over PP, so the largest stage holds ceil(L/p) of them, plus the
input embedding (first stage) or the head (last stage), after Megatron-LM's "most
loaded shard" (megatron/training/theoretical_memory_usage.py). TP divides all of it;
EP further divides the routed experts.
"""

from __future__ import annotations


from planner.estimate.arch import ParamCounts
from planner.frozen import frozen


@frozen
class HeaviestStage:
    """Parameters of the heaviest pipeline stage before TP/EP/DP division."""

    counts: ParamCounts
    layers: int

    def params_per_gpu(self, tp: int, pp: int, ep: int) -> tuple[float, float, float, float]:
        """(layer linear, routed-expert linear, layer other, embeddings) params on one GPU."""
        counts = self.counts
        share = (-(-self.layers // pp)) / self.layers  # ceil(L/p) layers of L
        layer_linear = counts.layers_linear * share / tp
        routed_linear = counts.routed_linear * share / (tp * ep)
        layer_other = counts.layers_other * share / tp
        if pp == 1:
            embeddings = (counts.input_embedding + counts.head + counts.final_norm) / tp
        else:
            # first stage holds the input embedding, last the head (a copy when tied)
            embeddings = max(counts.input_embedding, counts.head or counts.input_embedding) / tp
        return layer_linear, routed_linear, layer_other, embeddings
