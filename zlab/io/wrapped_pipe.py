"""The outbound queue of a connection whose mechanism wraps every frame (CURVE): encoded late.

Owns: ``WrappedStreamPipe``, a ``StreamPipe`` that keeps messages unencoded (``held``) until they
are written, then encodes all of them at once with the connection's mechanism
(``Mechanism.encode_many``: CURVE boxes a batch in one buffer) under the pipe lock, so that encoding
order is wire order (CURVE nonces must strictly increase). While the connection is up, the octets a
held message will take on the wire are counted in ``nbytes`` already (the mechanism's
``frame_overhead`` tells them), so the write policy sees the same sizes as a clear pipe's.
Protocol output after the handshake (PONG, SUBSCRIBE, ERROR) is encoded under the same lock
(``write_output``). On a new connection, output encoded for the old one and not written is dropped
(its keys and nonces are gone; libzmq loses its encoder's batch the same way); messages not yet
encoded are kept.

Rules: layer L2 (zlab.io). NULL and PLAIN connections never use this class: their pipes keep
``StreamPipe``'s encode-on-deliver fast path.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from zlab.io.link import SocketLink
from zlab.io.reactor import Reactor
from zlab.io.stream_pipe import FLUSH_BYTES, IDLE_GAP, Carrier, StreamPipe
from zlab.pipe import Msg, Pipe
from zlab.zmtp import Mechanism, encode_message
from zlab.zmtp.frames import command_frame

if TYPE_CHECKING:
    from zlab.zmtp import Connection

Encoder = Callable[[Sequence[bytes], list], int]
BatchEncoder = Callable[[Sequence[Sequence[bytes] | bytes], list], int]


def _clear_many(msgs: Sequence[Sequence[bytes] | bytes], out: list) -> int:
    """Messages framed in clear (a mechanism that doesn't wrap got this pipe)."""
    return sum(encode_message([m] if isinstance(m, bytes) else m, out) for m in msgs)


def _clear_command(body: bytes) -> bytes:
    """A command body framed in clear (a mechanism that doesn't wrap got this pipe)."""
    return command_frame(body[1 : 1 + body[0]], body[1 + body[0] :])


class WrappedStreamPipe(StreamPipe):
    """A stream pipe whose messages are encoded by the connection's mechanism."""

    __slots__ = ("command_encoder", "encoder", "held", "overhead")

    def __init__(self, link: SocketLink, reactor: Reactor, endpoint: str) -> None:
        super().__init__(link, reactor, endpoint)
        self.encoder: BatchEncoder | None = None
        self.command_encoder: Callable[[bytes], bytes] | None = None
        self.overhead = 0  # octets the mechanism adds to each frame's payload
        #: messages not encoded yet (a list of frames, or one ``bytes``): waiting for a handshake, or
        #: for the next write (then their wire size is in ``nbytes`` already)
        self.held: list[Sequence[bytes] | bytes] = []

    def use(self, mechanism: Mechanism) -> None:
        """The handshake is done: encode with this connection's mechanism (before ``set_ready``)."""
        with self.wlock:
            if mechanism.wraps_traffic:
                self.encoder = mechanism.encode_many
                self.command_encoder = mechanism.encode_command
                self.overhead = mechanism.frame_overhead
            else:
                self.encoder = _clear_many
                self.command_encoder = _clear_command
                self.overhead = 0

    def deliver_many(self, msgs: list[Msg], enc: list) -> int:
        return Pipe.deliver_many(self, msgs, enc)  # each connection encrypts with its own keys and nonces

    def deliver(self, msg: Msg) -> bool:
        with self.wlock:
            hwm = self.hwm_out
            nmsgs = self.nmsgs
            if (hwm and nmsgs >= hwm) or not self.alive:
                return False
            self.held.append(msg)
            if self.ready:  # count its wire size now; it is encoded with the batch it is written in
                ov = self.overhead
                if isinstance(msg, bytes):
                    size = len(msg) + ov
                    self.nbytes += size + (2 if size < 256 else 9)
                else:
                    for frame in msg:
                        size = len(frame) + ov
                        self.nbytes += size + (2 if size < 256 else 9)
            self.nmsgs = nmsgs = nmsgs + 1
            self.msgs_out += 1
            if self.flush_requested:  # the stream pipe's write policy (stream_pipe.py)
                if (self.nbytes >= FLUSH_BYTES or nmsgs >= hwm > 0) and self.ready and not self.want_write:
                    self._write()
            elif self.ready and not self.want_write:
                now = time.perf_counter()
                if not self.recent or now - self.last_send > IDLE_GAP:
                    self._write()
                    self.recent = True
                else:
                    self.flush_requested = True
                    self.batch_start = now
                    self.reactor.call_soon(self.flush)
                self.last_send = now
        return True

    def _encode_one(self, msg: Msg) -> None:
        """Queue one message, encoded by the mechanism, after what is queued (wlock held, the
        connection ready); for the conflating pipes, off the hot path."""
        encoder = self.encoder
        assert encoder is not None, "only once the connection is ready"
        self._seal()  # anything held goes first: nonces rise in wire order
        self.nbytes += encoder([msg], self.chunks)
        self.nmsgs += 1

    def _seal(self) -> None:
        """Encode the held messages, in order, after what is queued (wlock held, connection ready:
        their size is counted already)."""
        held = self.held
        if held and self.ready:
            encoder = self.encoder
            assert encoder is not None, "use(mechanism) comes before set_ready()"
            self.held = []
            encoder(held, self.chunks)

    def _write(self) -> None:
        self._seal()
        super()._write()

    def _control(self, data: bytes) -> None:
        # the held messages were sent first: they go first (``data`` was encoded under this lock
        # after them, so nonces still rise in wire order)
        self._seal()
        super()._control(data)

    def write_output(self, conn: Connection) -> None:
        if not conn.output_pending:  # after most reads: no lock, nothing sealed early
            return
        with self.wlock:
            self._seal()  # messages sent before this output take their nonces first
            data = conn.data_to_send()  # encodes post-handshake commands: under the lock
            if data:
                self._control(data)

    def write_command(self, name: bytes, data: bytes) -> None:
        with self.wlock:
            self._seal()
            if self.command_encoder is not None:  # None: no connection is up to take it
                self._control(self.command_encoder(bytes((len(name),)) + name + data))

    def subscription(self, subscribe: bool, topic: bytes) -> None:
        if self.sub_ready:
            with self.wlock:
                self._seal()
                self._control(self._subscription_bytes(subscribe, topic))

    def send_subscriptions(self, topics: list[bytes]) -> None:
        if topics:
            with self.wlock:
                self._seal()
                self._control(b"".join(self._subscription_bytes(True, t) for t in topics))
        self.sub_ready = True

    def _subscription_bytes(self, subscribe: bool, topic: bytes) -> bytes:
        """A (un)subscription encoded by the mechanism (wlock held, after ``use``)."""
        assert self.encoder is not None and self.command_encoder is not None
        if self.zmtp_minor == 0:
            out: list = []
            self.encoder([(b"\x01" if subscribe else b"\x00") + topic], out)
            return b"".join(out)
        name = b"SUBSCRIBE" if subscribe else b"CANCEL"
        return self.command_encoder(bytes((len(name),)) + name + topic)

    def adopt(self, engine: Carrier, sock: socket.socket) -> None:
        with self.wlock:
            self.chunks = []  # encoded for the previous connection: useless now
            self.nbytes = 0
            self.partial = False
            self.nmsgs = len(self.held)
            self.encoder = self.command_encoder = None
        super().adopt(engine, sock)

    def set_ready(self) -> None:
        with self.wlock:
            self._ctl_first()
            held, self.held = self.held, []
            encoder = self.encoder
            assert encoder is not None, "use(mechanism) comes before set_ready()"
            if held:
                self.nbytes += encoder(held, self.chunks)
            self.ready = True
            if not self.want_write:
                self._write()

    def pending_bytes(self) -> int:
        if self.ready:  # held messages are counted in nbytes
            return super().pending_bytes()
        held = sum(len(m) if isinstance(m, bytes) else sum(len(f) for f in m) for m in self.held)
        return super().pending_bytes() + held
