"""Property tests: round trips in arbitrary chunkings, PONG context truncation, and the fuzz invariant
(any input either decodes or raises ProtocolError, never another exception)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.zmtp._util import established, greeting, ready
from zlab.constants import SocketType as T
from zlab.errors import ProtocolError
from zlab.zmtp import Connection, Ping, encode_message
from zlab.zmtp.frames import command_frame

SETTINGS = settings(deadline=None, max_examples=60)

sizes = st.sampled_from([0, 1, 2, 254, 255, 256, 257, 1000, 65535, 65536, 65537, 70000])
frame = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda n, b: bytes([b]) * n, sizes, st.integers(0, 255)),
)
message = st.lists(frame, min_size=1, max_size=5)


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut data into chunks whose sizes cycle through `cuts`."""
    chunks = []
    pos = 0
    i = 0
    while pos < len(data):
        step = cuts[i % len(cuts)]
        chunks.append(data[pos : pos + step])
        pos += step
        i += 1
    return chunks


def as_received(msg: list[bytes]) -> bytes | list[bytes]:
    return msg[0] if len(msg) == 1 else msg


@SETTINGS
@given(st.lists(message, min_size=1, max_size=8), st.lists(st.integers(1, 70000), min_size=1, max_size=6))
def test_round_trip_any_chunking(msgs: list[list[bytes]], cuts: list[int]) -> None:
    sender = Connection(T.PUSH)
    out: list = []
    total = sum(encode_message(m, out) for m in msgs)
    wire = b"".join(out)
    assert total == len(wire)
    receiver = Connection(T.PULL)
    wire = greeting() + ready(b"PUSH") + wire
    got = []
    for chunk in split(wire, cuts):
        got += receiver.receive_data(chunk)
    assert got == [as_received(m) for m in msgs]
    assert receiver.buffered_bytes == 0
    del sender


@SETTINGS
@given(st.lists(message, min_size=1, max_size=4), st.integers(1, 7))
def test_round_trip_between_connections_tiny_chunks(msgs: list[list[bytes]], step: int) -> None:
    msgs = [[f[:600] for f in m] for m in msgs]
    a = Connection(T.DEALER, routing_id=b"a")
    b = Connection(T.ROUTER)
    wire_a = a.data_to_send()
    wire_b = b.data_to_send()
    for chunk in split(wire_a, [step]):
        b.receive_data(chunk)
    for chunk in split(wire_b + b.data_to_send(), [step]):
        a.receive_data(chunk)
    payload = a.data_to_send() + b"".join(a.encode(m) for m in msgs)
    got = []
    for chunk in split(payload, [step]):
        got += b.receive_data(chunk)
    assert b.handshake_done and a.handshake_done and b.peer_routing_id == b"a"
    assert got == [as_received(m) for m in msgs]


@SETTINGS
@given(st.binary(max_size=40), st.integers(0, 0xFFFF))
def test_pong_context_truncated_to_16(context: bytes, ttl: int) -> None:
    c = established()
    c.receive_data(command_frame(b"PING", ttl.to_bytes(2, "big") + context))
    assert list(c.events) == [Ping(ttl, context)]
    assert c.data_to_send() == command_frame(b"PONG", context[:16])


def feed_all(conn: Connection, chunks: list[bytes]) -> None:
    try:
        for chunk in chunks:
            conn.receive_data(chunk)
    except ProtocolError:
        assert conn.closed
        try:
            conn.receive_data(b"x")
        except ProtocolError:
            return
        raise AssertionError("a closed connection accepted data") from None


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200), st.lists(st.integers(1, 50), min_size=1, max_size=4))
def test_fuzz_raw_bytes(data: bytes, cuts: list[int]) -> None:
    feed_all(Connection(T.PULL), split(data, cuts))


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200), st.lists(st.integers(1, 50), min_size=1, max_size=4))
def test_fuzz_after_greeting(data: bytes, cuts: list[int]) -> None:
    feed_all(Connection(T.PULL), split(greeting() + data, cuts))


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=200), st.lists(st.integers(1, 50), min_size=1, max_size=4))
def test_fuzz_after_handshake(data: bytes, cuts: list[int]) -> None:
    feed_all(Connection(T.XPUB), split(greeting() + ready(b"SUB") + data, cuts))


# Structured fuzz: plausible frames with random flags, sizes and bodies reach deeper states than raw bytes.
fuzz_frame = st.builds(
    lambda flags, size, body, long: (
        bytes((flags,)) + (size.to_bytes(8, "big") if long else bytes((size % 256,))) + body
    ),
    st.sampled_from([0, 1, 2, 3, 4, 6, 5, 7, 8, 0x44]),
    st.one_of(st.integers(0, 300), st.integers(0, 2**64 - 1)),
    st.one_of(
        st.binary(max_size=40),
        st.sampled_from(
            [b"\x04PING", b"\x04PING\x00", b"\x05ERROR\x09x", b"\x05READY\x03abc", b"\x09SUBSCRIBE"]
        ),
    ),
    st.booleans(),
)


@settings(deadline=None, max_examples=300)
@given(st.lists(fuzz_frame, max_size=8), st.lists(st.integers(1, 30), min_size=1, max_size=3), st.booleans())
def test_fuzz_structured_frames(frames: list[bytes], cuts: list[int], handshaken: bool) -> None:
    prefix = greeting() + (ready(b"SUB") if handshaken else b"")
    feed_all(Connection(T.XPUB, max_msg_size=1000), split(prefix + b"".join(frames), cuts))
    feed_all(Connection(T.XPUB), split(prefix + b"".join(frames), cuts))


@SETTINGS
@given(
    st.lists(st.lists(st.binary(max_size=100), min_size=1, max_size=4), min_size=1, max_size=6),
    st.lists(st.integers(1, 300), min_size=1, max_size=4),
)
def test_round_trip_under_small_max_msg_size(msgs: list[list[bytes]], cuts: list[int]) -> None:
    # max_msg_size < 255 routes short frames through the checked branch of the decoder.
    wire = b"".join(Connection(T.PUSH).encode(m) for m in msgs)
    receiver = Connection(T.PULL, max_msg_size=100)
    got = []
    for chunk in split(greeting() + ready(b"PUSH") + wire, cuts):
        got += receiver.receive_data(chunk)
    assert got == [as_received(m) for m in msgs]
