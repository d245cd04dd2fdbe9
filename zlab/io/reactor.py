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
import select as _select
import selectors
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from zlab.io.memory import keep_large_blocks

#: timers due sooner than this (seconds) are waited for with a precise sleep, not epoll's ms
FINE_TIMER = 0.001
#: a cancelled timer stays in the heap until its time; past this many entries they are swept out
#: (a ROUTER with thousands of short-lived peers leaves one 30 s handshake timer per peer)
TIMERS_COMPACT_AT = 1024
#: octets asked of the kernel per read
READ_BUFFER_SIZE = 256 * 1024


#: interest bits, as ``selectors`` numbers them
READ = selectors.EVENT_READ
WRITE = selectors.EVENT_WRITE


class _Epoll:
    """Readiness on Linux: an epoll set whose registrations any thread may change.

    epoll_ctl is safe against a concurrent epoll_wait, so the thread that reads a connection
    directly (see ``StreamEngine.read_direct``) can take reads away from the reactor and give them
    back without a round trip through it. Handlers live in a dict (atomic updates under the GIL).
    """

    thread_safe = True

    def __init__(self) -> None:
        self._ep = _select.epoll()
        self._handlers: dict[int, Callable[[int], Any]] = {}

    @staticmethod
    def _mask(events: int) -> int:
        return (_select.EPOLLIN if events & READ else 0) | (_select.EPOLLOUT if events & WRITE else 0)

    def register(self, fd: int, events: int, handler: Callable[[int], Any]) -> None:
        self._handlers[fd] = handler
        self._ep.register(fd, self._mask(events))

    def modify(self, fd: int, events: int, handler: Callable[[int], Any]) -> None:
        self._handlers[fd] = handler
        try:
            self._ep.modify(fd, self._mask(events))
        except FileNotFoundError:
            self._ep.register(fd, self._mask(events))

    def unregister(self, fd: int) -> None:
        self._handlers.pop(fd, None)
        try:
            self._ep.unregister(fd)
        except (OSError, ValueError):
            pass

    def poll(self, timeout: float | None) -> list[tuple[Callable[[int], Any] | None, int]]:
        out: list[tuple[Callable[[int], Any] | None, int]] = []
        handlers = self._handlers
        for fd, ev in self._ep.poll(-1 if timeout is None else timeout):
            mask = (READ if ev & (_select.EPOLLIN | _select.EPOLLHUP | _select.EPOLLERR) else 0) | (
                WRITE if ev & (_select.EPOLLOUT | _select.EPOLLERR) else 0
            )
            out.append((handlers.get(fd, _unknown), mask))
        return out

    def close(self) -> None:
        self._ep.close()


class _Selectors:
    """Readiness elsewhere: ``selectors``, changed on the reactor thread only."""

    thread_safe = False

    def __init__(self) -> None:
        self._sel = selectors.DefaultSelector()

    def register(self, fd: int, events: int, handler: Callable[[int], Any]) -> None:
        self._sel.register(fd, events, handler)

    def modify(self, fd: int, events: int, handler: Callable[[int], Any]) -> None:
        if not events:
            self.unregister(fd)
            return
        try:
            self._sel.modify(fd, events, handler)
        except KeyError:
            self._sel.register(fd, events, handler)

    def unregister(self, fd: int) -> None:
        try:
            self._sel.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def poll(self, timeout: float | None) -> list[tuple[Callable[[int], Any] | None, int]]:
        return [(key.data, mask) for key, mask in self._sel.select(timeout)]

    def close(self) -> None:
        self._sel.close()


def _unknown(mask: int) -> None:
    """A readiness event for an fd unregistered meanwhile."""


