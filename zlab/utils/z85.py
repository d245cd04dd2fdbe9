"""Z85 (RFC 32) encode/decode, as ``zmq.utils.z85``: 4 octets become 5 printable characters.

Owns nothing itself: the codec lives in ``zlab.zmtp.z85`` (layer L1), where the protocol layer can use it
too; this module is its public home beside the socket API (layer L3).
"""

from __future__ import annotations

from zlab.zmtp.z85 import ALPHABET, decode, encode

Z85CHARS = ALPHABET
"""The 85 characters of RFC 32, in value order (pyzmq's name)."""

__all__ = ["Z85CHARS", "decode", "encode"]
