"""WakeFd when a fire() and a drain() meet: the flag and the pipe's content never disagree.

The soak of issue 16 found a direct reader spinning for good: a drain() ran between fire()'s raising of
the flag and its write, so a byte stayed in the pipe with the flag down; every poll() then returned at
once while drain() answered "not fired", and the reader never looked at its socket's inbox again.
"""

from __future__ import annotations

import os
import select
import threading
from typing import Any

import pytest

import zlab
from zlab import pipe as pipe_module
from zlab.pipe import Signal, WakeFd


@pytest.mark.timeout(20)
def test_drain_between_fires_flag_and_write_leaves_them_in_step(monkeypatch: pytest.MonkeyPatch) -> None:
    wake = WakeFd(Signal())
    real_write = os.write
    drains: list[threading.Thread] = []

    def write_after_a_drain(fd: int, data: Any) -> int:
        if fd == wake._w and not drains:  # the first wake-up byte: a waiter drains right now
            drainer = threading.Thread(target=wake.drain, daemon=True)
            drains.append(drainer)
            drainer.start()
            drainer.join(0.2)  # (fixed: it waits for this fire() to finish)
        return real_write(fd, data)

    monkeypatch.setattr(pipe_module.os, "write", write_after_a_drain)
    wake.fire()
    drains[0].join(5)
    monkeypatch.undo()
    poller = select.poll()
    poller.register(wake.fd, select.POLLIN)
    assert bool(poller.poll(0)) == wake.fired  # a byte waits exactly when the flag says so
    wake.drain()
    assert not poller.poll(0)
    wake.fire()
    assert poller.poll(0) and wake.drain()
    wake.close()


@pytest.mark.timeout(20)
def test_a_message_arriving_while_events_is_read_leaves_the_fd_readable() -> None:
    """The socket's FD is edge-triggered: reading EVENTS re-arms it. A message that arrives while
    EVENTS is being computed must leave the descriptor readable (CI saw it lost once: the look said
    "nothing" and the drain after it swallowed the notify, so the FD never woke its waiter)."""
    ctx = zlab.Context()
    a, b = ctx.socket(zlab.PAIR), ctx.socket(zlab.PAIR)
    try:
        a.bind("inproc://fd-race")
        b.connect("inproc://fd-race")
        fd = a.fileno()
        while a.EVENTS & zlab.POLLIN:
            a.recv()
        core = a.core
        real_can_send = core.can_send

        def a_message_arrives_meanwhile() -> bool:  # after the POLLIN look, before the call returns
            core.can_send = real_can_send
            b.send(b"meanwhile")
            return real_can_send()

        core.can_send = a_message_arrives_meanwhile
        events = a.EVENTS
        ready, _, _ = select.select([fd], [], [], 0)
        # either EVENTS saw it, or the descriptor stays readable for the next look
        assert events & zlab.POLLIN or ready, "the message's notify was lost: FD not readable"
        assert a.EVENTS & zlab.POLLIN and a.recv() == b"meanwhile"
    finally:
        a.close(0)
        b.close(0)
        ctx.term()
