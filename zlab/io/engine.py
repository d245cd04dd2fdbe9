"""The stream engine: one ZMTP connection over a tcp or ipc socket, and the pipe that feeds it.

Owns: ``StreamPipe`` (the outbound queue of one peer, encoded to ZMTP frames as messages are
sent) and ``StreamEngine`` (drives a ``zmtp.Connection`` over a non-blocking OS socket: reads on
the reactor thread, decodes in bulk, hands batches of messages to the socket's inbox).

How it reaches its speed (see DESIGN.md "Performance"):
- Latency: when a connection is idle, the *calling* thread writes to the kernel itself; no
  hand-off to the I/O thread on send. The receiving side wakes a blocked ``recv()`` once per batch.
- Throughput: sends in a burst (see ``IDLE_GAP``) are appended as header/body references; the
  sending thread writes each full batch (``FLUSH_BYTES`` or SNDHWM messages) in one ``send``, and
  the reactor writes the tail once the burst pauses (``TAIL_DELAY``); reads take up to ``READ_BUFFER_SIZE`` octets and hand every complete message in them to the
  socket as one batch.
- Large messages go out with scatter/gather ``sendmsg`` (no join copy of the payload).

Rules: layer L2 (zlab.io); never imports ``zlab.sockets``. Selector changes happen on the reactor
thread; the pipe's buffer is guarded by ``wlock`` (taken once per message on send).
"""

from __future__ import annotations

import math
import select
import socket
import threading
import time
from collections.abc import Callable

from zlab.constants import Event
from zlab.errors import ProtocolError
from zlab.io.link import SocketLink
from zlab.io.reactor import READ, WRITE, Reactor, Timer
from zlab.pipe import Msg, Pipe, WakeFd
from zlab.zmtp import Connection, HandshakeDone, PeerError, encode_message
from zlab.zmtp.frames import _LONG_LAST, _SHORT_LAST

#: a send writes at once when the connection is idle: nothing queued, and either the peer has sent
#: something since our last write (a ping-pong) or this long (seconds) has passed since the last
#: send. Otherwise it is part of a burst: queued, and written in batches.
IDLE_GAP = 1e-3
#: a burst is written as soon as this many octets (or SNDHWM messages) are queued
FLUSH_BYTES = 256 * 1024
#: the reactor looks at a burst this often (seconds) and writes its tail once it stopped growing
TAIL_DELAY = 50e-6
#: at most this many buffers per sendmsg (below IOV_MAX)
MAX_IOV = 512
#: at most this many octets per write call (the rest goes in the next one)
WRITE_MAX = 1024 * 1024
#: frames averaging at least this size are sent by reference (sendmsg) rather than joined
SCATTER_MIN = 16 * 1024

#: a frame body still missing at least this many octets is read on its own, exactly
BODY_READ_MIN = 64 * 1024
BODY_READ_FREE = 4 * 1024 * 1024
#: after a large body, read this much: the next frame's header (long form), nothing beyond
HEADER_READ = 9
_POLL_IN = select.POLLIN | select.POLLHUP | select.POLLERR
#: seconds without a direct read after which the reactor takes reads back
STICKY_READS = 0.005
#: octets a direct reader asks of the kernel per read (messages on the latency path are small)
DIRECT_READ_SIZE = 64 * 1024


