"""One ZMTP 3.1 connection as a sans-I/O state machine: bytes in, messages and events out.

Owns: the greeting exchange, the NULL handshake (READY/ERROR with metadata), frame decoding with size
limits, and the post-handshake commands (PING/PONG, SUBSCRIBE/CANCEL, ERROR). Rules: no sockets, threads,
selectors, asyncio or clock; imports only zlab.constants and zlab.errors (plus sibling modules). Every
protocol violation raises ``zlab.errors.ProtocolError`` (``HandshakeRefused`` for refusals) and closes the
connection. ``_receive_frames`` is the receive hot path of every tcp/ipc message: one loop, locals only,
no per-frame objects; messages are plain ``bytes`` (one frame) or ``list[bytes]`` (multipart).
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping, Sequence

from zlab.errors import HandshakeRefused, ProtocolError

from .commands import (
    PING_CONTEXT_MAX,
    Cancel,
    HandshakeDone,
    PeerError,
    Pong,
    Subscribe,
    UnknownCommand,
    decode_error_reason,
    decode_metadata,
    decode_ping,
    encode_error_reason,
    encode_metadata,
    split_command,
)
from .compat import SENDS_IDENTITY, SOCKET_TYPE_BY_NAME, SOCKET_TYPE_NAME, compatible
from .frames import FLAGS_RESERVED, MAX_FRAME_SIZE, MAX_SHORT, command_frame, encode_message
from .greeting import GREETING_SIZE, build_greeting, check_greeting, negotiated_minor

HANDSHAKE_COMMAND_MAX = 64 * 1024
"""Largest command body accepted before the handshake completes (a lying length must not cost memory).
Handshake commands are not subject to ``max_msg_size``, which limits every frame after the handshake."""

_CMD_MORE = 0x05  # COMMAND | MORE: illegal combination
_unpack_size = struct.Struct(">Q").unpack_from  # the 8-octet big-endian size of a long frame


class Connection:
    """The protocol state of one ZMTP connection (either side; ZMTP NULL is symmetric).

    On construction our full 64-octet greeting is queued in :meth:`data_to_send`; as soon as the peer's
    greeting has arrived our READY is queued too (we never wait for the peer's READY, as libzmq doesn't).
    Feed received bytes to :meth:`receive_data`, which returns complete application messages and appends
    control events to :attr:`events`.

    `socket_type` is a ZMTP socket type (PAIR..XSUB); `routing_id` is sent as the ``Identity`` property by
    REQ, DEALER and ROUTER; `max_msg_size` (>= 0) limits every frame body after the handshake (libzmq's
    MAXMSGSIZE is per frame too), checked on the frame header before any of its body is buffered;
    `metadata` adds READY properties (e.g. ``{"X-App": b"1"}``). Only the NULL `mechanism` exists so far
    (others raise NotImplementedError); `as_server` is kept for PLAIN/CURVE and always sent as 0 for NULL.
    """

    def __init__(
        self,
        socket_type: int,
        *,
        routing_id: bytes = b"",
        max_msg_size: int = -1,
        metadata: Mapping[str, bytes] | None = None,
        mechanism: bytes = b"NULL",
        as_server: bool = False,
    ) -> None:
        if socket_type not in SOCKET_TYPE_NAME:
            raise ValueError(f"socket type {socket_type!r} has no ZMTP handshake")
        if mechanism != b"NULL":
            raise NotImplementedError(f"mechanism {mechanism!r} is not implemented (only NULL)")
        self.socket_type = int(socket_type)
        self.routing_id = bytes(routing_id)
        self.max_msg_size = max_msg_size
        self.mechanism = mechanism
        self.as_server = as_server
        #: Control events in arrival order (HandshakeDone, PeerError, Ping, Pong, Subscribe, Cancel, ...).
        self.events: deque = deque()
        self.handshake_done = False
        self.closed = False
        self.peer_minor: int | None = None
        self.peer_socket_type: int | None = None
        self.peer_routing_id = b""
        self.peer_metadata: dict[str, bytes] = {}

        props: dict[str, bytes] = {"Socket-Type": SOCKET_TYPE_NAME[self.socket_type]}
        if self.socket_type in SENDS_IDENTITY:
            props["Identity"] = self.routing_id
        if metadata:
            props.update(metadata)
        self._ready_frame = command_frame(b"READY", encode_metadata(props))
        # NULL: as-server MUST be zero whatever our role.
        self._out: list[bytes] = [build_greeting(mechanism, as_server and mechanism != b"NULL")]
        self._pending_subs: list[tuple[bool, bytes]] = []  # (subscribe?, topic) before peer_minor is known

        # Handshake input (greeting + commands); bounded by the greeting size and HANDSHAKE_COMMAND_MAX.
        self._pre = bytearray()
        self._greeting_done = False
        # Frame decoder state after the handshake.
        self._limit = max_msg_size if max_msg_size >= 0 else MAX_FRAME_SIZE
        # Frames with flags below _fast_below skip the size check (short frames when the limit allows 255).
        self._fast_below = 2 if self._limit >= MAX_SHORT else 0
        self._hdr = b""  # an incomplete frame header (< 9 octets)
        self._pflags = -1  # flags of a frame whose body is incomplete, or -1
        self._pneed = 0  # octets of that body still to come
        self._pchunks: list[bytes] = []  # octets of that body received so far
        self._pbuffered = 0
        self._parts: list[bytes] = []  # frames of an incomplete multipart message

    # ------------------------------------------------------------------ output

    def data_to_send(self) -> bytes:
        """Return and clear the protocol output queued so far (greeting, READY, PONG, ERROR, commands)."""
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    def encode(self, frames: Sequence[bytes]) -> bytes:
        """One message as wire bytes (convenience for tests and cold paths; the engine uses encode_message)."""
        out: list = []
        encode_message(frames, out)
        return b"".join(out)

    def send_command(self, name: bytes, data: bytes = b"") -> None:
        """Queue a command frame (name 1..255 octets) in :meth:`data_to_send`."""
        self._out.append(command_frame(name, data))

    def ping(self, ttl_deciseconds: int = 0, context: bytes = b"") -> None:
        """Queue a PING with a TTL in deciseconds (0..65535) and up to 16 octets of context."""
        if not 0 <= ttl_deciseconds <= 0xFFFF:
            raise ValueError("PING TTL must be 0..65535 deciseconds")
        if len(context) > PING_CONTEXT_MAX:
            raise ValueError("PING context is at most 16 octets")
        self._out.append(command_frame(b"PING", ttl_deciseconds.to_bytes(2, "big") + bytes(context)))

    def subscribe(self, topic: bytes) -> None:
        """Queue a subscription: SUBSCRIBE command to a 3.1 peer, message 0x01+topic to a 3.0 peer.

        Before the peer's greeting has arrived the version is unknown: the subscription is held and queued
        right after our READY.
        """
        self._subscription(True, bytes(topic))

    def cancel(self, topic: bytes) -> None:
        """Queue an unsubscription: CANCEL command to a 3.1 peer, message 0x00+topic to a 3.0 peer."""
        self._subscription(False, bytes(topic))

    def error(self, reason: str) -> None:
        """Queue an ERROR command (reason truncated to 255 octets)."""
        self._out.append(command_frame(b"ERROR", encode_error_reason(reason)))

    def _subscription(self, subscribe: bool, topic: bytes) -> None:
        if self.peer_minor is None:
            self._pending_subs.append((subscribe, topic))
        elif self.peer_minor == 0:
            encode_message([(b"\x01" if subscribe else b"\x00") + topic], self._out)
        else:
            self._out.append(command_frame(b"SUBSCRIBE" if subscribe else b"CANCEL", topic))

    # ------------------------------------------------------------------ input

    @property
    def buffered_bytes(self) -> int:
        """Received octets held for incomplete greeting, frames and multipart messages."""
        return len(self._pre) + len(self._hdr) + self._pbuffered + sum(map(len, self._parts))

    @property
    def body_needed(self) -> int:
        """Octets still missing from the body of a frame that is partly received (0 if none).

        A reader can ask the kernel for exactly these, so a large body arrives as one object that
        the decoder keeps without copying it again.
        """
        return self._pneed if self._pflags >= 0 else 0

    @property
    def body_buffered(self) -> int:
        """Octets of that partly received body held so far (what actually arrived)."""
        return self._pbuffered if self._pflags >= 0 else 0

    def receive_data(self, data: bytes | bytearray | memoryview) -> list:
        """Feed received bytes; return the complete application messages they finish, in order.

        A message is ``bytes`` if it has one frame, else ``list[bytes]``. Control events are appended to
        :attr:`events`; protocol output (READY, PONG, ERROR) is queued for :meth:`data_to_send`.
        Raises ProtocolError (HandshakeRefused for refusals) on any violation; the connection is then closed
        and the messages completed earlier in the same call are available as the exception's ``messages``.
        """
        if self.closed:
            raise ProtocolError("connection is closed")
        if type(data) is not bytes:
            data = bytes(data)
        out: list = []
        try:
            if self.handshake_done:
                return self._receive_frames(data, out)
            rest = self._receive_handshake(data)
            if rest:
                return self._receive_frames(rest, out)
            return out
        except ProtocolError as exc:
            self.closed = True
            exc.messages = out  # type: ignore[attr-defined]
            raise

    def _receive_handshake(self, data: bytes) -> bytes | None:
        """Consume greeting and handshake commands; return the bytes after the peer's READY, if reached."""
        pre = self._pre
        pre += data
        if not self._greeting_done:
            check_greeting(pre, self.mechanism)
            if len(pre) < GREETING_SIZE:
                return None
            self.peer_minor = negotiated_minor(pre)
            self._greeting_done = True
            del pre[:GREETING_SIZE]
            self._out.append(self._ready_frame)
            pending, self._pending_subs = self._pending_subs, []
            for subscribe, topic in pending:
                self._subscription(subscribe, topic)
        pos = 0
        n = len(pre)
        while pos < n:
            flags = pre[pos]
            if flags & FLAGS_RESERVED:
                raise ProtocolError(f"reserved flag bits set: {flags:#04x}")
            if not flags & 0x04:
                raise ProtocolError("message frame before the handshake completed")
            if flags & 0x01:
                raise ProtocolError("MORE flag on a command frame")
            hl = 9 if flags & 0x02 else 2
            if n - pos < hl:
                break
            size = pre[pos + 1] if hl == 2 else int.from_bytes(pre[pos + 1 : pos + 9], "big")
            if size > HANDSHAKE_COMMAND_MAX:
                raise ProtocolError("handshake command too large")
            end = pos + hl + size
            if end > n:
                break
            body = bytes(pre[pos + hl : end])
            pos = end
            self._handshake_command(body)
            if self.handshake_done:
                rest = bytes(pre[pos:])
                self._pre = bytearray()
                return rest
        del pre[:pos]
        return None

    def _handshake_command(self, body: bytes) -> None:
        name, data = split_command(body)
        if name == b"READY":
            props = decode_metadata(data)
            lower = {k.lower(): v for k, v in props.items()}
            type_name = lower.get("socket-type")
            peer_type = None
            if type_name is not None:
                peer_type = SOCKET_TYPE_BY_NAME.get(type_name)
                if peer_type is None:
                    peer_type = SOCKET_TYPE_BY_NAME.get(type_name.upper())
            if peer_type is None or not compatible(self.socket_type, peer_type):
                self.error("Invalid socket type")
                raise HandshakeRefused(f"incompatible peer socket type {type_name!r}")
            self.peer_socket_type = peer_type
            self.peer_routing_id = lower.get("identity", b"")
            self.peer_metadata = props
            self.handshake_done = True
            assert self.peer_minor is not None
            self.events.append(HandshakeDone(peer_type, self.peer_routing_id, self.peer_minor, props))
        elif name == b"ERROR":
            reason = decode_error_reason(data)
            self.events.append(PeerError(reason))
            raise HandshakeRefused(f"peer refused the handshake: {reason}")
        else:
            raise ProtocolError(f"unexpected command {name!r} during the handshake")

    def _command(self, body: bytes) -> None:
        """A command frame after the handshake."""
        name, data = split_command(body)
        if name == b"PING":
            ping = decode_ping(data)
            self._out.append(command_frame(b"PONG", ping.context[:PING_CONTEXT_MAX]))
            self.events.append(ping)
        elif name == b"PONG":
            self.events.append(Pong(data))
        elif name == b"SUBSCRIBE":
            self.events.append(Subscribe(data))
        elif name == b"CANCEL":
            self.events.append(Cancel(data))
        elif name == b"ERROR":
            reason = decode_error_reason(data)
            self.events.append(PeerError(reason))
            raise ProtocolError(f"peer sent ERROR: {reason}")
        else:
            self.events.append(UnknownCommand(name, data))

    def _check_flags(self, flags: int) -> None:
        if flags & FLAGS_RESERVED:
            raise ProtocolError(f"reserved flag bits set: {flags:#04x}")
        if flags & _CMD_MORE == _CMD_MORE:
            raise ProtocolError("MORE flag on a command frame")

    def _deliver(self, flags: int, body: bytes, out: list) -> None:
        """A complete frame outside the hot loop."""
        if flags & 0x04:
            self._command(body)
        elif flags & 0x01:
            self._parts.append(body)
        elif self._parts:
            parts = self._parts
            parts.append(body)
            out.append(parts)
            self._parts = []
        else:
            out.append(body)

    def _stash(self, data: bytes, pos: int) -> None:
        """Keep the incomplete frame at data[pos:]: its header, or its header's facts and body chunk."""
        flags = data[pos]
        self._check_flags(flags)
        rest = len(data) - pos
        hl = 9 if flags & 0x02 else 2
        if rest < hl:
            self._hdr = data[pos:]
            return
        size = data[pos + 1] if hl == 2 else _unpack_size(data, pos + 1)[0]
        if size > self._limit:
            raise ProtocolError("message too large")
        have = rest - hl
        self._pflags = flags
        self._pneed = size - have
        self._pchunks = [data[pos + hl :]] if have else []
        self._pbuffered = have

    def _resume(self, data: bytes, out: list) -> int:
        """Complete the frame left incomplete by the previous call; return the position after it in data."""
        pos = 0
        n = len(data)
        hdr = self._hdr
        if hdr:
            flags = hdr[0]
            hl = 9 if flags & 0x02 else 2
            take = hl - len(hdr)
            if take > n:
                self._hdr = hdr + data
                return n
            hdr += data[:take]
            pos = take
            self._hdr = b""
            size = hdr[1] if hl == 2 else int.from_bytes(hdr[1:9], "big")
            if size > self._limit:
                raise ProtocolError("message too large")
            self._pflags = flags
            self._pneed = size
            self._pchunks = []
            self._pbuffered = 0
        if self._pflags >= 0:
            need = self._pneed
            avail = n - pos
            if avail < need:
                if avail:
                    self._pchunks.append(data[pos:] if pos else data)
                    self._pneed = need - avail
                    self._pbuffered += avail
                return n
            chunks = self._pchunks
            if need:
                chunks.append(data if need == n else data[pos : pos + need])
            body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
            flags = self._pflags
            self._pflags = -1
            self._pchunks = []
            self._pbuffered = 0
            pos += need
            self._deliver(flags, body, out)
        return pos

    def _receive_frames(self, data: bytes, out: list) -> list:
        """Decode frames after the handshake (the hot path)."""
        n = len(data)
        pos = 0
        if self._hdr or self._pflags >= 0:
            pos = self._resume(data, out)
        parts = self._parts
        limit = self._limit
        fast_below = self._fast_below
        append = out.append
        last = n - 2
        while pos <= last:
            flags = data[pos]
            if flags < fast_below:  # short message frame, no size check needed
                end = pos + 2 + data[pos + 1]
                if end > n:
                    break
                if flags:
                    parts.append(data[pos + 2 : end])
                elif parts:
                    parts.append(data[pos + 2 : end])
                    append(parts)
                    parts = []
                else:
                    append(data[pos + 2 : end])
                pos = end
            elif flags >> 1 == 1:  # long message frame (flags 2 or 3)
                if pos + 9 > n:
                    break
                end = pos + 9 + _unpack_size(data, pos + 1)[0]
                if end - pos - 9 > limit:
                    raise ProtocolError("message too large")
                if end > n:
                    break
                if flags & 0x01:
                    parts.append(data[pos + 9 : end])
                elif parts:
                    parts.append(data[pos + 9 : end])
                    out.append(parts)
                    parts = []
                else:
                    out.append(data[pos + 9 : end])
                pos = end
            else:  # commands, short frames under a small max_msg_size, bad flags
                if flags & FLAGS_RESERVED or flags & _CMD_MORE == _CMD_MORE:
                    self._check_flags(flags)
                if flags & 0x02:
                    if pos + 9 > n:
                        break
                    size = _unpack_size(data, pos + 1)[0]
                    start = pos + 9
                else:
                    size = data[pos + 1]
                    start = pos + 2
                if size > limit:
                    raise ProtocolError("message too large")
                end = start + size
                if end > n:
                    break
                body = data[start:end]
                pos = end
                if flags & 0x04:
                    self._command(body)
                elif flags & 0x01:
                    parts.append(body)
                elif parts:
                    parts.append(body)
                    out.append(parts)
                    parts = []
                else:
                    out.append(body)
        self._parts = parts
        if pos < n:
            self._stash(data, pos)
        return out
