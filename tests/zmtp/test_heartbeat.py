"""Heartbeat timers (zlab.zmtp.heartbeat) against a fake clock: libzmq's PING interval, timeout and TTL.

Times are seconds on a made-up clock; ``received`` is the caller's traffic counter (the engine counts reads).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.zmtp._util import connected_pair
from zlab.zmtp import Ping, Pong
from zlab.zmtp.frames import command_frame
from zlab.zmtp.heartbeat import Heartbeat, ttl_deciseconds


@pytest.mark.parametrize(
    ("ms", "ds"),
    [
        (0, 0),
        (-1, 0),
        (50, 0),
        (99, 0),
        (100, 1),
        (250, 2),
        (6_553_500, 65535),
        (6_553_599, 65535),
        (10**9, 65535),
    ],
)
def test_ttl_rounded_down_to_deciseconds_as_libzmq(ms: int, ds: int) -> None:
    assert ttl_deciseconds(ms) == ds
    assert Heartbeat(1000, ms).ttl_deciseconds == ds


def test_off_by_default() -> None:
    hb = Heartbeat()
    hb.start(0.0)
    assert hb.deadline is None
    assert not hb.ping_due(1e9, 0)
    assert hb.expired(1e9, 0) is None


def test_pings_every_interval_whatever_the_traffic() -> None:
    hb = Heartbeat(ivl_ms=1000, ttl_ms=3000)
    hb.start(10.0)
    assert hb.deadline == 11.0
    assert not hb.ping_due(10.999, 0)
    sent = []
    for step in range(1, 6):
        now = 10.0 + step
        received = step  # traffic keeps flowing: libzmq pings anyway
        assert hb.expired(now, received) is None
        if hb.ping_due(now, received):
            sent.append(now)
    assert sent == [11.0, 12.0, 13.0, 14.0, 15.0]
    assert hb.pings_sent == 5
    assert hb.ttl_deciseconds == 30


def test_silence_after_a_ping_times_out_after_the_interval_by_default() -> None:
    hb = Heartbeat(ivl_ms=1000)
    hb.start(0.0)
    assert hb.ping_due(1.0, 7)
    assert hb.timeout_at == 2.0
    assert hb.deadline == 2.0
    assert hb.expired(1.999, 7) is None
    reason = hb.expired(2.0, 7)
    assert reason is not None and "timed out" in reason and "1000 ms" in reason


def test_any_traffic_after_the_ping_disarms_the_timeout() -> None:
    hb = Heartbeat(ivl_ms=1000)
    hb.start(0.0)
    assert hb.ping_due(1.0, 7)
    assert hb.expired(2.0, 8) is None  # one read since the PING (a PONG or anything else)
    assert hb.ping_due(2.0, 8)  # the next PING arms it again, from now
    assert hb.timeout_at == 3.0
    assert hb.expired(3.0, 8) is not None


def test_a_longer_timeout_is_not_pushed_back_by_later_pings() -> None:
    """libzmq arms the timeout only if it is not armed: the first unanswered PING counts."""
    hb = Heartbeat(ivl_ms=1000, timeout_ms=2500)
    hb.start(0.0)
    for now in (1.0, 2.0, 3.0):
        assert hb.expired(now, 0) is None
        assert hb.ping_due(now, 0)
    assert hb.timeout_at == 3.5
    assert hb.deadline == 3.5
    assert hb.expired(3.5, 0) is not None


def test_traffic_restarts_a_longer_timeout_from_the_next_ping() -> None:
    hb = Heartbeat(ivl_ms=1000, timeout_ms=2500)
    hb.start(0.0)
    hb.ping_due(1.0, 0)
    assert hb.expired(2.0, 1) is None  # traffic: disarmed
    assert hb.ping_due(2.0, 1)
    assert hb.timeout_at == 4.5
    # ping_due alone (without expired first) also sees the traffic and re-arms from now
    assert hb.ping_due(3.0, 2)
    assert hb.timeout_at == 5.5


def test_timeout_zero_never_drops() -> None:
    hb = Heartbeat(ivl_ms=1000, timeout_ms=0)
    hb.start(0.0)
    for step in range(1, 20):
        assert hb.expired(float(step), 0) is None
        assert hb.ping_due(float(step), 0)
    assert hb.timeout_at is None


def test_timeout_only_with_an_interval() -> None:
    hb = Heartbeat(ivl_ms=0, timeout_ms=500)
    hb.start(0.0)
    assert hb.timeout == 0.0 and hb.deadline is None


def test_peer_ttl_drops_a_silent_peer_even_with_our_heartbeats_off() -> None:
    hb = Heartbeat()
    hb.ping_received(5, now=100.0, received=3)
    assert hb.deadline == 100.5
    assert hb.expired(100.49, 3) is None
    reason = hb.expired(100.5, 3)
    assert reason is not None and "TTL" in reason and "500 ms" in reason
    assert hb.deadline is None


def test_traffic_after_the_peers_ping_disarms_its_ttl() -> None:
    hb = Heartbeat()
    hb.ping_received(5, now=0.0, received=3)
    assert hb.expired(0.5, 4) is None
    assert hb.deadline is None
    assert hb.expired(100.0, 4) is None  # not re-armed until the next PING


def test_each_ping_rearms_the_ttl_from_its_own_time_and_ttl_zero_disarms() -> None:
    hb = Heartbeat()
    hb.ping_received(5, now=0.0, received=1)
    hb.ping_received(20, now=0.4, received=2)
    assert hb.deadline == pytest.approx(2.4)
    assert hb.expired(1.0, 2) is None
    hb.ping_received(0, now=1.0, received=3)
    assert hb.deadline is None
    assert hb.expired(10.0, 3) is None


def test_deadline_is_the_earliest_timer() -> None:
    hb = Heartbeat(ivl_ms=1000, timeout_ms=5000)
    hb.start(0.0)
    hb.ping_due(1.0, 0)
    hb.ping_received(3, now=1.2, received=1)
    assert hb.deadline == 1.5  # TTL before the next PING (2.0) and the timeout (6.0)


def test_late_tick_does_not_burst() -> None:
    """A busy machine calls late: one PING, and the next one an interval later, not a catch-up burst."""
    hb = Heartbeat(ivl_ms=100, timeout_ms=0)
    hb.start(0.0)
    assert hb.ping_due(5.0, 0)
    assert not hb.ping_due(5.05, 0)
    assert hb.next_ping == pytest.approx(5.1)


def test_ping_is_libzmqs_bytes() -> None:
    assert command_frame(b"PING", Heartbeat(50, 550).ping_data) == b"\x04\x07\x04PING\x00\x05"
    assert Heartbeat(50, 10**9).ping_data == b"\xff\xff"


def test_two_connections_on_a_fake_clock() -> None:
    """A pings every 100 ms with TTL 300 ms; B answers (its Connection queues PONGs). A stays up while B
    answers; B drops A once A goes silent for the TTL; A drops B once B stops answering."""
    a, b = connected_pair()
    hb_a = Heartbeat(ivl_ms=100, ttl_ms=300, timeout_ms=200)
    hb_b = Heartbeat()
    reads = {"a": 0, "b": 0}
    now = 0.0
    hb_a.start(now)

    def deliver(src, dst, name: str, hb: Heartbeat) -> None:
        data = src.data_to_send()
        if data:
            reads[name] += 1
            dst.receive_data(data)
            while dst.events:
                ev = dst.events.popleft()
                if isinstance(ev, Ping):
                    hb.ping_received(ev.ttl_deciseconds, now, reads[name])
                else:
                    assert isinstance(ev, Pong)

    # 2 s of healthy heartbeats, 10 ms steps
    for _ in range(200):
        now = round(now + 0.01, 3)
        assert hb_a.expired(now, reads["a"]) is None
        assert hb_b.expired(now, reads["b"]) is None
        if hb_a.ping_due(now, reads["a"]):
            a.ping(hb_a.ttl_deciseconds)
        deliver(a, b, "b", hb_b)
        deliver(b, a, "a", hb_a)
    assert hb_a.pings_sent >= 19
    assert hb_b.ttl_at is not None  # armed by A's last PING

    # A goes silent (stops pinging): B drops it within the TTL (300 ms) of A's last PING
    silent_from = now
    while (reason := hb_b.expired(now, reads["b"])) is None:
        now = round(now + 0.01, 3)
        assert now - silent_from <= 0.3 + 1e-9
    assert "TTL" in reason

    # B stops answering: A drops it 200 ms after its next PING
    now = round(now + 0.01, 3)
    while not hb_a.ping_due(now, reads["a"]):
        now = round(now + 0.01, 3)
    pinged = now
    while (reason := hb_a.expired(now, reads["a"])) is None:
        now = round(now + 0.01, 3)
        hb_a.ping_due(now, reads["a"])
    assert "timed out" in reason
    assert now - pinged == pytest.approx(0.2, abs=0.011)


@settings(max_examples=200, deadline=None)
@given(
    ivl_ms=st.integers(10, 2000),
    timeout_ms=st.integers(-1, 5000),
    steps=st.lists(st.floats(0.001, 0.2), min_size=50, max_size=300),
    talk_for=st.integers(0, 300),
)
def test_drops_only_after_silence_and_always_after_silence(
    ivl_ms: int, timeout_ms: int, steps: list[float], talk_for: int
) -> None:
    """Called at random moments: while the peer talks before every call nothing is dropped; once it stops,
    the drop comes no sooner than TIMEOUT after the last traffic seen and no later than IVL + TIMEOUT
    (+ one step) after it."""
    hb = Heartbeat(ivl_ms=ivl_ms, timeout_ms=timeout_ms)
    timeout = (ivl_ms if timeout_ms < 0 else timeout_ms) / 1000
    now = 0.0
    hb.start(now)
    received = 0
    last_traffic = 0.0
    for i, step in enumerate(steps):
        now += step
        if i < talk_for:
            received += 1
            last_traffic = now
        reason = hb.expired(now, received)
        if reason is not None:
            assert timeout > 0 and i >= talk_for
            assert now - last_traffic >= timeout - 1e-9
            return
        hb.ping_due(now, received)
        if timeout and i >= talk_for:
            assert now - last_traffic <= ivl_ms / 1000 + timeout + max(steps) + 1e-9, "silence not dropped"
