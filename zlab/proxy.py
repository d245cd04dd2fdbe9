"""``proxy``, ``proxy_steerable`` and ``device``: the built-in proxy that joins two sockets, as libzmq's.

Owns: moving whole messages between a frontend and a backend socket in both directions (a direction
only when its source socket type can receive), copying each to a capture socket, and obeying a
control socket (PAUSE, RESUME, TERMINATE, STATISTICS); and pyzmq's ``monitored_queue`` (copies with
a prefix frame per direction, routing ids swapped between two ROUTERs), on the same loop.

Rules: layer L3. The loop works on the sockets' routing cores: one ``recv``/``send`` per message
(never per frame), up to ``BURST`` messages one way before the other way and the control socket get
a turn, and a wait only when nothing can move. HWM is respected, never dropped at: a message the
destination has no room for is held, its source is not read, and the proxy waits for room (a ROUTER
destination drops unroutable messages itself, as it does for any sender). The proxy learns that a
destination is full from a send that fails, not from POLLOUT beforehand as libzmq does: an inproc
pipe wakes a writer only after a send it refused, so a POLLOUT gate could wait forever. Capture
sends block, as in libzmq. A terminated context ends the proxy with ``ContextTerminated``.

Control commands follow libzmq's documentation (and libzmq after 4.3.5): PAUSE stops moving messages,
RESUME restarts, TERMINATE returns 0, STATISTICS replies with eight frames, each a native-endian
uint64: frontend frames in, bytes in, frames out, bytes out, then the same for the backend (frames,
not messages: libzmq counts each part). Only a REP control socket gets an empty reply to the other
commands. libzmq 4.3.5 itself swaps PAUSE and RESUME and replies on every control socket type; those
are bugs fixed upstream, not copied.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from zlab.constants import Errno, PollEvent, SocketType
from zlab.errors import Again, ContextTerminated, ZMQError
from zlab.frame import to_bytes
from zlab.pipe import Msg
from zlab.socket import Socket

#: messages moved one way in a row before the other direction and the control socket get a turn
BURST = 1000

POLLIN = int(PollEvent.POLLIN)
POLLOUT = int(PollEvent.POLLOUT)

# indices into the statistics, in the order STATISTICS sends them
FRONT_IN_N, FRONT_IN_B, FRONT_OUT_N, FRONT_OUT_B, BACK_IN_N, BACK_IN_B, BACK_OUT_N, BACK_OUT_B = range(8)


class _Direction:
    """One way through the proxy: a source, a destination, and a message waiting for room."""

    __slots__ = ("dst", "held", "in_at", "out_at", "prefix", "recv", "send", "src", "swap")

    def __init__(self, src: Socket, dst: Socket, in_at: int, out_at: int) -> None:
        self.src = src
        self.dst = dst
        self.recv = src.core.recv
        self.send = dst.core.send
        self.held: Msg | None = None  # received, not yet accepted by the destination (HWM)
        self.in_at = in_at  # where its counters start in the statistics
        self.out_at = out_at
        self.prefix: bytes | None = None  # monitored queue: the frame put before each capture copy
        self.swap = False  # monitored queue between two ROUTERs: swap the first two frames

    def adapt(self, msg: Msg) -> tuple[Msg, Msg]:
        """The message to pass on, and its copy for the capture socket (monitored queue)."""
        if self.swap and type(msg) is not bytes and len(msg) > 1:
            msg = [msg[1], msg[0], *msg[2:]]
        if self.prefix is None:
            return msg, msg
        return msg, [self.prefix, msg] if type(msg) is bytes else [self.prefix, *msg]


def _count(stats: list[int], at: int, msg: Msg) -> None:
    if type(msg) is bytes:
        stats[at] += 1
        stats[at + 1] += len(msg)
    else:
        stats[at] += len(msg)
        stats[at + 1] += sum(map(len, msg))


class _Proxy:
    """The state of one running proxy."""

    def __init__(self, frontend: Socket, backend: Socket, capture: Socket | None, control: Socket | None):
        for name, sock in (("frontend", frontend), ("backend", backend)):
            if not isinstance(sock, Socket):
                raise TypeError(f"{name} must be a zlab Socket, not {type(sock).__name__}")
        for name, opt in (("capture", capture), ("control", control)):
            if opt is not None and not isinstance(opt, Socket):
                raise TypeError(f"{name} must be a zlab Socket or None, not {type(opt).__name__}")
        self.control = control
        self.capture_send = capture.core.send if capture is not None else None
        self.stats: list[int] | None = [0] * 8 if control is not None else None
        self.paused = False
        ways = [(frontend, backend, FRONT_IN_N, BACK_OUT_N)]
        if backend is not frontend:
            ways.append((backend, frontend, BACK_IN_N, FRONT_OUT_N))
        self.directions = [_Direction(*w) for w in ways if w[0].core.can_recv_type]
        self.sockets = list(
            {id(s): s for s in (frontend, backend, capture, control) if s is not None}.values()
        )
        self.event = threading.Event()

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Move messages until TERMINATE (returns 0) or the context ends (raises ContextTerminated)."""
        try:
            while True:
                self._check()
                more = False
                if not self.paused:
                    for d in self.directions:
                        if self._pump(d):
                            more = True
                if self.control is not None and self._obey():
                    return 0
                if not more:
                    self._wait()
        except ZMQError as exc:
            if not isinstance(exc, ContextTerminated) and any(s.core.terminated for s in self.sockets):
                raise ContextTerminated() from None
            raise

    def _check(self) -> None:
        for s in self.sockets:
            core = s.core
            if core.terminated:
                raise ContextTerminated()
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK, "a socket of the proxy was closed")

    def _pump(self, d: _Direction) -> bool:
        """Move up to BURST messages along ``d``; True if it stopped at BURST (more may wait)."""
        send = d.send
        stats = self.stats
        held = d.held
        if held is not None:
            try:
                send(held, 0)
            except Again:
                return False
            d.held = None
            if stats is not None:
                _count(stats, d.out_at, held)
        recv = d.recv
        capture = self.capture_send
        adapt = d.adapt if d.prefix is not None or d.swap else None
        can_recv = d.src.core.can_recv
        n = 0
        while n < BURST:
            try:
                msg = recv(0)
            except Again:
                # one look at the connection itself (a socket with one peer reads it directly)
                if can_recv():
                    continue
                return False
            n += 1
            if stats is not None:
                _count(stats, d.in_at, msg)
            if adapt is not None:
                msg, copy = adapt(msg)
                if capture is not None:
                    capture(copy, None)
            elif capture is not None:
                capture(msg, None)
            try:
                send(msg, 0)
            except Again:
                d.held = msg  # the destination is full: stop reading this source until it has room
                return False
            if stats is not None:
                _count(stats, d.out_at, msg)
        return True

    def _wait(self) -> None:
        """Block until something the proxy waits for may have happened (or the context ends)."""
        watch: dict[Socket, int] = {}
        if self.control is not None:
            watch[self.control] = POLLIN
        if not self.paused:
            for d in self.directions:
                sock, flag = (d.dst, POLLOUT) if d.held is not None else (d.src, POLLIN)
                watch[sock] = watch.get(sock, 0) | flag
        event = self.event
        for sock, flags in watch.items():
            if flags & POLLIN:
                sock.core.prepare_wait()
        event.clear()
        signals = [s.core.signal for s in self.sockets]
        for sig in signals:
            sig.watchers.append(event.set)
        try:
            if any(s.core.terminated or s.core.closed for s in self.sockets):
                return
            if any(s._events() & flags for s, flags in watch.items()):
                return
            event.wait()
        finally:
            for sig in signals:
                try:
                    sig.watchers.remove(event.set)
                except ValueError:
                    pass

    # -- control ----------------------------------------------------------------------------------
    def _obey(self) -> bool:
        """Run the commands waiting on the control socket; True on TERMINATE."""
        control = self.control
        assert control is not None
        while True:
            try:
                msg = control.recv_multipart(1)  # NOBLOCK
            except Again:
                return False
            command = msg[0]
            if command == b"STATISTICS":
                stats = self.stats
                assert stats is not None
                control.send_multipart([n.to_bytes(8, sys.byteorder) for n in stats])
                continue
            if command == b"PAUSE":
                self.paused = True
            elif command == b"RESUME":
                self.paused = False
            if control.socket_type == SocketType.REP:
                control.send(b"")
            if command == b"TERMINATE":
                return True


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> Any:
    """Join ``frontend`` and ``backend``: move every message each receives to the other, whole.

    A direction runs only if its source socket type can receive (a PUSH backend makes it one-way).
    With ``capture``, every message is also sent there. Runs until the context is terminated, then
    raises ``ContextTerminated``, as pyzmq's ``zmq.proxy``.
    """
    return _Proxy(frontend, backend, capture, None).run()