class StreamPipe(Pipe):
    """The outbound queue towards one stream peer, with the socket's end of the inbound side.

    A connect-side pipe outlives its connections: messages sent while disconnected wait here (up
    to SNDHWM) and go out after the next handshake.
    """

    __slots__ = (
        "chunks",
        "ctl",
        "engine",
        "flush_requested",
        "hwm_out",
        "last_send",
        "last_write",
        "link",
        "nbytes",
        "nmsgs",
        "on_drained",
        "partial",
        "reactor",
        "ready",
        "recent",
        "sock",
        "tail_seen",
        "want_write",
        "wlock",
    )

    def __init__(self, link: SocketLink, reactor: Reactor, endpoint: str) -> None:
        super().__init__(None, hwm_in=link.options.rcvhwm, endpoint=endpoint)
        self.link = link
        self.reactor = reactor
        self.wlock = threading.Lock()
        self.chunks: list = []  # encoded messages not yet written
        self.ctl: list = []  # protocol output (greeting, READY, ERROR) before the handshake is done
        self.nbytes = 0
        self.nmsgs = 0
        self.hwm_out = link.options.sndhwm
        self.sock: socket.socket | None = None
        self.engine: StreamEngine | None = None
        self.ready = False  # handshake done: messages may go out
        self.flush_requested = False
        self.want_write = False  # the kernel buffer was full: the reactor writes on POLLOUT
        self.partial = False  # the last write stopped inside the queued data
        self.last_write = 0.0
        self.last_send = 0.0
        self.recent = False  # we wrote at once, and the peer has sent nothing since
        self.tail_seen = 0  # queued octets at the reactor's last look during a burst
        self.on_drained: Callable[[], None] | None = None

    # -- app thread: the send hot path -------------------------------------------------------
    def deliver(self, msg: Msg) -> bool:
        with self.wlock:
            hwm = self.hwm_out
            nmsgs = self.nmsgs
            if (hwm and nmsgs >= hwm) or not self.alive:
                return False
            chunks = self.chunks
            if type(msg) is bytes:
                n = len(msg)
                if n < 256:
                    chunks.append(_SHORT_LAST[n])
                    self.nbytes += n + 2
                else:
                    chunks.append(_LONG_LAST + n.to_bytes(8, "big"))
                    self.nbytes += n + 9
                chunks.append(msg)
            else:
                self.nbytes += encode_message(msg, chunks)
            self.nmsgs = nmsgs = nmsgs + 1
            if self.flush_requested:  # a burst: write when a batch is full (the reactor writes the tail)
                if (self.nbytes >= FLUSH_BYTES or nmsgs >= hwm > 0) and self.ready and not self.want_write:
                    self._write()
            elif self.ready and not self.want_write:
                now = time.perf_counter()
                if not self.recent or now - self.last_send > IDLE_GAP:
                    self._write()  # idle: at once, on this thread
                    self.recent = True
                else:  # a burst begins
                    self.flush_requested = True
                    self.reactor.call_soon(self.flush)
                self.last_send = now
        return True

    def writable(self) -> bool:
        return self.alive and (not self.hwm_out or self.nmsgs < self.hwm_out)

    def _write(self) -> None:
        """Write queued messages (wlock held), a prefix of at most ``WRITE_MAX`` octets per call
        (small frames joined into one buffer, large ones sent by reference with ``sendmsg``);
        on a short write the rest waits for POLLOUT."""
        sock = self.sock
        chunks = self.chunks
        if sock is None or not chunks:
            return
        total = self.nbytes
        count = len(chunks)
        size = total
        if total > WRITE_MAX or count > MAX_IOV:  # take a prefix
            size = count = 0
            for chunk in chunks:
                size += len(chunk)
                count += 1
                if size >= WRITE_MAX or count >= MAX_IOV:
                    break
        head = chunks if count == len(chunks) else chunks[:count]
        data = None
        try:
            if count == 1:
                sent = sock.send(head[0])
            elif size // count >= SCATTER_MIN:
                sent = sock.sendmsg(head)
            else:
                data = b"".join(head)
                sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            # the connection is broken; the reactor sees it on read and closes the engine
            engine = self.engine
            if engine is not None:
                self.reactor.call_soon(engine.close, "write failed")
            return
        before = self.nmsgs
        self.last_write = time.perf_counter()
        left = total - sent
        if left == 0:
            chunks.clear()
            self.nmsgs = 0
            self.partial = False
        else:
            if data is not None:
                rest = chunks[count:]
                if sent < size:
                    rest.insert(0, memoryview(data)[sent:])
                self.chunks = rest
            else:
                self.chunks = _drop_prefix(chunks, sent)
            self.nmsgs = math.ceil(before * left / total)
            self.partial = True
            if sent < size and not self.want_write:  # the kernel is full: write on POLLOUT
                self.want_write = True
                self.reactor.call_soon(self._watch_write)
            elif sent == size and not self.flush_requested:  # more than one write's worth: go on soon
                self.flush_requested = True
                self.reactor.call_soon(self.flush)
        self.nbytes = left
        if before >= self.hwm_out > self.nmsgs:  # it was full: wake blocked senders and pollers
            self.notify_writable()
        if left == 0 and self.on_drained is not None:
            self.reactor.call_soon(self.on_drained)

    # -- reactor thread ------------------------------------------------------------------------
    def flush(self) -> None:
        """Reactor thread: write what a burst left queued, once the burst has paused."""
        with self.wlock:
            if self.nbytes != self.tail_seen and self.nbytes < FLUSH_BYTES:
                self.tail_seen = self.nbytes  # still growing: look again in a moment
                self.reactor.call_later_here(TAIL_DELAY, self.flush)
                return
            self.tail_seen = 0
            self.flush_requested = False
            self.last_send = time.perf_counter()
            if self.ready and not self.want_write:
                self._write()

    def _watch_write(self) -> None:
        engine = self.engine
        if engine is not None and not engine.closed:
            engine.set_interest()
            if engine.direct:  # a thread waits in read_direct: wake it to watch POLLOUT too
                self.notify_writable()

    def on_writable(self) -> None:
        """POLLOUT: the kernel has room again."""
        with self.wlock:
            self.want_write = False
            if self.ctl:
                self._write_ctl()
            if self.ready and not self.want_write:
                self._write()

    def write_control(self, data: bytes) -> None:
        """Queue protocol output (greeting, READY, PONG, ERROR) ahead of held messages."""
        with self.wlock:
            if self.ready:
                self.chunks.append(data)
                self.nbytes += len(data)
                if not self.want_write:
                    self._write()
            else:
                self.ctl.append(data)
                if not self.want_write:
                    self._write_ctl()

    def _write_ctl(self) -> None:
        sock = self.sock
        if sock is None:
            return
        data = b"".join(self.ctl)
        try:
            sent = sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return
        self.ctl = [memoryview(data)[sent:]] if sent < len(data) else []
        if self.ctl and not self.want_write:
            self.want_write = True
            self.reactor.call_soon(self._watch_write)

    def adopt(self, engine: StreamEngine, sock: socket.socket) -> None:
        """A (new) connection carries this pipe."""
        with self.wlock:
            if self.partial:  # a message was cut by the last connection: it can't be resumed
                self.chunks = []
                self.nbytes = self.nmsgs = 0
                self.partial = False
            self.engine = engine
            self.sock = sock
            self.ready = False
            self.ctl = []
            self.want_write = False

    def set_ready(self) -> None:
        """Handshake done: protocol output still pending goes first, then held messages."""
        with self.wlock:
            if self.ctl:
                pending = self.ctl
                self.ctl = []
                self.chunks[0:0] = pending
                self.nbytes += sum(len(c) for c in pending)
            self.ready = True
            if not self.want_write:
                self._write()

    def release(self) -> None:
        """The connection is gone (the pipe may get another one)."""
        with self.wlock:
            self.engine = None
            self.sock = None
            self.ready = False
            self.want_write = False
            self.ctl = []

    def wait_readable(self, timeout: float | None, wake: WakeFd) -> list | bool:
        engine = self.engine
        return engine is not None and engine.read_direct(timeout, wake)

    def pending_bytes(self) -> int:
        """Octets queued and not yet written."""
        return self.nbytes + sum(len(c) for c in self.ctl)


