"""The inbox doorbell (zlab.pipe.Inbox.take): how a blocked recv is woken.

A consumer blocks on an eventfd that producers ring after ``ready.put`` (not in ``SimpleQueue.get``,
whose wake-up happens under the GIL); after a wake-up that finds a queue (a flood) it waits in
``SimpleQueue.get`` for ``LAZY_TAKES`` takes. These tests hold the hand-over rules: no lost wake-up,
timeouts, close and term while blocked, in both modes. zlab only (libzmq has no such internals).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from queue import Empty
from typing import Any

import pytest

import zlab
from tests.core.support import wait_until
from zlab.errors import ZMQError
from zlab.pipe import LAZY_TAKES, Doorbell, Inbox, Pipe, Signal, _ring

pytestmark = pytest.mark.timeout(20)


def _in_thread(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            out.append(exc)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, out


def _pipe_with(inbox: Inbox, *msgs: bytes) -> Pipe:
    pipe = Pipe(inbox)
    pipe.pending.extend(msgs)
    pipe.signalled = True
    return pipe


def test_take_wakes_when_a_pipe_is_announced_from_another_thread() -> None:
    inbox = Inbox(Signal())
    t, out = _in_thread(inbox.take)
    wait_until(lambda: inbox.sleeping, what="the consumer to sleep on the doorbell")
    pipe = _pipe_with(inbox, b"m")
    inbox.announce(pipe)
    t.join(5)
    assert out == [pipe]
    assert not inbox.sleeping and inbox.lazy == 0  # one message: not a flood


def test_take_returns_at_once_when_something_is_ready() -> None:
    inbox = Inbox(Signal())
    pipe = _pipe_with(inbox, b"m")
    inbox.announce(pipe)  # nobody sleeps: no ring
    assert inbox.take() is pipe


def test_take_with_timeout_raises_empty_and_stops_sleeping() -> None:
    inbox = Inbox(Signal())
    t0 = time.monotonic()
    with pytest.raises(Empty):
        inbox.take(0.05)
    assert time.monotonic() - t0 >= 0.045
    assert not inbox.sleeping
    # a ring left over from a producer that saw ``sleeping`` late is harmless: the next take looks again
    inbox.ring()
    with pytest.raises(Empty):
        inbox.take(0.01)


def test_timed_take_is_woken_before_its_timeout() -> None:
    inbox = Inbox(Signal())
    t, out = _in_thread(lambda: inbox.take(10.0))
    wait_until(lambda: inbox.sleeping, what="the consumer to sleep on the doorbell")
    t0 = time.monotonic()
    pipe = _pipe_with(inbox, b"m")
    inbox.announce(pipe)
    t.join(5)
    assert out == [pipe] and time.monotonic() - t0 < 5


def test_wake_ends_a_take_with_none() -> None:
    inbox = Inbox(Signal())
    t, out = _in_thread(inbox.take)
    wait_until(lambda: inbox.sleeping, what="the consumer to sleep on the doorbell")
    inbox.wake()
    t.join(5)
    assert out == [None]


def test_a_wake_up_to_a_queue_switches_to_lazy_takes_and_back() -> None:
    inbox = Inbox(Signal())
    t, out = _in_thread(inbox.take)
    wait_until(lambda: inbox.sleeping, what="the consumer to sleep on the doorbell")
    inbox.announce(_pipe_with(inbox, b"a", b"b"))  # two messages at once: a flood
    t.join(5)
    assert inbox.lazy == LAZY_TAKES
    # lazy takes wait in SimpleQueue.get (no doorbell), and are woken by the put alone
    t, out = _in_thread(inbox.take)
    time.sleep(0.02)  # (it may or may not block yet: both are fine)
    assert not inbox.sleeping
    pipe = _pipe_with(inbox, b"c")
    inbox.announce(pipe)
    t.join(5)
    assert out == [pipe] and inbox.lazy == LAZY_TAKES - 1
    with pytest.raises(Empty):  # a lazy take keeps its timeout
        inbox.take(0.01)
    assert inbox.lazy == LAZY_TAKES - 2


@pytest.mark.parametrize("flood_first", [False, True], ids=["doorbell", "lazy"])
@pytest.mark.parametrize("ending", ["close", "term"])
def test_close_or_term_ends_a_blocked_recv(flood_first: bool, ending: str) -> None:
    ctx = zlab.Context()
    pull = ctx.socket(zlab.PULL)
    pull.bind("inproc://doorbell")
    push = ctx.socket(zlab.PUSH)
    push.connect("inproc://doorbell")
    inbox = pull.core.inbox
    if flood_first:  # as after a burst: the next blocking waits are lazy (SimpleQueue.get)
        inbox.lazy = LAZY_TAKES
    t, out = _in_thread(pull.recv)
    if flood_first:
        time.sleep(0.05)  # let recv() block (a blocked call has no event to wait on)
        assert not inbox.sleeping
    else:
        wait_until(lambda: inbox.sleeping, what="recv to sleep on the doorbell")
    if ending == "close":
        pull.close(linger=0)
    else:
        push.close(linger=0)
        threading.Thread(target=ctx.term, daemon=True).start()
    t.join(5)
    assert len(out) == 1
    if ending == "close":
        assert isinstance(out[0], ZMQError) and out[0].errno == zlab.ENOTSOCK, out
    else:
        assert isinstance(out[0], zlab.ContextTerminated), out
    for s in (pull, push):
        s.close(linger=0)
    ctx.term()


@pytest.mark.parametrize("rcvtimeo", [-1, 2000])
def test_req_rep_round_trips_across_threads(rcvtimeo: int) -> None:
    ctx = zlab.Context()
    rep = ctx.socket(zlab.REP)
    rep.bind("inproc://doorbell-rr")
    req = ctx.socket(zlab.REQ)
    req.connect("inproc://doorbell-rr")
    for s in (req, rep):
        s.setsockopt(zlab.RCVTIMEO, rcvtimeo)
        s.setsockopt(zlab.LINGER, 0)
    n = 2000

    def serve() -> int:
        for _ in range(n):
            msg = rep.recv_multipart()
            rep.send_multipart([*msg, b"!"])
        return n

    t, out = _in_thread(serve)
    for i in range(n):
        body = i.to_bytes(4, "big") * (1 + i % 3)
        req.send(body)
        assert req.recv_multipart() == [body, b"!"]
    t.join(5)
    assert out == [n]
    if rcvtimeo > 0:  # nothing more comes: the timed wait on the doorbell ends in Again
        req.setsockopt(zlab.RCVTIMEO, 20)
        req.send(b"lost")
        with pytest.raises(zlab.Again):
            req.recv()
    req.close()
    rep.close()
    ctx.term()


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_a_sleep_borrows_a_doorbell_and_gives_it_back() -> None:
    inbox = Inbox(Signal())
    with pytest.raises(Empty):
        inbox.take(0.001)
    assert inbox._bell is None and not inbox.sleeping  # given back on waking
    bell = Doorbell.idle[-1]
    assert _fd_open(bell.rfd)
    made = Doorbell.made
    inbox.ring()  # a late producer rings nothing: nobody sleeps here
    nxt = Inbox(Signal())
    _ring(bell.wfd)  # a stale ring on a doorbell lent again: its borrower looks again, nothing lost
    with pytest.raises(Empty):
        nxt.take(0.01)
    assert Doorbell.made == made and Doorbell.idle[-1] is bell  # reused, not a new descriptor


def test_a_consumer_woken_by_close_gives_its_doorbell_back() -> None:
    inbox = Inbox(Signal())
    t, out = _in_thread(inbox.take)
    wait_until(lambda: inbox.sleeping, what="the consumer to sleep")
    bell = inbox._bell
    assert bell is not None and bell not in Doorbell.idle
    inbox.wake()  # what a socket's close does
    t.join(5)
    assert not t.is_alive() and out == [None]
    assert inbox._bell is None and bell in Doorbell.idle and _fd_open(bell.rfd)


def test_with_every_doorbell_lent_a_take_still_wakes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Doorbell, "idle", [])
    monkeypatch.setattr("zlab.pipe.MAX_DOORBELLS", Doorbell.made)  # no new one may be made
    inbox = Inbox(Signal())
    t, out = _in_thread(inbox.take)
    wait_until(lambda: t.is_alive(), what="the consumer to start")
    pipe = Pipe(inbox)
    inbox.put(pipe, [b"x"])  # the consumer waits in SimpleQueue.get: no doorbell, no ring needed
    t.join(5)
    assert out == [pipe] and not inbox.sleeping


def test_threads_asleep_together_hold_doorbells_only_while_they_sleep() -> None:
    """What a soak sees: rounds of sockets, several blocked at once, then closed; the descriptors
    stay at the most threads ever asleep together, not the number of sockets."""
    ctx = zlab.Context()
    try:
        a = ctx.socket(zlab.PUSH)
        a.bind("inproc://doorbell-rounds")

        def round_(n: int) -> None:
            socks = [ctx.socket(zlab.PULL) for _ in range(n)]
            for s in socks:
                s.connect("inproc://doorbell-rounds")
            threads = [_in_thread(s.recv) for s in socks]
            wait_until(lambda: all(s.core.inbox.sleeping for s in socks), what="every recv to block")
            for _ in socks:
                a.send(b"x")
            for t, out in threads:
                t.join(5)
                assert out == [b"x"]
            for s in socks:
                s.close()

        round_(6)
        fds, made = len(os.listdir("/proc/self/fd")), Doorbell.made
        for n in (1, 6, 3, 6, 2, 6):
            round_(n)
        assert Doorbell.made == made
        assert len(os.listdir("/proc/self/fd")) <= fds
        a.close()
    finally:
        ctx.term()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_makes_its_own_doorbells() -> None:
    inbox = Inbox(Signal())
    with pytest.raises(Empty):
        inbox.take(0.001)  # at least one idle doorbell in the parent
    parent = [(b.rfd, b.wfd) for b in Doorbell.idle]
    assert parent
    pid = os.fork()
    if pid == 0:  # the child: only this thread runs; report through the exit status
        ok = Doorbell.idle == [] and Doorbell.made == 0 and not any(_fd_open(fd) for fd, _ in parent)
        os._exit(0 if ok else 1)
    end = time.monotonic() + 10
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert time.monotonic() < end, "the forked child did not exit"
        time.sleep(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    assert all(_fd_open(fd) for fd, _ in parent)  # the parent keeps its own


def test_sockets_that_blocked_in_recv_and_closed_hold_no_descriptors() -> None:
    ctx = zlab.Context()
    try:
        a = ctx.socket(zlab.PAIR)
        a.bind("inproc://doorbell-fd")

        def cycle() -> None:
            b = ctx.socket(zlab.PAIR)
            b.connect("inproc://doorbell-fd")
            t, out = _in_thread(b.recv)
            wait_until(lambda: b.core.inbox.sleeping, what="recv to block")
            a.send(b"x")
            t.join(5)
            assert out == [b"x"]
            b.close()

        cycle()
        fds = len(os.listdir("/proc/self/fd"))
        for _ in range(50):
            cycle()
        assert len(os.listdir("/proc/self/fd")) <= fds  # no collection needed: doorbells are lent per sleep
        a.close()
    finally:
        ctx.term()
