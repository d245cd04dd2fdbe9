"""The security-mechanism interface: what a ZMTP mechanism (NULL, PLAIN, CURVE) does, and nothing else.

Owns: ``Mechanism`` (the base class), ``ZapRequest`` / ``ZapReply`` (what a server side asks its ZAP
handler, and the answer) and ``Refused`` (a mechanism's refusal). Rules: pure (layer L1, sans-I/O, no
clock); a mechanism only exchanges commands, it never sees bytes of the greeting or of frame headers.

How a ``Connection`` drives a mechanism (implement these and the connection does the rest)
--------------------------------------------------------------------------------------------
A mechanism object serves one connection, one side (client or server), and is given to
``Connection(socket_type, mechanism=...)``. A *command* is a pair ``(name, data)`` of bytes: the
connection frames it (``command_frame``) and sends it; received command frames are split back into
``(name, data)`` before they reach the mechanism.

1. ``name`` (class attribute, e.g. ``b"CURVE"``) goes into the greeting; the peer's must match.
   ``as_server`` (set by ``__init__``) is the greeting's as-server octet.
2. ``start(metadata)`` is called once, when the peer's greeting has arrived. ``metadata`` is our
   encoded READY-style property block (``Socket-Type``, ``Identity``, application properties,
   encoded by ``commands.encode_metadata``) that the mechanism carries to the peer wherever its
   protocol puts it (NULL: READY; PLAIN: client INITIATE / server READY; CURVE: inside the
   INITIATE / READY boxes). Returns the commands to send now (a client's HELLO, NULL's READY, ...).
3. ``receive(name, data)`` is called for each handshake command from the peer, in order, until
   ``done``. Returns the commands to send in reply. ERROR commands never reach it: the connection
   handles them (event ``PeerError``, then ``HandshakeRefused``). A malformed or unexpected command
   raises ``ProtocolError``; a refusal raises ``Refused`` (see 6).
4. When the handshake is complete both ways, set ``self.done = True`` and ``self.peer_metadata``
   (the peer's properties, decoded with ``commands.decode_metadata``). The connection then checks
   the peer's Socket-Type, emits ``HandshakeDone`` and decodes whatever follows as traffic.
   Set ``self.output_open = True`` as soon as ordinary commands (SUBSCRIBE, PING...) may follow what
   the mechanism has produced: NULL sets it with its READY; a mechanism that sets it only with
   ``done`` (the default: the connection opens output at ``done``) makes them wait for the
   handshake to end.
5. ZAP (RFC 27), server side only. If the mechanism was made with ``zap=True`` it must, at the point
   its protocol authenticates the client (NULL: at ``start``; PLAIN: on HELLO; CURVE: on INITIATE),
   set ``self.zap_request = ZapRequest(mechanism, credentials)`` and return from that call without
   sending the answer that depends on it. The connection reports the request as an event, stops
   feeding handshake commands to the mechanism (the peer's later bytes wait in the connection,
   bounded) and, when the engine has the handler's answer, calls ``zap_reply(reply)``:
   status ``"200"``: return the commands that continue the handshake (WELCOME, READY...);
   any other status: raise ``Refused(..., status=reply.status_code, error=...)`` where ``error``
   is the ERROR reason to send (``zap_error_reason`` gives libzmq's choice: ``"400"``/``"500"``
   are sent as-is, ``"300"`` sends nothing). ``zap=False`` means nobody asks: proceed as if 200.
   The engine builds the RFC 27 request (version, request id, domain, address, identity) around
   ``ZapRequest.mechanism`` and ``ZapRequest.credentials`` (PLAIN: username, password; CURVE: the
   client's 32-octet permanent public key; NULL: nothing); the User-Id and metadata of the reply
   reach received messages' properties without the mechanism's help.
6. Errors: raise ``Refused(reason, error="...")`` to refuse the peer with an ERROR command whose
   reason is ``error`` (``error=None``: close without one), ``ProtocolError(reason)`` for a broken
   peer (no ERROR sent). Either closes the connection; never raise anything else on peer input.
7. Traffic, for mechanisms that wrap it (class attribute ``wraps_traffic = True``; CURVE): after
   ``done`` every frame on the wire is produced by the mechanism (libzmq sends each CURVE MESSAGE
   in a plain message frame, flags 0 / LONG, never MORE; the COMMAND flag is accepted too).
   ``encode(frames, out) -> int`` appends the wire chunks of one whole message (its frames, in
   order; e.g. one MESSAGE frame per message frame) to ``out`` and returns the octets
   appended (like ``frames.encode_message``); ``encode_command(body) -> bytes`` returns the wire
   bytes carrying one command (``body`` = name length + name + data: PING, PONG, SUBSCRIBE...).
   libzmq's CURVE puts a flags octet before each payload: bit 0 MORE, bit 1 COMMAND.
   ``decode(body) -> (flags, payload)`` takes the body of one received frame (MORE on that frame is
   a protocol error the connection raises) and returns the flags (bit 0 MORE, bit 1 COMMAND) and
   the payload: a message frame's body, or (COMMAND) a command body that the connection then
   handles like a clear one. A body the mechanism does not accept (bad nonce, not MESSAGE...)
   raises ``ProtocolError`` from ``decode``. In bulk (the throughput path):
   ``encode_many(msgs, out) -> int`` encodes several whole messages (lists of frames, or one
   ``bytes`` for a one-frame message) in order, and
   ``decode_spans(data, spans) -> [(flags, payload)]`` the frame bodies ``data[spans[0]:spans[1]]``,
   ``data[spans[2]:spans[3]]``...; the defaults call ``encode``/``decode`` per item, a mechanism may do
   better (CURVE boxes a batch in one buffer). ``frame_overhead`` (class attribute): octets a wire
   frame body adds to its payload, so MAXMSGSIZE can be checked on the frame header.
   Threads: ``encode``/``encode_command`` are called with the sending side serialised (the
   engine's pipe lock) and in wire order; ``decode`` only from the reader. They may keep state
   (nonces) without locks of their own. Mechanisms with ``wraps_traffic = False`` never get these
   calls: their traffic stays on the connection's fast paths (NULL and PLAIN pay nothing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from zlab.constants import ProtocolErrorCode as Code
from zlab.errors import HandshakeRefused

Command = tuple[bytes, bytes]
"""A command as a mechanism sees it: (name, data)."""


@dataclass(frozen=True, slots=True)
class ZapRequest:
    """An event: the server side needs its ZAP handler's verdict before the handshake goes on."""

    mechanism: bytes
    credentials: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class ZapReply:
    """A ZAP handler's answer (RFC 27), as the engine hands it to ``Connection.zap_reply``."""

    status_code: str
    status_text: str = ""
    user_id: bytes = b""
    metadata: dict[str, bytes] = field(default_factory=dict)


