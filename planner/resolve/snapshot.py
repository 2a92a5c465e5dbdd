"""Models from where users keep them: a snapshot directory, or a hub id in the local cache.

``config = "path/to/snapshot/"`` reads the directory's ``config.json``; ``config =
"hf:ORG/NAME"`` (or ``hf:ORG/NAME@REVISION``) finds the snapshot in the local Hugging Face
cache through ``huggingface_hub.try_to_load_from_cache``, which reads only the file system
(``refs/<revision>``, ``snapshots/<commit>/``): the planner never goes to the network. When
the snapshot holds ``model.safetensors.index.json``, its ``metadata.total_size`` (bytes of
every tensor, headers left out) checks the bytes the counted parameters take at the
checkpoint's precision (``check_index``; docs/language.md, "Models from a snapshot or the
Hugging Face cache").
"""

from __future__ import annotations

import re

from planner.errors import PlanImportError, PlanTypeError, Span
from planner.frozen import frozen

HF_PREFIX = "hf:"
CONFIG = "config.json"
INDEX = "model.safetensors.index.json"
# The computed bytes may differ this much from the index's total (scales of quantized
# formats, GPTQ's g_idx, per-channel fp8 scales are within it; a wrong layer count is not).
INDEX_TOLERANCE = 0.02
# ORG/NAME as the hub spells a repository id (huggingface_hub validate_repo_id: letters,
# digits, '-', '_', '.'; at most 96 characters).
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,199}")


@frozen
class Snapshot:
    """The files of one model snapshot the plan reads."""

    config: str  # path of config.json
    index: str | None  # path of model.safetensors.index.json, when the snapshot has it


def is_hub_id(written: str) -> bool:
    return written.startswith(HF_PREFIX)


def download_hint(repo_id: str) -> str:
    return (f"download it with `huggingface-cli download {repo_id} {CONFIG} {INDEX}` "
            f"(or `hf download ...`); planner reads the cache and never downloads")


def from_cache(written: str, cache_dir: str, span: Span | None) -> Snapshot:
    """The cached snapshot ``hf:ORG/NAME[@REVISION]`` names, or an error saying how to get it."""
    repo_id, _, revision = written[len(HF_PREFIX):].partition("@")
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id or (revision and not _REVISION.fullmatch(revision)):
        raise PlanImportError(f"`{written}`: expected `hf:ORG/NAME` or `hf:ORG/NAME@REVISION`, "
                              "a Hugging Face model id", span)
    from huggingface_hub import _CACHED_NO_EXIST, try_to_load_from_cache  # only when named

    where = f"{repo_id}@{revision}" if revision else repo_id
    config = try_to_load_from_cache(repo_id, CONFIG, cache_dir=cache_dir, revision=revision or None)
    if config is _CACHED_NO_EXIST:
        raise PlanImportError(f"`{written}`: the cache records that {where} has no {CONFIG}", span,
                              "name a model repository with a transformers config")
    if not isinstance(config, str):
        raise PlanImportError(
            f"`{written}`: {where} is not in the local Hugging Face cache ({cache_dir})", span,
            download_hint(repo_id) + "; HF_HOME or HF_HUB_CACHE set where the cache is")
    index = try_to_load_from_cache(repo_id, INDEX, cache_dir=cache_dir, revision=revision or None)
    return Snapshot(config, index if isinstance(index, str) else None)


def check_index(index_path: str, index_text: str, computed_bytes: float, precision: str,
                extra_weights: str | None, span: Span | None) -> None:
    """An error when the index's total size and the bytes of the counted parameters at the
    checkpoint's ``precision`` differ by more than ``INDEX_TOLERANCE``; when the checkpoint
    holds weights the count leaves out (``extra_weights``: a vision tower, MTP layers), only
    a count larger than the checkpoint is an error."""
    total = _total_size(index_path, index_text, span)
    if total is None:
        return
    gb = lambda n: f"{n / 1e9:,.2f} GB"  # noqa: E731
    over = computed_bytes > total * (1 + INDEX_TOLERANCE)
    under = computed_bytes < total * (1 - INDEX_TOLERANCE) and extra_weights is None
    if not (over or under):
        return
    what = "more" if over else "less"
    beyond = f"; the checkpoint also holds {extra_weights}" if extra_weights else ""
    raise PlanTypeError(
        f"{index_path}: the checkpoint's tensors take {gb(total)} (metadata.total_size), but the "
        f"parameters counted from {CONFIG} take {gb(computed_bytes)} at {precision}, "
        f"{abs(computed_bytes / total - 1):.1%} {what}{beyond}",
        span, "config.json and the weights disagree: check the snapshot, or set the model's "
              "fields (and `precision`) in the block")


# The index's metadata comes first ({"metadata": {"total_size": N}, "weight_map": ...} as
# huggingface_hub and transformers write it), so its head is enough however many tensors
# the weight map lists (DeepSeek-V3's index is megabytes).
INDEX_HEAD_BYTES = 1 << 20
_TOTAL = re.compile(r'"metadata"\s*:\s*\{[^{}]*?"total_size"\s*:\s*([0-9.eE+-]+)')


def _total_size(path: str, text: str, span: Span | None) -> int | None:
    found = _TOTAL.search(text[:INDEX_HEAD_BYTES])
    if found is None:
        return None  # an index without a total (some exporters write none) checks nothing
    try:
        total = float(found.group(1))
    except ValueError:
        total = 0.0
    if not total > 0 or total > 1e16:
        raise PlanImportError(f"{path}: 'metadata.total_size' is not a number of bytes", span)
    return int(total)
