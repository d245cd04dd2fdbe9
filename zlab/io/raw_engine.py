"""The raw stream engine: one tcp or ipc connection of a STREAM socket, bytes in and out, no ZMTP.

Owns: ``RawEngine`` (reads whatever the peer sends and delivers each read as one message; no
greeting, no handshake, no framing) and ``RawPipe`` (the socket's end: queues data for the peer and
writes it, at once from the sending thread when nothing is queued, else from the reactor).

STREAM_NOTIFY (the socket's option, read when the connection starts): an empty message is
delivered when the connection is made and when the peer closes it or it fails. A close the
program asked for (``[id, b""]``, or closing the socket) delivers nothing, as libzmq. A connect-side
connection the peer closed is dialled again (the connecter's reconnect); one the program closed is not.

Rules: layer L2 (zlab.io); never imports ``zlab.sockets``, knows its socket only through the
``SocketLink``. Reactor-thread state (``reading``, ``closed``) is touched only there; the outbound
queue and the OS socket's closing are guarded by ``RawPipe.lock``.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from zlab.constants import Event
from zlab.io.link import SocketLink
from zlab.io.reactor import READ, WRITE, Reactor, Timer
from zlab.pipe import Msg, Pipe

#: octets asked of the kernel per read (each read becomes one message)
RAW_READ_SIZE = 64 * 1024


class RawPipe(Pipe):
    """The outbound queue towards one raw stream peer; messages are written as plain bytes."""

    __slots__ = ("closing", "engine", "lock", "out", "sock")

    def __init__(self, link: SocketLink, endpoint: str) -> None:
        super().__init__(None, hwm_in=link.options.rcvhwm, endpoint=endpoint)
        self.lock = threading.Lock()
        self.out: deque[memoryview] = deque()  # data not yet written, one entry per message
        self.sock: socket.socket | None = None
        self.engine: RawEngine | None = None
        self.closing = False  # the program closed this peer: write what is queued, then close

    # -- app thread ------------------------------------------------------------------------
    def deliver(self, msg: Msg) -> bool:
        data = msg if isinstance(msg, bytes) else b"".join(msg)
        hwm = self.engine.hwm_out if self.engine is not None else 0
        with self.lock:
            out = self.out
            if not self.alive or self.closing or (hwm and len(out) >= hwm):
                return False
            self.msgs_out += 1
            view = memoryview(data)
            if not out and self.sock is not None:  # idle: write now, on this thread
                try:
                    n = self.sock.send(view)
                except (BlockingIOError, InterruptedError):
                    n = 0
                except OSError:  # the peer is gone: the reactor sees it on its next read
                    return True
                self.bytes_out += n
                if n == len(view):
                    return True
                view = view[n:]
            out.append(view)
        engine = self.engine
        if engine is not None:
            engine.reactor.call_soon(engine.update_interest)
        return True

    def writable(self) -> bool:
        engine = self.engine
        hwm = engine.hwm_out if engine is not None else 0
        return self.alive and not self.closing and not (hwm and len(self.out) >= hwm)

    def terminate(self, linger: float | None = 0.0) -> None:
        """The program closed this peer ([id, b""]): flush what is queued, then close."""
        with self.lock:
            self.closing = True
        engine = self.engine
        if engine is not None:
            engine.reactor.call_soon(engine.close_when_flushed)

    def queued_out(self) -> int:
        return len(self.out)

    # -- reactor thread --------------------------------------------------------------------
    def write_queued(self) -> bool:
        """Write as much of the queue as the kernel takes; True when it is empty."""
        with self.lock:
            out = self.out
            sock = self.sock
            while out and sock is not None:
                view = out[0]
                try:
                    n = sock.send(view)
                except (BlockingIOError, InterruptedError):
                    return False
                except OSError:
                    self.dropped_unsent += len(out)
                    out.clear()
                    return True
                self.bytes_out += n
                if n < len(view):
                    out[0] = view[n:]
                    return False
                out.popleft()
            return not out


class RawEngine:
    """One raw connection of a STREAM socket (the transports' engine interface)."""

    def __init__(
        self,
        reactor: Reactor,
        sock: socket.socket,
        link: SocketLink,
        endpoint: str,
        pipe: Pipe | None = None,
        on_closed: Callable[[Any, str], None] | None = None,
        peer_id: bytes = b"",
    ) -> None:
        """``pipe`` is never used (each raw connection has its own); ``peer_id``: the routing id
        CONNECT_ROUTING_ID gave this connection (b"": the socket makes one up)."""
        self.reactor = reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.link = link
        self.endpoint = endpoint
        self.on_closed = on_closed
        opts = link.options
        self.notify = opts.stream_notify
        self.hwm_out = opts.sndhwm
        self.pipe = RawPipe(link, endpoint)
        self.pipe.routing_id = peer_id
        # what the transports read of an engine
        self.persistent = False  # every connection has its own pipe
        self.attached = False  # (a connecter clears it when it closes: ignored, see ``_joined``)
        self._joined = False  # the pipe is in the socket's routing: it leaves when the connection ends
        self.handshaken = False  # no handshake: true once started
        self.refused = False  # closed by the program: a connecter does not dial again
        self.closed = False
        self.quiet = False  # closed with its socket: no events, no notification
        self.reading = True
        self.close_reason = ""
        self._timer: Timer | None = None

    def start(self) -> None:
        """Join the socket's routing, announce the peer (STREAM_NOTIFY), start reading."""
        pipe = self.pipe
        pipe.engine = self
        pipe.sock = self.sock
        pipe.on_resume = lambda: self.reactor.call_soon(self._resume)
        pipe.connects = 1
        if self.link.closed or not self.link.attach(pipe):
            self.quiet = True
            self.close("refused by the socket")
            return
        self.attached = self._joined = self.handshaken = True
        if self.notify:
            self._deliver(b"")
        self.reactor.register(self.fd, READ, self._on_event)

    def _deliver(self, data: bytes) -> None:
        pipe = self.pipe
        inbox = pipe.inbox
        if inbox is None:
            return
        inbox.put(pipe, [data])
        depth = len(pipe.pending)
        if depth > pipe.peak_in:
            pipe.peak_in = depth
        if pipe.hwm_in and depth >= pipe.hwm_in and pipe.pause():
            self.reading = False
            self.update_interest()

    def _on_event(self, mask: int) -> None:
        if mask & WRITE and not self.closed and self.pipe.write_queued():
            self.update_interest()
            if self.pipe.closing:
                self.close_when_flushed()
        if mask & READ and not self.closed and self.reading:
            self._on_readable()

    def _on_readable(self) -> None:
        try:
            data = self.sock.recv(RAW_READ_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(f"connection error: {exc.strerror or exc}", exc.errno or errno.ECONNRESET)
            return
        if not data:
            self.close("closed by peer", errno.EPIPE)
            return
        self.pipe.bytes_in += len(data)
        self._deliver(data)

    def _resume(self) -> None:
        if not self.closed and not self.reading:
            self.reading = True
            self.update_interest()

    def update_interest(self) -> None:
        """Watch for reads unless paused, and for writes while data is queued (reactor thread)."""
        if self.closed:
            return
        mask = (READ if self.reading else 0) | (WRITE if self.pipe.out else 0)
        self.reactor.modify(self.fd, mask, self._on_event)

    def close_when_flushed(self) -> None:
        """The program closed this peer: close once its queued data is written."""
        if self.closed:
            return
        self.refused = True
        self.quiet = True  # nothing delivered for a close the program asked for
        if self.pipe.write_queued():
            self.close("closed by the socket")
        else:
            self.update_interest()

    def terminate(self, linger_ms: int) -> None:
        """The socket is closing (or disconnecting): flush for up to ``linger_ms``, then close."""
        if self.closed:
            return
        self.quiet = True
        if linger_ms == 0 or self.pipe.write_queued():
            self.close("socket closed")
            return
        with self.pipe.lock:
            self.pipe.closing = True
        self.reactor.lingering.add(self)
        self.update_interest()
        if linger_ms > 0:
            self._timer = self.reactor.call_later_here(linger_ms / 1000.0, self.close, "linger expired")

    def close(self, reason: str, err: int = 0) -> None:
        """Close the connection and leave the socket's routing (reactor thread). ``err``: why the
        peer's side ended (libzmq reports it as HANDSHAKE_FAILED_NO_DETAIL before DISCONNECTED, a
        raw connection never completing a handshake)."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.reactor.lingering.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.reactor.unregister(self.fd)
        pipe = self.pipe
        with pipe.lock:
            pipe.alive = False
            pipe.dropped_unsent += len(pipe.out)
            pipe.out.clear()
            pipe.sock = None
            try:
                self.sock.close()
            except OSError:
                pass
        if self._joined:
            if self.notify and not self.quiet:
                self._deliver(b"")
            self.link.detach(pipe)
        pipe.notify_writable()
        if not self.quiet:
            if err:
                self.link.event(Event.HANDSHAKE_FAILED_NO_DETAIL, self.endpoint, err)
            self.link.event(Event.DISCONNECTED, self.endpoint, self.fd)
        if self.on_closed is not None:
            self.on_closed(self, reason)