class Refused(HandshakeRefused):
    """A mechanism refuses the peer. ``error``: the ERROR reason to send first (None: none);
    ``status``: a ZAP status code when the refusal is the ZAP handler's ("300", "400", "500")."""

    def __init__(
        self, reason: str, *, error: str | None = None, status: str = "", code: int = Code.ZMTP_UNSPECIFIED
    ) -> None:
        super().__init__(reason, code)
        self.error = error
        self.status = status


def zap_error_reason(status_code: str) -> str | None:
    """The ERROR reason libzmq sends for a ZAP refusal: the status code itself, none for 300."""
    return None if status_code.startswith("3") else status_code


def zap_refusal(reply: ZapReply) -> Refused:
    """The ``Refused`` a mechanism raises for a ZAP reply other than 200."""
    return Refused(
        f"ZAP refused the peer: {reply.status_code} {reply.status_text}".rstrip(),
        error=zap_error_reason(reply.status_code),
        status=reply.status_code,
    )


class Mechanism:
    """One side of one connection's security handshake (see the module docstring)."""

    name: ClassVar[bytes] = b""
    #: True: after the handshake every frame goes through encode/decode (CURVE)
    wraps_traffic: ClassVar[bool] = False
    #: wrapping mechanisms: wire octets a frame gains (the frame size limit grows by this much)
    frame_overhead: ClassVar[int] = 0

    def __init__(self, *, as_server: bool = False, zap: bool = False) -> None:
        self.as_server = as_server
        self.zap = zap
        self.done = False
        self.output_open = False
        self.peer_metadata: dict[str, bytes] = {}
        self.zap_request: ZapRequest | None = None

    def start(self, metadata: bytes) -> list[Command]:
        """The peer's greeting arrived; return the commands to send now."""
        raise NotImplementedError

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        """One handshake command from the peer; return the commands to send in reply."""
        raise NotImplementedError

    def zap_reply(self, reply: ZapReply) -> list[Command]:
        """The ZAP handler answered ``zap_request``; continue (200) or raise ``Refused``."""
        raise NotImplementedError

    # -- traffic, for wraps_traffic mechanisms -------------------------------------------------
    def encode(self, frames: Sequence[bytes], out: list) -> int:
        """Append the wire chunks of one message to ``out``; return the octets appended."""
        raise NotImplementedError

    def encode_command(self, body: bytes) -> bytes:
        """The wire bytes carrying one command body after the handshake."""
        raise NotImplementedError

    def decode(self, body: bytes) -> tuple[int, bytes]:
        """One received command frame body: (flags: bit 0 MORE, bit 1 COMMAND; payload)."""
        raise NotImplementedError

    def encode_many(self, msgs: Sequence[Sequence[bytes] | bytes], out: list) -> int:
        """``encode`` of each message (a list of frames, or one ``bytes``) in order; the octets appended."""
        encode = self.encode
        return sum(encode([m] if isinstance(m, bytes) else m, out) for m in msgs)

    def decode_spans(self, data: bytes, spans: Sequence[int]) -> list[tuple[int, bytes]]:
        """``decode`` of the frame bodies ``data[spans[i]:spans[i + 1]]`` (i even), in order."""
        decode = self.decode
        return [decode(data[spans[i] : spans[i + 1]]) for i in range(0, len(spans), 2)]
