"""Z85 (RFC 32): the printable encoding of CURVE keys, 4 octets to 5 characters.

Owns: the pure codec, here in the protocol layer so that both zlab.zmtp (which may not import upward) and
the facade's ``zlab.utils.z85`` can use it. Rules: pure; imports nothing from zlab. Errors are
``ValueError`` (lengths that are not a multiple of 4 / 5, characters outside the alphabet, a group above
2**32 - 1).
"""

from __future__ import annotations

import struct

ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
"""The 85 characters of RFC 32, in value order."""

_VALUE: tuple[int, ...] = tuple(ALPHABET.find(bytes((c,))) for c in range(256))  # -1 outside the alphabet
# _PAIRS[v] is the two characters of v in 0..85**2-1: an encoded group is three lookups, not five
_PAIRS: tuple[bytes, ...] = tuple(bytes((ALPHABET[v // 85], ALPHABET[v % 85])) for v in range(85 * 85))
_CHARS: tuple[bytes, ...] = tuple(bytes((c,)) for c in ALPHABET)
_MAX = 0xFFFFFFFF


def encode(data: bytes | bytearray | memoryview) -> bytes:
    """Encode ``data`` (a multiple of 4 octets) as Z85 text in bytes: 5 characters per 4 octets."""
    n = len(data)
    if n % 4:
        raise ValueError(f"Z85 encodes a multiple of 4 octets, not {n}")
    out: list[bytes] = []
    append = out.append
    pairs = _PAIRS
    chars = _CHARS
    for (v,) in struct.iter_unpack(">I", data):
        hi, lo = divmod(v, 85 * 85)  # hi < 85**3, lo < 85**2
        append(chars[hi // 7225])
        append(pairs[hi % 7225])
        append(pairs[lo])
    return b"".join(out)


def decode(text: str | bytes | bytearray | memoryview) -> bytes:
    """Decode Z85 ``text`` (str or bytes, a multiple of 5 characters) to the octets it encodes."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("Z85 text must be ASCII") from None
    else:
        raw = bytes(text)
    n = len(raw)
    if n % 5:
        raise ValueError(f"Z85 decodes a multiple of 5 characters, not {n}")
    value = _VALUE
    words: list[int] = []
    for i in range(0, n, 5):
        a, b, c, d, e = (value[x] for x in raw[i : i + 5])
        if a < 0 or b < 0 or c < 0 or d < 0 or e < 0:
            raise ValueError(f"invalid Z85 character in {raw[i : i + 5]!r}")
        v = (((a * 85 + b) * 85 + c) * 85 + d) * 85 + e
        if v > _MAX:
            raise ValueError(f"Z85 group {raw[i : i + 5]!r} is above 2**32 - 1")
        words.append(v)
    return struct.pack(f">{len(words)}I", *words)
