"""ZMTP command bodies and the control events a Connection reports.

Owns: the event dataclasses, READY metadata encoding/decoding, and parsing of command bodies
(name length + name + data; ERROR reason; PING TTL + context). Rules: pure; imports only zlab.errors.
Parsers raise ``ProtocolError`` on malformed input and never any other exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from zlab.constants import ProtocolErrorCode as Code
from zlab.errors import ProtocolError

PING_CONTEXT_MAX = 16
"""PONG echoes at most this many octets of the PING context (RFC 37 heartbeating)."""
ERROR_REASON_MAX = 255


@dataclass(frozen=True, slots=True)
class HandshakeDone:
    """The NULL handshake completed: READY went both ways."""

    peer_socket_type: int
    peer_routing_id: bytes
    peer_minor: int
    metadata: dict[str, bytes]


@dataclass(frozen=True, slots=True)
class PeerError:
    """The peer sent an ERROR command (the connection ends right after this event)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Ping:
    """The peer sent PING; the PONG reply has already been queued."""

    ttl_deciseconds: int
    context: bytes


@dataclass(frozen=True, slots=True)
class Pong:
    """The peer answered one of our PINGs."""

    context: bytes


@dataclass(frozen=True, slots=True)
class Subscribe:
    """A ZMTP 3.1 SUBSCRIBE command (topic prefix)."""

    topic: bytes


@dataclass(frozen=True, slots=True)
class Cancel:
    """A ZMTP 3.1 CANCEL command (topic prefix)."""

    topic: bytes


@dataclass(frozen=True, slots=True)
class UnknownCommand:
    """A command this layer does not interpret (ignored after the handshake)."""

    name: bytes
    data: bytes


Event = HandshakeDone | PeerError | Ping | Pong | Subscribe | Cancel | UnknownCommand


def split_command(body: bytes) -> tuple[bytes, bytes]:
    """Split a command frame body into (name, data); ProtocolError if the name length overruns the body."""
    if not body:
        raise ProtocolError("empty command", Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
    end = 1 + body[0]
    if end > len(body):
        raise ProtocolError(
            "malformed command: name length beyond the frame", Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        )
    return body[1:end], body[end:]


def encode_metadata(props: Mapping[str, bytes]) -> bytes:
    """Encode properties as READY metadata: {1-octet name length, name, 4-octet BE value length, value}."""
    parts: list[bytes] = []
    for name, value in props.items():
        raw = name.encode("ascii")
        if not 0 < len(raw) <= 255:
            raise ValueError(f"metadata name must be 1..255 octets: {name!r}")
        value = bytes(value)
        if len(value) > 0x7FFFFFFF:
            raise ValueError(f"metadata value too long: {name!r}")
        parts += (bytes((len(raw),)), raw, len(value).to_bytes(4, "big"), value)
    return b"".join(parts)


def decode_metadata(data: bytes) -> dict[str, bytes]:
    """Decode READY metadata into {name as sent: value}; ProtocolError if a length overruns the data."""
    props: dict[str, bytes] = {}
    i = 0
    n = len(data)
    while i < n:
        name_end = i + 1 + data[i]
        if name_end + 4 > n:
            raise ProtocolError("malformed metadata: name beyond the command", Code.ZMTP_INVALID_METADATA)
        value_end = name_end + 4 + int.from_bytes(data[name_end : name_end + 4], "big")
        if value_end > n:
            raise ProtocolError("malformed metadata: value beyond the command", Code.ZMTP_INVALID_METADATA)
        props[data[i + 1 : name_end].decode("latin-1")] = data[name_end + 4 : value_end]
        i = value_end
    return props


def decode_error_reason(data: bytes) -> str:
    """The reason text of an ERROR command body (after the name)."""
    if not data:
        raise ProtocolError("malformed ERROR command", Code.ZMTP_MALFORMED_COMMAND_ERROR)
    end = 1 + data[0]
    if end > len(data):
        raise ProtocolError(
            "malformed ERROR command: reason beyond the frame", Code.ZMTP_MALFORMED_COMMAND_ERROR
        )
    return data[1:end].decode("utf-8", "replace")


def encode_error_reason(reason: str) -> bytes:
    """ERROR command data: 1-octet length + reason, truncated to 255 octets."""
    raw = reason.encode("utf-8")[:ERROR_REASON_MAX]
    return bytes((len(raw),)) + raw


def decode_ping(data: bytes) -> Ping:
    """Parse PING data: 2-octet BE TTL (deciseconds) + context."""
    if len(data) < 2:
        raise ProtocolError("malformed PING command", Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
    return Ping(int.from_bytes(data[:2], "big"), data[2:])
