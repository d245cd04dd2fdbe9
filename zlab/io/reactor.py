"""The I/O thread: one selector loop per context for listeners, connects, handshakes and reads.

Owns: ``Reactor`` (a daemon thread running ``selectors``), its command queue and its timers.

Rules: layer L2 (zlab.io). Selector registrations change only on the reactor thread; other
threads hand it work with ``call_soon`` (a deque and one eventfd write per wake-up, skipped when
a wake-up is already pending). Handlers never block; an exception in one handler is contained to
that handler's connection, never the loop.
"""

from __future__ import annotations

import heapq
import itertools
import os
import selectors
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

#: octets asked of the kernel per read
READ_BUFFER_SIZE = 256 * 1024


class Timer:
    """A cancellable call scheduled on the reactor."""

    __slots__ = ("args", "cancelled", "fn", "when")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple) -> None:
        self.when = when
        self.fn = fn
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        """Don't run it (safe from any thread)."""
        self.cancelled = True


class Reactor:
    """A selector loop on a daemon thread, started on first use."""

    def __init__(self, name: str = "zlab-io") -> None:
        self.selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = (
            os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC) if hasattr(os, "pipe2") else os.pipe()
        )
        self.selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._commands: deque[tuple[Callable[..., Any], tuple]] = deque()
        self._wake_pending = False
        self._timers: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._stopping = False
        self._name = name
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None
        #: connections flushing messages of closed sockets (LINGER); reactor thread only
        self.lingering: set[object] = set()
        #: the buffer every connection reads into (reactor thread only; readers copy out at once)
        self.read_buffer = memoryview(bytearray(READ_BUFFER_SIZE))

    # -- from any thread -------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread if it isn't running."""
        with self._lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self.thread.start()

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the reactor thread."""
        self._commands.append((fn, args))
        if not self._wake_pending:
            self._wake_pending = True
            try:
                os.write(self._wake_w, b"\x01")
            except (BlockingIOError, OSError):
                pass
        if self.thread is None:
            self.start()

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """Run ``fn(*args)`` on the reactor thread after ``delay`` seconds."""
        timer = Timer(time.monotonic() + delay, fn, args)
        self.call_soon(self._add_timer, timer)
        return timer

    def in_thread(self) -> bool:
        """Whether the caller is the reactor thread."""
        return threading.current_thread() is self.thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop and join the thread."""
        if self.thread is None:
            self._close()
            return
        self.call_soon(self._request_stop)
        if not self.in_thread():
            self.thread.join(timeout)

    # -- reactor thread only -------------------------------------------------------------
    def lingering_count(self) -> int:
        """How many connections are still flushing for closed sockets."""
        return len(self.lingering)

    def register(self, fileobj: Any, events: int, handler: Callable[[int], Any]) -> None:
        """Watch ``fileobj``; ``handler(mask)`` runs when it is ready."""
        self.selector.register(fileobj, events, handler)

    def modify(self, fileobj: Any, events: int, handler: Callable[[int], Any]) -> None:
        """Change what ``fileobj`` is watched for (0 = nothing, but stay known)."""
        if events:
            try:
                self.selector.modify(fileobj, events, handler)
            except KeyError:
                self.selector.register(fileobj, events, handler)
        else:
            self.unregister(fileobj)

    def unregister(self, fileobj: Any) -> None:
        """Stop watching ``fileobj`` (no error if it wasn't watched)."""
        try:
            self.selector.unregister(fileobj)
        except (KeyError, ValueError, OSError):
            pass

    def _add_timer(self, timer: Timer) -> None:
        heapq.heappush(self._timers, (timer.when, next(self._seq), timer))

    def _request_stop(self) -> None:
        self._stopping = True

    def _run(self) -> None:
        select = self.selector.select
        commands = self._commands
        timers = self._timers
        wake_r = self._wake_r
        while not self._stopping:
            timeout = None
            if commands:
                timeout = 0
            elif timers:
                timeout = max(0.0, timers[0][0] - time.monotonic())
            for key, mask in select(timeout):
                handler = key.data
                if handler is None:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                self._guard(handler, (mask,))
            # reset before draining: a command queued from now on either gets drained below or
            # writes a fresh wake-up byte (one queued from this thread would otherwise leave the
            # flag set with no byte coming)
            self._wake_pending = False
            if commands:
                while commands:
                    fn, args = commands.popleft()
                    self._guard(fn, args)
            if timers:
                now = time.monotonic()
                while timers and timers[0][0] <= now:
                    timer = heapq.heappop(timers)[2]
                    if not timer.cancelled:
                        self._guard(timer.fn, timer.args)
        self._close()

    @staticmethod
    def _guard(fn: Callable[..., Any], args: tuple) -> None:
        try:
            fn(*args)
        except Exception:  # a bug in one handler must not kill the I/O thread
            print(f"zlab: error in I/O handler {fn!r}:", file=sys.stderr)
            traceback.print_exc()

    def _close(self) -> None:
        try:
            self.selector.close()
        finally:
            for fd in (self._wake_r, self._wake_w):
                try:
                    os.close(fd)
                except OSError:
                    pass
