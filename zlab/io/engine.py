"""The stream engine: one ZMTP connection over a non-blocking tcp or ipc socket.

Owns: ``StreamEngine``, which drives a ``zmtp.Connection``: handshake, reads decoded in bulk and
delivered to the socket's pipe, protocol output, close and linger. Its outbound queue is a
``StreamPipe`` (``stream_pipe.py``), which outlives the engine on the connect side. Its heartbeat
timers are an ``EngineHeartbeat`` (``heartbeat_timer.py``), which watches ``pipe.bytes_in`` for traffic.

How reads reach their speed (see DESIGN.md "Performance"):
- Latency: a ``recv()`` that would block on a socket with one connection reads it on the calling
  thread (``read_direct``), and keeps the reads while it keeps calling recv; the reactor takes
  them back after ``STICKY_READS`` idle. No thread hand-off between a message's arrival and recv.
- Throughput: the reactor (or a direct reader) reads up to ``READ_BUFFER_SIZE`` octets and hands
  every complete message in them to the socket as one batch.
- Large bodies are asked of the kernel exactly, so they arrive as one object, never joined.

Rules: layer L2 (zlab.io); never imports ``zlab.sockets``. Whoever reads holds ``rlock``; changes
of what the reactor watches go through ``set_interest`` under ``elock`` (epoll allows them from
any thread).
"""

from __future__ import annotations

import errno
import math
import select
import socket
import struct
import threading
import time
from collections.abc import Callable

from zlab.constants import Event, ProtocolErrorCode, SocketType
from zlab.errors import ProtocolError
from zlab.io.heartbeat_timer import EngineHeartbeat
from zlab.io.link import SocketLink, ZapRequester
from zlab.io.reactor import READ, WRITE, Reactor, Timer
from zlab.io.security import make_mechanism, new_stream_pipe
from zlab.io.stream_pipe import StreamPipe
from zlab.io.wrapped_pipe import WrappedStreamPipe
from zlab.pipe import RESUBSCRIBE, WakeFd
from zlab.zmtp import (
    Cancel,
    Connection,
    HandshakeDone,
    Mechanism,
    NullMechanism,
    PeerError,
    Ping,
    Refused,
    Subscribe,
    ZapReply,
    ZapRequest,
)

#: a frame body still missing at least this many octets is read on its own, exactly
BODY_READ_MIN = 64 * 1024
BODY_READ_FREE = 4 * 1024 * 1024
#: after a large body, read this much: the next frame's header (long form), nothing beyond; then,
#: while that message goes on (a REQ's empty delimiter, a ROUTER's envelope), the rest of a cut
#: header exactly, or another HEADER_READ, until its next large body starts a read of its own
HEADER_READ = 9
_POLL_IN = select.POLLIN | select.POLLHUP | select.POLLERR
#: seconds without a direct read after which the reactor takes reads back
STICKY_READS = 0.005
#: octets a direct reader asks of the kernel per read (messages on the latency path are small)
DIRECT_READ_SIZE = 64 * 1024
#: socket types that take subscriptions from their peers (as messages 0x01/0x00 + topic)
PUBLISHERS = frozenset({SocketType.PUB, SocketType.XPUB})


def _zap_status(reason: str) -> int | None:
    """The ZAP status code an ERROR reason carries ("300", "400", "500"), or None."""
    if len(reason) == 3 and reason.isdigit() and reason[0] in "345":
        return int(reason)
    return None


