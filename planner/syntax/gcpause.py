"""Python's cycle collector paused while a plan is read, then resumed.

Reading a plan allocates hundreds of thousands of small objects that all stay alive (tokens'
spans, values, entries, the typed plan's models) and form no reference cycles, so each
collection the allocations trigger traverses the growing heap and frees nothing: with it
running, parsing and checking a 10,000-workload plan took twice as long (3.1 s against
1.5 s, benchmarks/e2e.py's fleet on this machine). Garbage cycles made meanwhile (an
exception's traceback) are collected once it resumes.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No automatic collection inside; nested uses and a collector already off are left as found."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