class Timer:
    """A cancellable call scheduled on the reactor.

    Cancelling drops the call (function and arguments) at once: a cancelled timer stays in the
    reactor's heap until its time comes (a handshake timer for 30 s), and must not keep the engine,
    its buffers and its whole socket alive that long (thousands of short-lived peers would pile up).
    """

    __slots__ = ("call", "when")

    def __init__(self, when: float, fn: Callable[..., Any], args: tuple) -> None:
        self.when = when
        #: (fn, args), or None once cancelled; one attribute so the reactor reads it atomically
        self.call: tuple[Callable[..., Any], tuple] | None = (fn, args)

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self.call is None

    def cancel(self) -> None:
        """Don't run it (safe from any thread); forget the call."""
        self.call = None


class Reactor:
    """A selector loop on a daemon thread, started on first use."""

    def __init__(self, name: str = "zlab-io") -> None:
        self.selector: _Epoll | _Selectors = _Epoll() if hasattr(_select, "epoll") else _Selectors()
        #: whether other threads may change registrations (direct reads need it)
        self.thread_safe_modify: bool = self.selector.thread_safe
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.selector.register(self._wake_r, READ, None)  # type: ignore[arg-type]
        self._commands: deque[tuple[Callable[..., Any], tuple]] = deque()
        self._wake_pending = False
        self._timers: list[tuple[float, int, Timer]] = []
        self._compact_at = TIMERS_COMPACT_AT  # heap size at which cancelled timers are swept out
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
                keep_large_blocks()  # large messages stay steady (see memory.py)
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

    def register(self, fd: int, events: int, handler: Callable[[int], Any]) -> None:
        """Watch ``fd`` (READ, WRITE); ``handler(mask)`` runs when it is ready."""
        self.selector.register(fd, events, handler)

    def modify(self, fd: int, events: int, handler: Callable[[int], Any]) -> None:
        """Change what ``fd`` is watched for (0: nothing, yet it stays registered)."""
        self.selector.modify(fd, events, handler)

    def unregister(self, fd: int) -> None:
        """Stop watching ``fd`` (no error if it wasn't watched)."""
        self.selector.unregister(fd)

    def call_later_here(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """``call_later`` from the reactor thread itself (no wake-up needed)."""
        timer = Timer(time.monotonic() + delay, fn, args)
        self._add_timer(timer)
        return timer

    def _add_timer(self, timer: Timer) -> None:
        timers = self._timers
        if len(timers) >= self._compact_at:  # mostly cancelled handshake timers of peers long gone
            timers[:] = [t for t in timers if t[2].call is not None]
            heapq.heapify(timers)
            self._compact_at = max(TIMERS_COMPACT_AT, 2 * len(timers))
        heapq.heappush(timers, (timer.when, next(self._seq), timer))

    def _request_stop(self) -> None:
        self._stopping = True

    def _run(self) -> None:
        poll = self.selector.poll
        commands = self._commands
        timers = self._timers
        wake_r = self._wake_r
        while not self._stopping:
            timeout: float | None = None
            if commands:
                timeout = 0
            elif timers:
                timeout = max(0.0, timers[0][0] - time.monotonic())
            ready = poll(timeout if timeout is None or timeout >= FINE_TIMER else 0)
            if not ready and timeout and timeout < FINE_TIMER:  # epoll counts in ms: sleep precisely
                time.sleep(timeout)
            for handler, mask in ready:
                if handler is None:
                    try:
                        os.read(wake_r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                self._guard(handler, (mask,))
            # an idle reactor must not hold the last handlers it ran (and the closed engines behind
            # them): the calls below run in helpers whose locals go when they return
            ready = []
            handler = None
            # reset before draining: a command queued from now on either gets drained below or
            # writes a fresh wake-up byte (one queued from this thread would otherwise leave the
            # flag set with no byte coming)
            self._wake_pending = False
            if commands:
                self._run_commands()
            if timers:
                self._run_timers()
        self._close()

    def _run_commands(self) -> None:
        commands = self._commands
        while commands:
            fn, args = commands.popleft()
            self._guard(fn, args)

    def _run_timers(self) -> None:
        timers = self._timers
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            call = heapq.heappop(timers)[2].call
            if call is not None:
                self._guard(*call)

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
