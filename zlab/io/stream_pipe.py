"""The outbound side of a stream connection: the queue of one tcp/ipc peer, encoded as it fills.

Owns: ``StreamPipe`` (a ``Pipe`` whose ``deliver`` encodes a message to ZMTP frames into a list of
header/body references, and writes them to the kernel) and the write policy.

The write policy (see DESIGN.md "Performance"):
- Idle connection (nothing queued; the peer answered since our last write, or ``IDLE_GAP`` passed):
  the sending thread writes at once, itself. No hand-off to the reactor on the latency path.
- Burst: messages are appended; the sending thread writes each full batch (``FLUSH_BYTES`` or
  SNDHWM messages) in one ``send``; the reactor writes the tail once the burst stops growing.
  Paced traffic (messages closer than ``IDLE_GAP`` but never pausing, and sparser than
  ``pipe.DENSE_GAP``) is written at the reactor's first look after its oldest message waited
  ``pipe.MAX_HOLD``: it waited for a full batch whenever the reactor saw it grow (p99 38-91 ms at
  10k msg/s). The sending thread does not judge the age: a clock read per message cost a 64 B
  flood 10-15 % of its rate.
- Writes take a prefix of at most ``WRITE_MAX`` octets: small frames joined into one buffer,
  large ones by reference with ``sendmsg``. A short write leaves the rest for POLLOUT.
- Large messages over ipc: the kernel send buffer grows to hold the largest message written
  (``_grow_sndbuf``), so it goes in one write instead of one round of wake-ups per buffer-full.

Rules: layer L2 (zlab.io). The queue is guarded by ``wlock``, taken once per message. The pipe
knows the connection carrying it only as a ``Carrier`` (defined here, implemented by the engine
above), so imports run one way: engine -> pipe.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from zlab.io.link import SocketLink
from zlab.io.reactor import Reactor
from zlab.pipe import Msg, Pipe, WakeFd, overdue
from zlab.zmtp import encode_message
from zlab.zmtp.frames import _LONG_LAST, _SHORT_LAST, command_frame

_now = time.perf_counter

if TYPE_CHECKING:
    from zlab.zmtp import Connection

#: a send writes at once when the connection is idle: nothing queued, and either the peer has sent
#: something since our last write (a ping-pong) or this long (seconds) has passed since the last
#: send. Otherwise it is part of a burst: queued, and written in batches. Paced traffic up to about
#: 60k msg/s is written message by message, as libzmq does (at 10k msg/s, 64 B over tcp: p50 47-49 µs
#: with 15-30 µs here, 70 µs with 200 µs, when each message went through the reactor).
IDLE_GAP = 15e-6
#: a burst is written as soon as this many octets (or SNDHWM messages) are queued
FLUSH_BYTES = 256 * 1024
#: the reactor looks at a burst this often (seconds) and writes its tail once it stopped growing
TAIL_DELAY = 30e-6
#: at most this many buffers per sendmsg (below IOV_MAX)
MAX_IOV = 512
#: at most this many octets per write call (the rest goes in the next one)
WRITE_MAX = 1024 * 1024
#: frames averaging at least this size are sent by reference (sendmsg) rather than joined
SCATTER_MIN = 16 * 1024
#: an ipc send buffer grows to at most this (SO_SNDBUF; the kernel doubles it, and caps it at
#: net.core.wmem_max)
SNDBUF_GROW_MAX = 4 * 1024 * 1024
#: ``sndbuf_room`` of a connection whose send buffer is never grown
_NO_GROW = 1 << 62


class Carrier(Protocol):
    """What a stream pipe needs of the connection carrying it (``engine.StreamEngine``)."""

    closed: bool
    #: a calling thread is reading the connection now (``read_direct``)
    direct: bool
    #: reads belong to calling threads (the reactor doesn't watch them)
    sticky: bool
    #: the thread in ``read_direct`` watches POLLOUT too: it writes queued output itself
    polling_out: bool

    def close(self, reason: str, protocol: bool = False, err: int = ...) -> None: ...

    def set_interest(self) -> None: ...

    def reclaim_reads(self) -> None: ...

    def read_direct(self, timeout: float | None, wake: WakeFd) -> list | bool: ...


class StreamPipe(Pipe):
    """The outbound queue towards one stream peer, with the socket's end of the inbound side.

    A connect-side pipe outlives its connections: messages sent while disconnected wait here (up
    to SNDHWM) and go out after the next handshake.
    """

    __slots__ = (
        "batch_start",
        "chunks",
        "ctl",
        "engine",
        "flush_requested",
        "hwm_out",
        "last_send",
        "last_write",
        "link",
        "nbytes",
        "newest",
        "nmsgs",
        "on_drained",
        "partial",
        "peak_out",
        "reactor",
        "ready",
        "recent",
        "sndbuf_room",
        "sock",
        "sub_ready",
        "tail_seen",
        "want_write",
        "wlock",
    )

    def __init__(self, link: SocketLink, reactor: Reactor, endpoint: str) -> None:
        super().__init__(None, hwm_in=link.options.rcvhwm, endpoint=endpoint)
        if link.options.conflating_in:
            self.conflate()
        self.link = link
        self.reactor = reactor
        self.wlock = threading.Lock()
        self.chunks: list = []  # encoded messages not yet written
        self.ctl: list = []  # protocol output (greeting, READY, ERROR) before the handshake is done
        self.nbytes = 0
        self.nmsgs = 0
        self.hwm_out = link.options.sndhwm
        self.sock: socket.socket | None = None
        self.sndbuf_room = _NO_GROW  # a write by reference larger than this grows SO_SNDBUF first
        self.engine: Carrier | None = None
        self.ready = False  # handshake done: messages may go out
        self.flush_requested = False
        self.batch_start = 0.0  # when the burst began (the reactor takes the later of it and last_write)
        self.want_write = False  # the kernel buffer was full: the reactor writes on POLLOUT
        self.partial = False  # the last write stopped inside the queued data
        self.last_write = 0.0
        self.last_send = 0.0
        self.recent = False  # we wrote at once, and the peer has sent nothing since
        self.tail_seen = 0  # queued octets at the reactor's last look during a burst
        self.on_drained: Callable[[], None] | None = None
        self.sub_ready = False  # the connection has taken every subscription (link.sub_lock)
        self.peak_out = 0
        self.newest: Msg | None = None  # CONFLATE: the message waiting for the connection (conflate_pipe)

    # -- app thread: the send hot path -------------------------------------------------------
    def deliver(self, msg: Msg) -> bool:
        with self.wlock:
            hwm = self.hwm_out
            nmsgs = self.nmsgs
            if (hwm and nmsgs >= hwm) or not self.alive:
                if nmsgs > self.peak_out:
                    self.peak_out = nmsgs
                return False
            chunks = self.chunks
            if isinstance(msg, bytes):
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
            self.msgs_out += 1
            if self.flush_requested:  # a burst: write when a batch is full (the reactor writes the tail)
                if (self.nbytes >= FLUSH_BYTES or nmsgs >= hwm > 0) and self.ready and not self.want_write:
                    self._write()
            elif self.ready and not self.want_write:
                now = _now()
                if not self.recent or now - self.last_send > IDLE_GAP:
                    self._write()  # idle: at once, on this thread
                    self.recent = True
                else:  # a burst begins
                    self.flush_requested = True
                    self.batch_start = now
                    self.reactor.call_soon(self.flush)
                self.last_send = now
        return True

    def deliver_many(self, msgs: list[Msg], enc: list) -> int:
        with self.wlock:
            if not self.alive:
                return 0
            hwm = self.hwm_out
            nmsgs = self.nmsgs
            n = len(msgs)
            k = n if not hwm else min(n, hwm - nmsgs)
            if k <= 0:
                if nmsgs > self.peak_out:
                    self.peak_out = nmsgs
                return 0
            if k == n:  # the whole batch: encoded once for every pipe that takes it whole
                if not enc:
                    enc.extend(_encode_batch(msgs))
                data, size = enc
            else:
                data, size = _encode_batch(msgs[:k])
            self.chunks.append(data)
            self.nbytes += size
            self.nmsgs = nmsgs + k
            self.msgs_out += k
            if self.ready and not self.want_write:  # a batch is a burst's worth: write it now
                self._write()
        return k

    def _encode_one(self, msg: Msg) -> None:
        """Queue one message's frames after what is queued (wlock held, the connection ready);
        for the conflating pipes, off the hot path."""
        frames: list = [msg] if isinstance(msg, bytes) else msg
        self.nbytes += encode_message(frames, self.chunks)
        self.nmsgs += 1

    def io_scheduler(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        return self.reactor.call_soon, self.reactor.call_later_here

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
        # IOV_MAX bounds sendmsg's buffers only: small frames are joined, however many there are
        max_iov = MAX_IOV if total >= SCATTER_MIN * count else 1 << 30
        if total > WRITE_MAX or count > max_iov:  # take a prefix
            size = count = 0
            for chunk in chunks:
                size += len(chunk)
                count += 1
                if size >= WRITE_MAX or count >= max_iov:
                    break
        head = chunks if count == len(chunks) else chunks[:count]
        data = None
        try:
            if count == 1:
                sent = sock.send(head[0])
            elif size // count >= SCATTER_MIN:
                if size > self.sndbuf_room:
                    self._grow_sndbuf(sock, size)
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
        self.bytes_out += sent
        if before > self.peak_out:
            self.peak_out = before
        self.last_write = _now()
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
                engine = self.engine
                # a caller that reads this connection directly (sticky) watches POLLOUT in its own
                # poll(): waking the reactor for it would only race that thread for the socket
                # and the GIL (on one CPU, a context switch inside every round trip). If it stops
                # reading, taking the reads back (STICKY_READS) hands the writes back as well.
                if engine is None or not engine.sticky or self.reactor.in_thread():
                    self.reactor.call_soon(self._watch_write)
            elif sent == size and not self.flush_requested:  # more than one write's worth: go on soon
                self.flush_requested = True
                self.reactor.call_soon(self.flush)
        self.nbytes = left
        if before >= self.hwm_out > self.nmsgs:  # it was full: wake blocked senders and pollers
            self.notify_writable()
        if left == 0 and self.on_drained is not None:
            self.reactor.call_soon(self.on_drained)

    def _grow_sndbuf(self, sock: socket.socket, size: int) -> None:
        """Let the kernel take a ``size``-octet write at once (wlock held; ipc only, see ``adopt``).

        A unix stream socket queues at most its sender's SO_SNDBUF (212992 octets by default):
        a 1 MiB message then goes in five rounds, each a wake-up of the reader and, when both
        peers share a CPU, two context switches. Measured here (ipc 1 MiB REQ/REP, one CPU):
        5.6 -> 0.8 voluntary switches per round trip per process, 281 -> 199 us (pyzmq 234).
        Small messages never grow it, so their queueing behind SNDHWM stays as libzmq's.
        """
        want = min(size, SNDBUF_GROW_MAX)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, want)
            got = sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
        except OSError:
            self.sndbuf_room = _NO_GROW
            return
        # Linux doubles the value asked for (its bookkeeping); net.core.wmem_max caps it: once
        # capped, asking again would change nothing
        self.sndbuf_room = got if want < SNDBUF_GROW_MAX and got >= 2 * want else _NO_GROW

    # -- reactor thread ------------------------------------------------------------------------
    def flush(self) -> None:
        """Reactor thread: write what a burst left queued, once the burst has paused."""
        with self.wlock:
            if (
                self.nbytes != self.tail_seen
                and self.nbytes < FLUSH_BYTES
                and self.nmsgs > 1
                and not overdue(_now() - max(self.batch_start, self.last_write), self.nmsgs)
            ):
                # still growing, and young (a lone message is written at once: it was no flood)
                self.tail_seen = self.nbytes  # look again in a moment
                self.reactor.call_later_here(TAIL_DELAY, self.flush)
                return
            self.tail_seen = 0
            self.flush_requested = False
            self.last_send = _now()
            if self.ready and not self.want_write:
                self._write()

    def _watch_write(self) -> None:
        engine = self.engine
        if engine is not None and not engine.closed:
            engine.set_interest()
            if engine.direct and not engine.polling_out:  # wake a direct reader to watch POLLOUT
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
            self._control(data)

    def write_output(self, conn: Connection) -> None:
        """Queue whatever protocol output ``conn`` has (a wrapped pipe encodes it under its lock)."""
        data = conn.data_to_send()
        if data:
            self.write_control(data)

    def write_command(self, name: bytes, data: bytes) -> None:
        """Queue a command of the engine's own (a heartbeat PING), from any thread (a wrapped pipe
        encodes it under its lock); ``Connection``'s output queue belongs to whoever reads."""
        self.write_control(command_frame(name, data))

    def _control(self, data: bytes) -> None:
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
        self.bytes_out += sent
        self.ctl = [memoryview(data)[sent:]] if sent < len(data) else []
        if self.ctl and not self.want_write:
            self.want_write = True
            self.reactor.call_soon(self._watch_write)

    def adopt(self, engine: Carrier, sock: socket.socket) -> None:
        """A (new) connection carries this pipe."""
        with self.wlock:
            if self.partial:  # a message was cut by the last connection: it can't be resumed
                self.chunks = []
                self.nbytes = self.nmsgs = 0
                self.partial = False
            self.engine = engine
            self.sock = sock
            self.sndbuf_room = _sndbuf_room(sock, self.link.options.sndbuf)
            self.ready = False
            self.ctl = []
            self.want_write = False

    def set_ready(self) -> None:
        """Handshake done: protocol output still pending goes first, then held messages."""
        with self.wlock:
            self._ctl_first()
            self.ready = True
            if not self.want_write:
                self._write()

    def _ctl_first(self) -> None:
        """Put protocol output not yet written ahead of the queued messages (wlock held)."""
        if self.ctl:
            pending = self.ctl
            self.ctl = []
            self.chunks[0:0] = pending
            self.nbytes += sum(len(c) for c in pending)

    def release(self) -> None:
        """The connection is gone (the pipe may get another one, whose engine sets ``on_resume`` again).

        Nothing of the connection stays reachable from the pipe: a departed peer's pipe is kept a while
        for its counters (``statistics()``), and must not keep the engine and its buffers alive."""
        self.sub_ready = False
        self.on_resume = None
        with self.wlock:
            self.engine = None
            self.sock = None
            self.ready = False
            self.want_write = False
            self.ctl = []

    def terminate(self, linger: float | None = 0.0) -> None:
        """The socket drops this peer (ROUTER_HANDOVER): close its connection on the reactor thread."""
        self.alive = False
        engine = self.engine
        if engine is not None:
            self.reactor.call_soon(engine.close, "replaced by a peer with the same routing id")

    def release_reads(self) -> None:
        engine = self.engine
        if engine is not None and engine.sticky:
            self.reactor.call_soon(engine.reclaim_reads)

    def wait_readable(self, timeout: float | None, wake: WakeFd) -> list | bool:
        engine = self.engine
        return engine is not None and engine.read_direct(timeout, wake)

    def subscription(self, subscribe: bool, topic: bytes) -> None:
        """Send a (un)subscription now if the connection has taken the subscriptions (the caller
        holds ``link.sub_lock``); otherwise the next handshake sends every subscription."""
        if self.sub_ready:
            self.write_control(encode_subscription(subscribe, topic, self.zmtp_minor))

    def send_subscriptions(self, topics: list[bytes]) -> None:
        """Handshake done (reactor thread, ``link.sub_lock`` held): send every subscription."""
        if topics:
            minor = self.zmtp_minor
            self.write_control(b"".join(encode_subscription(True, t, minor) for t in topics))
        self.sub_ready = True

    def queued_out(self) -> int:
        return self.nmsgs

    def peak_queued_out(self) -> int:
        return max(self.peak_out, self.nmsgs)

    def is_connected(self) -> bool:
        return self.alive and self.ready

    def pending_bytes(self) -> int:
        """Octets queued and not yet written."""
        return self.nbytes + sum(len(c) for c in self.ctl)


