"""``Poller`` and ``select``: wait on zlab sockets and plain file descriptors together.

Owns: readiness polling. Rules: layer L3. With only zlab sockets, a poll waits on one
``threading.Event`` that every polled socket's signal sets; with file descriptors too, it waits in
``select.poll`` on those and on each zlab socket's wake-up FD. Timeouts are in milliseconds
(``None`` or a negative value: forever), as in pyzmq.

A zlab socket is recognised by its routing core (``zlab.sockets.SocketCore``) and used through
``ZlabPollable``, so this module does not import ``zlab.socket`` (whose ``Socket.poll`` builds on it).
"""

from __future__ import annotations

import select as _select
import threading
import time
from typing import Any, Protocol, TypeGuard

from zlab.constants import PollEvent
from zlab.errors import ContextTerminated
from zlab.sockets import SocketCore

POLLIN = PollEvent.POLLIN
POLLOUT = PollEvent.POLLOUT
POLLERR = PollEvent.POLLERR


class ZlabPollable(Protocol):
    """What polling needs of a zlab socket (``zlab.Socket``)."""

    @property
    def core(self) -> SocketCore: ...

    @property
    def closed(self) -> bool: ...

    def _events(self) -> int: ...

    def _get_fd(self) -> int: ...


def _is_zlab(obj: Any) -> TypeGuard[ZlabPollable]:
    return isinstance(getattr(obj, "core", None), SocketCore)


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else obj.fileno()


class Poller:
    """Poll a set of zlab sockets and file descriptors (ints or objects with ``fileno()``)."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._map: dict[Any, int] = {}

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` for ``flags``; flags 0 unregisters."""
        if not flags:
            if socket in self._map:
                self.unregister(socket)
            return
        if socket in self._map:
            self.sockets[self._map[socket]] = (socket, flags)
        else:
            self._map[socket] = len(self.sockets)
            self.sockets.append((socket, flags))

    modify = register

    def unregister(self, socket: Any) -> None:
        """Stop watching ``socket`` (KeyError if it wasn't registered)."""
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for s, i in list(self._map.items()):
            if i > idx:
                self._map[s] = i - 1

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait up to ``timeout`` ms; return ``[(socket_or_fd, events), ...]`` that are ready."""
        if timeout is not None and timeout < 0:
            timeout = None
        deadline = None if timeout is None else time.monotonic() + timeout / 1000.0
        zsocks: list[tuple[ZlabPollable, int]] = []
        others: list[tuple[Any, int]] = []
        for s, f in self.sockets:
            if _is_zlab(s):
                zsocks.append((s, f))
            else:
                others.append((s, f))
        while True:
            for s, _ in zsocks:
                if s.core.terminated:  # as libzmq: a poll on a terminated context fails
                    raise ContextTerminated()
            ready = [(s, ev) for s, f in zsocks if (ev := s._events() & f)]
            if others:
                ready += self._poll_fds(others, 0)
            if ready or timeout == 0:
                return ready
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return []
            if others:
                self._wait_fds(zsocks, others, remaining)
            else:
                self._wait_sockets(zsocks, remaining)

    @staticmethod
    def _poll_fds(items: list[tuple[Any, int]], timeout_ms: int) -> list[tuple[Any, int]]:
        p = _select.poll()
        by_fd: dict[int, Any] = {}
        for obj, flags in items:
            fd = _fileno(obj)
            mask = (_select.POLLIN if flags & POLLIN else 0) | (_select.POLLOUT if flags & POLLOUT else 0)
            p.register(fd, mask | _select.POLLERR)
            by_fd[fd] = (obj, flags)
        out = []
        for fd, mask in p.poll(timeout_ms):
            obj, flags = by_fd[fd]
            ev = (POLLIN if mask & (_select.POLLIN | _select.POLLHUP) else 0) | (
                POLLOUT if mask & _select.POLLOUT else 0
            )
            ev = (ev & flags) | (POLLERR if mask & _select.POLLERR else 0)
            if ev:
                out.append((obj, ev))
        return out

    @staticmethod
    def _wait_sockets(zsocks: list[tuple[ZlabPollable, int]], timeout: float | None) -> None:
        event = threading.Event()
        for s, flags in zsocks:
            if flags & POLLIN and not s.closed:
                s.core.prepare_wait()
        signals = [s.core.signal for s, _ in zsocks if not s.closed]
        for sig in signals:
            sig.watchers.append(event.set)
        try:
            if any(s.core.terminated or s._events() & f for s, f in zsocks):  # changed meanwhile
                return
            event.wait(timeout)
        finally:
            for sig in signals:
                try:
                    sig.watchers.remove(event.set)
                except ValueError:
                    pass

    @staticmethod
    def _wait_fds(
        zsocks: list[tuple[ZlabPollable, int]], others: list[tuple[Any, int]], timeout: float | None
    ) -> None:
        p = _select.poll()
        for s, flags in zsocks:
            if flags & POLLIN:
                s.core.prepare_wait()
            p.register(s._get_fd(), _select.POLLIN)
        for obj, flags in others:
            mask = (_select.POLLIN if flags & POLLIN else 0) | (_select.POLLOUT if flags & POLLOUT else 0)
            p.register(_fileno(obj), mask | _select.POLLERR)
        if any(s.core.terminated or s._events() & f for s, f in zsocks):
            return
        p.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999)))


def select(rlist: list, wlist: list, xlist: list, timeout: float | None = None) -> tuple[list, list, list]:
    """``select()`` over zlab sockets and file descriptors; ``timeout`` in seconds as in pyzmq."""
    poller = Poller()
    for s in set(rlist) | set(wlist) | set(xlist):
        flags = (
            (POLLIN if s in rlist else 0) | (POLLOUT if s in wlist else 0) | (POLLERR if s in xlist else 0)
        )
        poller.register(s, flags)
    ready = dict(poller.poll(None if timeout is None or timeout < 0 else timeout * 1000))
    return (
        [s for s in rlist if ready.get(s, 0) & POLLIN],
        [s for s in wlist if ready.get(s, 0) & POLLOUT],
        [s for s in xlist if ready.get(s, 0) & POLLERR],
    )
