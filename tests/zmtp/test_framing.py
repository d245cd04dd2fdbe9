"""Frame decoding after the handshake: flags, long/short forms, size limits, buffering, large bodies."""

from __future__ import annotations

import tracemalloc

import pytest

from tests.zmtp._util import established
from zlab.constants import SocketType as T
from zlab.errors import ProtocolError
from zlab.zmtp import Connection


def long_header(size: int, flags: int = 0x02) -> bytes:
    return bytes((flags,)) + size.to_bytes(8, "big")


@pytest.mark.parametrize("flags", [0x08, 0x10, 0x20, 0x40, 0x80, 0xFF, 0x09, 0x0C])
def test_reserved_bits_rejected(flags: int) -> None:
    c = established()
    with pytest.raises(ProtocolError, match="reserved"):
        c.receive_data(bytes((flags, 0)))
    c = established()
    with pytest.raises(ProtocolError, match="reserved"):
        c.receive_data(bytes((flags,)))  # on the flags octet alone
    assert c.closed
    with pytest.raises(ProtocolError):
        c.receive_data(b"\x00\x00")


@pytest.mark.parametrize("flags", [0x05, 0x07])
def test_more_on_command_rejected(flags: int) -> None:
    c = established()
    with pytest.raises(ProtocolError, match="MORE"):
        c.receive_data(bytes((flags, 5)) + b"\x04PING")


def test_long_form_small_size_accepted() -> None:
    c = established()
    assert c.receive_data(long_header(3, 0x03) + b"abc" + long_header(0)) == [[b"abc", b""]]


def test_empty_frames_and_empty_feed() -> None:
    c = established()
    assert c.receive_data(b"") == []
    assert c.receive_data(b"\x00\x00\x01\x00\x00\x00") == [b"", [b"", b""]]


def test_input_buffer_types() -> None:
    c = established()
    assert c.receive_data(bytearray(b"\x00\x01a")) == [b"a"]
    assert c.receive_data(memoryview(b"xx\x00\x01b")[2:]) == [b"b"]


def test_multipart_atomic_across_calls() -> None:
    c = established()
    assert c.receive_data(b"\x01\x01a\x01\x01b") == []
    assert c.buffered_bytes == 2
    assert c.receive_data(b"\x00") == []
    assert c.receive_data(b"\x01c") == [[b"a", b"b", b"c"]]
    assert c.buffered_bytes == 0


def test_boundary_sizes_in_every_split() -> None:
    sender = Connection(T.PUSH)
    msgs: list = [b"a" * 255, b"b" * 256, [b"c" * 254, b"d" * 257, b""], b"e" * 70000, b""]
    wire = b"".join(sender.encode(m if isinstance(m, list) else [m]) for m in msgs)
    for cut in (1, 2, 9, 10, 100, 256, 258, 265, 70000):
        c = established()
        got = []
        for i in range(0, len(wire), cut):
            got += c.receive_data(wire[i : i + cut])
        assert got == msgs, cut


def test_max_msg_size_per_frame() -> None:
    c = established(max_msg_size=300)
    assert c.receive_data(long_header(300) + b"x" * 300) == [b"x" * 300]
    with pytest.raises(ProtocolError, match="too large"):
        c.receive_data(long_header(301))
    c = established(max_msg_size=10)
    assert c.receive_data(b"\x01\x0a" + b"x" * 10 + b"\x00\x00") == [[b"x" * 10, b""]]
    with pytest.raises(ProtocolError, match="too large"):
        c.receive_data(b"\x00\x0b")  # short frame over the limit: refused on its header
    c = established(max_msg_size=0)
    assert c.receive_data(b"\x00\x00") == [b""]
    with pytest.raises(ProtocolError, match="too large"):
        c.receive_data(b"\x00\x01")


def test_max_msg_size_checked_before_buffering() -> None:
    c = established(max_msg_size=1000)
    header = long_header(2**62)
    for i in range(8):
        assert c.receive_data(header[i : i + 1]) == []
    with pytest.raises(ProtocolError, match="too large"):
        c.receive_data(header[8:])  # the 9th octet completes the size: refused at once
    c = established(max_msg_size=1000)
    with pytest.raises(ProtocolError, match="too large"):
        c.receive_data(b"\x00\x00" + header + b"body")


def test_size_beyond_2_63_rejected_without_limit() -> None:
    c = established()
    with pytest.raises(ProtocolError):
        c.receive_data(long_header(2**63))


def test_huge_claim_without_limit_buffers_only_what_arrives() -> None:
    c = established()
    tracemalloc.start()
    try:
        c.receive_data(long_header(2**30) + b"x" * 100)
        for _ in range(10):
            c.receive_data(b"y" * 1000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert c.buffered_bytes == 10100
    assert peak < 1_000_000


def test_large_body_chunk_kept_without_copy() -> None:
    c = established()
    body = bytes(range(256)) * 1024
    assert c.receive_data(long_header(len(body))) == []
    [got] = c.receive_data(body)
    assert got is body


def test_large_body_over_many_chunks() -> None:
    c = established()
    body = bytes(range(256)) * 4096  # 1 MiB
    wire = long_header(len(body), 0x03) + body + b"\x00\x01z"
    got = []
    for i in range(0, len(wire), 65536):
        got += c.receive_data(wire[i : i + 65536])
        assert c.buffered_bytes <= len(body) + 1
    assert got == [[body, b"z"]]


def test_commands_inside_a_multipart_message() -> None:
    c = established(T.XPUB, b"SUB")
    assert c.receive_data(b"\x01\x01a\x04\x0a\x09SUBSCRIBE\x00\x01b") == [[b"a", b"b"]]
    assert [e.topic for e in c.events] == [b""]


def test_messages_before_an_error_are_attached() -> None:
    c = established()
    with pytest.raises(ProtocolError) as info:
        c.receive_data(b"\x00\x01a\x00\x01b\xff")
    assert info.value.messages == [b"a", b"b"]  # type: ignore[attr-defined]


def test_header_needed_body_needed_and_mid_message() -> None:
    """What a reader asks the kernel for next: the rest of a cut header, then of a body; whether
    the input so far ends inside a message (a partial frame, or frames of a multipart one)."""
    c = established()
    assert (c.header_needed, c.body_needed, c.mid_message) == (0, 0, False)
    # a REQ's message: an empty delimiter frame, then a long frame cut inside its header
    assert c.receive_data(b"\x01\x00" + long_header(100_000)[:7]) == []
    assert (c.header_needed, c.body_needed, c.mid_message) == (2, 0, True)
    assert c.receive_data(long_header(100_000)[7:]) == []
    assert (c.header_needed, c.body_needed, c.body_buffered) == (0, 100_000, 0)
    assert c.receive_data(bytes(40_000)) == []
    assert (c.body_needed, c.body_buffered, c.mid_message) == (60_000, 40_000, True)
    assert c.receive_data(bytes(60_000)) == [[b"", bytes(100_000)]]
    assert (c.header_needed, c.body_needed, c.mid_message) == (0, 0, False)
    assert c.receive_data(b"\x00") == []  # a short header cut after its flags
    assert (c.header_needed, c.mid_message) == (1, True)
    assert c.receive_data(b"\x01a") == [b"a"]
    assert c.receive_data(b"\x01\x01a") == []  # a complete frame of an incomplete message
    assert (c.header_needed, c.body_needed, c.mid_message) == (0, 0, True)
