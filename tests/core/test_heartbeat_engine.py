"""Heartbeats through a mechanism that wraps every frame (what CURVE plugs into), on real zlab sockets.

The toy wrapping mechanism of tests/zmtp/test_mechanism.py puts every frame in a MESSAGE command with a
sequence number that must increase, and refuses anything else: a PING written in clear, or encoded out of
order with the messages and PONGs around it, ends the connection.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

import zlab
import zlab.io.engine as engine_mod
import zlab.io.security as security
from tests.zmtp.test_mechanism import Wrap

pytestmark = pytest.mark.timeout(20)


class RecordingWrap(Wrap):
    """The toy mechanism, remembering the names of the commands it wrapped."""

    def __init__(self) -> None:
        super().__init__()
        self.commands: list[bytes] = []

    def encode_command(self, body: bytes) -> bytes:
        self.commands.append(body[1 : 1 + body[0]])
        return super().encode_command(body)


@pytest.fixture
def wrapped(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[RecordingWrap]]:
    made: list[RecordingWrap] = []

    def make(options: Any) -> RecordingWrap:
        mech = RecordingWrap()
        made.append(mech)
        return mech

    monkeypatch.setattr(engine_mod, "make_mechanism", make)
    monkeypatch.setattr(security, "wraps_traffic", lambda options: True)
    yield made


def test_pings_and_pongs_are_wrapped_in_order_with_messages(wrapped: list[RecordingWrap]) -> None:
    ctx = zlab.Context()
    try:
        hb = {"heartbeat_ivl": 20, "heartbeat_ttl": 300, "heartbeat_timeout": 300}
        socks = []
        for kind in (zlab.ROUTER, zlab.DEALER):
            s = ctx.socket(kind)
            s.rcvtimeo = s.sndtimeo = 2000
            s.linger = 0
            for k, v in hb.items():
                setattr(s, k, v)
            socks.append(s)
        router, dealer = socks
        lost: list[int] = []
        for s in socks:
            s.link.monitor = lambda event, endpoint, value: (
                lost.append(event) if event == zlab.Event.DISCONNECTED else None
            )
        router.bind("tcp://127.0.0.1:*")
        dealer.routing_id = b"d"
        dealer.connect(router.last_endpoint.decode())
        # messages both ways for 0.5 s (25 intervals) while PINGs and PONGs interleave with them
        sent = 0
        until = time.monotonic() + 0.5
        try:
            while time.monotonic() < until:
                dealer.send(b"%d" % sent)
                assert router.recv_multipart() == [b"d", b"%d" % sent]
                router.send_multipart([b"d", b"ack"])
                assert dealer.recv() == b"ack"
                sent += 1
            time.sleep(
                0.2
            )  # the idle period under test (10 intervals of heartbeats only), not a synchronisation
            router.send_multipart([b"d", b"after"])
            assert dealer.recv() == b"after"
        except zlab.Again:
            pytest.fail(f"stuck after {sent} round trips; connections dropped: {len(lost)}")
        assert not lost, "a connection dropped: a heartbeat was sent in clear or out of order"
        assert len(wrapped) == 2
        for mech in wrapped:
            assert mech.commands.count(b"PING") >= 10, mech.commands[:20]
            assert mech.commands.count(b"PONG") >= 10, mech.commands[:20]
    finally:
        ctx.destroy(linger=0)
