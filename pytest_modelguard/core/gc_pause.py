"""The cyclic garbage collector paused around bulk work that leaves no garbage in cycles."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside; resumed as it was after (what the work left
    in cycles, if anything, is collected then).

    Loading a large suite and judging a large run allocate hundreds of thousands of
    containers, nearly all kept or freed by reference counting. Each full collection
    meanwhile scans the whole growing heap again: at 20,000 items those passes cost more
    than the work itself (``benchmarks/README.md``).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