def _encode_batch(msgs: list[Msg]) -> tuple[bytes, int]:
    """Messages as one buffer of ZMTP frames, and its size."""
    out: list = []
    for msg in msgs:
        if isinstance(msg, bytes):
            n = len(msg)
            out.append(_SHORT_LAST[n] if n < 256 else _LONG_LAST + n.to_bytes(8, "big"))
            out.append(msg)
        else:
            encode_message(msg, out)
    data = b"".join(out)
    return data, len(data)


def encode_subscription(subscribe: bool, topic: bytes, minor: int | None) -> bytes:
    """A (un)subscription on the wire: a SUBSCRIBE/CANCEL command for ZMTP 3.1, a message
    0x01/0x00 + topic for 3.0."""
    if minor == 0:
        out: list = []
        encode_message([(b"\x01" if subscribe else b"\x00") + topic], out)
        return b"".join(out)
    return command_frame(b"SUBSCRIBE" if subscribe else b"CANCEL", topic)


def _sndbuf_room(sock: socket.socket, user_sndbuf: int) -> int:
    """How large a write may be before the connection's send buffer is grown: its SO_SNDBUF for
    an ipc connection; never for tcp (the kernel tunes it, unless SO_SNDBUF is set) nor when
    the user set SNDBUF (their value stays)."""
    if user_sndbuf != -1 or sock.family != socket.AF_UNIX:
        return _NO_GROW
    try:
        return sock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    except OSError:
        return _NO_GROW


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
