"""Each protocol violation a peer can commit during the handshake carries libzmq's ZMQ_PROTOCOL_ERROR_*
code (``ProtocolError.code``, the value of the HANDSHAKE_FAILED_PROTOCOL monitor event) and keeps its
text reason; a peer's ERROR is a refusal, not a violation (code 0). Sans-I/O: bytes in, exception out."""

from __future__ import annotations

import pytest

from tests.zmtp._util import greeting, ready
from zlab.constants import ProtocolErrorCode as Code
from zlab.constants import SocketType
from zlab.errors import ProtocolError
from zlab.zmtp import Connection
from zlab.zmtp.frames import command_frame
from zlab.zmtp.plain import PlainServer

CASES = [
    ("mechanism", greeting(mechanism=b"PLAIN"), Code.ZMTP_MECHANISM_MISMATCH),
    ("command-before-ready", greeting() + command_frame(b"PING", b"\x00\x00"), Code.ZMTP_UNEXPECTED_COMMAND),
    ("message-before-ready", greeting() + b"\x00\x02hi", Code.ZMTP_UNEXPECTED_COMMAND),
    ("more-on-command", greeting() + b"\x05\x06\x05READY", Code.ZMTP_MALFORMED_COMMAND_UNSPECIFIED),
    ("wrong-socket-type", greeting() + ready(b"PUSH"), Code.ZMTP_INVALID_METADATA),
    ("no-socket-type", greeting() + command_frame(b"READY", b""), Code.ZMTP_INVALID_METADATA),
    (
        "metadata-overrun",
        greeting() + command_frame(b"READY", b"\x0bSocket-Type\x00\x00\x00\xff"),
        Code.ZMTP_INVALID_METADATA,
    ),
    ("malformed-error", greeting() + command_frame(b"ERROR", b"\x09bad"), Code.ZMTP_MALFORMED_COMMAND_ERROR),
    ("unversioned", b"\x01\x00", Code.ZMTP_UNSPECIFIED),
    ("peer-error", greeting() + command_frame(b"ERROR", b"\x03400"), 0),
]


@pytest.mark.parametrize(("data", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_handshake_violation_codes(data: bytes, code: int) -> None:
    conn = Connection(SocketType.PUSH)
    with pytest.raises(ProtocolError) as info:
        conn.receive_data(data)
    assert info.value.code == code
    assert info.value.reason  # the text stays


@pytest.mark.parametrize(
    ("hello", "code"),
    [(b"", Code.ZMTP_MALFORMED_COMMAND_HELLO), (b"\x05ad", Code.ZMTP_MALFORMED_COMMAND_HELLO)],
)
def test_plain_malformed_hello(hello: bytes, code: int) -> None:
    conn = Connection(SocketType.PULL, mechanism=PlainServer(zap=False), as_server=True)
    with pytest.raises(ProtocolError) as info:
        conn.receive_data(greeting(mechanism=b"PLAIN") + command_frame(b"HELLO", hello))
    assert info.value.code == code


def test_curve_malformed_hello() -> None:
    curve = pytest.importorskip("zlab.zmtp.curve")
    conn = Connection(SocketType.PULL, mechanism=curve.CurveServer(bytes(32)), as_server=True)
    with pytest.raises(ProtocolError) as info:
        conn.receive_data(greeting(mechanism=b"CURVE") + command_frame(b"HELLO", b"\x01\x00"))
    assert info.value.code == Code.ZMTP_MALFORMED_COMMAND_HELLO
