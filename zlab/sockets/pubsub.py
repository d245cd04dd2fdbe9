"""PUB, SUB, XPUB and XSUB (RFC 29): fan-out filtered by subscription, and the subscriptions.

Owns: the four socket types. Their subscription tables (``Subscriptions``, ``SubscriberIndex``)
live in ``subscriptions.py``; a publisher sends through its ``FanOut`` (``fanout.py``).

How subscriptions travel: a subscriber calls ``pipe.subscription(subscribe, topic)`` on each of
its pipes; the transport sends it as the peer understands it (SUBSCRIBE/CANCEL commands to ZMTP
3.1, messages 0x01/0x00 + topic to 3.0, a message over inproc) and sends every current
subscription again whenever a connection is (re-)established. A publisher receives them as
messages 0x01/0x00 + topic in each pipe's inbound queue (the engine turns commands into
messages), and applies them on its own thread, when it sends or is polled.

Rules: layer L2; imports L0/L1 only. A publisher never blocks (except XPUB with XPUB_NODROP); the
tables are changed only on the socket's own thread, under the fan-out's lock (an I/O thread may be
flushing a batch); pipes that go away are queued in ``gone`` by whichever thread notices, and
forgotten there.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from queue import Empty

from zlab.constants import Errno, SocketType
from zlab.errors import Again, ContextTerminated, ZMQError
from zlab.options import Options
from zlab.pipe import RESUBSCRIBE, Msg, Pipe
from zlab.sockets.base import SocketCore
from zlab.sockets.fanout import FanOut
from zlab.sockets.subscriptions import SubscriberIndex, Subscriptions

SUBSCRIBE_PREFIX = 0x01
CANCEL_PREFIX = 0x00


class XPub(SocketCore):
    """Fan-out by subscription; (un)subscriptions are handed to the application as messages.

    XPUB_VERBOSE passes every subscribe (duplicates too); unsubscribes are passed when a topic's
    last subscriber cancels it or goes away. XPUB_NODROP blocks (or raises Again) instead of
    dropping for a full subscriber. Messages from the peers that are not subscriptions (an XSUB
    may send any) are handed to the application too.
    """

    socket_type = SocketType.XPUB
    #: subscriptions reach the application (PUB keeps them to itself)
    report = True

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.index = SubscriberIndex()
        self.fanout = FanOut(self, self.index)
        self.gone: deque[Pipe] = deque()  # pipes detached by any thread, forgotten on ours
        self.queue: deque[Msg] = deque()  # messages for the application (XPUB)
        self._ready = self.inbox.ready
        #: XPUB_MANUAL: the pipe each queued message came from (kept in step with ``queue``), the
        #: pipe of the subscription received last (SUBSCRIBE/UNSUBSCRIBE on the socket apply to it),
        #: and what each peer asked for (reported as unsubscribes when it goes away)
        self.queue_pipes: deque[Pipe | None] = deque()
        self.last_pipe: Pipe | None = None
        self.asked = SubscriberIndex()
        self.manual = False

    def configure(self) -> None:
        opts = self.options
        invert = bool(opts.invert_matching)
        with self.fanout.lock:
            self.fanout.flush()
            if invert != self.index.invert:
                self.index.invert = invert
                self.index._index()
        self.manual = bool(opts.xpub_manual) and self.report

    def _attached(self, pipe: Pipe) -> None:
        welcome = self.options.xpub_welcome_msg
        if welcome:  # XPUB_WELCOME_MSG: the first message each new subscriber gets
            pipe.deliver(welcome)

    def _report(self, msg: Msg, pipe: Pipe | None) -> None:
        self.queue.append(msg)
        if self.manual:
            self.queue_pipes.append(pipe)

    def manual_subscription(self, subscribe: bool, topic: bytes) -> None:
        """XPUB_MANUAL: SUBSCRIBE/UNSUBSCRIBE on the XPUB apply to the peer whose subscription was
        received last (nothing happens if there is none, or it went away), as in libzmq."""
        pipe = self.last_pipe
        if pipe is None or not pipe.alive or pipe not in self.pipes:
            return
        with self.fanout.lock:
            self.fanout.flush()
            if subscribe:
                self.index.add(topic, pipe)
            else:
                self.index.remove(topic, pipe)

    # -- subscriptions (the socket's own thread) ------------------------------------------------
    def _detached(self, pipe: Pipe) -> None:
        self.gone.append(pipe)
        self.inbox.wake()

    def _process(self) -> None:
        """Apply what the peers sent (subscriptions) and forget pipes that went away.

        Messages batched by the fan-out go first, to the subscribers they were sent to."""
        fanout = self.fanout
        with fanout.lock:
            fanout.flush()
            ready = self._ready
            while not ready.empty():
                try:
                    pipe = ready.get_nowait()
                except Empty:
                    break
                if pipe is not None:
                    self._drain(pipe)
            gone = self.gone
            while gone:
                self._forget(gone.popleft())

    def _forget(self, pipe: Pipe) -> None:
        """Drop ``pipe``'s subscriptions; XPUB reports the topics nobody wants any more (with
        XPUB_MANUAL: nobody asked for any more)."""
        gone = self.index.remove_pipe(pipe)
        if self.manual:
            gone = self.asked.remove_pipe(pipe)
            if self.last_pipe is pipe:
                self.last_pipe = None
        for topic in gone:
            if self.report:
                self._report(bytes([CANCEL_PREFIX]) + topic, None)

    def _drain(self, pipe: Pipe) -> None:
        pipe.signalled = False  # before reading: a producer that appends now announces it again
        pending = pipe.pending
        while pending:
            self._apply(pipe, pending.popleft())
        if pipe.paused:
            pipe.maybe_resume()

    def _apply(self, pipe: Pipe, msg: Msg) -> None:
        if msg is RESUBSCRIBE:
            self._forget(pipe)
            return
        if type(msg) is bytes and msg:
            kind = msg[0]
            if kind == SUBSCRIBE_PREFIX:
                if not pipe.alive:
                    return
                if self.manual:  # the application decides (SUBSCRIBE on the XPUB)
                    self.asked.add(msg[1:], pipe)
                    self._report(msg, pipe)
                    return
                first = self.index.add(msg[1:], pipe)
                if self.report and (first or self.options.xpub_verbose):
                    self.queue.append(msg)
                return
            if kind == CANCEL_PREFIX:
                if self.manual:
                    self.asked.remove(msg[1:], pipe)
                    self._report(msg, pipe)
                    return
                last = self.index.remove(msg[1:], pipe)
                if self.report and (last or self.options.xpub_verboser):
                    self.queue.append(msg)
                return
        if self.report:  # anything else from an XSUB goes to the application
            self._report(msg, None)

    # -- the API ----------------------------------------------------------------------------------
    def send(self, msg: Msg, timeout: float | None) -> None:
        """Deliver to each matching pipe with room; a full pipe loses the message (counted)."""
        if self.gone or not self._ready.empty():
            self._process()
        if self.options.xpub_nodrop:
            with self.fanout.lock:
                self.fanout.flush()
            if self._full(msg):
                self.wait_for(lambda: not self._full(msg), timeout)
        self.fanout.send(msg)

    def close(self) -> None:
        with self.fanout.lock:  # batched messages go to the pipes, which linger as configured
            self.fanout.flush()
        super().close()

    def _full(self, msg: Msg) -> list[Pipe]:
        """The matching pipes that would refuse ``msg`` now (XPUB_NODROP)."""
        return [p for p in self.fanout.targets(msg) if not p.writable()]

    def recv(self, timeout: float | None) -> Msg:
        queue = self.queue
        deadline = None if not timeout else time.monotonic() + timeout
        ready = self._ready
        while True:
            self._process()
            if queue:
                if self.manual and self.queue_pipes:
                    pipe = self.queue_pipes.popleft()
                    if pipe is not None:
                        self.last_pipe = pipe
                return queue.popleft()
            if self.terminated:
                raise ContextTerminated()
            if self.closed:
                raise ZMQError(Errno.ENOTSOCK, "Socket operation on a closed socket")
            left = timeout
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Again()
            try:
                pipe = ready.get(left != 0, left)
            except Empty:
                raise Again() from None
            if pipe is not None:
                with self.fanout.lock:
                    self.fanout.flush()
                    self._drain(pipe)

    def has_input(self) -> bool:
        self._process()
        return bool(self.queue)

    def can_recv(self) -> bool:
        return self.report and self.has_input()

    def can_send(self) -> bool:
        return True

    def prepare_wait(self) -> None:
        """Pipes are read in the background anyway (a publisher never reads directly)."""


class Pub(XPub):
    """Fan-out by subscription; never blocks, never receives."""

    socket_type = SocketType.PUB
    can_recv_type = False
    report = False

    def recv(self, timeout: float | None) -> Msg:
        raise ZMQError(Errno.ENOTSUP, "PUB sockets cannot receive")

    def can_recv(self) -> bool:
        return False


class XSub(SocketCore):
    """Fair-queued input filtered by its subscriptions; sends subscriptions (0x01/0x00 + topic)
    and any other message upstream to every publisher.

    Subscriptions are counted and kept: every new connection gets all of them, and an
    unsubscribe goes upstream only when a topic's count falls to zero.
    """

    socket_type = SocketType.XSUB

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.subs = Subscriptions()
        #: held while the subscriptions change and while a new connection takes the full set
        self.sub_lock = threading.Lock()
        #: INVERT_MATCHING: receive what matches no subscription
        self.invert = False

    def configure(self) -> None:
        self.invert = bool(self.options.invert_matching)

    # -- subscriptions ----------------------------------------------------------------------------
    def subscriptions(self) -> list[bytes]:
        """The topics subscribed now (a transport sends them when a connection is made)."""
        return list(self.subs)

    def subscribe(self, topic: bytes) -> None:
        """Subscribe to messages starting with ``topic`` (counted)."""
        with self.sub_lock:
            self.subs.add(topic)
            for pipe in self.pipes:  # sent every time, as libzmq does (an XPUB may want them all)
                pipe.subscription(True, topic)

    def unsubscribe(self, topic: bytes) -> None:
        """Take back one subscription to ``topic``; upstream hears of it when none is left."""
        with self.sub_lock:
            if self.subs.remove(topic):
                for pipe in self.pipes:
                    pipe.subscription(False, topic)

    def _attached(self, pipe: Pipe) -> None:
        with self.sub_lock:
            for topic in self.subs:
                pipe.subscription(True, topic)

    # -- the API ----------------------------------------------------------------------------------
    def send(self, msg: Msg, timeout: float | None) -> None:
        if type(msg) is bytes and msg and msg[0] in (SUBSCRIBE_PREFIX, CANCEL_PREFIX):
            if msg[0] == SUBSCRIBE_PREFIX:
                self.subscribe(msg[1:])
            else:
                self.unsubscribe(msg[1:])
            return
        for pipe in self.pipes:  # anything else goes to every publisher that has room
            pipe.deliver(msg)

    def recv(self, timeout: float | None) -> Msg:
        fq = self.fq
        subs = self.subs
        invert = self.invert
        if subs.everything and not invert:  # nothing to filter
            return fq.recv(timeout)
        deadline = None if not timeout else time.monotonic() + timeout
        while True:
            msg = fq.recv(timeout if deadline is None else max(0.0, deadline - time.monotonic()))
            if subs.match(msg if type(msg) is bytes else msg[0]) is not invert:
                return msg
            fq.pipe.dropped_filtered += 1  # type: ignore[union-attr]

    def has_input(self) -> bool:
        fq = self.fq
        subs = self.subs
        while fq.has_input():
            msg = fq.ring[0].pending[0]
            if subs.match(msg if type(msg) is bytes else msg[0]) is not self.invert:
                return True
            fq.recv(0)
            fq.pipe.dropped_filtered += 1  # type: ignore[union-attr]
        return False

    def can_recv(self) -> bool:
        return self.has_input()

    def can_send(self) -> bool:
        return True


class Sub(XSub):
    """Receives what matches its subscriptions (SUBSCRIBE/UNSUBSCRIBE options); never sends."""

    socket_type = SocketType.SUB
    can_send_type = False

    def send(self, msg: Msg, timeout: float | None) -> None:
        raise ZMQError(Errno.ENOTSUP, "SUB sockets cannot send")

    def can_send(self) -> bool:
        return False
