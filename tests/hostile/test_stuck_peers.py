"""A peer that completes the handshake and then never reads must not stall the socket for anyone else.

* ROUTER: sending to the stuck peer never blocks (its queue fills to the HWM, then messages are dropped);
  good peers keep getting their replies.
* PUSH: load-balancing skips a peer whose queue is full (RFC 30: round-robin over *available* peers), so a
  good PULL keeps receiving and no send times out.

Run against libzmq (control) and zlab; memory stays bounded by the HWM, not by what is sent.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.hostile import zmtp_raw as R
from tests.hostile.support import bind_tcp

pytestmark = pytest.mark.timeout(30)

MEMORY_LIMIT = 96 * 2**20


def test_router_never_blocks_on_a_stuck_peer(impl, libzmq, memory_watch):
    router = impl.socket("ROUTER", sndhwm=100)
    ep = bind_tcp(impl, router)
    good = libzmq.socket("DEALER", routing_id=b"good")
    good.connect(ep)
    good.send(b"hi")
    assert [bytes(f) for f in router.recv_multipart()] == [b"good", b"hi"]
    stuck = R.RawPeer.to_endpoint(ep)
    try:
        stuck.handshake(b"DEALER", identity=b"stuck")
        chunk = b"s" * 16384
        with memory_watch() as mem:
            t0 = time.monotonic()
            for i in range(3000):  # 48 MiB at a peer that reads nothing
                router.send_multipart([b"stuck", b"%d" % i, chunk])
                if i % 500 == 0:
                    router.send_multipart([b"good", b"tick", b"%d" % i])
            took = time.monotonic() - t0
        assert took < 10, f"sending to a stuck peer took {took:.1f} s: the ROUTER blocked"
        for i in range(0, 3000, 500):
            assert good.recv_multipart() == [b"tick", b"%d" % i]
        good.send(b"still there?")
        assert [bytes(f) for f in router.recv_multipart()] == [b"good", b"still there?"]
        mem.check(MEMORY_LIMIT, "ROUTER queueing for a stuck peer (SNDHWM 100 x 16 KiB)")
    finally:
        stuck.close()


def test_push_skips_a_stuck_peer(impl, libzmq):
    push = impl.socket("PUSH", sndhwm=50)
    ep = bind_tcp(impl, push)
    stuck = R.RawPeer.to_endpoint(ep)
    good = libzmq.socket("PULL")
    try:
        stuck.handshake(b"PULL")
        good.connect(ep)
        n = 1000
        got: list[int] = []
        errors: list[BaseException] = []

        def drain() -> None:
            try:
                while True:
                    msg = good.recv_multipart()
                    if msg == [b"end"]:
                        return
                    got.append(int(msg[0]))
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=drain, daemon=True)
        t.start()
        chunk = b"p" * 65536  # 64 MiB in all: far more than the stuck connection's kernel buffers hold
        for i in range(n):
            push.send_multipart([b"%d" % i, chunk])  # SNDTIMEO 5 s: Again here means PUSH blocked
        # the end marker goes to whichever peer is next and available: repeat it until the drainer sees one
        deadline = time.monotonic() + 10
        while t.is_alive() and time.monotonic() < deadline:
            push.send(b"end")
            t.join(0.05)
        assert not t.is_alive(), "the good PULL never got the end marker"
        assert not errors, errors
        assert got == sorted(got), "per-peer order broken"
        assert len(got) >= n - 1000, (
            f"only {len(got)} of {n} reached the good peer: PUSH waited on the stuck one"
        )
    finally:
        stuck.close()