def _drop_prefix(chunks: list, n: int) -> list:
    """``chunks`` without its first ``n`` octets."""
    for i, chunk in enumerate(chunks):
        size = len(chunk)
        if n < size:
            rest = chunks[i:]
            rest[0] = memoryview(chunk)[n:] if n else chunk
            return rest
        n -= size
    return []


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
        self.conn = Connection(opts.type, routing_id=opts.routing_id, max_msg_size=opts.maxmsgsize)
        self.persistent = pipe is not None  # a connect-side pipe that outlives this connection
        self.pipe = pipe if pipe is not None else StreamPipe(link, reactor, endpoint)
        self.attached = self.persistent and link.attach_on_connect
        self.on_closed = on_closed
        self.closed = False
        self.handshaken = False
        self.reading = True
        self.lingering = False
        self._timer: Timer | None = None
        self.close_reason = ""
        self.rlock = threading.Lock()  # held by whoever reads the connection: reactor or caller
        self.elock = threading.Lock()  # serialises changes of what the reactor watches
        self.direct = False  # a calling thread is reading now
        self.sticky = False  # reads belong to calling threads (the reactor doesn't watch them)
        self.last_direct = 0.0  # when a calling thread last finished reading
        self._sock_open = True
        self._direct_poll: select.poll | None = None
        self._direct_buf = memoryview(bytearray(DIRECT_READ_SIZE))
        self._after_body = False  # the last read completed a large body: read a header next

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
        pipe.write_control(self.conn.data_to_send())

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
        right after such a body only a frame header is read, so the next body starts aligned.
        """
        conn = self.conn
        need = conn.body_needed
        if need >= BODY_READ_MIN:
            # never allocate what a length field merely claims: beyond BODY_READ_FREE, ask for
            # at most twice what has arrived (recv(n) allocates n octets before reading)
            data = self.sock.recv(min(need, max(BODY_READ_FREE, 2 * conn.body_buffered)))
            self._after_body = len(data) == need
            return data
        if self._after_body:
            self._after_body = False
            n = self.sock.recv_into(buf, HEADER_READ)
        else:
            n = self.sock.recv_into(buf)
        return buf[:n].tobytes()

    def _consume(self, data: bytes, close: Callable[..., None]) -> None:
        """Reactor thread: decode ``data`` and deliver its messages to the socket."""
        msgs = self._decode(data, close)
        if msgs:
            pipe = self.pipe
            pipe.inbox.put(pipe, msgs)  # type: ignore[union-attr]
            if pipe.hwm_in and len(pipe.pending) >= pipe.hwm_in and pipe.pause():
                self.reading = False
                self.set_interest()

    def _decode(self, data: bytes, close: Callable[..., None]) -> list | None:
        """Decode ``data``: the messages it completes (maybe none), or None if the connection ends.

        ``close`` is ``self.close`` on the reactor thread, or a deferral to it from a direct reader.
        """
        conn = self.conn
        try:
            msgs = conn.receive_data(data)
        except ProtocolError as exc:
            self._send_final(conn.data_to_send())
            close(exc.reason, not self.handshaken)
            return None
        out = conn.data_to_send()
        if out:  # before events: our READY must precede messages released by the handshake
            self.pipe.write_control(out)
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
                close(f"peer error: {ev.reason}", not self.handshaken)
                return True
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
                    writing = pipe.want_write
                    if writing:
                        poller.modify(self.fd, select.POLLIN | select.POLLOUT)
                    wake.arm()
                    ready = poller.poll(ms)
                    fired = wake.disarm()
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

    def _check_sticky(self) -> None:
        """Reactor thread: give reads back to the reactor once the caller stopped reading."""
        if self.closed or not self.sticky:
            return
        idle = time.monotonic() - self.last_direct
        if self.direct or idle < STICKY_READS or not self.rlock.acquire(False):
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
        pipe.peer_type = ev.peer_socket_type
        pipe.meta = dict(ev.metadata)
        if not self.persistent or not pipe.routing_id:
            pipe.routing_id = ev.peer_routing_id
        self.handshaken = True
        if not self.attached:
            if not self.link.attach(pipe):
                self.close("peer refused by the socket")
                return
            self.attached = True
        self.link.event(Event.HANDSHAKE_SUCCEEDED, self.endpoint, self.fd)
        pipe.set_ready()

    def _on_resume(self) -> None:
        self.reactor.call_soon(self._resume)

    def _resume(self) -> None:
        if not self.closed and not self.reading:
            self.reading = True
            self.set_interest()

    def _handshake_expired(self) -> None:
        self._timer = None
        if not self.handshaken:
            self.close("handshake timed out", protocol=True)

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
        pipe = self.pipe
        if linger_ms == 0 or not self.handshaken or pipe.pending_bytes() == 0:
            self.close("socket closed")
            return
        self.lingering = True
        self.reactor.lingering.add(self)
        pipe.on_drained = lambda: self.close("socket closed")
        if linger_ms > 0:
            self._timer = self.reactor.call_later(linger_ms / 1000.0, self.close, "linger expired")

    def close(self, reason: str, protocol: bool = False) -> None:
        """Close the connection; detach a per-connection pipe; tell the owner (reconnect)."""
        if self.closed:
            return
        self.closed = True
        self.close_reason = reason
        self.reactor.lingering.discard(self)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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
        if protocol:
            self.link.event(Event.HANDSHAKE_FAILED_PROTOCOL, self.endpoint, reason)
        self.link.event(Event.DISCONNECTED, self.endpoint, self.fd)
        if not self.persistent:
            pipe.alive = False
            if self.attached:
                self.link.detach(pipe)
            pipe.notify_writable()
        if self.on_closed is not None:
            self.on_closed(self, reason)
