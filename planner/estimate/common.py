"""What the training and serving estimates share: the per-(job, GPU) cache, the fast
constructor of result dataclasses, the attention width and the layout check.

The search evaluates about 10^5 layouts a second; the first two devices keep the
per-layout work to a few dozen float operations (docs/estimation.md, introduction).
"""

from __future__ import annotations

import functools

from planner.estimate.types import Arch, Layout

_CACHE_LIMIT = 4096  # (job, gpu) bases kept; a plan has a few dozen


def cached_per_job_and_gpu(build_base):
    """``build_base(job, gpu)`` memoised by the identity of its two arguments.

    The search asks for the same (job, gpu) base for every layout it tries. The entry
    keeps the job and the gpu themselves, so an id reused after garbage collection
    cannot return another object's base.
    """
    cache: dict[tuple[int, int], tuple] = {}
    last = [None, None, None]  # the latest (job, gpu, base): the search asks in runs

    def cached(job, gpu):
        if job is last[0] and gpu is last[1]:
            return last[2]
        key = (id(job), id(gpu))
        hit = cache.get(key)
        if hit is not None and hit[0] is job and hit[1] is gpu:
            last[:] = hit
            return hit[2]
        base = build_base(job, gpu)
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = (job, gpu, base)
        last[:] = (job, gpu, base)
        return base

    return functools.wraps(build_base)(cached)


def build(cls, **fields):
    """An instance of a frozen dataclass from all of its fields, without its __init__.

    A frozen dataclass's generated __init__ sets each field through
    object.__setattr__, which costs more than the arithmetic of an estimate.
    Equality, hashing and repr still come from the fields.
    """
    obj = object.__new__(cls)
    obj.__dict__.update(fields)
    return obj


def attention_width(arch: Arch) -> int:
    """Width of the attention score/value products (H x Q of PaLM Appendix B)."""
    if arch.is_mla:
        # QK^T over nope+rope dims, AV over v dims: their mean width per head
        return arch.heads * (arch.qk_nope_dim + arch.qk_rope_dim + arch.v_head_dim) // 2
    return arch.heads * arch.head_dim


_RECOMPUTE = frozenset(("none", "selective", "full"))
_OFFLOAD = frozenset(("none", "optimizer", "all"))


def check_layout(layout: Layout) -> None:
    """ValueError for a layout no estimate is defined for (the search never builds one)."""
    if (
        layout.recompute in _RECOMPUTE
        and layout.offload in _OFFLOAD
        and 0 <= layout.zero <= 3
        and layout.tp >= 1 and layout.pp >= 1 and layout.dp >= 1 and layout.ep >= 1
        and layout.micro_batch >= 1 and layout.replicas >= 1
        and layout.cp >= 1 and layout.vpp >= 1 and layout.shard >= 0
    ):
        return
    if min(layout.tp, layout.pp, layout.dp, layout.ep, layout.micro_batch, layout.replicas,
           layout.cp, layout.vpp) < 1 or layout.shard < 0:
        raise ValueError(f"layout degrees must be >= 1: {layout}")
    if layout.zero not in (0, 1, 2, 3):
        raise ValueError(f"zero must be 0..3, got {layout.zero}")
    if layout.recompute not in _RECOMPUTE:
        raise ValueError(f"recompute must be none|selective|full, got {layout.recompute!r}")
    if layout.offload not in _OFFLOAD:
        raise ValueError(f"offload must be none|optimizer|all, got {layout.offload!r}")
