"""The engine's plumbing for mechanisms that wrap every frame (what CURVE plugs into), exercised with the toy
wrapping mechanism of tests/zmtp/test_mechanism.py on real zlab sockets: messages queued before the
handshake are encoded after it, traffic and subscriptions go through the mechanism, both directions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import zlab
import zlab.io.engine as engine_mod
import zlab.io.security as security
from tests.zmtp.test_mechanism import Wrap
from zlab.io.wrapped_pipe import WrappedStreamPipe

pytestmark = pytest.mark.timeout(20)


@pytest.fixture
def wrapped(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Wrap]]:
    """Every zlab connection made in the test runs the toy mechanism; the list holds them."""
    made: list[Wrap] = []

    def make(options: Any) -> Wrap:
        mech = Wrap()
        made.append(mech)
        return mech

    monkeypatch.setattr(engine_mod, "make_mechanism", make)
    monkeypatch.setattr(security, "wraps_traffic", lambda options: True)
    yield made


@pytest.fixture
def ctx() -> Iterator[zlab.Context]:
    c = zlab.Context()
    yield c
    c.destroy(linger=0)


def sock(ctx: zlab.Context, kind: int, **opts: Any) -> zlab.Socket:
    s = ctx.socket(kind)
    s.rcvtimeo = s.sndtimeo = 5000
    s.linger = 0
    for k, v in opts.items():
        setattr(s, k, v)
    return s


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_messages_queued_before_the_handshake_are_wrapped_after_it(
    wrapped: list[Wrap], ctx: zlab.Context, transport: str, tmp_path: Any
) -> None:
    ep = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/w.s"
    router = sock(ctx, zlab.ROUTER)
    router.bind(ep)
    dealer = sock(ctx, zlab.DEALER, routing_id=b"d1")
    dealer.connect(router.last_endpoint.decode())
    big = bytes(range(256)) * 1200  # 300 KiB: long frames, more than one write
    for i in range(3):
        dealer.send_multipart([b"early", str(i).encode()])
    dealer.send_multipart([b"big", big])
    assert [router.recv_multipart() for _ in range(4)] == [
        [b"d1", b"early", b"0"],
        [b"d1", b"early", b"1"],
        [b"d1", b"early", b"2"],
        [b"d1", b"big", big],
    ]
    router.send_multipart([b"d1", b"back", b""])
    assert dealer.recv_multipart() == [b"back", b""]
    assert len(wrapped) == 2 and all(m.sent > 0 and m.done for m in wrapped)
    assert any(isinstance(p, WrappedStreamPipe) for p in dealer.core.pipes)


def test_subscriptions_travel_wrapped(wrapped: list[Wrap], ctx: zlab.Context) -> None:
    pub = sock(ctx, zlab.PUB)
    pub.bind("tcp://127.0.0.1:*")
    sub = sock(ctx, zlab.SUB)
    sub.setsockopt(zlab.SUBSCRIBE, b"news")
    sub.connect(pub.last_endpoint.decode())
    poller = zlab.Poller()
    poller.register(sub, zlab.POLLIN)
    for _ in range(500):  # publish until the subscription has arrived (the poll paces it)
        pub.send_multipart([b"sport", b"no"])
        pub.send_multipart([b"news", b"yes"])
        if poller.poll(10):
            break
    assert sub.recv_multipart() == [b"news", b"yes"]
    sub.setsockopt(zlab.SUBSCRIBE, b"late")  # after the handshake: encoded under the pipe lock
    for _ in range(500):
        pub.send(b"late!")
        if poller.poll(10):
            break
    while True:  # copies of the earlier news may come first
        msg = sub.recv_multipart()
        if msg == [b"late!"]:
            break
        assert msg == [b"news", b"yes"]
    assert all(m.sent > 0 for m in wrapped)
