"""The 64-octet ZMTP greeting: building ours and checking the peer's progressively.

Owns: greeting layout (RFC 37 "Formal Grammar"), version detection and mechanism matching.
Rules: pure; imports only zlab.errors and zlab.constants. Padding (octets 1-8) is never validated; the peer's greeting is
checked octet range by octet range as it arrives, so a bad peer is refused as early as possible.
"""

from __future__ import annotations

from zlab.constants import ProtocolErrorCode as Code
from zlab.errors import HandshakeRefused, ProtocolError

GREETING_SIZE = 64
VERSION_MAJOR = 3
VERSION_MINOR = 1
MECHANISM_SIZE = 20


def mechanism_field(mechanism: bytes) -> bytes:
    """The 20-octet NUL-padded mechanism field."""
    if not 0 < len(mechanism) <= MECHANISM_SIZE or b"\0" in mechanism:
        raise ValueError(f"invalid mechanism name {mechanism!r}")
    return mechanism.ljust(MECHANISM_SIZE, b"\0")


def build_greeting(mechanism: bytes = b"NULL", as_server: bool = False) -> bytes:
    """Our full greeting: 0xFF, 8 zero padding, 0x7F, 3, 1, mechanism, as-server, 31 zeros."""
    return (
        b"\xff"
        + bytes(8)
        + b"\x7f"
        + bytes((VERSION_MAJOR, VERSION_MINOR))
        + mechanism_field(mechanism)
        + (b"\x01" if as_server else b"\x00")
        + bytes(31)
    )


AS_SERVER_OFFSET = 12 + MECHANISM_SIZE


def check_greeting(data: bytes | bytearray, mechanism: bytes) -> None:
    """Validate whatever part of the peer's greeting `data` holds (it may be incomplete).

    Raises ProtocolError for an unversioned (1.0) or pre-3 peer, HandshakeRefused for a mechanism mismatch.
    """
    n = len(data)
    if n >= 1 and data[0] != 0xFF:
        raise ProtocolError("unsupported ZMTP version (unversioned peer)")
    if n >= 10 and not data[9] & 1:
        raise ProtocolError("unsupported ZMTP version (unversioned peer)")
    if n >= 11 and data[10] < VERSION_MAJOR:
        raise ProtocolError(f"unsupported ZMTP version {data[10]}")
    if n >= 12 + MECHANISM_SIZE and data[12 : 12 + MECHANISM_SIZE] != mechanism_field(mechanism):
        raise HandshakeRefused("mechanism mismatch", Code.ZMTP_MECHANISM_MISMATCH)
    if n > AS_SERVER_OFFSET and mechanism == b"NULL" and data[AS_SERVER_OFFSET]:
        raise ProtocolError("as-server set with the NULL mechanism")  # RFC 37: MUST be 0; libzmq closes too


def negotiated_minor(data: bytes | bytearray) -> int:
    """Minor version to speak with a peer whose (checked) greeting is `data`: 0 for 3.0, else 1."""
    if data[10] == VERSION_MAJOR:
        return min(VERSION_MINOR, data[11])
    return VERSION_MINOR
