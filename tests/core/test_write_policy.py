"""The stream pipe's and the publisher's write policy on a fake clock: an idle connection writes at
once, a burst is batched, and a paced burst is written at the I/O thread's first look after its
oldest message waited ``MAX_HOLD``, even while it grows; a flood stays batched.

The bug these guard: messages paced closer than ``IDLE_GAP`` but never pausing (10k msg/s) kept a
batch "still growing" at every look of the reactor, so it waited for a full batch (SNDHWM messages,
100 ms at that rate): p99 latency under load was 40-90 ms while p50 was 75 µs.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import zlab
from zlab.io import stream_pipe as sp
from zlab.io.link import SocketLink
from zlab.options import Options
from zlab.pipe import DENSE_GAP, MAX_HOLD, Pipe
from zlab.sockets import fanout as fo

pytestmark = pytest.mark.timeout(10)

TAIL_DELAY_US = sp.TAIL_DELAY * 1e6


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, us: float) -> None:
        self.t += us * 1e-6


class FakeReactor:
    """Records what a pipe hands to its I/O thread; the test runs it when it wants."""

    def __init__(self) -> None:
        self.soon: list[Callable[..., Any]] = []
        self.later: list[Callable[..., Any]] = []

    def call_soon(self, fn: Callable[..., Any], *args: Any) -> None:
        self.soon.append(lambda: fn(*args))

    def call_later_here(self, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        self.later.append(lambda: fn(*args))

    def in_thread(self) -> bool:
        return True

    def run_one(self) -> None:
        queue = self.soon or self.later
        queue.pop(0)()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(sp, "_now", c)
    monkeypatch.setattr(fo, "_now", c)
    return c


@pytest.fixture
def wire() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _pipe(reactor: FakeReactor, sock: socket.socket) -> sp.StreamPipe:
    link = SocketLink(
        Options(type=zlab.PUSH), attach=lambda p: True, detach=lambda p: None, attach_on_connect=True
    )
    pipe = sp.StreamPipe(link, reactor, "tcp://test")  # type: ignore[arg-type]
    pipe.sock = sock
    pipe.set_ready()
    return pipe


def _frames_on(peer: socket.socket) -> int:
    """How many 1-octet-body ZMTP frames (3 octets each) have arrived."""
    try:
        return len(peer.recv(1 << 20)) // 3
    except BlockingIOError:
        return 0


def test_an_idle_connection_writes_at_once(
    clock: FakeClock, wire: tuple[socket.socket, socket.socket]
) -> None:
    reactor = FakeReactor()
    pipe = _pipe(reactor, wire[0])
    for _ in range(3):
        assert pipe.deliver(b"x")
        assert _frames_on(wire[1]) == 1
        clock.advance(sp.IDLE_GAP * 1e6 + 1)
    assert not reactor.soon


def test_a_paced_burst_never_waits_longer_than_max_hold(
    clock: FakeClock, wire: tuple[socket.socket, socket.socket]
) -> None:
    reactor = FakeReactor()
    pipe = _pipe(reactor, wire[0])
    # closer than IDLE_GAP (a burst), sparser than DENSE_GAP (paced, not a flood)
    gap_us = (sp.IDLE_GAP + DENSE_GAP) * 1e6 / 2
    looks_every = 3  # messages between two looks of the reactor, which always sees the batch grow
    # the messages of one MAX_HOLD, and those until the reactor's next look
    most_queued = MAX_HOLD * 1e6 / gap_us + looks_every
    sent = written = 0
    for step in range(200):
        pipe.deliver(b"x")
        sent += 1
        written += _frames_on(wire[1])
        if step % looks_every == 0 and (reactor.soon or reactor.later):
            reactor.run_one()
            written += _frames_on(wire[1])
        assert sent - written <= most_queued
        clock.advance(gap_us)
    assert written > sent - most_queued


def test_the_reactor_writes_an_old_batch_even_while_it_grows(
    clock: FakeClock, wire: tuple[socket.socket, socket.socket]
) -> None:
    reactor = FakeReactor()
    pipe = _pipe(reactor, wire[0])
    pipe.deliver(b"x")
    assert _frames_on(wire[1]) == 1
    gap_us = (sp.IDLE_GAP + DENSE_GAP) * 1e6 / 2
    clock.advance(gap_us)
    pipe.deliver(b"x")  # a burst begins: queued, the reactor asked to flush
    assert reactor.soon and _frames_on(wire[1]) == 0
    clock.advance(gap_us)
    pipe.deliver(b"x")
    reactor.run_one()  # growing and young: looks again later
    assert _frames_on(wire[1]) == 0 and reactor.later
    clock.advance(MAX_HOLD * 1e6 / 2)
    pipe.deliver(b"x")  # the sending thread never judges the age (a clock read per message)
    clock.advance(MAX_HOLD * 1e6 / 2 + 1)
    reactor.run_one()  # grew since its last look, but the oldest waited MAX_HOLD: written
    assert _frames_on(wire[1]) == 3


class _ListPipe(Pipe):
    """A pipe that records the batches it takes (for the fan-out)."""

    def __init__(self) -> None:
        super().__init__(None, hwm_in=1000)
        self.taken: list[int] = []

    def deliver(self, msg: Any) -> bool:
        self.taken.append(1)
        return True

    def deliver_many(self, msgs: list, enc: list) -> int:
        self.taken.append(len(msgs))
        return len(msgs)

    def io_scheduler(self) -> tuple[Callable[..., Any], Callable[..., Any]]:
        return REACTOR.call_soon, REACTOR.call_later_here


REACTOR = FakeReactor()


class _Everyone:
    def __init__(self, pipes: list[Pipe]) -> None:
        self.everyone = pipes
        self.invert = False


def test_a_paced_publisher_batch_never_waits_longer_than_max_hold(clock: FakeClock) -> None:
    REACTOR.soon.clear()
    REACTOR.later.clear()
    pipe = _ListPipe()
    fan = fo.FanOut(core=None, index=_Everyone([pipe]))  # type: ignore[arg-type]
    gap_us = fo.BURST_GAP * 1e6 / 4
    n = 100
    for _ in range(n):
        fan.send(b"x")
        clock.advance(gap_us)
        if REACTOR.soon or REACTOR.later:  # the I/O thread looks, and always sees the batch grow
            REACTOR.run_one()
    largest = max(pipe.taken)
    # never BATCH_MAX: the I/O thread flushes a batch at its first look after it turned MAX_HOLD old
    assert largest <= MAX_HOLD * 1e6 / gap_us + 2
    assert sum(pipe.taken) >= n - largest


def test_a_flood_stays_batched_past_max_hold(
    clock: FakeClock, wire: tuple[socket.socket, socket.socket]
) -> None:
    """Messages denser than DENSE_GAP are a flood: written in full batches or when the burst pauses,
    not every MAX_HOLD (small writes cost a flood a quarter of its rate)."""
    reactor = FakeReactor()
    pipe = _pipe(reactor, wire[0])
    pipe.deliver(b"x")
    assert _frames_on(wire[1]) == 1
    gap_us = DENSE_GAP * 1e6 / 5
    n = int(3 * MAX_HOLD / (gap_us * 1e-6))  # three MAX_HOLDs' worth
    for _ in range(n):
        clock.advance(gap_us)
        pipe.deliver(b"x")
    assert _frames_on(wire[1]) == 0  # all held by the sending thread
    reactor.run_one()  # the reactor's first look: growing, so it looks again later
    assert _frames_on(wire[1]) == 0
    clock.advance(TAIL_DELAY_US)
    reactor.run_one()  # the burst paused: written
    assert _frames_on(wire[1]) == n
