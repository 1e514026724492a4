r"""Keep freed memory inside the process, so that NumPy's temporary arrays do not page-fault.

Every NumPy expression such as ``np.exp(-x)`` makes new arrays, and for a (512, 512) float64
batch each one is 2 MiB. glibc's ``malloc`` gives large blocks straight from the kernel (``mmap``)
and, once enough memory is free at the top of its heap, hands it back (``trim``). The next
temporary of the same size then comes as fresh pages, and the kernel must zero and map each
4 KiB page on its first touch (a page fault): 512 faults per 2 MiB array. On virtual machines a
fault is expensive, so the bookkeeping can cost several times the arithmetic. The cost of a
temporary is then

.. math::

    t \approx \underbrace{n\, t_{\text{flop}}}_{\text{arithmetic}} +
    \underbrace{\lceil 8n / 4096 \rceil\, t_{\text{fault}}}_{\text{fresh pages}}
    \qquad (n \text{ float64 entries})

and only the second term depends on the allocator. Two of glibc's settings decide it:

- ``M_MMAP_THRESHOLD`` (:data:`MMAP_THRESHOLD`): blocks below this size come from the heap, which
  is reused, instead of from a fresh ``mmap``;
- ``M_TRIM_THRESHOLD`` (:data:`TRIM_THRESHOLD`): the heap keeps up to this much free memory
  instead of returning it to the kernel at once.

glibc raises both by itself, but only as far as the largest block freed so far: after a 2 MiB
temporary the heap may keep 4 MiB, so an op that frees two such temporaries at once gives its
memory back, and the next call faults on every page again. We set the values that glibc would
reach on its own after freeing a 32 MiB block (32 MiB and 64 MiB), from the start.

The same can be set from the shell (``MALLOC_MMAP_THRESHOLD_=33554432
MALLOC_TRIM_THRESHOLD_=67108864``); importing :mod:`course_lib` calls :func:`keep_freed_memory`
so that the scratch ops are fast in any notebook, not only in the benchmark. It changes how much
memory the process may keep in reserve (at most :data:`TRIM_THRESHOLD` above what it uses), never a
result. It is a no-op where glibc is absent (macOS, Windows, musl) and when the user already chose
(either variable, or ``GLIBC_TUNABLES``, is set); it never raises.
"""

from __future__ import annotations

import ctypes
import os
import platform

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "TUNED", "keep_freed_memory"]

MMAP_THRESHOLD = 32 * 2**20
"""Blocks smaller than 32 MiB are served from the (reused) heap; glibc's own upper limit."""

TRIM_THRESHOLD = 64 * 2**20
"""Up to 64 MiB of free heap stays in the process instead of going back to the kernel."""

_M_TRIM_THRESHOLD = -1  # parameter numbers of mallopt, from glibc's <malloc.h>
_M_MMAP_THRESHOLD = -3
_USER_SETTINGS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES")

TUNED = False
"""Whether :func:`keep_freed_memory` has changed glibc's settings in this process."""


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Set glibc's ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` with ``mallopt``; True if both were set.

    Does nothing (returns False) off Linux/glibc, or when the environment already holds the
    user's own malloc settings. Never raises.
    """
    global TUNED
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    if any(name in os.environ for name in _USER_SETTINGS):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold)) == 1
        ok = libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)) == 1 and ok
    except (OSError, AttributeError, ValueError, TypeError):
        return False
    TUNED = TUNED or ok
    return ok
