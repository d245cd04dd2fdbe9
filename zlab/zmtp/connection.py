"""One ZMTP 3.1 connection as a sans-I/O state machine: bytes in, messages and events out.

Owns: the greeting exchange, driving the security mechanism's handshake (mechanism.py: NULL, PLAIN,
CURVE), the peer's Socket-Type check, the ZAP pause, frame decoding with size limits, and the
post-handshake commands (PING/PONG, SUBSCRIBE/CANCEL, ERROR). Rules: no sockets, threads, selectors,
asyncio or clock; imports only zlab.constants and zlab.errors (plus sibling modules). Every protocol
violation raises ``zlab.errors.ProtocolError`` (``HandshakeRefused`` for refusals) and closes the
connection. ``_receive_frames`` is the receive hot path of every tcp/ipc message: one loop, locals only,
no per-frame objects; messages are plain ``bytes`` (one frame) or ``list[bytes]`` (multipart).
Mechanisms that wrap their traffic (CURVE) get their own decode and output paths after the handshake
(bound per instance), so NULL and PLAIN traffic never pays for them.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Mapping, Sequence

from zlab.constants import ProtocolErrorCode as Code
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
    decode_ping,
    encode_error_reason,
    encode_metadata,
    split_command,
)
from .compat import SENDS_IDENTITY, SOCKET_TYPE_BY_NAME, SOCKET_TYPE_NAME, compatible
from .frames import FLAGS_RESERVED, MAX_FRAME_SIZE, MAX_SHORT, command_frame, encode_message
from .greeting import GREETING_SIZE, build_greeting, check_greeting, negotiated_minor
from .mechanism import Command, Mechanism, Refused, ZapReply
from .null import NullMechanism

HANDSHAKE_COMMAND_MAX = 64 * 1024
"""Largest command body accepted before the handshake completes (a lying length must not cost memory).
Handshake commands are not subject to ``max_msg_size``, which limits every frame after the handshake."""
HANDSHAKE_BUFFER_MAX = 2 * HANDSHAKE_COMMAND_MAX
"""Most octets held while the handshake waits for a ZAP verdict (a legitimate peer sends nothing then)."""

_CMD_MORE = 0x05  # COMMAND | MORE: illegal combination
# flag bits a frame wrapping a MESSAGE never carries: reserved, and MORE (libzmq sends each MESSAGE
# in a frame of its own)
_WRAPPED_BAD = FLAGS_RESERVED | 0x01
_unpack_size = struct.Struct(">Q").unpack_from  # the 8-octet big-endian size of a long frame


class Connection:
    """The protocol state of one ZMTP connection (either side).

    On construction our full 64-octet greeting is queued in :meth:`data_to_send`; as soon as the peer's
    greeting has arrived the mechanism's first commands are queued too (NULL: our READY; we never wait
    for the peer's READY, as libzmq doesn't). Feed received bytes to :meth:`receive_data`, which returns
    complete application messages and appends control events to :attr:`events`.

    `socket_type` is a ZMTP socket type (PAIR..XSUB); `routing_id` is sent as the ``Identity`` property by
    REQ, DEALER and ROUTER; `max_msg_size` (>= 0) limits every frame body after the handshake (libzmq's
    MAXMSGSIZE is per frame too), checked on the frame header before any of its body is buffered;
    `metadata` adds READY properties (e.g. ``{"X-App": b"1"}``). `mechanism` is a ``Mechanism`` object
    (``NullMechanism``, ``PlainClient``, ...) or ``b"NULL"``; a server-side mechanism made with
    ``zap=True`` pauses the handshake with a ``ZapRequest`` event until :meth:`zap_reply`.
    """

    def __init__(
        self,
        socket_type: int,
        *,
        routing_id: bytes = b"",
        max_msg_size: int = -1,
        metadata: Mapping[str, bytes] | None = None,
        mechanism: Mechanism | bytes = b"NULL",
        as_server: bool = False,
    ) -> None:
        if socket_type not in SOCKET_TYPE_NAME:
            raise ValueError(f"socket type {socket_type!r} has no ZMTP handshake")
        if isinstance(mechanism, bytes):
            if mechanism != b"NULL":
                raise NotImplementedError(f"mechanism {mechanism!r} needs its options: pass a Mechanism")
            mechanism = NullMechanism(as_server=as_server)
        self.socket_type = int(socket_type)
        self.routing_id = bytes(routing_id)
        self.max_msg_size = max_msg_size
        self.mechanism = mechanism
        self.as_server = mechanism.as_server
        #: Control events in arrival order (HandshakeDone, PeerError, Ping, Pong, Subscribe, ZapRequest...).
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
        self._metadata = encode_metadata(props)
        name = mechanism.name
        # NULL: as-server MUST be zero whatever our role.
        self._out: list[bytes] = [build_greeting(name, mechanism.as_server and name != b"NULL")]
        self._pending_subs: list[tuple[bool, bytes]] = []  # (subscribe?, topic) until output opens
        self._output_open = False  # ordinary commands may be queued (the mechanism says when)
        self._zap_asked = False
        self._zap_waiting = False  # a ZapRequest is out: handshake input waits in _pre
        self._lazy: list[tuple[bool, bytes]] = []  # wrapping mechanisms: output encoded by data_to_send

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
        """Return and clear the protocol output queued so far (greeting, handshake, PONG, ERROR, commands).

        With a mechanism that wraps traffic, output queued after the handshake is encoded here, so the
        caller must serialise this with the encoding of outgoing messages (wire order = nonce order).
        """
        out = self._out
        if not out:
            return b""
        self._out = []
        return out[0] if len(out) == 1 else b"".join(out)

    @property
    def output_pending(self) -> bool:
        """True if :meth:`data_to_send` has something to return (a cheap look: nothing is encoded)."""
        return bool(self._out or self._lazy)

    def _data_to_send_wrapped(self) -> bytes:
        """data_to_send after the handshake of a wrapping mechanism (bound per instance)."""
        lazy = self._lazy
        if lazy:
            self._lazy = []
            mech = self.mechanism
            for command, payload in lazy:
                if command:
                    self._out.append(mech.encode_command(payload))
                else:
                    mech.encode([payload], self._out)
        return Connection.data_to_send(self)

    def encode(self, frames: Sequence[bytes]) -> bytes:
        """One message as wire bytes (convenience for tests and cold paths; the engine uses encode_message)."""
        out: list = []
        if self.handshake_done and self.mechanism.wraps_traffic:
            self.mechanism.encode(frames, out)
        else:
            encode_message(frames, out)
        return b"".join(out)

    def send_command(self, name: bytes, data: bytes = b"") -> None:
        """Queue a command frame (name 1..255 octets) in :meth:`data_to_send`."""
        if not 0 < len(name) <= MAX_SHORT:
            raise ValueError("command name must be 1..255 octets")
        self._queue_command(name, data)

    def _queue_command(self, name: bytes, data: bytes) -> None:
        if self.handshake_done and self.mechanism.wraps_traffic:
            self._lazy.append((True, bytes((len(name),)) + name + data))
        else:
            self._out.append(command_frame(name, data))

    def ping(self, ttl_deciseconds: int = 0, context: bytes = b"") -> None:
        """Queue a PING with a TTL in deciseconds (0..65535) and up to 16 octets of context."""
        if not 0 <= ttl_deciseconds <= 0xFFFF:
            raise ValueError("PING TTL must be 0..65535 deciseconds")
        if len(context) > PING_CONTEXT_MAX:
            raise ValueError("PING context is at most 16 octets")
        self._queue_command(b"PING", ttl_deciseconds.to_bytes(2, "big") + bytes(context))

    def subscribe(self, topic: bytes) -> None:
        """Queue a subscription: SUBSCRIBE command to a 3.1 peer, message 0x01+topic to a 3.0 peer.

        Until the handshake lets commands out (NULL: right after our READY) the version is unknown: the
        subscription is held and queued then.
        """
        self._subscription(True, bytes(topic))

    def cancel(self, topic: bytes) -> None:
        """Queue an unsubscription: CANCEL command to a 3.1 peer, message 0x00+topic to a 3.0 peer."""
        self._subscription(False, bytes(topic))

    def error(self, reason: str) -> None:
        """Queue an ERROR command (reason truncated to 255 octets)."""
        self._queue_command(b"ERROR", encode_error_reason(reason))

    def _subscription(self, subscribe: bool, topic: bytes) -> None:
        if not self._output_open:
            self._pending_subs.append((subscribe, topic))
        elif self.peer_minor == 0:
            body = (b"\x01" if subscribe else b"\x00") + topic
            if self.handshake_done and self.mechanism.wraps_traffic:
                self._lazy.append((False, body))
            else:
                encode_message([body], self._out)
        else:
            self._queue_command(b"SUBSCRIBE" if subscribe else b"CANCEL", topic)

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

    @property
    def header_needed(self) -> int:
        """Octets still missing from a frame header that is partly received (0 if none).

        With :attr:`body_needed`, a reader can take a large frame's header and then its body in
        exact reads, so the body does not start inside a read of other octets."""
        hdr = self._hdr
        if not hdr:
            return 0
        return (9 if hdr[0] & 0x02 else 2) - len(hdr)

    @property
    def mid_message(self) -> bool:
        """Input so far ends inside a message: a partial frame, or frames of a multipart message."""
        return bool(self._hdr) or self._pflags >= 0 or bool(self._parts)

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
            self._failed(exc, out)
            raise

    def zap_reply(self, reply: ZapReply) -> list:
        """The ZAP handler's answer to the ``ZapRequest`` event: the handshake goes on (200) or the peer
        is refused (``Refused`` raised, with ``status``; an ERROR may be queued). Returns the messages
        that input held during the wait completes (a legitimate peer sends none)."""
        if self.closed:
            raise ProtocolError("connection is closed")
        if not self._zap_waiting:
            raise ValueError("no ZAP request is waiting for a reply")
        self._zap_waiting = False
        out: list = []
        try:
            self._step(self.mechanism.zap_reply(reply))
            rest = self._receive_handshake(b"")
            if rest:
                return self._receive_frames(rest, out)
            return out
        except ProtocolError as exc:
            self._failed(exc, out)
            raise

    def _failed(self, exc: ProtocolError, out: list) -> None:
        self.closed = True
        if isinstance(exc, Refused) and exc.error is not None:
            self._out.append(command_frame(b"ERROR", encode_error_reason(exc.error)))
        exc.messages = out  # type: ignore[attr-defined]

    def _receive_handshake(self, data: bytes) -> bytes | None:
        """Consume greeting and handshake commands; return the bytes after the handshake, if it ended."""
        pre = self._pre
        pre += data
        if not self._greeting_done:
            check_greeting(pre, self.mechanism.name)
            if len(pre) < GREETING_SIZE:
                return None
            self.peer_minor = negotiated_minor(pre)
            self._greeting_done = True
            del pre[:GREETING_SIZE]
            self._step(self.mechanism.start(self._metadata))
        pos = 0
        n = len(pre)
        while pos < n and not self.handshake_done and not self._zap_waiting:
            flags = pre[pos]
            if flags & FLAGS_RESERVED:
                raise ProtocolError(f"reserved flag bits set: {flags:#04x}")
            if not flags & 0x04:
                raise ProtocolError(
                    "message frame before the handshake completed", Code.ZMTP_UNEXPECTED_COMMAND
                )
            if flags & 0x01:
                raise ProtocolError("MORE flag on a command frame", Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
            hl = 9 if flags & 0x02 else 2
            if n - pos < hl:
                break
            size = pre[pos + 1] if hl == 2 else int.from_bytes(pre[pos + 1 : pos + 9], "big")
            if size > HANDSHAKE_COMMAND_MAX:
                raise ProtocolError("handshake command too large", Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
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
        if len(pre) > HANDSHAKE_BUFFER_MAX:
            raise ProtocolError("too much input while the handshake waits")
        return None

    def _handshake_command(self, body: bytes) -> None:
        name, data = split_command(body)
        if name == b"ERROR":
            reason = decode_error_reason(data)
            self.events.append(PeerError(reason))
            raise HandshakeRefused(f"peer refused the handshake: {reason}", 0)  # no violation: code 0
        self._step(self.mechanism.receive(name, data))

    def _step(self, commands: list[Command]) -> None:
        """Queue what the mechanism produced; report a ZAP request; finish the handshake when done."""
        out = self._out
        for name, data in commands:
            out.append(command_frame(name, data))
        mech = self.mechanism
        if mech.zap_request is not None and not self._zap_asked:
            self._zap_asked = self._zap_waiting = True
            self.events.append(mech.zap_request)
        if mech.done and not self.handshake_done:
            self._finish_handshake()
        if not self._output_open and (mech.output_open or self.handshake_done):
            self._output_open = True
            pending, self._pending_subs = self._pending_subs, []
            for subscribe, topic in pending:
                self._subscription(subscribe, topic)

    def _finish_handshake(self) -> None:
        """The mechanism is done: check the peer's Socket-Type, report HandshakeDone, switch to traffic."""
        props = self.mechanism.peer_metadata
        lower = {k.lower(): v for k, v in props.items()}
        type_name = lower.get("socket-type")
        peer_type = None
        if type_name is not None:
            peer_type = SOCKET_TYPE_BY_NAME.get(type_name)
            if peer_type is None:
                peer_type = SOCKET_TYPE_BY_NAME.get(type_name.upper())
        if peer_type is None or not compatible(self.socket_type, peer_type):
            raise Refused(
                f"incompatible peer socket type {type_name!r}",
                error="Invalid socket type",
                code=Code.ZMTP_INVALID_METADATA,
            )
        self.peer_socket_type = peer_type
        self.peer_routing_id = lower.get("identity", b"")
        self.peer_metadata = props
        self.handshake_done = True
        if self.mechanism.wraps_traffic:  # bound per instance: NULL/PLAIN keep the class's fast paths
            mech = self.mechanism
            self._limit = self._limit if self._limit == MAX_FRAME_SIZE else self._limit + mech.frame_overhead
            self._payload_limit = self.max_msg_size if self.max_msg_size >= 0 else MAX_FRAME_SIZE
            self._receive_frames = self._receive_wrapped  # type: ignore[method-assign]
            self._deliver = self._deliver_wrapped  # type: ignore[method-assign]
            self.data_to_send = self._data_to_send_wrapped  # type: ignore[method-assign]
        assert self.peer_minor is not None
        self.events.append(HandshakeDone(peer_type, self.peer_routing_id, self.peer_minor, props))

    def _command(self, body: bytes) -> None:
        """A command frame after the handshake."""
        name, data = split_command(body)
        if name == b"PING":
            ping = decode_ping(data)
            self._queue_command(b"PONG", ping.context[:PING_CONTEXT_MAX])
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
        else:
            self._frame(flags & 0x01, body, out)

    def _frame(self, more: int, body: bytes, out: list) -> None:
        """A message frame: kept while MORE follows, the whole message out with the last one."""
        if more:
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

    # ------------------------------------------------------------------ wrapped traffic (CURVE)

    def _receive_wrapped(self, data: bytes, out: list) -> list:
        """Decode frames after the handshake of a mechanism that wraps traffic (bound per instance).

        The complete frames of ``data`` are unwrapped in one call (``Mechanism.decode_spans``: CURVE
        opens them into one buffer), then handled in order."""
        n = len(data)
        pos = 0
        if self._hdr or self._pflags >= 0:
            pos = self._resume(data, out)
        limit = self._limit
        spans: list[int] = []
        mark = spans.append
        while pos < n:
            flags = data[pos]
            if flags & _WRAPPED_BAD:  # reserved bits or MORE (the only legal bits: LONG, COMMAND)
                self._check_flags(flags)
                raise ProtocolError("MORE on a frame that wraps a message")
            hl = 9 if flags & 0x02 else 2
            if n - pos < hl:
                break
            size = data[pos + 1] if hl == 2 else _unpack_size(data, pos + 1)[0]
            if size > limit:
                raise ProtocolError("message too large")
            end = pos + hl + size
            if end > n:
                break
            mark(pos + hl)
            mark(end)
            pos = end
        if spans:
            payload_limit = self._payload_limit
            frame = self._frame
            add = out.append
            for mflags, payload in self.mechanism.decode_spans(data, spans):
                if mflags & 0x02:
                    self._command(payload)
                elif len(payload) > payload_limit:
                    raise ProtocolError("message too large")
                elif mflags or self._parts:
                    frame(mflags & 0x01, payload, out)
                else:  # a whole one-frame message, the common case
                    add(payload)
        if pos < n:
            self._stash(data, pos)
        return out

    def _deliver_wrapped(self, flags: int, body: bytes, out: list) -> None:
        """One complete wire frame of a wrapping mechanism: unwrap it, then handle its payload."""
        if flags & 0x01:  # libzmq sends each MESSAGE in a frame of its own: flags 0 (or COMMAND), no MORE
            raise ProtocolError("MORE on a frame that wraps a message")
        mflags, payload = self.mechanism.decode(body)
        if mflags & 0x02:
            self._command(payload)
        elif len(payload) > self._payload_limit:
            raise ProtocolError("message too large")
        else:
            self._frame(mflags & 0x01, payload, out)
