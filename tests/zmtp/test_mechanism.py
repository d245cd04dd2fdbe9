"""The mechanism interface as a Connection drives it: NULL with ZAP, and a toy mechanism that wraps traffic
(each frame in a MESSAGE command, commands flagged inside it, as CURVE does) to test that plumbing."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from tests.zmtp._util import greeting, pump, ready
from zlab.constants import SocketType as T
from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import (
    Connection,
    HandshakeDone,
    NullMechanism,
    PeerError,
    Ping,
    Pong,
    Refused,
    Subscribe,
    ZapReply,
    ZapRequest,
)
from zlab.zmtp.commands import decode_metadata
from zlab.zmtp.frames import command_frame
from zlab.zmtp.mechanism import Command, Mechanism


def zap_server(socket_type: int = T.REP) -> Connection:
    return Connection(socket_type, mechanism=NullMechanism(as_server=True, zap=True))


def test_null_with_zap_holds_ready_until_the_reply() -> None:
    s = zap_server()
    s.data_to_send()
    assert s.receive_data(greeting() + ready(b"REQ", Identity=b"")) == []
    assert list(s.events) == [ZapRequest(b"NULL")]
    assert s.data_to_send() == b""  # no READY before the verdict
    assert not s.handshake_done
    s.events.clear()
    assert s.zap_reply(ZapReply("200", "OK", b"bob")) == []
    assert s.data_to_send().startswith(command_frame(b"READY")[:1])
    assert s.handshake_done
    (done,) = s.events
    assert isinstance(done, HandshakeDone) and done.peer_socket_type == T.REQ


def test_null_with_zap_against_a_client_connection() -> None:
    c = Connection(T.REQ)
    s = zap_server()
    pump(c, s)
    assert not c.handshake_done and not s.handshake_done
    assert list(s.events) == [ZapRequest(b"NULL")]
    s.zap_reply(ZapReply("200"))
    pump(c, s)
    assert c.handshake_done and s.handshake_done
    c.send_command(b"PING", b"\x00\x00")
    pump(c, s)
    assert Pong(b"") in c.events


@pytest.mark.parametrize(
    ("status", "sent"), [("400", b"\x04\x0a\x05ERROR\x03400"), ("500", b"\x04\x0a\x05ERROR\x03500")]
)
def test_null_zap_refusal_sends_error_with_the_status(status: str, sent: bytes) -> None:
    s = zap_server()
    s.data_to_send()
    s.receive_data(greeting() + ready(b"REQ"))
    with pytest.raises(Refused) as info:
        s.zap_reply(ZapReply(status, "no"))
    assert info.value.status == status
    assert s.data_to_send() == sent
    assert s.closed
    with pytest.raises(ProtocolError):
        s.receive_data(b"x")


def test_null_zap_300_refuses_silently() -> None:
    s = zap_server()
    s.data_to_send()
    s.receive_data(greeting() + ready(b"REQ"))
    with pytest.raises(Refused) as info:
        s.zap_reply(ZapReply("300"))
    assert info.value.status == "300" and info.value.error is None
    assert s.data_to_send() == b""


def test_a_client_told_error_by_the_server_reports_it() -> None:
    c = Connection(T.REQ)
    s = zap_server()
    pump(c, s)
    with pytest.raises(Refused):
        s.zap_reply(ZapReply("400"))
    with pytest.raises(HandshakeRefused):
        c.receive_data(s.data_to_send())
    assert PeerError("400") in c.events


def test_input_held_during_zap_is_bounded() -> None:
    s = zap_server()
    s.receive_data(greeting())
    with pytest.raises(ProtocolError, match="waits"):
        for _ in range(40):
            s.receive_data(command_frame(b"READY", b"\0" * 10000))


def test_zap_reply_without_a_request_is_a_usage_error() -> None:
    with pytest.raises(ValueError):
        Connection(T.REQ).zap_reply(ZapReply("200"))


def test_a_message_sent_while_zap_waits_comes_out_only_if_allowed() -> None:
    s = zap_server()
    assert s.receive_data(greeting() + ready(b"REQ") + b"\x00\x01x") == []
    assert s.zap_reply(ZapReply("200")) == [b"x"]
    s = zap_server()
    assert s.receive_data(greeting() + ready(b"REQ") + b"\x00\x01x") == []
    with pytest.raises(Refused) as info:
        s.zap_reply(ZapReply("400"))
    assert info.value.messages == []  # type: ignore[attr-defined]


# ------------------------------------------------------------------ a mechanism that wraps traffic

_MSG = b"\x07MESSAGE"


class Wrap(Mechanism):
    """NULL's handshake, then every frame inside a MESSAGE command: flags octet + payload (no crypto),
    with a sequence number that must increase (as CURVE's nonces)."""

    name = b"TOYWRAP"
    wraps_traffic = True
    frame_overhead = 13

    def __init__(self) -> None:
        super().__init__()
        self.sent = 0
        self.seen = -1

    def start(self, metadata: bytes) -> list[Command]:
        self.output_open = False
        return [(b"READY", metadata)]

    def receive(self, name: bytes, data: bytes) -> list[Command]:
        if name != b"READY":
            raise ProtocolError("unexpected")
        self.peer_metadata = decode_metadata(data)
        self.done = True
        return []

    def _frame(self, flags: int, payload: bytes) -> bytes:
        self.sent += 1
        return command_frame(b"MESSAGE", self.sent.to_bytes(4, "big") + bytes((flags,)) + payload)

    def encode(self, frames: Sequence[bytes], out: list) -> int:
        n = 0
        for i, f in enumerate(frames):
            chunk = self._frame(1 if i < len(frames) - 1 else 0, bytes(f))
            out.append(chunk)
            n += len(chunk)
        return n

    def encode_command(self, body: bytes) -> bytes:
        return self._frame(2, body)

    def decode(self, body: bytes) -> tuple[int, bytes]:
        if not body.startswith(_MSG) or len(body) < 13:
            raise ProtocolError("not a MESSAGE")
        seq = int.from_bytes(body[8:12], "big")
        if seq <= self.seen:
            raise ProtocolError("sequence went back")
        self.seen = seq
        return body[12], body[13:]


def wrapped_pair(**kw: object) -> tuple[Connection, Connection]:
    a = Connection(T.DEALER, mechanism=Wrap(), **kw)  # type: ignore[arg-type]
    b = Connection(T.ROUTER, mechanism=Wrap(), **kw)  # type: ignore[arg-type]
    a.subscribe(b"early")  # held until the handshake is over, then wrapped
    pump(a, b)
    assert a.handshake_done and b.handshake_done
    return a, b


def test_wrapped_traffic_round_trip() -> None:
    a, b = wrapped_pair()
    assert Subscribe(b"early") in b.events
    wire = a.encode([b"one"]) + a.encode([b"x", b"y" * 300])
    assert b"\x00\x03one" not in wire and wire.count(_MSG) == 3
    assert b.receive_data(wire) == [b"one", [b"x", b"y" * 300]]
    # one octet at a time too
    wire = a.encode([b"p", b"q"])
    got = []
    for i in range(len(wire)):
        got += b.receive_data(wire[i : i + 1])
    assert got == [[b"p", b"q"]]


def test_wrapped_commands_travel_inside_messages() -> None:
    a, b = wrapped_pair()
    a.ping(10, b"ctx")
    out = a.data_to_send()
    assert b"PING" not in out[:3] and out.count(_MSG) == 1
    b.receive_data(out)
    assert Ping(10, b"ctx") in b.events
    pong = b.data_to_send()
    assert pong.count(_MSG) == 1
    a.receive_data(pong)
    assert Pong(b"ctx") in a.events


def test_wrapped_refuses_clear_frames_and_replays() -> None:
    a, b = wrapped_pair()
    with pytest.raises(ProtocolError, match="not a MESSAGE"):
        b.receive_data(b"\x00\x01x")  # a clear message frame goes to decode, which refuses it
    a, b = wrapped_pair()
    with pytest.raises(ProtocolError, match="MORE"):
        b.receive_data(b"\x01" + a.encode([b"m"])[1:])  # libzmq never sets MORE around a MESSAGE
    a, b = wrapped_pair()
    wire = a.encode([b"m"])
    b.receive_data(wire)
    with pytest.raises(ProtocolError, match="went back"):
        b.receive_data(wire)


def test_wrapped_payload_limit_is_max_msg_size() -> None:
    a, b = wrapped_pair(max_msg_size=100)
    assert b.receive_data(a.encode([b"z" * 100])) == [b"z" * 100]
    with pytest.raises(ProtocolError, match="too large"):
        b.receive_data(a.encode([b"z" * 101]))
