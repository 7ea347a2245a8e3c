"""Handing freed heap memory back to the system between the phases of a run.

A run's phases each leave garbage behind: the statistics pass its token counters, the
fit its batches, an evaluation its predictions. Python frees them, but glibc's malloc
keeps the freed pages of its (one per thread, up to 8 per core) arenas resident, so the
next phase starts from a higher RSS and the run's peak grows with whatever the earlier
phases happened to leave. ``release_free_memory()`` runs the garbage collector, then
``malloc_trim(0)``, which returns every whole free page of every arena. Elsewhere (no
glibc) it only collects.

>>> release_free_memory() in (True, False)
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
    """Collects garbage and trims the heap; True when the heap was trimmed."""
    gc.collect()
    trim = _malloc_trim()
    return bool(trim is not None and trim(0))
