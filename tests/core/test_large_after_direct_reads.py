"""Large messages around a connection that the caller reads directly (zlab's latency path).

A caller reading a connection directly also writes its queued output from there, without waking
the I/O thread; these check that output still goes out when the caller does not come back to read
(the I/O thread takes reads, and writes, back), and a large ping-pong in both directions. Run
against libzmq first, like every behaviour in this suite.
"""

from __future__ import annotations

import threading

import pytest

from tests.core.support import Lib

BIG = 4 << 20  # several times any kernel buffer: every send is written in parts


@pytest.mark.timeout(30)
def test_large_sends_after_direct_reads_go_out_without_a_recv(lib: Lib, stream_transport: str) -> None:
    router, dealer = lib.pair("ROUTER", "DEALER", stream_transport)
    dealer.send(b"hi")
    ident, _ = router.recv_multipart()
    router.send_multipart([ident, b"back"])
    assert dealer.recv() == b"back"  # the dealer has read its connection directly
    for i in range(3):
        dealer.send(bytes([i]) * BIG)  # and never reads again
    got: list[tuple[int, int]] = []

    def receive() -> None:
        for _ in range(3):
            _, body = router.recv_multipart()
            got.append((body[0], len(body)))

    t = threading.Thread(target=receive, daemon=True)
    t.start()
    t.join(20)
    assert got == [(0, BIG), (1, BIG), (2, BIG)]


@pytest.mark.timeout(30)
def test_large_ping_pong(lib: Lib, stream_transport: str) -> None:
    rep, req = lib.pair("REP", "REQ", stream_transport)
    for i in range(5):
        msg = bytes([i]) * (BIG + i)
        req.send(msg)
        rep.send(rep.recv())
        assert req.recv() == msg


@pytest.mark.timeout(30)
def test_large_and_small_frames_mixed(lib: Lib, stream_transport: str) -> None:
    """Large bodies after small frames of the same message (a REQ's delimiter, an envelope) and
    small messages after large ones: zlab reads frame headers exactly after a large body, so every
    cut lands somewhere else; whatever arrives, in a queue or one by one, comes out whole."""
    router, dealer = lib.pair("ROUTER", "DEALER", stream_transport)
    big = 300_000
    msgs = [
        [b"a" * big, b"", b"b" * big],
        [b"x"],
        [b"", b"c" * (big + 1), b"d" * 10, b"e" * (big - 1)],
        [b"y" * 5, b"z" * 300],
        [b"", b"f" * big],
    ]
    for m in msgs:  # queued: the reader finds several messages at once
        dealer.send_multipart(m)
    got = [router.recv_multipart() for _ in msgs]
    assert [g[1:] for g in got] == msgs
    ident = got[0][0]
    for m in msgs:  # one at a time, back and forth (direct reads on a zlab side)
        router.send_multipart([ident, *m])
        assert dealer.recv_multipart() == m
        dealer.send_multipart(m)
        assert router.recv_multipart() == [ident, *m]
