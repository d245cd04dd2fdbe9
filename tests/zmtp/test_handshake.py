"""Greeting and NULL handshake: every socket-type pair, refusals, versions, progressive parsing."""

from __future__ import annotations

import itertools

import pytest

from tests.zmtp._util import greeting, pump, ready
from zlab.constants import SocketType as T
from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import Connection, HandshakeDone, PeerError, compatible
from zlab.zmtp.frames import command_frame

ZMTP_TYPES = [T.PAIR, T.PUB, T.SUB, T.REQ, T.REP, T.DEALER, T.ROUTER, T.PULL, T.PUSH, T.XPUB, T.XSUB]
PAIRS = list(itertools.product(ZMTP_TYPES, repeat=2))
GOOD = [p for p in PAIRS if compatible(*p)]
BAD = [p for p in PAIRS if not compatible(*p)]
ERROR_FRAME = command_frame(b"ERROR", b"\x13Invalid socket type")


def _ids(p: tuple[int, int]) -> str:
    return f"{T(p[0]).name}-{T(p[1]).name}"


def test_compatibility_table() -> None:
    expected = {
        T.REQ: {T.REP, T.ROUTER},
        T.REP: {T.REQ, T.DEALER},
        T.DEALER: {T.REP, T.DEALER, T.ROUTER},
        T.ROUTER: {T.REQ, T.DEALER, T.ROUTER},
        T.PUB: {T.SUB, T.XSUB},
        T.XPUB: {T.SUB, T.XSUB},
        T.SUB: {T.PUB, T.XPUB},
        T.XSUB: {T.PUB, T.XPUB},
        T.PUSH: {T.PULL},
        T.PULL: {T.PUSH},
        T.PAIR: {T.PAIR},
    }
    for a, b in PAIRS:
        assert compatible(a, b) == (b in expected[a])
        assert compatible(a, b) == compatible(b, a)
    assert not compatible(T.STREAM, T.STREAM) and not compatible(99, T.PAIR)
    assert len(GOOD) == 21


@pytest.mark.parametrize("bytewise", [False, True], ids=["whole", "bytewise"])
@pytest.mark.parametrize("pair", GOOD, ids=_ids)
def test_compatible_pairs_talk(pair: tuple[int, int], bytewise: bool) -> None:
    a = Connection(pair[0], routing_id=b"A")
    b = Connection(pair[1], routing_id=b"B")
    pump(a, b, bytewise=bytewise)
    assert a.handshake_done and b.handshake_done and not a.closed and not b.closed
    assert a.peer_socket_type == pair[1] and b.peer_socket_type == pair[0]
    assert a.peer_minor == b.peer_minor == 1
    sends_id = (T.REQ, T.DEALER, T.ROUTER)
    assert a.peer_routing_id == (b"B" if pair[1] in sends_id else b"")
    assert b.peer_routing_id == (b"A" if pair[0] in sends_id else b"")
    assert list(a.events) == [HandshakeDone(pair[1], a.peer_routing_id, 1, a.peer_metadata)]
    msgs = [[b"", b"x" * 256], b"one", [b"a", b"b", b"c"]]
    wire = b"".join(a.encode(m if isinstance(m, list) else [m]) for m in msgs)
    if bytewise:
        got = [m for i in range(len(wire)) for m in b.receive_data(wire[i : i + 1])]
    else:
        got = b.receive_data(wire)
    assert got == msgs
    assert a.receive_data(b.encode([b"back"])) == [b"back"]


@pytest.mark.parametrize("pair", BAD, ids=_ids)
def test_incompatible_pairs_refused(pair: tuple[int, int]) -> None:
    a = Connection(pair[0])
    b = Connection(pair[1])
    b.receive_data(a.data_to_send())  # a's greeting: b queues greeting + READY
    with pytest.raises(HandshakeRefused):
        a.receive_data(b.data_to_send())
    assert a.closed and not a.handshake_done
    out = a.data_to_send()
    assert out.endswith(ERROR_FRAME)  # READY then ERROR
    with pytest.raises(HandshakeRefused):
        b.receive_data(out)
    with pytest.raises(ProtocolError):
        a.receive_data(b"more")


