"""zlab.zmtp: the sans-I/O ZMTP 3.1 protocol layer (with 3.0 peers understood).

Owns: greeting, the security mechanisms' handshakes (mechanism.py is the interface), framing and
commands. Rules: pure; never imports socket, select,
selectors, threading, asyncio or time, nor anything from zlab except zlab.constants and zlab.errors.
Bytes in, events out; commands in, bytes out.
"""

from __future__ import annotations

from .commands import Cancel, HandshakeDone, PeerError, Ping, Pong, Subscribe, UnknownCommand
from .compat import compatible
from .connection import Connection
from .frames import FLAG_COMMAND, FLAG_LONG, FLAG_MORE, encode_message
from .mechanism import Mechanism, Refused, ZapReply, ZapRequest
from .null import NullMechanism
from .plain import PlainClient, PlainServer

__all__ = [
    "FLAG_COMMAND",
    "FLAG_LONG",
    "FLAG_MORE",
    "Cancel",
    "Connection",
    "HandshakeDone",
    "Mechanism",
    "NullMechanism",
    "PeerError",
    "PlainClient",
    "PlainServer",
    "Ping",
    "Pong",
    "Refused",
    "Subscribe",
    "UnknownCommand",
    "ZapReply",
    "ZapRequest",
    "compatible",
    "encode_message",
]
