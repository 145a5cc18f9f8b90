"""Freed memory kept for the next training step: glibc's malloc set for a loop of same-sized arrays.

A training step allocates and frees the same arrays step after step: layer outputs, gradients, the
temporaries of element-wise work and of a convolution's chunks. NumPy takes them from malloc, and
glibc's malloc gives freed memory back to the kernel eagerly: an array of 128 KiB or more gets its own
mmap (unmapped when freed) until the process has freed a larger one, and the heap's free top is
trimmed as soon as it passes a threshold. The next step's arrays are then fresh pages, and every page
costs a fault on first touch (in a virtual machine, a trip through its kernel): thousands per step of
the seed CNN and of keras.io's convnet, as many as the process's history made it (benchmarks/README.md).
TensorFlow and PyTorch keep pools of their own; NumPy has none.

So on import, where the C library is glibc, minidl sets (mallopt):

    M_MMAP_THRESHOLD = 32 MiB   arrays below it come from the heap, whose memory is reused, instead of
                                mmaps of their own (32 MiB on 64-bit is as high as glibc's own
                                threshold rises, slowly, as the process frees such arrays)
    M_TOP_PAD = 64 MiB          the heap (and each thread's arena) keeps up to 64 MiB free at its top
                                instead of giving it back at once

These are process-wide, like a BLAS thread setting. Peak memory barely changes (the kept memory is
memory the process had already touched); a long-lived process holds up to 64 MiB more per arena
after a peak. MINIDL_KEEP_FREED_MEMORY=0 in the environment leaves malloc as it is. Other C libraries:
nothing is changed.
"""

from __future__ import annotations

import ctypes
import os
import platform

M_TOP_PAD, M_MMAP_THRESHOLD = -2, -3  # glibc's malloc.h
MMAP_THRESHOLD = 32 << 20
TOP_PAD = 64 << 20


def keep_freed_memory() -> bool:
    """Set glibc's malloc as the module docstring says; True if set (glibc, and not switched off by
    MINIDL_KEEP_FREED_MEMORY=0)."""
    if os.environ.get("MINIDL_KEEP_FREED_MEMORY", "1").strip() == "0" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(libc.mallopt(M_TOP_PAD, TOP_PAD))
    except (OSError, AttributeError):  # no mallopt in this process's libraries
        return False


applied = keep_freed_memory()
