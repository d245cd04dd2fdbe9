"""The send/recv API: frames, multipart, flags, serialisers, zero-copy frames, accepted types."""

from __future__ import annotations

import pytest

from tests.core.support import Lib


@pytest.fixture
def pair(lib: Lib, transport: str):
    return lib.pair("PAIR", "PAIR", transport)


def test_sndmore_frame_by_frame_and_rcvmore(lib: Lib, pair) -> None:
    a, b = pair
    a.send(b"1", lib.SNDMORE)
    a.send(b"2", lib.SNDMORE)
    a.send(b"3")
    assert b.recv() == b"1"
    assert b.getsockopt(lib.RCVMORE) == 1
    assert b.rcvmore == 1
    assert b.recv() == b"2"
    assert b.rcvmore
    assert b.recv() == b"3"
    assert b.getsockopt(lib.RCVMORE) == 0


def test_recv_multipart_after_partial_recv(lib: Lib, pair) -> None:
    a, b = pair
    a.send_multipart([b"a", b"b", b"c"])
    assert b.recv() == b"a"
    assert b.recv_multipart() == [b"b", b"c"]  # the rest of the same message
    a.send_multipart([b"next"])
    assert b.recv_multipart() == [b"next"]


def test_send_multipart_with_sndmore_prefix(lib: Lib, pair) -> None:
    a, b = pair
    a.send(b"head", lib.SNDMORE)
    a.send_multipart([b"body", b"tail"])
    assert b.recv_multipart() == [b"head", b"body", b"tail"]


def test_empty_frames(lib: Lib, pair) -> None:
    a, b = pair
    a.send(b"")
    assert b.recv() == b""
    a.send_multipart([b"", b"x", b""])
    assert b.recv_multipart() == [b"", b"x", b""]


def test_send_multipart_empty_list_is_rejected(lib: Lib) -> None:
    s = lib.socket("PAIR")
    with pytest.raises((lib.mod.ZMQError, IndexError, ValueError)):
        s.send_multipart([])


def test_string_json_pyobj(lib: Lib, pair) -> None:
    a, b = pair
    a.send_string("héllo ☃")
    assert b.recv_string() == "héllo ☃"
    a.send_string("latin", encoding="latin-1")
    assert b.recv() == b"latin"
    a.send_json({"a": [1, 2.5, None, "x"], "b": True})
    assert b.recv_json() == {"a": [1, 2.5, None, "x"], "b": True}
    obj = {"t": (1, 2), "s": {3}, "b": b"\x00"}
    a.send_pyobj(obj)
    assert b.recv_pyobj() == obj


def test_send_string_rejects_bytes(lib: Lib) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(TypeError):
        s.send_string(b"bytes")


def test_recv_copy_false_gives_frame(lib: Lib, pair) -> None:
    a, b = pair
    a.send(b"payload")
    f = b.recv(copy=False)
    assert isinstance(f, lib.mod.Frame)
    assert f.bytes == b"payload"
    assert isinstance(f.buffer, memoryview)
    assert bytes(f.buffer) == b"payload"
    assert len(f) == 7
    assert f.more is False
    assert bytes(f) == b"payload"


def test_recv_multipart_copy_false_more_flags(lib: Lib, pair) -> None:
    a, b = pair
    a.send_multipart([b"x", b"y", b"z"])
    frames = b.recv_multipart(copy=False)
    assert [f.bytes for f in frames] == [b"x", b"y", b"z"]
    assert [f.more for f in frames] == [True, True, False]
    a.send_multipart([b"1", b"2"])
    f1 = b.recv(copy=False)
    assert f1.more is True
    assert b.recv(copy=False).more is False


def test_frame_is_sendable(lib: Lib, pair) -> None:
    a, b = pair
    a.send(lib.mod.Frame(b"framed"))
    assert b.recv() == b"framed"
    a.send(b"copy", copy=False)
    assert b.recv() == b"copy"


def test_send_str_is_type_error(lib: Lib) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(TypeError):
        s.send("text")
    with pytest.raises(TypeError):
        s.send_multipart([b"ok", "text"])


def test_bytes_like_accepted(lib: Lib, pair) -> None:
    a, b = pair
    a.send(bytearray(b"bytearray"))
    a.send(memoryview(b"__memoryview__")[2:-2])
    a.send_multipart([bytearray(b"x"), memoryview(b"y")])
    assert b.recv() == b"bytearray"
    assert b.recv() == b"memoryview"
    assert b.recv_multipart() == [b"x", b"y"]


def test_bytearray_copied_at_send(lib: Lib, pair) -> None:
    a, b = pair
    buf = bytearray(b"before")
    a.send(buf)
    buf[:] = b"after!"
    assert b.recv() == b"before"


def test_recv_noblock_empty_is_again(lib: Lib) -> None:
    s = lib.socket("PULL")
    s.bind(lib.endpoint("inproc"))
    with pytest.raises(lib.mod.Again) as info:
        s.recv(lib.NOBLOCK)
    assert info.value.errno == lib.EAGAIN
    assert isinstance(info.value, lib.mod.ZMQError)
    with pytest.raises(lib.mod.Again):
        s.recv_multipart(lib.DONTWAIT)


def test_rcvtimeo_expires(lib: Lib) -> None:
    import time

    s = lib.socket("PULL", rcvtimeo=100)
    s.bind(lib.endpoint("inproc"))
    start = time.monotonic()
    with pytest.raises(lib.mod.Again):
        s.recv()
    assert 0.05 <= time.monotonic() - start < 5.0


def test_large_message(lib: Lib, pair) -> None:
    a, b = pair
    big = bytes(range(256)) * 4096  # 1 MiB
    a.send_multipart([b"h", big])
    got = b.recv_multipart()
    assert got[0] == b"h" and got[1] == big


# the names pyzmq code commonly uses, with pyzmq's values (the zmq run checks the list itself)
PYZMQ_NAMES = {
    "MORE": 1,
    "NOBLOCK": 1,
    "DONTWAIT": 1,
    "SNDMORE": 2,
    "POLLIN": 1,
    "POLLOUT": 2,
    "POLLERR": 4,
    "PAIR": 0,
    "REQ": 3,
    "REP": 4,
    "DEALER": 5,
    "ROUTER": 6,
    "PULL": 7,
    "PUSH": 8,
    "IDENTITY": 5,
    "ROUTING_ID": 5,
    "LINGER": 17,
    "RCVMORE": 13,
    "EVENTS": 15,
    "TYPE": 16,
    "SNDHWM": 23,
    "RCVHWM": 24,
    "HWM": 1,  # the legacy option number: pyzmq handles it in Python (see test_hwm_sets_both)
    "LAST_ENDPOINT": 32,
    "ROUTER_MANDATORY": 33,
    "IMMEDIATE": 39,
    "EAGAIN": 11,
    "EINVAL": 22,
    "EFSM": 156384763,
    "ETERM": 156384765,
    "ENOTSOCK": 88,
    "EHOSTUNREACH": 113,
    "EADDRINUSE": 98,
    "EPROTONOSUPPORT": 93,
}


@pytest.mark.parametrize("name", sorted(PYZMQ_NAMES))
def test_pyzmq_constant(lib: Lib, name: str) -> None:
    assert getattr(lib.mod, name) == PYZMQ_NAMES[name]


def test_frame_get_more(lib: Lib) -> None:
    a, b = lib.pair("PAIR", "PAIR", "inproc")
    a.send_multipart([b"1", b"2"])
    f = b.recv(copy=False)
    assert f.get(lib.MORE) == 1
    assert b.recv(copy=False).get(lib.MORE) == 0