def proxy_steerable(
    frontend: Socket, backend: Socket, capture: Socket | None = None, control: Socket | None = None
) -> int:
    """``proxy`` obeying ``control``: PAUSE, RESUME, TERMINATE (returns 0) and STATISTICS.

    STATISTICS is answered with eight native-endian uint64 frames: frontend frames received, bytes
    received, frames sent, bytes sent, then the same four for the backend. A REP control socket gets
    an empty reply to every other command. Raises ``ContextTerminated`` when the context ends.
    """
    return _Proxy(frontend, backend, capture, control).run()


def monitored_queue(
    in_socket: Socket,
    out_socket: Socket,
    mon_socket: Socket,
    in_prefix: bytes = b"in",
    out_prefix: bytes = b"out",
) -> Any:
    """A proxy whose copies on ``mon_socket`` start with a frame saying where the message came from
    (``in_prefix`` or ``out_prefix``), as pyzmq's ``zmq.devices.monitored_queue``. Between two ROUTERs
    the first two frames (the routing ids) are swapped, so a message names its destination in its
    second frame. Runs until the context is terminated (``ContextTerminated``)."""
    p = _Proxy(in_socket, out_socket, mon_socket, None)
    swap = in_socket.socket_type == SocketType.ROUTER and out_socket.socket_type == SocketType.ROUTER
    for d in p.directions:
        d.prefix = to_bytes(in_prefix if d.src is in_socket else out_prefix)
        d.swap = swap
    return p.run()


def device(device_type: int, frontend: Socket, backend: Socket) -> Any:
    """The older name of ``proxy`` (the device type is ignored, as in pyzmq)."""
    return proxy(frontend, backend)
