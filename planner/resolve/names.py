"""Hints for a GPU or model name the plan does not know.

GPU names come in many spellings (``H100``, ``h100-80gb``, ``A100 80GB``), which a string
distance does not tie to the catalog's (``H100-SXM``, ``A100-80G``): ``gpu_hint`` compares
them by family and memory. A name only the shipped catalog knows, in a plan that does not
import it, gets "add `import "std"`" (``catalog_hint``).
"""

from __future__ import annotations

import re
from planner import plan as P
from planner.syntax.suggest import did_you_mean

# "80GB", "80G", "80gib": a memory size in a GPU name
_MEMORY = re.compile(r"(\d+(?:\.\d+)?)(?:g|gb|gib)")
# a stated size matches a GPU whose memory is within this share of it, in GB or GiB
# (vendors round: the H100 SXM's "80GB" is 81,559 MiB, 79.6 GiB)
_MEMORY_SLACK = 0.06
SHOWN = 3  # at most this many suggestions


def _tokens(name: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9.]+", name.lower()) if t]


def _squashed(name: str) -> str:
    """The name without case, separators or the `B` of a memory size: `A100 80GB` -> a10080g."""
    return "".join(_MEMORY.sub(lambda m: m.group(1) + "g", t) if _MEMORY.fullmatch(t) else t
                   for t in _tokens(name))


def _family(name: str) -> str | None:
    """The model number a GPU name carries: the first token with a digit that is not a size."""
    for token in _tokens(name):
        if any(c.isdigit() for c in token) and not _MEMORY.fullmatch(token):
            return token
    return None


def _memory_of(name: str) -> float | None:
    for token in _tokens(name):
        found = _MEMORY.fullmatch(token)
        if found:
            return float(found.group(1))
    return None


def _holds(gpu: P.Gpu, size: float) -> bool:
    if gpu.memory is None:
        return False
    return any(abs(gpu.memory / unit - size) <= _MEMORY_SLACK * size for unit in (1e9, 2**30))


def gpu_hint(name: str, gpus: dict[str, P.Gpu]) -> str:
    """``; did you mean `H100-SXM`, `H100-PCIe` or `H100-NVL`?`` for an unknown GPU name:
    the same name spelled otherwise, else the GPUs of its family (of the memory it states),
    else the closest string; empty when nothing is close."""
    squashed = _squashed(name)
    same = [g for g in gpus if _squashed(g) == squashed]
    if not same:
        family, size = _family(name), _memory_of(name)
        same = [g for g in gpus if family is not None and _family(g) == family
                and (size is None or _holds(gpus[g], size))]
    if not same:
        return did_you_mean(name, gpus)
    shown = [f"`{g}`" for g in same[:SHOWN]]
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " or " + shown[-1]
    return f"; did you mean {listed}?"


def catalog() -> tuple[dict[str, P.Gpu], frozenset[str]]:
    """The shipped catalog's GPUs (by name) and model names, from its parsed files."""
    from planner.resolve.load import _parse_shipped, std_files

    gpus: dict[str, P.Gpu] = {}
    models: set[str] = set()
    for path in std_files():
        parsed = _parse_shipped(path)
        gpus.update((g.name, g) for g in parsed.gpus)
        models.update(m.name for m in parsed.models)
    return gpus, frozenset(models)


_STD = ' (a catalog {}: add `import "std"` to the plan)'


def catalog_hint(name: str, kind: str) -> str:
    """`` (a catalog GPU: add `import "std"` ...)`` for an unknown ``kind`` ("gpu" | "model")
    name only the shipped catalog has (so the plan does not import it); else empty."""
    gpus, models = catalog()
    if name in (gpus if kind == "gpu" else models):
        return _STD.format("GPU" if kind == "gpu" else "model")
    return ""


def unknown_gpu_hint(name: str, gpus: dict[str, P.Gpu]) -> str:
    """The hint for a GPU name the plan does not know: `import "std"` for a catalog name, a
    spelling of the plan's GPUs, or, in a plan without the catalog, of the catalog's."""
    shipped, _ = catalog()
    if name in shipped:
        return _STD.format("GPU")
    hint = gpu_hint(name, gpus)
    if hint or shipped.keys() <= gpus.keys():  # the catalog is imported
        return hint
    hint = gpu_hint(name, shipped)
    return hint and hint.rstrip("?") + '? (catalog GPUs: add `import "std"` to the plan)'
