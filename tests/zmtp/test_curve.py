"""The CURVE mechanism without sockets: handshake, MESSAGE codec, and hostile input (forged, replayed,
reordered, truncated), with Hypothesis feeding arbitrary commands to each handshake step."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import curve
from zlab.zmtp.commands import encode_metadata
from zlab.zmtp.curve import FLAG_COMMAND, FLAG_MORE, CurveClient, CurveServer
from zlab.zmtp.mechanism import Refused, ZapReply, ZapRequest

SERVER = curve.keypair()
CLIENT = curve.keypair()
CLIENT_META = encode_metadata({"Socket-Type": b"DEALER", "Identity": b"me"})
SERVER_META = encode_metadata({"Socket-Type": b"ROUTER"})


@pytest.fixture(autouse=True, params=["fast", "bindings"])
def codec_path(request, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every test runs with the in-place fast path (PyNaCl's compiled libsodium) and with plain nacl.bindings."""
    if request.param == "bindings":
        monkeypatch.setattr(curve, "_lib", None)


def body(command: tuple[bytes, bytes]) -> bytes:
    name, data = command
    return bytes((len(name),)) + name + data


def pair(zap: bool = False, server_key: bytes = SERVER[0]) -> tuple[CurveClient, CurveServer]:
    return CurveClient(CLIENT[0], CLIENT[1], server_key), CurveServer(SERVER[1], zap=zap)


def handshake(zap: bool = False) -> tuple[CurveClient, CurveServer]:
    c, s = pair(zap)
    assert s.start(SERVER_META) == []
    [hello] = c.start(CLIENT_META)
    [welcome] = s.receive(*hello)
    [initiate] = c.receive(*welcome)
    replies = s.receive(*initiate)
    if zap:
        assert replies == [] and not s.done
        assert s.zap_request == ZapRequest(b"CURVE", (CLIENT[0],))
        replies = s.zap_reply(ZapReply("200"))
    [ready] = replies
    assert c.receive(*ready) == []
    return c, s


def test_handshake_sizes_and_layout() -> None:
    c, s = pair()
    s.start(SERVER_META)
    [hello] = c.start(CLIENT_META)
    h = body(hello)
    assert len(h) == curve.HELLO_SIZE == 200
    assert h[:6] == b"\x05HELLO" and h[6:8] == b"\x01\x00" and h[8:80] == bytes(72)  # libzmq's padding
    assert int.from_bytes(h[112:120], "big") == 1  # the client's first short nonce
    [welcome] = s.receive(*hello)
    assert len(body(welcome)) == curve.WELCOME_SIZE == 168
    [initiate] = c.receive(*welcome)
    assert len(body(initiate)) == curve.INITIATE_MIN + len(CLIENT_META)
    [ready] = s.receive(*initiate)
    assert len(body(ready)) == curve.READY_MIN + len(SERVER_META)
    assert s.done and not c.done
    c.receive(*ready)
    assert c.done and c.output_open and s.output_open
    assert s.peer_metadata == {"Socket-Type": b"DEALER", "Identity": b"me"}
    assert c.peer_metadata == {"Socket-Type": b"ROUTER"}
    assert s.client_key == CLIENT[0]


def test_messages_both_ways_with_flags() -> None:
    c, s = handshake()
    out: list = []
    n = c.encode([b"a", b"", b"x" * 70000], out)
    assert n == sum(map(len, out))
    wire = b"".join(out)
    # three plain message frames (flags 0 / LONG, never MORE or COMMAND outside), MORE inside the box
    frames = []
    pos = 0
    while pos < len(wire):
        flags = wire[pos]
        assert flags in (0x00, 0x02)
        if flags:
            size = int.from_bytes(wire[pos + 1 : pos + 9], "big")
            pos += 9
        else:
            size = wire[pos + 1]
            pos += 2
        frames.append(wire[pos : pos + size])
        pos += size
    assert [s.decode(f) for f in frames] == [(FLAG_MORE, b"a"), (FLAG_MORE, b""), (0, b"x" * 70000)]
    cmd = c.encode_command(b"\x04PING\x00\x01")
    assert s.decode(cmd[2:]) == (FLAG_COMMAND, b"\x04PING\x00\x01")
    back: list = []
    assert s.encode([b"reply"], back) == 2 + curve.MESSAGE_MIN + len(
        b"reply"
    )  # an empty payload: the minimum
    assert c.decode(bytes(back[0][2:])) == (0, b"reply")  # an empty payload makes the minimum