class StreamEngine:
    """One ZMTP connection over a connected, non-blocking stream socket."""

    def __init__(
        self,
        reactor: Reactor,
        sock: socket.socket,
        link: SocketLink,
        endpoint: str,
        pipe: StreamPipe | None = None,
        on_closed: Callable[[StreamEngine, str], None] | None = None,
    ) -> None:
        self.reactor = reactor
        self.sock = sock
        self.fd = sock.fileno()
        self.link = link
        self.endpoint = endpoint
        opts = link.options
        self._setup_error = ""
        try:
            mechanism: Mechanism = make_mechanism(opts)
        except (NotImplementedError, ValueError) as exc:  # start() closes the connection at once
            mechanism = NullMechanism()
            self._setup_error = str(exc)
        self.conn = Connection(
            opts.type,
            routing_id=opts.routing_id,
            max_msg_size=opts.maxmsgsize,
            mechanism=mechanism,
            metadata=opts.metadata or None,
        )
        self.persistent = pipe is not None  # a connect-side pipe that outlives this connection
        self.pipe = pipe if pipe is not None else new_stream_pipe(link, reactor, endpoint)
        #: the monitor event (and value) a failed handshake reports instead of HANDSHAKE_FAILED_PROTOCOL
        self._failure: tuple[int, object] | None = None
        self._zap: ZapRequester | None = None
        self._zap_id: bytes | None = None  # our ZAP request waiting for its reply
        self.user_id: bytes | None = None  # the User-Id a ZAP handler gave (None: ZAP did not run)
        self.zap_metadata: dict[str, bytes] = {}
        self._peer_addr: str | None = None
        self.refused = False  # the peer sent ERROR during the handshake
        self.attached = self.persistent and link.attach_on_connect
        self.on_closed = on_closed
        self.closed = False
        self.handshaken = False
        self.reading = True
        self.lingering = False
        self._timer: Timer | None = None
        self.close_reason = ""
        self.quiet = False  # closed by its own socket: no monitor events (as libzmq)
        self.rlock = threading.Lock()  # held by whoever reads the connection: reactor or caller
        self.elock = threading.Lock()  # serialises changes of what the reactor watches
        self.direct = False  # a calling thread is reading now
        self.polling_out = False  # ... and its poll() watches POLLOUT too (it writes what waits)
        self.sticky = False  # reads belong to calling threads (the reactor doesn't watch them)
        self.last_direct = 0.0  # when a calling thread last finished reading
        self._sock_open = True
        self._direct_poll: select.poll | None = None
        self._direct_buf = memoryview(bytearray(DIRECT_READ_SIZE))
        self._after_body = False  # the last read completed a large body: read a header next
        self._in_headers = False  # ... and, while that message goes on, headers and small frames exactly
        self.heartbeat: EngineHeartbeat | None = None

    # -- reactor thread --------------------------------------------------------------------
    def start(self) -> None:
        """Register with the reactor and send our greeting (all 64 octets at once)."""
        pipe = self.pipe
        pipe.adopt(self, self.sock)
        pipe.on_resume = self._on_resume
        ivl = self.link.options.handshake_ivl
        if ivl > 0:
            self._timer = self.reactor.call_later(ivl / 1000.0, self._handshake_expired)
        self.reactor.register(self.fd, READ, self._on_event)
        if self._setup_error:
            self._failure = (Event.HANDSHAKE_FAILED_NO_DETAIL, errno.EPROTONOSUPPORT)
            self.close(self._setup_error)
            return
        pipe.write_output(self.conn)

    def set_interest(self) -> None:
        """Watch for what the engine needs now (any thread): reads unless paused or taken by a
        direct reader, writes while output waits."""
        with self.elock:
            if self.closed:
                return
            mask = (READ if self.reading and not self.sticky else 0) | (
                WRITE if self.pipe.want_write and not self.direct else 0
            )
            self.reactor.modify(self.fd, mask, self._on_event)

    def _on_event(self, mask: int) -> None:
        if mask & WRITE:
            self.pipe.on_writable()
            if not self.pipe.want_write:
                self.set_interest()
        if mask & READ and not self.closed:
            if not self.rlock.acquire(False):
                return  # a thread is reading this connection directly
            try:
                self._on_readable()
            finally:
                self.rlock.release()

    def _on_readable(self) -> None:
        try:
            data = self._read(self.reactor.read_buffer)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.close(f"connection error: {exc.strerror or exc}")
            return
        if not data:
            self.close("closed by peer")
            return
        self._consume(data, self.close)

    def _read(self, buf: memoryview) -> bytes:
        """One read from the kernel (b"" at end of stream; BlockingIOError if nothing is there).

        Most reads go into ``buf`` (a buffer reused by every read of this thread) and come out as
        one copy of what arrived: ``recv(256 KiB)`` would allocate (mmap) and shrink a 256 KiB
        object per read, ~20 us a message. The rest of a large frame body is asked for exactly,
        so it arrives as one bytes object that the decoder keeps as the message without copying;
        right after such a body only frame headers (and small frames) are read, exactly, until
        the next body starts aligned or the message ends (a REQ's delimiter frame came before
        each body: the body began inside a 64 KiB read and was joined, a 1 MiB copy a message).
        """
        conn = self.conn
        need = conn.body_needed
        if need >= BODY_READ_MIN:
            # never allocate what a length field merely claims: beyond BODY_READ_FREE, ask for
            # at most twice what has arrived (recv(n) allocates n octets before reading)
            data = self.sock.recv(min(need, max(BODY_READ_FREE, 2 * conn.body_buffered)))
            self._after_body = len(data) == need
            self._in_headers = False
            return data
        if self._after_body:
            self._after_body = False
            self._in_headers = True
            n = self.sock.recv_into(buf, HEADER_READ)
        elif self._in_headers:
            # after a large body, while the next message goes on (a REQ's empty delimiter, an
            # envelope): the rest of a cut frame exactly, or another header, so that a large
            # body starts a read of its own and the decoder keeps it without a join
            missing = conn.header_needed or need
            if missing:
                n = self.sock.recv_into(buf, missing)
            elif conn.mid_message:
                n = self.sock.recv_into(buf, HEADER_READ)
            else:  # that message ended: full reads again
                self._in_headers = False
                n = self.sock.recv_into(buf)
        else:
            n = self.sock.recv_into(buf)
        return buf[:n].tobytes()

    def _consume(self, data: bytes, close: Callable[..., None]) -> None:
        """Reactor thread: decode ``data`` and deliver its messages to the socket."""
        msgs = self._decode(data, close)
        if msgs:
            pipe = self.pipe
            pipe.inbox.put(pipe, msgs)  # type: ignore[union-attr]
            depth = len(pipe.pending)
            if depth > pipe.peak_in:
                pipe.peak_in = depth
            if pipe.hwm_in and depth >= pipe.hwm_in and pipe.pause():
                self.reading = False
                self.set_interest()

    def _decode(self, data: bytes, close: Callable[..., None]) -> list | None:
        """Decode ``data``: the messages it completes (maybe none), or None if the connection ends.

        ``close`` is ``self.close`` on the reactor thread, or a deferral to it from a direct reader.
        """
        conn = self.conn
        self.pipe.bytes_in += len(data)
        try:
            msgs = conn.receive_data(data)
        except ProtocolError as exc:
            self._send_final(conn.data_to_send())
            self._refused(exc)
            close(exc.reason, not self.handshaken)
            return None
        # before events: our READY must precede messages released by the handshake
        self.pipe.write_output(conn)
        if conn.events and self._handle_events(close):
            return None
        if msgs:
            self.pipe.recent = False  # the peer answered: our next send may go at once
            if self.lingering or self.pipe.inbox is None:
                return []  # a closing socket reads only to see the peer go
        return msgs

    def _handle_events(self, close: Callable[..., None]) -> bool:
        """Handle protocol events; True if the connection is ending."""
        events = self.conn.events
        while events:
            ev = events.popleft()
            if isinstance(ev, HandshakeDone):
                self._handshake_done(ev)
            elif isinstance(ev, PeerError):
                if not self.handshaken:
                    self._peer_refused(ev.reason)
                close(f"peer error: {ev.reason}", not self.handshaken)
                return True
            elif isinstance(ev, ZapRequest):
                self._ask_zap(ev)
            elif isinstance(ev, (Subscribe, Cancel)):
                self._subscription(ev)
            elif isinstance(ev, Ping):  # the PONG is queued already; the TTL goes to the timers
                self.reactor.call_soon(self._ping_received, ev.ttl_deciseconds, self.pipe.bytes_in)
            if self.closed:
                return True
        return False

    # -- the calling thread: direct reads on the latency path --------------------------------
    def read_direct(self, timeout: float | None, wake: WakeFd) -> list | bool:
        """Read this connection on the calling thread until messages arrive (returned, for the
        caller to deliver), ``wake`` fires or ``timeout`` seconds pass (True: look again), or
        it can't be done (False).

        A ``recv()`` that would block on a socket with one connection waits here, in ``poll()`` on
        the connection itself, instead of waiting for the reactor to read and hand the messages
        over: that hand-off (a thread wake-up, and the GIL changing hands twice) is most of the
        latency a reactor adds.

        The reactor stops watching reads for this, and gets them back only when the calling thread
        has not read for ``STICKY_READS`` seconds (a timer checks): in a ping-pong the next
        request would otherwise often reach the reactor first, and the hand-off is back.
        """
        if self.closed or not self.handshaken or not self.reading or self.lingering:
            return False
        if not self.reactor.thread_safe_modify or not self.rlock.acquire(False):
            return False
        try:
            if self.closed:
                return False
            self.direct = True
            if not self.sticky:
                self.sticky = True
                self.set_interest()
                self.reactor.call_soon(self._check_sticky)
            poller = self._direct_poll
            if poller is None:
                poller = self._direct_poll = select.poll()
                poller.register(self.fd, select.POLLIN)
                poller.register(wake.fd, select.POLLIN)
            buf = self._direct_buf
            pipe = self.pipe
            deadline = None if timeout is None else time.monotonic() + timeout
            defer = self._close_later
            wait = True
            while not self.closed:
                if wait:
                    # wait first: in a ping-pong the reply is rarely there yet, and poll() costs
                    # less than a recv() that fails. The wake-up is armed only while we wait, so
                    # delivering what we read never writes to it. Output the kernel had no room
                    # for (a large message) is written from here too, not handed to the reactor.
                    ms = -1
                    if deadline is not None:
                        ms = max(0, math.ceil((deadline - time.monotonic()) * 1000))
                    writing = self.polling_out = pipe.want_write
                    if writing:
                        poller.modify(self.fd, select.POLLIN | select.POLLOUT)
                    wake.arm()
                    ready = poller.poll(ms)
                    fired = wake.disarm()
                    self.polling_out = False
                    if not ready or fired:
                        if writing:
                            poller.modify(self.fd, select.POLLIN)
                        return True
                    if writing:
                        poller.modify(self.fd, select.POLLIN)
                        events = dict(ready).get(self.fd, 0)
                        if events & select.POLLOUT:
                            pipe.on_writable()
                        if not events & _POLL_IN:
                            continue
                try:
                    data = self._read(buf)
                except (BlockingIOError, InterruptedError):
                    wait = True
                    if deadline is not None and time.monotonic() >= deadline:
                        return True  # never past the caller's timeout, whatever poll() keeps saying
                    continue
                except OSError as exc:
                    defer(f"connection error: {exc.strerror or exc}")
                    return True
                if not data:
                    defer("closed by peer")
                    return True
                msgs = self._decode(data, defer)
                if msgs is None:
                    return True
                if msgs:
                    return msgs
                wait = False  # inside a message: the rest is probably there already
            return True
        finally:
            self.direct = False
            self.last_direct = time.monotonic()
            self.rlock.release()
            if self.pipe.want_write:  # unwritten output goes back to the reactor
                self.set_interest()
            if self.closed and self._sock_open:  # closed meanwhile: the socket is ours to close
                self._close_sock()

    def reclaim_reads(self) -> None:
        """Reactor thread: take reads back now (unless a thread is reading right now)."""
        if self.closed or not self.sticky or not self.rlock.acquire(False):
            return
        try:
            self.sticky = False
            self.set_interest()
        finally:
            self.rlock.release()

    def _check_sticky(self) -> None:
        """Reactor thread: give reads back to the reactor once the caller stopped reading."""
        if self.closed or not self.sticky:
            return
        if self.direct:
            # a thread is waiting in read_direct (a long wait: a large message on its way): look
            # again once it could have been idle long enough, not every few hundred microseconds
            # (on one CPU each look is a context switch and a GIL hand-off inside the round trip)
            self.reactor.call_later_here(STICKY_READS, self._check_sticky)
            return
        idle = time.monotonic() - self.last_direct
        if idle < STICKY_READS or not self.rlock.acquire(False):
            self.reactor.call_later_here(max(STICKY_READS - idle, 0.0005), self._check_sticky)
            return
        try:
            self.sticky = False
            self.set_interest()
        finally:
            self.rlock.release()

    def _close_later(self, reason: str, protocol: bool = False) -> None:
        self.reactor.call_soon(self.close, reason, protocol)

    def _handshake_done(self, ev: HandshakeDone) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        pipe = self.pipe
        mechanism = self.conn.mechanism
        if isinstance(pipe, WrappedStreamPipe):
            pipe.use(mechanism)
        elif mechanism.wraps_traffic:  # the options changed since the pipe was made
            self.close("the security mechanism changed under this pipe", protocol=True)
            return
        pipe.peer_type = ev.peer_socket_type
        pipe.meta = self._properties(ev)
        if not self.persistent or not pipe.routing_id:
            pipe.routing_id = ev.peer_routing_id
        pipe.zmtp_minor = ev.peer_minor
        pipe.connects += 1
        self.handshaken = True
        link = self.link
        if not self.attached:
            if not link.attach(pipe):
                self.close("peer refused by the socket")
                return
            self.attached = True
        elif pipe.connects > 1 and link.options.type in PUBLISHERS and pipe.inbox is not None:
            pipe.inbox.put(pipe, [RESUBSCRIBE])  # the subscriber sends all its subscriptions again
        if link.subscriptions is not None:
            with link.sub_lock:
                pipe.send_subscriptions(link.subscriptions())
        link.event(Event.HANDSHAKE_SUCCEEDED, self.endpoint, 0)
        pipe.set_ready()
        self.heartbeat = EngineHeartbeat.after_handshake(self)

    def _subscription(self, ev: Subscribe | Cancel) -> None:
        """A 3.1 peer's SUBSCRIBE/CANCEL reaches a publisher as the message a 3.0 peer would send."""
        pipe = self.pipe
        if self.link.options.type in PUBLISHERS and pipe.inbox is not None and not self.lingering:
            prefix = b"\x01" if isinstance(ev, Subscribe) else b"\x00"
            pipe.inbox.put(pipe, [prefix + ev.topic])

    # -- security: ZAP and handshake refusals ---------------------------------------------------
    def _ask_zap(self, ev: ZapRequest) -> None:
        """Reactor thread: send the ZAP request (RFC 27) for our peer; the reply comes back later."""
        opts = self.link.options
        getter = self.link.zap
        zap = self._zap = getter() if getter is not None else None
        frames = [
            opts.zap_domain,
            self._peer_address().encode(),
            opts.routing_id,
            ev.mechanism,
            *ev.credentials,
        ]
        request_id = zap.request(frames, self._zap_answer) if zap is not None else None
        if request_id is not None:
            self._zap_id = request_id
        elif ev.mechanism != b"PLAIN" and not opts.zap_enforce_domain:
            # libzmq 4.3.5: NULL and CURVE without a handler let the peer in (not with ZAP_ENFORCE_DOMAIN)
            self.reactor.call_soon(self._zap_answer, ZapReply("200"), False)
        else:  # libzmq 4.3.5: PLAIN (or any, with ZAP_ENFORCE_DOMAIN) without a handler fails (EFAULT)
            self._failure = (Event.HANDSHAKE_FAILED_NO_DETAIL, errno.EFAULT)
            self.close("no ZAP handler at inproc://zeromq.zap.01")

    def _zap_answer(self, reply: ZapReply | None, handler: bool = True) -> None:
        """Reactor thread: the ZAP handler's verdict (None: a malformed reply; ``handler`` False:
        no handler was asked, so no User-Id either)."""
        self._zap_id = None
        if self.closed:
            return
        if reply is None:
            self._failure = (Event.HANDSHAKE_FAILED_PROTOCOL, ProtocolErrorCode.ZAP_MALFORMED_REPLY)
            self.close("malformed ZAP reply", protocol=True)
            return
        if reply.status_code == "200" and handler:
            self.user_id = reply.user_id
            self.zap_metadata = reply.metadata
        conn = self.conn
        try:
            msgs = conn.zap_reply(reply)
        except ProtocolError as exc:
            self._send_final(conn.data_to_send())
            self._refused(exc)
            self.close(exc.reason, not self.handshaken)
            return
        self.pipe.write_output(conn)
        if conn.events and self._handle_events(self.close):
            return
        if msgs and not self.lingering and self.pipe.inbox is not None:
            self.pipe.inbox.put(self.pipe, msgs)

    def _refused(self, exc: ProtocolError) -> None:
        """How a handshake ``exc`` ended is reported, as libzmq does: a refusal with a ZAP status code
        as HANDSHAKE_FAILED_AUTH (ours, or the peer's ERROR carrying one); a violation as
        HANDSHAKE_FAILED_PROTOCOL with its code; any other ERROR from the peer not at all."""
        if isinstance(exc, Refused) and exc.status:
            self._failure = (Event.HANDSHAKE_FAILED_AUTH, int(exc.status))
        elif self.handshaken or self._failure is not None:
            return
        elif exc.code:
            self._failure = (Event.HANDSHAKE_FAILED_PROTOCOL, exc.code)
        else:
            for ev in self.conn.events:
                status = _zap_status(ev.reason) if isinstance(ev, PeerError) else None
                if status is not None:
                    self._failure = (Event.HANDSHAKE_FAILED_AUTH, status)

    def _peer_refused(self, reason: str) -> None:
        """The peer's ERROR during the handshake: a ZAP status code ("400"...) means authentication.
        Either way the peer refused us (``refused``): libzmq does not reconnect after that."""
        self.refused = True
        status = _zap_status(reason)
        if status is not None:
            self._failure = (Event.HANDSHAKE_FAILED_AUTH, status)

    def _peer_address(self) -> str:
        """The peer's address as libzmq gives it to ZAP and as Peer-Address: the IP (tcp), or
        ``localhost:uid:gid:pid`` from the peer's credentials (ipc)."""
        addr = self._peer_addr
        if addr is None:
            addr = ""
            try:
                if self.sock.family == socket.AF_UNIX:
                    raw = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                    pid, uid, gid = struct.unpack("3i", raw)
                    addr = f"localhost:{uid}:{gid}:{pid}"
                else:
                    addr = str(self.sock.getpeername()[0])
            except (OSError, AttributeError):
                pass
            self._peer_addr = addr
        return addr

    def _properties(self, ev: HandshakeDone) -> dict[str, bytes]:
        """What received messages' properties show (Frame.get): Peer-Address, then the ZAP
        handler's User-Id and metadata, then the peer's own properties (earlier ones win)."""
        props: dict[str, bytes] = {}
        addr = self._peer_address()
        if addr:
            props["Peer-Address"] = addr.encode()
        if self.user_id is not None:
            props["User-Id"] = self.user_id
            for name, value in self.zap_metadata.items():
                props.setdefault(name, value)
        for name, value in ev.metadata.items():
            props.setdefault(name, value)
        return props

    def _on_resume(self) -> None:
        self.reactor.call_soon(self._resume)

    def _resume(self) -> None:
        if not self.closed and not self.reading:
            self.reading = True
            self.set_interest()

    def _handshake_expired(self) -> None:
        self._timer = None
        if not self.handshaken:
            self.close("handshake timed out", err=errno.EAGAIN)  # libzmq's NO_DETAIL value

    def _ping_received(self, ttl_deciseconds: int, received: int) -> None:
        """Reactor thread: a PING from the peer; its TTL arms a timer (even with our heartbeats off)."""
        if self.closed:
            return
        if self.heartbeat is None:
            if not ttl_deciseconds:
                return
            self.heartbeat = EngineHeartbeat.ttl_only(self)
        self.heartbeat.ping_received(ttl_deciseconds, received)

    def _close_sock(self) -> None:
        self._sock_open = False
        try:
            self.sock.close()
        except OSError:
            pass

    def _send_final(self, data: bytes) -> None:
        """Best effort: an ERROR command before we close."""
        if data:
            try:
                self.sock.send(data)
            except OSError:
                pass

    def terminate(self, linger_ms: int) -> None:
        """The socket is closing: flush for up to ``linger_ms`` (-1 = until done), then close."""
        if self.closed:
            return
        self.quiet = True
        pipe = self.pipe
        if linger_ms == 0 or not self.handshaken or pipe.pending_bytes() == 0:
            self.close("socket closed")
            return
        self.lingering = True
        self.reactor.lingering.add(self)
        pipe.on_drained = lambda: self.close("socket closed")
        if linger_ms > 0:
            self._timer = self.reactor.call_later(linger_ms / 1000.0, self.close, "linger expired")

    def close(self, reason: str, protocol: bool = False, err: int = errno.ECONNRESET) -> None:
        """Close the connection; detach a per-connection pipe; tell the owner (reconnect).

        ``protocol``: a protocol error ended it (already reported to the monitor, or not reported
        at all, as libzmq does); otherwise a connection lost before its handshake completed is
        reported as HANDSHAKE_FAILED_NO_DETAIL with ``err``."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.reactor.lingering.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._zap_id is not None and self._zap is not None:
            self._zap.cancel(self._zap_id)
            self._zap_id = None
        with self.elock:
            self.reactor.unregister(self.fd)
        if not self.direct:
            self._close_sock()
        else:  # a direct reader holds the socket: wake it; it closes the socket on its way out
            self.pipe.notify_writable()
        pipe = self.pipe
        pipe.release()
        if not self.persistent:  # a connect-side pipe's hook belongs to its (lingering) connecter
            pipe.on_drained = None
        if not self.quiet:
            if self._failure is not None:
                self.link.event(self._failure[0], self.endpoint, self._failure[1])
            elif not protocol and not self.handshaken:
                self.link.event(Event.HANDSHAKE_FAILED_NO_DETAIL, self.endpoint, err)
            self.link.event(Event.DISCONNECTED, self.endpoint, self.fd)
        if not self.persistent:
            pipe.alive = False
            pipe.dropped_unsent += pipe.nmsgs
            if self.attached:
                self.link.detach(pipe)
            pipe.notify_writable()
        if self.on_closed is not None:
            self.on_closed(self, reason)
