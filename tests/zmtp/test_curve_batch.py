"""CURVE in bulk: ``encode_many`` boxes a batch of messages in one buffer, ``decode_spans`` opens the
MESSAGE bodies of one read together. Both must give exactly the octets and results of the per-frame
paths (``encode``/``frame``, ``decode``/``open``), and refuse exactly what those refuse."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zlab.constants import ProtocolErrorCode as Code
from zlab.constants import SocketType as T
from zlab.errors import ProtocolError
from zlab.zmtp import Connection, Ping, curve
from zlab.zmtp.curve import CurveClient, CurveCodec, CurveServer

from ._util import pump

SERVER = curve.keypair()
CLIENT = curve.keypair()
KEY = bytes(range(32))
C2S, S2C = b"CurveZMQMESSAGEC", b"CurveZMQMESSAGES"

#: one-frame messages as bytes, multipart as lists; sizes around the short/long frame boundary
#: (a payload of 222 octets is the last whose MESSAGE body fits a short frame)
MESSAGES: list = [b"a", [b"x", b"", b"yy"], b"", b"z" * 222, b"w" * 223, [b"q" * 300, b"end"], b"last"]


@pytest.fixture(autouse=True, params=["fast", "bindings"])
def codec_path(request, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every test runs with the in-place fast path (PyNaCl's compiled libsodium) and with plain nacl.bindings."""
    if request.param == "bindings":
        monkeypatch.setattr(curve, "_lib", None)


def codecs(first_nonce: int = 5) -> tuple[CurveCodec, CurveCodec]:
    """A sender and its receiver, as after a handshake whose last nonce was ``first_nonce - 1``."""
    return CurveCodec(KEY, C2S, S2C, first_nonce, 0), CurveCodec(KEY, S2C, C2S, 1, first_nonce - 1)


def spans_of(wire: bytes) -> list[int]:
    """The body spans of the frames in ``wire``."""
    spans, pos = [], 0
    while pos < len(wire):
        hl = 9 if wire[pos] & 0x02 else 2
        size = wire[pos + 1] if hl == 2 else int.from_bytes(wire[pos + 1 : pos + 9], "big")
        spans += [pos + hl, pos + hl + size]
        pos += hl + size
    return spans


def test_a_batch_is_the_octets_of_its_messages_one_by_one() -> None:
    batch, single = codecs()[0], codecs()[0]
    out: list = []
    size = batch.encode_many(MESSAGES, out)
    if curve._lib is not None:
        assert len(out) == 1  # the fast path: one buffer
    wire = b"".join(bytes(c) for c in out)
    assert size == len(wire)
    one: list = []
    for m in MESSAGES:
        single.encode([m] if type(m) is bytes else m, one)
    assert wire == b"".join(bytes(c) for c in one)
    before = len(out)
    assert batch.encode_many([], out) == 0 and len(out) == before  # nothing to box: nothing appended