def test_missing_or_unknown_socket_type_refused() -> None:
    for meta in (command_frame(b"READY", b""), ready(b"CLIENT"), ready(b"STREAM")):
        c = Connection(T.DEALER)
        c.data_to_send()
        with pytest.raises(HandshakeRefused):
            c.receive_data(greeting() + meta)
        assert c.data_to_send().endswith(ERROR_FRAME)


def test_property_names_any_case_and_order() -> None:
    c = Connection(T.ROUTER)
    frame = command_frame(
        b"READY",
        b"\x08IDENTITY\x00\x00\x00\x03abc\x03X-a\x00\x00\x00\x00\x0bsocket-type\x00\x00\x00\x06dealer",
    )
    assert c.receive_data(greeting() + frame) == []
    assert c.handshake_done and c.peer_socket_type == T.DEALER and c.peer_routing_id == b"abc"
    assert c.peer_metadata == {"IDENTITY": b"abc", "X-a": b"", "socket-type": b"dealer"}


def test_extra_metadata_reaches_peer() -> None:
    a = Connection(T.PUSH, metadata={"X-Lab": b"zlab"})
    b = Connection(T.PULL)
    pump(a, b)
    assert b.peer_metadata == {"Socket-Type": b"PUSH", "X-Lab": b"zlab"}


def test_everything_in_one_chunk() -> None:
    c = Connection(T.PULL)
    data = greeting() + ready(b"PUSH") + b"\x00\x01a\x01\x01b\x00\x01c"
    assert c.receive_data(data) == [b"a", [b"b", b"c"]]
    assert c.handshake_done


def test_greeting_checked_progressively() -> None:
    with pytest.raises(ProtocolError, match="unsupported ZMTP version"):
        Connection(T.PULL).receive_data(b"\x00")  # 1.0 peer: first byte is a length
    c = Connection(T.PULL)
    c.receive_data(b"\xff" + bytes(8))
    with pytest.raises(ProtocolError, match="unsupported ZMTP version"):
        c.receive_data(b"\x7e")  # LSB 0 of byte 9: unversioned
    c = Connection(T.PULL)
    c.receive_data(greeting(major=2)[:10])
    with pytest.raises(ProtocolError, match="unsupported ZMTP version"):
        c.receive_data(b"\x02")  # major 2 refused as soon as it arrives
    c = Connection(T.PULL)
    c.receive_data(greeting(mechanism=b"PLAIN")[:31])
    with pytest.raises(HandshakeRefused, match="mechanism mismatch"):
        c.receive_data(b"\0")


@pytest.mark.parametrize("mech", [b"PLAIN", b"CURVE", b"NUL", b"NULLX", b"null"])
def test_mechanism_mismatch(mech: bytes) -> None:
    c = Connection(T.PULL)
    with pytest.raises(HandshakeRefused):
        c.receive_data(greeting(mechanism=mech))
    assert c.closed


def test_as_server_byte_set_for_null_is_refused() -> None:
    """RFC 37: as-server MUST be 0 for NULL; libzmq closes such a connection too."""
    g = bytearray(greeting())
    g[32] = 1
    c = Connection(T.PULL)
    with pytest.raises(ProtocolError, match="as-server"):
        c.receive_data(bytes(g) + ready(b"PUSH"))
    assert c.closed


def test_padding_not_validated() -> None:
    c = Connection(T.PULL)
    c.receive_data(greeting(padding=b"\x00\x00\x00\x00\x00\x00\x00\x09") + ready(b"PUSH"))
    assert c.handshake_done
    c = Connection(T.PULL)
    c.receive_data(greeting(padding=b"\xde\xad\xbe\xef\xff\x7f\x00\x01") + ready(b"PUSH"))
    assert c.handshake_done


@pytest.mark.parametrize(
    ("major", "minor", "expected"), [(3, 0, 0), (3, 1, 1), (3, 9, 1), (4, 0, 1), (255, 255, 1)]
)
def test_versions_accepted(major: int, minor: int, expected: int) -> None:
    c = Connection(T.PULL)
    c.receive_data(greeting(major, minor) + ready(b"PUSH"))
    assert c.handshake_done and c.peer_minor == expected
    assert c.events[0] == HandshakeDone(T.PUSH, b"", expected, {"Socket-Type": b"PUSH"})


