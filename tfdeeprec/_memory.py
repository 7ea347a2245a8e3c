"""Handing freed heap memory back to the system between the phases of a run.

A run's phases each leave garbage behind: the statistics pass its token counters, the
fit its batches, an evaluation its predictions. Python frees them, but glibc's malloc
keeps the freed pages of its (one per thread, up to 8 per core) arenas resident, so the
next phase starts from a higher RSS and the run's peak grows with whatever the earlier
phases happened to leave. ``release_free_memory()`` runs the garbage collector, then
``malloc_trim(0)``, which returns every whole free page of every arena. Elsewhere (no
glibc) it only collects.

>>> blocks = [bytearray(100_000) for _ in range(1000)]   # 100 MB of heap blocks
>>> last = blocks.pop()           # still in use: the heap's top cannot shrink past it
>>> del blocks                    # freed, yet resident until trimmed
>>> release_free_memory()         # glibc: they went back to the system
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_free_memory() -> bool:
    """Collects garbage and trims the heap; True when ``malloc_trim`` gave memory back
    (False without glibc, or with no whole free page to return)."""
    gc.collect()
    trim = _malloc_trim()
    return bool(trim is not None and trim(0))
