"""How the C allocator treats the large blocks that large messages come in.

Owns: ``keep_large_blocks()``, called once when an I/O thread starts. Rules: layer L2 (zlab.io);
process-wide and idempotent; it only acts on glibc, and never when the user tuned malloc already.

Why: a 1 MiB message is received, handed to the application and freed many times a second. glibc
returns a freed block that large to the kernel (munmap, or trimming the top of the heap) once the
free memory passes its thresholds, and the next message's block is faulted in again, page by page:
measured here, 464 page faults per 1 MiB round trip (about 2 us each on this VM), which tripled the
ipc 1 MiB REQ/REP latency (775 us instead of 285 us, pyzmq 240 us) and made it depend on the
allocation pattern of the program around it (the benchmark harness and a plain script differed by
3x). glibc's own adaptive thresholds settle either way depending on that pattern; fixed ones keep
the blocks mapped and the latency steady. Cost: up to ``TRIM_THRESHOLD`` of freed heap is kept by
the process instead of being returned at once.

Turn it off with ``ZLAB_MALLOC_TUNING=0``; it is skipped as well when ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` are set (the user's own tuning wins).
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading

#: blocks below this are taken from the heap, not mmap (glibc's adaptive maximum on 64-bit)
MMAP_THRESHOLD = 32 * 1024 * 1024
#: free memory at the top of the heap kept mapped up to this
TRIM_THRESHOLD = 64 * 1024 * 1024
_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3

_lock = threading.Lock()
_done = False


def keep_large_blocks() -> bool:
    """Keep freed large blocks mapped (see the module comment); True if the tuning is in place."""
    global _done
    with _lock:
        if _done:
            return True
        if os.environ.get("ZLAB_MALLOC_TUNING", "1") == "0":
            return False
        if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
            return False
        if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
            return False
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return False
        mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        mallopt.restype = ctypes.c_int
        ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
            mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
        )
        _done = ok
        return ok
