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
