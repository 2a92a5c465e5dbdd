"""Names of a package imported from their submodule on first use (PEP 562), so that
importing the package for one name does not import every submodule (start-up time)."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_names(package: str, submodule: dict[str, str], namespace: dict) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``package``: each name in ``submodule`` read from
    ``package.<submodule[name]>`` when first asked for, then kept in ``namespace`` (the
    package's globals) so later reads are plain lookups."""

    def __getattr__(name: str):
        if name not in submodule:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule[name]}"), name)
        namespace[name] = value
        return value

    return __getattr__