def test_replayed_message_is_a_protocol_error() -> None:
    c, s = handshake()
    m = c.codec.seal(b"once")  # type: ignore[union-attr]
    assert s.decode(m) == (0, b"once")
    with pytest.raises(ProtocolError, match="nonce"):
        s.decode(m)


def test_reordered_messages_are_a_protocol_error() -> None:
    c, s = handshake()
    first = c.codec.seal(b"1")  # type: ignore[union-attr]
    second = c.codec.seal(b"2")  # type: ignore[union-attr]
    assert s.decode(second) == (0, b"2")
    with pytest.raises(ProtocolError, match="nonce"):
        s.decode(first)


def test_message_nonce_must_exceed_the_handshake_nonces() -> None:
    """The server's READY used nonce 1: a MESSAGE claiming nonce 1 is refused before it is opened."""
    c, _s = handshake()
    forged = b"\x07MESSAGE" + (1).to_bytes(8, "big") + bytes(17)
    with pytest.raises(ProtocolError, match="nonce"):
        c.decode(forged)


def test_tampered_or_misdirected_message() -> None:
    c, s = handshake()
    m = bytearray(c.codec.seal(b"payload"))  # type: ignore[union-attr]
    m[-1] ^= 1
    with pytest.raises(ProtocolError, match="open"):
        s.decode(bytes(m))
    own = c.codec.seal(b"to myself")  # type: ignore[union-attr]
    with pytest.raises(ProtocolError):
        c.decode(own)  # the other direction's nonce prefix
    with pytest.raises(ProtocolError, match="too short"):
        s.decode(b"\x07MESSAGE" + bytes(24))
    with pytest.raises(ProtocolError, match="MESSAGE"):
        s.decode(b"\x05HELLO" + bytes(40))


def _seal_raw(c: CurveClient, plaintext: bytes, nonce: int) -> bytes:
    """A MESSAGE from the client with any plaintext (flags octet included), under the connection's key."""
    from nacl import bindings

    short = nonce.to_bytes(8, "big")
    key = c.codec._key  # type: ignore[union-attr]
    return (
        b"\x07MESSAGE" + short + bindings.crypto_box_easy_afternm(plaintext, b"CurveZMQMESSAGEC" + short, key)
    )


def test_reserved_message_flags() -> None:
    c, s = handshake()
    with pytest.raises(ProtocolError, match="reserved"):
        s.decode(_seal_raw(c, b"\x04x", nonce=3))


@pytest.mark.parametrize("size", [0, 1, 193, 195, 300])
def test_hello_of_the_wrong_size(size: int) -> None:
    _, s = pair()
    s.start(SERVER_META)
    with pytest.raises(ProtocolError, match="HELLO"):
        s.receive(b"HELLO", b"\x01\x00" + bytes(size))


def test_hello_version_and_box() -> None:
    c, s = pair()
    s.start(SERVER_META)
    [(name, data)] = c.start(CLIENT_META)
    with pytest.raises(ProtocolError, match="version"):
        s.receive(name, b"\x02\x00" + data[2:])
    _, s2 = pair()
    s2.start(SERVER_META)
    with pytest.raises(ProtocolError, match="HELLO"):
        s2.receive(name, data[:-1] + bytes((data[-1] ^ 1,)))


def test_hello_boxed_to_another_server_key() -> None:
    c, s = pair(server_key=curve.keypair()[0])
    s.start(SERVER_META)
    [hello] = c.start(CLIENT_META)
    with pytest.raises(ProtocolError, match="HELLO"):
        s.receive(*hello)


