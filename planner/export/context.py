"""What a launch needs beyond the solve result, read from the plan: per row, the checkpoint
a service names, the instance shapes of its GPU type, and the bytes a node's disk holds.

``launches(plan)`` maps each row's key (``row_key``: workload name and sweep scenario) to a
``Launch``. The byte figures come from the estimator's own tables
(``planner.estimate.host``: the weights as stored, one training checkpoint), so the disk a
SkyPilot task asks for is the disk the host figures were sized from (docs/exports.md,
"Disk").
"""

from __future__ import annotations


from planner.errors import Span
from planner.frozen import frozen


@frozen
class Launch:
    """What an export needs beyond the row: the checkpoint, the shapes sold, the model."""

    checkpoint: str | None = None  # the serve workload's `checkpoint`, as written
    checkpoint_span: Span | None = None  # where the workload (or its checkpoint) is written
    workload_span: Span | None = None
    shapes: dict[str, tuple[int, ...]] | None = None  # GPU type -> GPU counts of instances sold
    per_node: dict[str, int] | None = None  # GPU type -> GPUs per node
    arch: object | None = None  # the model (estimate.types.Arch), for its weights as stored
    weights_bytes: int | None = None  # training: the base weights as stored at the run's precision
    train_checkpoint_bytes: int | None = None  # one training checkpoint (trained weights + optimizer)
    dataset_bytes: int | None = None  # the training data, bytes


def row_key(name: str, scenario: dict[str, str]) -> tuple:
    return (name, tuple(sorted(scenario.items())))


def served_weights_bytes(launch: Launch, weights: str) -> int | None:
    """Bytes of the served weights at the precision the row chose."""
    from planner.estimate.host import checkpoint_weight_bytes

    return checkpoint_weight_bytes(launch.arch, weights) if launch.arch is not None else None


def launches(plan) -> dict[tuple, Launch]:
    """Row key -> Launch for every variant the plan solves."""
    from planner.estimate.host import checkpoint_bytes, checkpoint_weight_bytes
    from planner.resolve.variants import build_variants, dataset_bytes

    out: dict[tuple, Launch] = {}
    for variant in build_variants(plan):
        shapes = {o.name: tuple(getattr(o.spec, "shapes", ()) or ()) for o in variant.offers}
        per_node = {o.name: o.spec.gpus_per_node for o in variant.offers}
        workload = variant.workload
        if variant.serve_job is not None:
            checkpoint = getattr(workload, "checkpoint", None)
            span = (workload.spans or {}).get("checkpoint", workload.span)
            launch = Launch(checkpoint=checkpoint, checkpoint_span=span, workload_span=workload.span,
                            shapes=shapes, per_node=per_node, arch=variant.arch)
        else:
            job = variant.train_job
            launch = Launch(workload_span=workload.span, shapes=shapes, per_node=per_node, arch=variant.arch,
                            weights_bytes=checkpoint_weight_bytes(variant.arch, job.weights),
                            train_checkpoint_bytes=int(checkpoint_bytes(job)),
                            dataset_bytes=dataset_bytes(workload))
        out[row_key(variant.group, variant.scenario)] = launch
    return out
