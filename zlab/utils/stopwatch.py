"""``Stopwatch``: pyzmq's microsecond stopwatch, for labs that time sections the pyzmq way.

Owns: ``Stopwatch``. Rules: no zlab imports beyond errors; a monotonic clock (``time.perf_counter``).
"""

from __future__ import annotations

import time

from zlab.constants import Errno
from zlab.errors import ZMQError


class Stopwatch:
    """``sw.start(); ...; elapsed_us = sw.stop()``: whole microseconds between the two, as pyzmq's."""

    __slots__ = ("_start",)

    def __init__(self) -> None:
        self._start: float | None = None

    def start(self) -> None:
        """Start (or restart) timing."""
        self._start = time.perf_counter()

    def stop(self) -> int:
        """Microseconds since ``start()``; the watch stops. ZMQError(EINVAL) if it was not started."""
        now = time.perf_counter()
        if self._start is None:
            raise ZMQError(Errno.EINVAL, "Must start the Stopwatch before calling stop.")
        elapsed = int((now - self._start) * 1e6)
        self._start = None
        return elapsed