def test_welcome_from_an_impostor() -> None:
    """A server without the secret of the key the client expects cannot produce a WELCOME it opens."""
    c = CurveClient(CLIENT[0], CLIENT[1], SERVER[0])
    impostor = CurveServer(curve.keypair()[1])
    impostor.start(SERVER_META)
    [(_name, _data)] = c.start(CLIENT_META)
    # the impostor cannot open the HELLO; it makes a WELCOME anyway from a HELLO meant for itself
    other = CurveClient(CLIENT[0], CLIENT[1], impostor._public)
    [hello2] = other.start(CLIENT_META)
    [welcome] = impostor.receive(*hello2)
    with pytest.raises(ProtocolError, match="WELCOME"):
        c.receive(*welcome)


@pytest.mark.parametrize("where", [0, 20, 95])
def test_forged_cookie(where: int) -> None:
    c, s = pair()
    s.start(SERVER_META)
    [hello] = c.start(CLIENT_META)
    [welcome] = s.receive(*hello)
    [(name, data)] = c.receive(*welcome)
    forged = bytearray(data)
    forged[where] ^= 0x40  # cookie nonce (0..15) or cookie box (16..95)
    with pytest.raises(ProtocolError, match="cookie"):
        s.receive(name, bytes(forged))


def test_cookie_from_another_connection_and_initiate_replay() -> None:
    c1, s1 = pair()
    c2, s2 = pair()
    for s in (s1, s2):
        s.start(SERVER_META)
    [w1] = s1.receive(*c1.start(CLIENT_META)[0])
    [w2] = s2.receive(*c2.start(CLIENT_META)[0])
    [i1] = c1.receive(*w1)
    c2.receive(*w2)
    with pytest.raises(ProtocolError, match="cookie"):
        s2.receive(*i1)  # connection 2's server never made connection 1's cookie
    # connection 1 completes; the same INITIATE replayed to it again is out of sequence
    s1.receive(*i1)
    with pytest.raises(ProtocolError, match="unexpected"):
        s1.receive(*i1)


def test_vouch_for_another_transient_key() -> None:
    c, s = pair()
    s.start(SERVER_META)
    [hello] = c.start(CLIENT_META)
    [welcome] = s.receive(*hello)
    c._cn_public = curve.keypair()[0]  # the vouch now names a transient key that is not the connection's
    [initiate] = c.receive(*welcome)
    with pytest.raises(ProtocolError, match="vouch"):
        s.receive(*initiate)


def test_truncated_initiate() -> None:
    c, s = pair()
    s.start(SERVER_META)
    [welcome] = s.receive(*c.start(CLIENT_META)[0])
    [(name, data)] = c.receive(*welcome)
    with pytest.raises(ProtocolError, match="INITIATE"):
        s.receive(name, data[: curve.INITIATE_MIN - 10])


def test_server_error_refuses_the_client() -> None:
    c, _ = pair()
    c.start(CLIENT_META)
    with pytest.raises(HandshakeRefused, match="400"):
        c.receive(b"ERROR", b"\x03400")


def test_commands_out_of_order() -> None:
    c, s = pair()
    s.start(SERVER_META)
    with pytest.raises(ProtocolError, match="unexpected"):
        s.receive(b"INITIATE", bytes(300))
    c.start(CLIENT_META)
    with pytest.raises(ProtocolError, match="unexpected"):
        c.receive(b"READY", bytes(40))
    with pytest.raises(ProtocolError, match="before the handshake"):
        c.decode(b"\x07MESSAGE" + bytes(30))


def test_zap_waits_for_the_verdict() -> None:
    c, s = handshake(zap=True)
    assert s.client_key == CLIENT[0]
    assert c.done and s.done


@pytest.mark.parametrize(("status", "error"), [("400", "400"), ("500", "500"), ("300", None)])
def test_zap_refusal(status: str, error: str | None) -> None:
    c, s = pair(zap=True)
    s.start(SERVER_META)
    [welcome] = s.receive(*c.start(CLIENT_META)[0])
    assert s.receive(*c.receive(*welcome)[0]) == []
    with pytest.raises(Refused) as info:
        s.zap_reply(ZapReply(status, "No access"))
    assert info.value.error == error and info.value.status == status
    assert not s.done
    with pytest.raises(ProtocolError):
        s.zap_reply(ZapReply("200"))


