"""Giving freed memory back to the system, so a long run stays within its budget.

Why: a process keeps most of the heap it once used. glibc keeps freed blocks in its
arenas, and polars' allocator (jemalloc) keeps freed pages for ten seconds by default,
so after reading a 10,000-pupil workbook or rendering a few hundred classes the parent
of ``hbs demo`` still held hundreds of megabytes it no longer used, and each step
started from the last one's high-water mark. Two measures, both cheap:

- ``JEMALLOC_CONF`` asks polars' jemalloc to return freed pages within a second, from
  a background thread. jemalloc reads it once, when polars' library is loaded, so it is
  set in ``os.environ`` here (``hocbaso`` is imported before polars by every entry
  point) and spawned workers inherit it; a value already set by the user wins.
- ``give_back_memory`` asks glibc to return the free memory at the top of its heaps
  (``malloc_trim``) once a step is over. Elsewhere (not glibc) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os

JEMALLOC_ENV = "_RJEM_MALLOC_CONF"  # polars' jemalloc is built with the ``_rjem_`` prefix
JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"


def configure_allocators() -> None:
    """Set polars' jemalloc to give freed pages back (unless the environment says
    otherwise). Has an effect only before polars is first imported."""
    os.environ.setdefault(JEMALLOC_ENV, JEMALLOC_CONF)


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


_LIBC = _libc()


def give_back_memory() -> bool:
    """Collect garbage and return glibc's free heap memory to the system; True when
    the allocator was asked (glibc), False where there is nothing to ask."""
    gc.collect()
    if _LIBC is None:
        return False
    _LIBC.malloc_trim(0)
    return True
