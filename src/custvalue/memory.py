"""Giving memory back to the operating system between the steps of a large run.

A quarter at a million customers builds and drops several customer x quarter tables of
1-2 GB each. Freed memory does not always leave the process: glibc keeps freed blocks
below its mmap threshold (which it raises as large blocks are freed) in its heap, and
Arrow's pool keeps some for reuse. The next step then finds the process already large,
and the peaks of successive steps add up. Measured at a million customers: 1.6 GB held
by glibc after the feature step, returned by one trim.

Large arrays are also slow to *fill* for the first time where the kernel's transparent
huge pages are on request only (``/sys/kernel/mm/transparent_hugepage/defrag`` =
``madvise``, a common default): numpy requests huge pages for every array over 4 MB,
and each first touch of one may then wait while the kernel compacts memory. On the
benchmark machine, with the page cache full of input files, 2.2 GB of ``np.zeros``
took 4.6 s to fill; the same in ordinary pages (:func:`zeros`), 0.75 s.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import numpy as np
import pyarrow as pa


def give_back_memory() -> None:
    """Return memory that has been freed to the operating system, where the allocators
    allow it (glibc's ``malloc_trim`` on Linux; Arrow's pool everywhere)."""
    pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        _trim_glibc()


def zeros(length: int, dtype: np.dtype | type | str) -> np.ndarray:
    """A writable array of ``length`` zeros, in memory the kernel maps with ordinary
    pages (see the module docstring): for large arrays filled once, in place."""
    dtype = np.dtype(dtype)
    buffer = pa.allocate_buffer(length * dtype.itemsize, memory_pool=pa.system_memory_pool())
    array = np.frombuffer(buffer, dtype=dtype)
    array.fill(0)
    return array


def _trim_glibc() -> None:
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
        return
    trim(0)
