"""``copy=False`` on the wire: frames given as bytes, memoryview, bytearray or Frame reach the other
implementation intact, and received frames come back as Frame objects with ``.bytes`` and ``.buffer``."""

from __future__ import annotations

import pytest

from tests.interop.scenario import big_body, check_frames

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPLS = [pytest.param("zmq", marks=pytest.mark.control), "zlab"]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("local", IMPLS)
def test_copy_false_both_ways(local, transport, make_impl, new_endpoint):
    limpl, zimpl = make_impl(local), make_impl("zmq")
    a = limpl.socket("PAIR")
    ep = limpl.bind(a, new_endpoint(transport))
    b = zimpl.socket("PAIR")
    b.connect(ep)
    big = big_body()
    frames = [big, memoryview(big)[1:1001], bytearray(b"ba" * 200), b"", limpl.mod.Frame(b"framed" * 50)]
    want = [big, big[1:1001], b"ba" * 200, b"", b"framed" * 50]
    a.send_multipart(frames, copy=False)
    check_frames(b.recv_multipart(), want, f"{local} send_multipart(copy=False)")
    b.send_multipart(want, copy=False)
    got = a.recv_multipart(copy=False)
    assert all(isinstance(f, limpl.mod.Frame) for f in got), [type(f) for f in got]
    check_frames([f.bytes for f in got], want, f"{local} recv_multipart(copy=False) .bytes")
    check_frames([bytes(f.buffer) for f in got], want, f"{local} recv_multipart(copy=False) .buffer")
    a.send(big, copy=False)
    assert b.recv() == big
    b.send(big)
    f = a.recv(copy=False)
    assert len(f) == len(big) and f.bytes == big