@pytest.mark.parametrize("major", [0, 1, 2])
def test_old_majors_refused(major: int) -> None:
    c = Connection(T.PULL)
    with pytest.raises(ProtocolError):
        c.receive_data(greeting(major))
    assert c.closed


def test_zmtp30_peer_gets_subscription_messages() -> None:
    c = Connection(T.SUB)
    c.subscribe(b"early")  # before the peer's greeting: held until READY is queued
    assert c.data_to_send() == Connection(T.SUB).data_to_send()  # only the greeting so far
    c.receive_data(greeting(3, 0) + ready(b"PUB"))
    assert c.peer_minor == 0
    out = c.data_to_send()
    assert out.endswith(b"\x00\x06\x01early")
    c.subscribe(b"topic")
    c.cancel(b"topic")
    assert c.data_to_send() == b"\x00\x06\x01topic\x00\x06\x00topic"


def test_zmtp31_peer_gets_subscription_commands() -> None:
    c = Connection(T.XSUB)
    c.data_to_send()
    c.subscribe(b"early")
    c.receive_data(greeting(3, 1))
    out = c.data_to_send()
    assert out.endswith(b"\x04\x0f\x09SUBSCRIBEearly")
    assert out.index(b"READY") < out.index(b"SUBSCRIBE")


def test_peer_error_during_handshake() -> None:
    c = Connection(T.PULL)
    with pytest.raises(HandshakeRefused, match="go away"):
        c.receive_data(greeting() + command_frame(b"ERROR", b"\x07go away"))
    assert list(c.events) == [PeerError("go away")]
    assert c.closed


@pytest.mark.parametrize(
    "frame",
    [b"\x00\x01a", b"\x01\x01a", b"\x02" + (1).to_bytes(8, "big") + b"a"],
    ids=["short", "more", "long"],
)
def test_data_frame_before_handshake(frame: bytes) -> None:
    c = Connection(T.PULL)
    with pytest.raises(ProtocolError, match="before the handshake"):
        c.receive_data(greeting() + frame[:1])  # refused on the flags octet alone


@pytest.mark.parametrize("name", [b"PING", b"SUBSCRIBE", b"HELLO", b"ready"])
def test_other_commands_before_handshake(name: bytes) -> None:
    c = Connection(T.PULL)
    with pytest.raises(ProtocolError):
        c.receive_data(greeting() + command_frame(name, b"\x00\x00"))


def test_handshake_command_size_capped_before_buffering() -> None:
    c = Connection(T.PULL)
    with pytest.raises(ProtocolError, match="too large"):
        c.receive_data(greeting() + b"\x06" + (2**40).to_bytes(8, "big"))
    c = Connection(T.PULL)
    c.receive_data(greeting() + b"\x06" + (64 * 1024).to_bytes(8, "big"))  # at the cap: accepted
    assert c.buffered_bytes == 9
    c = Connection(T.PULL)
    with pytest.raises(ProtocolError):
        c.receive_data(greeting() + b"\x06" + (64 * 1024 + 1).to_bytes(8, "big"))


def test_handshake_flag_errors() -> None:
    for flags in (0x05, 0x07, 0x0C, 0x84):
        c = Connection(T.PULL)
        with pytest.raises(ProtocolError):
            c.receive_data(greeting() + bytes((flags,)))


def test_malformed_ready() -> None:
    for body in (b"\x05READY\x03ab", b"\x05READY\x01a\x00\x00\x00\x05abc", b"\x09READY", b""):
        c = Connection(T.PULL)
        with pytest.raises(ProtocolError):
            c.receive_data(greeting() + bytes((0x04, len(body))) + body)


def test_long_form_ready_accepted() -> None:
    body = command_frame(b"READY", b"\x0bSocket-Type\x00\x00\x00\x04PUSH")[2:]
    c = Connection(T.PULL)
    c.receive_data(greeting() + b"\x06" + len(body).to_bytes(8, "big") + body)
    assert c.handshake_done


def test_max_msg_size_does_not_apply_to_handshake_commands() -> None:
    c = Connection(T.PULL, max_msg_size=1)
    c.receive_data(greeting() + ready(b"PUSH", X_Pad=b"p" * 1000))
    assert c.handshake_done