def test_bad_keys_are_refused_at_construction() -> None:
    with pytest.raises(ValueError):
        CurveClient(b"short", CLIENT[1], SERVER[0])
    with pytest.raises(ValueError):
        CurveServer(bytes(31))


# --------------------------------------------------------------------------------- Hypothesis

names = st.sampled_from([b"HELLO", b"WELCOME", b"INITIATE", b"READY", b"ERROR", b"MESSAGE", b"X"])


def _events_or_protocol_error(call) -> None:  # type: ignore[no-untyped-def]
    try:
        result = call()
    except ProtocolError:
        return
    assert isinstance(result, (list, tuple))


@settings(max_examples=200)
@given(names, st.binary(max_size=400))
def test_fuzz_server_first_command(name: bytes, data: bytes) -> None:
    _, s = pair()
    s.start(SERVER_META)
    _events_or_protocol_error(lambda: s.receive(name, data))


@settings(max_examples=200)
@given(st.binary(min_size=194, max_size=194))
def test_fuzz_server_hello_of_the_right_size(data: bytes) -> None:
    _, s = pair()
    s.start(SERVER_META)
    _events_or_protocol_error(lambda: s.receive(b"HELLO", data))


@settings(max_examples=200)
@given(names, st.binary(max_size=600), st.integers(0, 599), st.integers(0, 255))
def test_fuzz_server_after_welcome(name: bytes, data: bytes, at: int, xor: int) -> None:
    """After a good HELLO: random commands, and real INITIATEs with one octet changed."""
    c, s = pair()
    s.start(SERVER_META)
    [welcome] = s.receive(*c.start(CLIENT_META)[0])
    [(_, _initiate)] = c.receive(*welcome)
    _events_or_protocol_error(lambda: s.receive(name, data))
    c2, s2 = pair()
    s2.start(SERVER_META)
    [welcome2] = s2.receive(*c2.start(CLIENT_META)[0])
    [(_, good)] = c2.receive(*welcome2)
    bad = bytearray(good)
    bad[at % len(bad)] ^= xor
    _events_or_protocol_error(lambda: s2.receive(b"INITIATE", bytes(bad)))
    assert s2.done == (xor == 0)


@settings(max_examples=200)
@given(names, st.binary(max_size=300))
def test_fuzz_client_steps(name: bytes, data: bytes) -> None:
    c, s = pair()
    s.start(SERVER_META)
    [_hello] = c.start(CLIENT_META)
    _events_or_protocol_error(lambda: c.receive(name, data))
    c2, s2 = pair()
    s2.start(SERVER_META)
    c2.receive(*s2.receive(*c2.start(CLIENT_META)[0])[0])
    _events_or_protocol_error(lambda: c2.receive(name, data))


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_fuzz_message_decode(data: bytes) -> None:
    _c, s = handshake()
    _events_or_protocol_error(lambda: s.decode(data))
    _events_or_protocol_error(lambda: s.decode(b"\x07MESSAGE" + data))


def test_keys_as_z85_text() -> None:
    from zlab.zmtp import z85

    pub, sec = curve.keypair()
    assert curve.raw_key(z85.encode(pub)) == pub
    assert curve.raw_key(z85.encode(pub) + b"\0") == pub  # libzmq's C form, NUL-terminated
    assert curve.raw_key(z85.encode(pub).decode()) == pub
    assert curve.public_key(z85.encode(sec)) == pub
    c = CurveClient(z85.encode(CLIENT[0]), z85.encode(CLIENT[1]), z85.encode(SERVER[0]))
    s = CurveServer(z85.encode(SERVER[1]))
    s.start(SERVER_META)
    [welcome] = s.receive(*c.start(CLIENT_META)[0])
    c.receive(*s.receive(*c.receive(*welcome)[0])[0])
    assert c.done and s.client_key == CLIENT[0]
    for bad in (b" " * 40, b"#" * 40, bytes(33), b"", "é" * 40):
        with pytest.raises(ValueError):
            curve.raw_key(bad)


def test_an_unusable_server_key_is_a_protocol_error() -> None:
    c = CurveClient(CLIENT[0], CLIENT[1], bytes(32))  # what a CURVE client that never set a key has
    with pytest.raises(ProtocolError, match="server key"):
        c.start(CLIENT_META)
