"""An on-disk cache for what every run would otherwise rebuild: lark's analysed grammar and
the parsed shipped catalog.

Entries live in the user's cache directory (``$PLANNER_CACHE_DIR``, else
``$XDG_CACHE_HOME/planner``, else ``~/.cache/planner``), named by a SHA-256 of everything
they depend on (the source text, the planner and Python versions), so a stale entry is
never read: an edit makes a new name. A cache that cannot be read or written is ignored
and the value rebuilt; ``PLANNER_CACHE_DIR=off`` turns it off. Writes go to a temporary
file renamed into place, so a reader never sees half an entry.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from pathlib import Path
from typing import Any, Callable

from planner import __version__

OFF = "off"


def cache_dir() -> Path | None:
    """Where entries are kept, or None when caching is off."""
    chosen = os.environ.get("PLANNER_CACHE_DIR")
    if chosen == OFF:
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "planner"


def digest(parts: list[str], code: list[Path] = ()) -> str:
    """The name of an entry built from ``parts`` by this planner on this Python; ``code``
    are the source files whose text shapes the value (a development checkout changes them
    without changing the version)."""
    h = hashlib.sha256()
    for part in (__version__, sys.version, *parts):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    for path in code:
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()[:32]


def entry_path(kind: str, key: str, make: bool = False) -> Path | None:
    """The file of the ``kind`` entry named ``key`` (None when caching is off, or when
    ``make`` asks for the directory to exist and it cannot be made)."""
    where = cache_dir()
    if where is None:
        return None
    if make:
        try:
            where.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
    return where / f"{kind}-{key}.pickle"


def remembered(kind: str, key: str, build: Callable[[], Any]) -> Any:
    """The cached value of ``build()`` for ``key``: read from disk when an entry exists and
    unpickles, else built and stored (silently not stored when the directory is not
    writable)."""
    path = entry_path(kind, key)
    if path is not None:
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except Exception:  # absent, unreadable, truncated or from another pickle: rebuild
            pass
    value = build()
    if path is not None:
        _store(path, value)
    return value


def _store(path: Path, value: Any) -> None:
    import tempfile  # only on a write (and shutil, random and the compressors with it)

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except (OSError, pickle.PicklingError):
        pass  # an unwritable cache only costs the time it would have saved
