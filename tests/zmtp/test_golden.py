"""Golden bytes: what zlab.zmtp puts on the wire, octet for octet (RFC 37 and libzmq's choices)."""

from __future__ import annotations

import pytest

from tests.zmtp._util import greeting
from zlab.constants import SocketType as T
from zlab.zmtp import FLAG_COMMAND, FLAG_LONG, FLAG_MORE, Connection, encode_message
from zlab.zmtp.compat import SOCKET_TYPE_NAME
from zlab.zmtp.frames import command_frame

GREETING = b"\xff" + b"\0" * 8 + b"\x7f" + b"\x03\x01" + b"NULL" + b"\0" * 16 + b"\x00" + b"\0" * 31

ZMTP_TYPES = [T.PAIR, T.PUB, T.SUB, T.REQ, T.REP, T.DEALER, T.ROUTER, T.PULL, T.PUSH, T.XPUB, T.XSUB]


def test_flag_values() -> None:
    assert (FLAG_MORE, FLAG_LONG, FLAG_COMMAND) == (1, 2, 4)


def test_greeting_is_queued_at_construction_whole() -> None:
    assert len(GREETING) == 64
    c = Connection(T.DEALER)
    assert c.data_to_send() == GREETING
    assert c.data_to_send() == b""


def test_ready_dealer_exact_bytes() -> None:
    c = Connection(T.DEALER, routing_id=b"id")
    c.data_to_send()
    c.receive_data(greeting())
    body = b"\x05READY" + b"\x0bSocket-Type\x00\x00\x00\x06DEALER" + b"\x08Identity\x00\x00\x00\x02id"
    assert c.data_to_send() == bytes((0x04, len(body))) + body


def test_ready_push_has_no_identity() -> None:
    c = Connection(T.PUSH, routing_id=b"ignored")
    c.data_to_send()
    c.receive_data(greeting())
    body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"
    assert c.data_to_send() == b"\x04" + bytes((len(body),)) + body


@pytest.mark.parametrize("socket_type", ZMTP_TYPES, ids=lambda t: T(t).name)
def test_ready_for_each_socket_type(socket_type: int) -> None:
    c = Connection(socket_type)
    assert c.data_to_send() == GREETING
    assert c.receive_data(greeting()) == []
    name = SOCKET_TYPE_NAME[socket_type]
    assert name == T(socket_type).name.encode()
    body = b"\x05READY\x0bSocket-Type" + len(name).to_bytes(4, "big") + name
    if socket_type in (T.REQ, T.DEALER, T.ROUTER):
        body += b"\x08Identity\x00\x00\x00\x00"
    assert c.data_to_send() == bytes((0x04, len(body))) + body


def test_ready_with_extra_metadata() -> None:
    c = Connection(T.PULL, metadata={"X-Hello": b"world"})
    c.data_to_send()
    c.receive_data(greeting())
    body = b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL\x07X-Hello\x00\x00\x00\x05world"
    assert c.data_to_send() == b"\x04" + bytes((len(body),)) + body


def test_long_ready_uses_long_command_form() -> None:
    c = Connection(T.PULL, metadata={"X-Big": b"v" * 300})
    c.data_to_send()
    c.receive_data(greeting())
    out = c.data_to_send()
    assert out[0] == 0x06
    assert int.from_bytes(out[1:9], "big") == len(out) - 9


def test_short_long_boundary() -> None:
    out: list = []
    assert encode_message([b"a" * 255], out) == 257
    assert out[0] == b"\x00\xff"
    out = []
    assert encode_message([b"a" * 256], out) == 265
    assert out[0] == b"\x02" + (256).to_bytes(8, "big")
    out = []
    assert encode_message([b"a" * 255, b"b" * 256, b""], out) == 257 + 265 + 2
    assert out[0] == b"\x01\xff" and out[2] == b"\x03" + (256).to_bytes(8, "big") and out[4] == b"\x00\x00"


def test_more_flags() -> None:
    out: list = []
    assert encode_message([b"a", b"bc", b""], out) == 3 + 4 + 2
    assert b"".join(out) == b"\x01\x01a\x01\x02bc\x00\x00"
    out = []
    encode_message([b""], out)
    assert out == [b"\x00\x00", b""]


def test_encode_message_appends_bodies_without_copy() -> None:
    body1 = bytearray(b"x" * 1000)
    body2 = memoryview(b"y" * 10)
    out: list = [b"existing"]
    n = encode_message([body1, body2], out)
    assert n == 9 + 1000 + 2 + 10
    assert out[0] == b"existing" and out[2] is body1 and out[4] is body2
    assert encode_message([], out) == 0 and len(out) == 5


def test_connection_encode() -> None:
    c = Connection(T.PUSH)
    assert c.encode([b"hi", b"there"]) == b"\x01\x02hi\x00\x05there"


def test_command_frames() -> None:
    assert command_frame(b"PING", b"\x00\x05") == b"\x04\x07\x04PING\x00\x05"
    big = command_frame(b"X", b"d" * 300)
    assert big[:9] == b"\x06" + (302).to_bytes(8, "big") and big[9:11] == b"\x01X"
    with pytest.raises(ValueError):
        command_frame(b"")


def test_command_methods_bytes() -> None:
    c = Connection(T.SUB)
    c.data_to_send()
    c.receive_data(greeting())
    c.data_to_send()
    c.ping(10, b"ab")
    assert c.data_to_send() == b"\x04\x09\x04PING\x00\x0aab"
    c.subscribe(b"topic")
    assert c.data_to_send() == b"\x04\x0f\x09SUBSCRIBEtopic"
    c.cancel(b"")
    assert c.data_to_send() == b"\x04\x07\x06CANCEL"
    c.error("bad")
    assert c.data_to_send() == b"\x04\x0a\x05ERROR\x03bad"
    c.send_command(b"HELLO", b"data")
    assert c.data_to_send() == b"\x04\x0a\x05HELLOdata"


def test_error_reason_truncated_to_255() -> None:
    c = Connection(T.SUB)
    c.data_to_send()
    c.error("r" * 400)
    out = c.data_to_send()
    assert out[0] == 0x06 and out[9:16] == b"\x05ERROR\xff" and len(out) == 9 + 1 + 5 + 1 + 255


def test_ping_argument_checks() -> None:
    c = Connection(T.SUB)
    with pytest.raises(ValueError):
        c.ping(70000)
    with pytest.raises(ValueError):
        c.ping(1, b"x" * 17)
    c.ping(0xFFFF, b"x" * 16)


def test_constructor_checks() -> None:
    with pytest.raises(ValueError):
        Connection(T.STREAM)
    with pytest.raises(NotImplementedError):
        Connection(T.DEALER, mechanism=b"PLAIN")
    with pytest.raises(ValueError):
        Connection(T.DEALER, metadata={"": b"x"})
