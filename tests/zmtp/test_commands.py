"""Commands after the handshake: PING/PONG, SUBSCRIBE/CANCEL, ERROR, unknown and malformed commands."""

from __future__ import annotations

import pytest

from tests.zmtp._util import connected_pair, established, greeting, ready
from zlab.constants import SocketType as T
from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import Cancel, Connection, PeerError, Ping, Pong, Subscribe, UnknownCommand
from zlab.zmtp.frames import command_frame


def test_ping_answered_with_truncated_context() -> None:
    c = established()
    assert c.receive_data(command_frame(b"PING", b"\x00\x64" + bytes(range(20)))) == []
    assert list(c.events) == [Ping(100, bytes(range(20)))]
    assert c.data_to_send() == command_frame(b"PONG", bytes(range(16)))


def test_ping_without_context_as_libzmq_sends() -> None:
    c = established()
    c.receive_data(b"\x04\x07\x04PING\x00\x00")
    assert c.data_to_send() == b"\x04\x05\x04PONG"
    assert c.events.popleft() == Ping(0, b"")


def test_every_ping_answered_even_from_zmtp30_peer() -> None:
    c = Connection(T.PULL)
    c.receive_data(greeting(3, 0) + ready(b"PUSH"))
    c.data_to_send()
    c.receive_data(command_frame(b"PING", b"\x00\x01a") * 3)
    assert c.data_to_send() == command_frame(b"PONG", b"a") * 3


def test_pong_event() -> None:
    a, b = connected_pair()
    a.ping(0, b"0123456789abcdef")
    b.receive_data(a.data_to_send())
    a.receive_data(b.data_to_send())
    assert list(a.events) == [Pong(b"0123456789abcdef")]


@pytest.mark.parametrize("data", [b"", b"\x00"])
def test_short_ping_rejected(data: bytes) -> None:
    c = established()
    with pytest.raises(ProtocolError, match="PING"):
        c.receive_data(command_frame(b"PING", data))


def test_subscribe_cancel_events() -> None:
    a, b = connected_pair(T.SUB, T.XPUB)
    a.subscribe(b"")
    a.subscribe(b"abc")
    a.cancel(b"abc")
    assert b.receive_data(a.data_to_send()) == []
    assert list(b.events) == [Subscribe(b""), Subscribe(b"abc"), Cancel(b"abc")]


def test_peer_error_after_handshake_ends_connection() -> None:
    c = established()
    with pytest.raises(ProtocolError, match="bye") as info:
        c.receive_data(command_frame(b"ERROR", b"\x03bye"))
    assert not isinstance(info.value, HandshakeRefused)
    assert list(c.events) == [PeerError("bye")]
    assert c.closed


def test_malformed_error_command() -> None:
    c = established()
    with pytest.raises(ProtocolError):
        c.receive_data(command_frame(b"ERROR", b"\x09short"))


def test_unknown_commands_reported_and_ignored() -> None:
    c = established()
    wire = command_frame(b"JOIN", b"group") + command_frame(b"READY", b"") + b"\x04\x01\x00" + b"\x00\x01m"
    assert c.receive_data(wire) == [b"m"]
    assert list(c.events) == [
        UnknownCommand(b"JOIN", b"group"),
        UnknownCommand(b"READY", b""),
        UnknownCommand(b"", b""),
    ]


@pytest.mark.parametrize("frame", [b"\x04\x00", b"\x04\x03\x05PIN", b"\x04\x01\x01"])
def test_malformed_command_body(frame: bytes) -> None:
    c = established()
    with pytest.raises(ProtocolError, match="command"):
        c.receive_data(frame)


def test_long_command_after_handshake_split() -> None:
    c = established(T.XPUB, b"SUB")
    frame = command_frame(b"SUBSCRIBE", b"t" * 100000)
    for i in range(0, len(frame), 4096):
        assert c.receive_data(frame[i : i + 4096]) == []
    assert list(c.events) == [Subscribe(b"t" * 100000)]
