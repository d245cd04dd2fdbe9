"""The NULL mechanism (RFC 37 "The NULL Security Mechanism"): a READY each way, no credentials.

Owns: ``NullMechanism``. Rules: pure; follows the ``Mechanism`` interface (mechanism.py). Like libzmq,
both sides send READY as soon as the peer's greeting has arrived, without waiting for the peer's
READY; a server asked to consult ZAP (libzmq does so when ZAP_DOMAIN is set) holds its READY until
the handler's verdict, and refuses with ERROR "400"/"500" (nothing for "300").
"""

from __future__ import annotations

from zlab.constants import ProtocolErrorCode as Code
from zlab.errors import ProtocolError

from .commands import decode_metadata
from .mechanism import Command, Mechanism, ZapReply, ZapRequest, zap_refusal


class NullMechanism(Mechanism):
    """NULL: our READY carries our properties; the peer's READY carries its."""

    name = b"NULL"

    def __init__(self, *, as_server: bool = False, zap: bool = False) -> None:
        super().__init__(as_server=as_server, zap=zap)
        self._metadata = b""
        self._sent = False
        self._received = False

    def start(self, metadata: bytes) -> list[Command]:
        self._metadata = metadata
        if self.zap:
            self.zap_request = ZapRequest(b"NULL")
            return []
        return self._ready()

    def _ready(self) -> list[Command]:
        self._sent = self.output_open = True
        self.done = self._received
        return [(b"READY", self._metadata)]

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        if name != b"READY" or self._received:
            raise ProtocolError(
                f"unexpected command {name!r} during the handshake", Code.ZMTP_UNEXPECTED_COMMAND
            )
        self.peer_metadata = decode_metadata(data)
        self._received = True
        self.done = self._sent
        return []

    def zap_reply(self, reply: ZapReply) -> list[Command]:
        if reply.status_code != "200":
            raise zap_refusal(reply)
        return self._ready()