def test_one_frame_small_and_large_opens_to_bytes_and_a_forged_large_one_fails() -> None:
    sender, receiver = codecs()
    # a copy of the box or the box in place, opened into the codec's kept buffer or a buffer of its own
    for payload in (b"s", b"L" * (curve._SLICE_MAX + 100), b"B" * (curve.OPEN_BUFFER + 100)):
        out: list = []
        sender.encode_many([payload], out)
        wire = b"".join(bytes(c) for c in out)
        [(flags, got)] = receiver.open_spans(wire, spans_of(wire))
        assert (flags, got) == (0, payload) and type(got) is bytes
    many = [bytes([i]) * 64 for i in range(2 * curve.OPEN_BUFFER // 64)]  # more than the kept buffer
    out = []
    sender.encode_many(many, out)
    wire = b"".join(bytes(c) for c in out)
    assert receiver.open_spans(wire, spans_of(wire)) == [(0, m) for m in many]
    out = []
    sender.encode_many([b"m" * 5000], out)
    wire = b"".join(bytes(c) for c in out)
    start, end = spans_of(wire)
    assert receiver.open(memoryview(wire)[start:end]) == (0, b"m" * 5000)  # a view opens the same
    out = []
    sender.encode_many([b"f" * 5000], out)
    forged = bytearray(b"".join(bytes(c) for c in out))
    forged[-1] ^= 1
    with pytest.raises(ProtocolError) as err:
        receiver.open_spans(bytes(forged), spans_of(bytes(forged)))
    assert err.value.code == Code.ZMTP_CRYPTOGRAPHIC


def test_spans_open_to_what_one_by_one_gives() -> None:
    sender, receiver = codecs()
    out: list = []
    sender.encode_many(MESSAGES, out)
    wire = b"".join(bytes(c) for c in out)
    spans = spans_of(wire)
    got = receiver.open_spans(wire, spans)
    _, again = codecs()
    assert got == [again.open(wire[spans[i] : spans[i + 1]]) for i in range(0, len(spans), 2)]
    flat = [f for m in MESSAGES for f in ([m] if type(m) is bytes else m)]
    assert [p for _, p in got] == flat
    assert all(type(p) is bytes for _, p in got)
    more = [f for m in MESSAGES for f in ([0] if type(m) is bytes else [1] * (len(m) - 1) + [0])]
    assert [flags for flags, _ in got] == more


def test_a_batch_refuses_a_replayed_frame_and_a_tampered_one() -> None:
    sender, receiver = codecs()
    out: list = []
    sender.encode_many([b"1", b"2", b"3", b"4", b"5"], out)  # enough frames for the bulk path
    wire = b"".join(bytes(c) for c in out)
    spans = spans_of(wire)
    with pytest.raises(ProtocolError, match="nonce"):  # the first frame twice in one read
        receiver.open_spans(wire + wire, spans + [s + len(wire) for s in spans])
    _, receiver = codecs()
    bad = bytearray(wire)
    bad[-1] ^= 1
    with pytest.raises(ProtocolError, match="open"):
        receiver.open_spans(bytes(bad), spans)


@pytest.mark.parametrize(
    ("body", "match"),
    [(b"\x07MESSAGE" + bytes(24), "too short"), (b"\x05HELLO" + bytes(40), "MESSAGE")],
)
def test_a_batch_refuses_what_open_refuses(body: bytes, match: str) -> None:
    sender, receiver = codecs()
    out: list = []
    sender.encode_many([b"fine"] * 5, out)  # enough frames for the bulk path
    wire = b"".join(bytes(c) for c in out) + b"\x00" + bytes((len(body),)) + body
    with pytest.raises(ProtocolError, match=match):
        receiver.open_spans(wire, spans_of(wire))


def test_reserved_flags_in_a_batch() -> None:
    from nacl import bindings

    sender, receiver = codecs()
    out: list = []
    sender.encode_many([b"ok"] * 5, out)  # nonces 5..9, and enough frames for the bulk path
    short = (10).to_bytes(8, "big")
    body = b"\x07MESSAGE" + short + bindings.crypto_box_easy_afternm(b"\x04x", C2S + short, KEY)
    wire = b"".join(bytes(c) for c in out) + b"\x00" + bytes((len(body),)) + body
    with pytest.raises(ProtocolError, match="reserved"):
        receiver.open_spans(wire, spans_of(wire))
    _, alone = codecs(10)
    with pytest.raises(ProtocolError, match="reserved"):  # and one by one
        alone.open_spans(body, [0, len(body)])


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.one_of(st.binary(max_size=300), st.lists(st.binary(max_size=300), min_size=1, max_size=4)),
        min_size=1,
        max_size=12,
    )
)
def test_any_batch_round_trips(msgs: list) -> None:
    sender, receiver = codecs()
    out: list = []
    sender.encode_many(msgs, out)
    wire = b"".join(bytes(c) for c in out)
    got = [p for _, p in receiver.open_spans(wire, spans_of(wire))]
    assert got == [f for m in msgs for f in ([m] if type(m) is bytes else m)]


def test_a_connection_opens_a_read_of_many_frames_with_a_command_among_them() -> None:
    c = Connection(T.DEALER, mechanism=CurveClient(CLIENT[0], CLIENT[1], SERVER[0]))
    s = Connection(T.ROUTER, mechanism=CurveServer(SERVER[1]))
    pump(c, s)
    out: list = []
    c.mechanism.encode_many([b"one", [b"two", b"parts"]], out)
    c.ping(10, b"ctx")
    wire = b"".join(bytes(x) for x in out) + c.data_to_send()
    out = []
    c.mechanism.encode_many([b"three"], out)
    wire += b"".join(bytes(x) for x in out)
    cut = len(wire) - 5  # the last frame arrives in two reads
    assert s.receive_data(wire[:cut]) == [b"one", [b"two", b"parts"]]
    assert Ping(10, b"ctx") in s.events
    assert s.receive_data(wire[cut:]) == [b"three"]
