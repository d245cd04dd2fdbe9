"""ZMTP 3.x frame encoding: flags, precomputed short headers, ``encode_message`` and command frames.

Owns: the byte layout of frames on the wire (RFC 37 "Framing"). Rules: pure (no I/O, no clock), imports
nothing from zlab. ``encode_message`` is the send hot path: it appends references to `out` and never copies
a body; short headers (body <= 255 octets) come from precomputed tables, the 8-octet long form is used only
above 255 octets, exactly as libzmq does.
"""

from __future__ import annotations

from collections.abc import Sequence

FLAG_MORE = 0x01
"""Flags bit 0: more frames of this message follow."""
FLAG_LONG = 0x02
"""Flags bit 1: the size field is 8 octets (big-endian) instead of 1."""
FLAG_COMMAND = 0x04
"""Flags bit 2: the frame is a command, not message data."""
FLAGS_RESERVED = 0xF8
"""Bits 3-7: reserved, must be zero."""

MAX_SHORT = 255
"""Largest body size that uses the 1-octet size field."""
MAX_FRAME_SIZE = (1 << 63) - 1
"""Largest body size the long form may announce (RFC 37: 2^63-1)."""

# _SHORT_LAST[n] / _SHORT_MORE[n]: the 2-octet header of a message frame with an n-octet body.
_SHORT_LAST: tuple[bytes, ...] = tuple(bytes((0, n)) for n in range(MAX_SHORT + 1))
_SHORT_MORE: tuple[bytes, ...] = tuple(bytes((FLAG_MORE, n)) for n in range(MAX_SHORT + 1))
_LONG_LAST = bytes((FLAG_LONG,))
_LONG_MORE = bytes((FLAG_LONG | FLAG_MORE,))
_SHORT_COMMAND: tuple[bytes, ...] = tuple(bytes((FLAG_COMMAND, n)) for n in range(MAX_SHORT + 1))
_LONG_COMMAND = bytes((FLAG_COMMAND | FLAG_LONG,))

Buffer = bytes | bytearray | memoryview


def encode_message(frames: Sequence[Buffer], out: list) -> int:
    """Append the wire chunks of one message to `out`: header, body, header, body ...

    Returns the number of octets appended. Bodies are appended as-is (never copied), so `out` can be handed
    to ``socket.sendmsg`` or joined once for many messages. Headers of bodies up to 255 octets come from a
    precomputed table; the long form (flags + 8-octet big-endian size) is used only above 255 octets.
    A memoryview body must be byte-formatted (``memoryview.cast("B")``) since its ``len`` is used as size.
    An empty `frames` appends nothing and returns 0 (ZMTP has no empty messages).
    """
    append = out.append
    last = len(frames) - 1
    if last == 0:  # single-frame message: the common case
        body = frames[0]
        size = len(body)
        if size <= MAX_SHORT:
            append(_SHORT_LAST[size])
            append(body)
            return size + 2
        append(_LONG_LAST + size.to_bytes(8, "big"))
        append(body)
        return size + 9
    total = 0
    for i in range(last):
        body = frames[i]
        size = len(body)
        if size <= MAX_SHORT:
            append(_SHORT_MORE[size])
            total += size + 2
        else:
            append(_LONG_MORE + size.to_bytes(8, "big"))
            total += size + 9
        append(body)
    if last < 0:
        return 0
    body = frames[last]
    size = len(body)
    if size <= MAX_SHORT:
        append(_SHORT_LAST[size])
        total += size + 2
    else:
        append(_LONG_LAST + size.to_bytes(8, "big"))
        total += size + 9
    append(body)
    return total


def command_frame(name: bytes, data: bytes = b"") -> bytes:
    """One command frame: flags (0x04 short / 0x06 long), size, name length, name, data."""
    if not 0 < len(name) <= MAX_SHORT:
        raise ValueError("command name must be 1..255 octets")
    body = bytes((len(name),)) + name + data
    size = len(body)
    if size <= MAX_SHORT:
        return _SHORT_COMMAND[size] + body
    return _LONG_COMMAND + size.to_bytes(8, "big") + body
