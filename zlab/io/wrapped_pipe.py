"""The outbound queue of a connection whose mechanism wraps every frame (CURVE): encoded late.

Owns: ``WrappedStreamPipe``, a ``StreamPipe`` that keeps messages unencoded until its connection's
handshake is done, then encodes each one with the connection's mechanism (``Mechanism.encode``)
under the pipe lock, so that encoding order is wire order (CURVE nonces must strictly increase).
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


def _clear_command(body: bytes) -> bytes:
    """A command body framed in clear (a mechanism that doesn't wrap got this pipe)."""
    return command_frame(body[1 : 1 + body[0]], body[1 + body[0] :])


class WrappedStreamPipe(StreamPipe):
    """A stream pipe whose messages are encoded by the connection's mechanism."""

    __slots__ = ("command_encoder", "encoder", "held")

    def __init__(self, link: SocketLink, reactor: Reactor, endpoint: str) -> None:
        super().__init__(link, reactor, endpoint)
        self.encoder: Encoder | None = None
        self.command_encoder: Callable[[bytes], bytes] | None = None
        self.held: list[Sequence[bytes]] = []  # messages waiting for a handshake, not encoded

    def use(self, mechanism: Mechanism) -> None:
        """The handshake is done: encode with this connection's mechanism (before ``set_ready``)."""
        with self.wlock:
            if mechanism.wraps_traffic:
                self.encoder = mechanism.encode
                self.command_encoder = mechanism.encode_command
            else:
                self.encoder = encode_message
                self.command_encoder = _clear_command

    def deliver_many(self, msgs: list[Msg], enc: list) -> int:
        return Pipe.deliver_many(self, msgs, enc)  # each connection encrypts with its own keys and nonces

    def deliver(self, msg: Msg) -> bool:
        with self.wlock:
            hwm = self.hwm_out
            nmsgs = self.nmsgs
            if (hwm and nmsgs >= hwm) or not self.alive:
                return False
            frames = [msg] if type(msg) is bytes else msg
            encoder = self.encoder
            if self.ready and encoder is not None:
                self.nbytes += encoder(frames, self.chunks)
            else:
                self.held.append(frames)
            self.nmsgs = nmsgs = nmsgs + 1
            self.msgs_out += 1
            if self.flush_requested:
                if (self.nbytes >= FLUSH_BYTES or nmsgs >= hwm > 0) and self.ready and not self.want_write:
                    self._write()
            elif self.ready and not self.want_write:
                now = time.perf_counter()
                if not self.recent or now - self.last_send > IDLE_GAP:
                    self._write()
                    self.recent = True
                else:
                    self.flush_requested = True
                    self.reactor.call_soon(self.flush)
                self.last_send = now
        return True

    def write_output(self, conn: Connection) -> None:
        with self.wlock:
            data = conn.data_to_send()  # encodes post-handshake commands: under the lock
            if data:
                self._control(data)

    def write_command(self, name: bytes, data: bytes) -> None:
        with self.wlock:
            if self.command_encoder is not None:  # None: no connection is up to take it
                self._control(self.command_encoder(bytes((len(name),)) + name + data))

    def subscription(self, subscribe: bool, topic: bytes) -> None:
        if self.sub_ready:
            with self.wlock:
                self._control(self._subscription_bytes(subscribe, topic))

    def send_subscriptions(self, topics: list[bytes]) -> None:
        if topics:
            with self.wlock:
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
            for frames in held:
                self.nbytes += encoder(frames, self.chunks)
            self.ready = True
            if not self.want_write:
                self._write()

    def pending_bytes(self) -> int:
        return super().pending_bytes() + sum(len(f) for frames in self.held for f in frames)
