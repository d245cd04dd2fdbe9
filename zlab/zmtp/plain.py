"""The PLAIN mechanism (RFC 24): a username and password in clear, checked by the server's ZAP handler.

Owns: ``PlainClient`` and ``PlainServer``. Rules: pure; follows the ``Mechanism`` interface
(mechanism.py). C:HELLO(username, password) -> S:WELCOME -> C:INITIATE(metadata) -> S:READY(metadata);
the server may answer HELLO with ERROR instead of WELCOME (its ZAP handler refused the credentials).
Roles come from the local PLAIN_SERVER option, as in libzmq. Traffic is not wrapped.
"""

from __future__ import annotations

from zlab.constants import ProtocolErrorCode as Code
from zlab.errors import ProtocolError

from .commands import decode_metadata
from .mechanism import Command, Mechanism, ZapReply, ZapRequest, zap_refusal

CREDENTIAL_MAX = 255
"""Usernames and passwords are 0..255 octets (one length octet each on the wire)."""


def encode_hello(username: bytes, password: bytes) -> bytes:
    """HELLO command data: 1-octet length + username, 1-octet length + password."""
    if len(username) > CREDENTIAL_MAX or len(password) > CREDENTIAL_MAX:
        raise ValueError("PLAIN username and password are at most 255 octets")
    return bytes((len(username),)) + username + bytes((len(password),)) + password


def decode_hello(data: bytes) -> tuple[bytes, bytes]:
    """(username, password) from HELLO command data; ProtocolError if the lengths don't add up."""
    n = len(data)
    if not n:
        raise ProtocolError("malformed HELLO: no username length", Code.ZMTP_MALFORMED_COMMAND_HELLO)
    end = 1 + data[0]
    if end >= n:  # the password's length octet must follow the username
        raise ProtocolError("malformed HELLO: username beyond the command", Code.ZMTP_MALFORMED_COMMAND_HELLO)
    username = data[1:end]
    pend = end + 1 + data[end]
    if pend != n:
        raise ProtocolError(
            "malformed HELLO: password length does not match the command", Code.ZMTP_MALFORMED_COMMAND_HELLO
        )
    return username, data[end + 1 : pend]


class PlainClient(Mechanism):
    """The PLAIN client: sends its credentials, then its metadata once welcomed."""

    name = b"PLAIN"

    def __init__(self, username: bytes = b"", password: bytes = b"") -> None:
        super().__init__(as_server=False)
        self._hello = encode_hello(bytes(username), bytes(password))
        self._metadata = b""
        self._state = "hello"  # hello sent -> "initiate" sent -> done

    def start(self, metadata: bytes) -> list[Command]:
        self._metadata = metadata
        return [(b"HELLO", self._hello)]

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        if name == b"WELCOME" and self._state == "hello":
            if data:
                raise ProtocolError("malformed WELCOME", Code.ZMTP_MALFORMED_COMMAND_WELCOME)
            self._state = "initiate"
            return [(b"INITIATE", self._metadata)]
        if name == b"READY" and self._state == "initiate":
            self.peer_metadata = decode_metadata(data)
            self._state = "done"
            self.done = True
            return []
        raise ProtocolError(
            f"unexpected command {name!r} during the PLAIN handshake", Code.ZMTP_UNEXPECTED_COMMAND
        )


class PlainServer(Mechanism):
    """The PLAIN server: asks ZAP about the client's HELLO, then exchanges metadata."""

    name = b"PLAIN"

    def __init__(self, *, zap: bool = True) -> None:
        super().__init__(as_server=True, zap=zap)
        self._metadata = b""
        self._state = "hello"  # waiting for HELLO -> "zap" -> "initiate" (WELCOME sent) -> done
        #: the credentials the client presented (for the ZAP request; kept for diagnostics)
        self.username = b""

    def start(self, metadata: bytes) -> list[Command]:
        self._metadata = metadata
        return []

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        if name == b"HELLO" and self._state == "hello":
            username, password = decode_hello(data)
            self.username = username
            if self.zap:
                self._state = "zap"
                self.zap_request = ZapRequest(b"PLAIN", (username, password))
                return []
            return self._welcome()
        if name == b"INITIATE" and self._state == "initiate":
            self.peer_metadata = decode_metadata(data)
            self._state = "done"
            self.done = True
            return [(b"READY", self._metadata)]
        raise ProtocolError(
            f"unexpected command {name!r} during the PLAIN handshake", Code.ZMTP_UNEXPECTED_COMMAND
        )

    def _welcome(self) -> list[Command]:
        self._state = "initiate"
        return [(b"WELCOME", b"")]

    def zap_reply(self, reply: ZapReply) -> list[Command]:
        if reply.status_code != "200":
            raise zap_refusal(reply)
        return self._welcome()
