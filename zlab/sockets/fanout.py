"""A publisher's fan-out: each message to every pipe whose subscriptions match it (RFC 29).

Owns: ``FanOut``. A full pipe loses the message (counted in its ``dropped_hwm``); the others carry
on: a publisher never blocks.

How it reaches its speed: handing a message to a pipe costs a lock and some bookkeeping, so a
publisher with N subscribers would pay N of them per message. While every subscriber takes every
message (``b""`` is the only subscription) and messages come closer than ``BURST_GAP`` apart, they
are gathered in a batch instead, and each pipe takes the whole batch at once (one lock, and one
encoding shared by every stream pipe). The batch goes out when it holds ``BATCH_MAX`` messages,
when the burst pauses (checked every ``TAIL_DELAY`` on an I/O thread, which a stream pipe lends),
before the subscriptions change, and when the socket closes; and, for paced traffic, at the I/O
thread's first look after its first message is ``pipe.MAX_HOLD`` old even while the burst goes on
(``pipe.overdue``: messages closer than ``BURST_GAP`` but never pausing kept a batch growing, and
waiting, until ``BATCH_MAX``: p99 25 ms at 10k msg/s, 0.3-0.4 ms since). A message after a pause goes out at
once, as before: the latency path is unchanged.

Rules: layer L2. ``lock`` is held while a message is handed out or batched, while a batch is
flushed (by the sending thread or an I/O thread), and while the subscriptions change, so messages
reach every pipe in the order they were sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zlab.pipe import Msg, overdue

_now = time.perf_counter

if TYPE_CHECKING:
    from zlab.sockets.base import SocketCore
    from zlab.sockets.subscriptions import SubscriberIndex

#: messages sent closer together than this (seconds) are a burst, and batched
BURST_GAP = 200e-6
#: a batch is handed to the pipes once it holds this many messages
BATCH_MAX = 256
#: the I/O thread looks at a batch this often (seconds) and flushes it once it stopped growing
TAIL_DELAY = 30e-6


class FanOut:
    """Deliver each message to the matching pipes: at once, or batched during a burst."""

    __slots__ = (
        "batch",
        "batch_start",
        "core",
        "index",
        "last_send",
        "lock",
        "sched",
        "tail_pending",
        "tail_seen",
    )

    def __init__(self, core: SocketCore, index: SubscriberIndex) -> None:
        self.core = core
        self.index = index
        self.lock = threading.Lock()
        self.batch: list[Msg] = []
        self.last_send = 0.0
        self.batch_start = 0.0  # when the batch's first message came
        self.tail_pending = False  # an I/O thread will look at the batch
        self.tail_seen = 0  # the batch's length at that thread's last look
        #: (call_soon, call_later_here) of an I/O thread lent by a stream pipe
        self.sched: tuple[Callable[..., Any], Callable[..., Any]] | None = None

    def send(self, msg: Msg) -> None:
        """Fan ``msg`` out (the sending thread)."""
        now = _now()
        with self.lock:
            pipes = self.index.everyone
            batch = self.batch
            if pipes is not None and (batch or now - self.last_send < BURST_GAP):
                batch.append(msg)
                n = len(batch)
                if n == 1:
                    self.batch_start = now
                    if not self._schedule(pipes):
                        self.flush()
                elif n >= BATCH_MAX:
                    # (the age of a batch is the I/O thread's to judge, in _tail: judged here as
                    # well, even every 8th message, it cost a flood to four subscribers ~10 %)
                    self.flush()
            else:
                if batch:
                    self.flush()
                if pipes is None:
                    pipes = self.targets(msg)
                    if not pipes:
                        self.core.count_drop("no_subscriber")
                for pipe in pipes:
                    if not pipe.deliver(msg):
                        if pipe.alive:
                            pipe.dropped_hwm += 1
                        else:  # its peer just left (the pipe is not detached yet)
                            self.core.count_drop("subscriber_gone")
        self.last_send = now

    def targets(self, msg: Msg) -> Any:
        """The pipes ``msg`` goes to: those subscribed to a prefix of it (INVERT_MATCHING: the others)."""
        matched = self.index.match(msg if isinstance(msg, bytes) else msg[0])
        if self.index.invert:
            return [p for p in self.core.pipes if p not in matched]
        return matched

    def flush(self) -> None:
        """Hand the batch to every pipe (``lock`` held)."""
        batch = self.batch
        if not batch:
            return
        self.batch = []
        self.tail_seen = 0
        pipes = self.index.everyone
        assert pipes is not None, "batched while b'' was the only subscription; changes flush first"
        n = len(batch)
        enc: list = []  # the batch encoded once, for every stream pipe
        for pipe in pipes:
            k = pipe.deliver_many(batch, enc)
            if k < n:
                if pipe.alive:
                    pipe.dropped_hwm += n - k
                else:
                    self.core.count_drop("subscriber_gone", n - k)

    def _schedule(self, pipes: Any) -> bool:
        """Have an I/O thread look at the batch soon; False if no pipe can lend one (inproc)."""
        if self.tail_pending:
            return True
        if self.sched is None:
            for pipe in pipes:
                self.sched = pipe.io_scheduler()
                if self.sched is not None:
                    break
            else:
                return False
        self.tail_pending = True
        self.sched[0](self._tail)
        return True

    def _tail(self) -> None:
        """An I/O thread: flush the batch once it has stopped growing."""
        with self.lock:
            n = len(self.batch)
            if n and n != self.tail_seen and not overdue(_now() - self.batch_start, n):
                # still growing, and young: look again in a moment
                self.tail_seen = n
                self.sched[1](TAIL_DELAY, self._tail)  # type: ignore[index]
                return
            self.tail_pending = False
            self.flush()
