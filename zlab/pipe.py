"""Pipes: the bounded queues between a socket and each of its peers.

Owns: ``Pipe`` (one peer of a socket: inbound accounting with a high-water mark, and the outbound
path to that peer), ``Inbox`` (the queue every pipe of a socket delivers into), ``Doorbell`` (what a consumer
blocked in an inbox sleeps on, lent per sleep) and ``Signal`` (wakes a thread blocked on "some
pipe changed state").

Rules:
- Layer L1: imports only L0. Knows nothing of socket types, transports or the wire.
- Each pipe queues its peer's messages in its own ``pending`` deque (producers ``extend`` it a
  batch at a time); the socket is told through its ``Inbox`` only when a pipe goes from empty to
  non-empty, so a busy connection costs one queue operation per batch, not per message. A message
  is ``bytes`` (one frame) or ``list[bytes]`` (several frames).
- A pipe's depth is ``len(pending)``: deque appends and pops are atomic, so producer and consumer
  share it without a lock.
"""

from __future__ import annotations

import math
import os
import select
import threading
import time
from collections import deque
from collections.abc import Callable
from queue import Empty, SimpleQueue
from typing import Any, ClassVar

Msg = bytes | list  # one frame, or the frames of a multipart message


class _Resubscribe:
    """The marker type of ``RESUBSCRIBE``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "RESUBSCRIBE"


#: Put in a publisher's pipe by its transport when the subscriber reconnected: it is about to send
#: all its subscriptions again, so the ones it had are forgotten first.
RESUBSCRIBE = _Resubscribe()

#: Batching on the send side (a stream pipe's burst, a publisher's fan-out): a batch of paced
#: traffic that keeps growing goes out at the I/O thread's first look after its first message is
#: ``MAX_HOLD`` seconds old ...
MAX_HOLD = 50e-6
#: ... unless the batch holds more than one message per ``DENSE_GAP`` seconds: a flood, batched
#: until full or until it pauses (writing every ``MAX_HOLD`` cost a 64 B flood 25-30 % of its rate).
DENSE_GAP = 5e-6


def overdue(age: float, nmsgs: int) -> bool:
    """Whether a send-side batch whose first message is ``age`` seconds old, holding ``nmsgs``
    messages, goes out now: paced traffic (sparser than ``DENSE_GAP``) once it is ``MAX_HOLD`` old.
    The I/O thread asks, at each look at a growing batch; the sending thread never does (a clock
    read per message cost a flood 10-15 % of its rate)."""
    return age > MAX_HOLD and age > nmsgs * DENSE_GAP


#: Resume reading a paused pipe once its depth falls to this fraction of the HWM.
LOW_WATER_FRACTION = 0.5

#: After a wake-up that found a queue (a flood), this many blocking takes wait in ``SimpleQueue.get``.
LAZY_TAKES = 64
#: doorbells (eventfds) a process makes at most: one per thread asleep in a recv at the same time;
#: beyond that a blocked recv waits in ``SimpleQueue.get`` (correct, one extra context switch)
MAX_DOORBELLS = 64


class Signal:
    """A state-change counter that blocked threads wait on.

    ``notify()`` is cheap when nobody waits (a counter bump and an attribute check), so
    producers may call it on every state change. Waiters read ``seq`` first, re-check their
    condition, then ``wait(seq, timeout)``; a notify in between is never lost.
    """

    __slots__ = ("_cond", "seq", "waiting", "watchers")

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self.seq = 0
        self.waiting = 0
        #: callables run on every notify (pollers, file-descriptor wakers)
        self.watchers: list[Callable[[], Any]] = []

    def notify(self) -> None:
        """Record a state change and wake every waiter."""
        self.seq += 1
        if self.waiting:
            with self._cond:
                self._cond.notify_all()
        if self.watchers:
            for w in tuple(self.watchers):
                w()

    def wait(self, seq: int, timeout: float | None) -> bool:
        """Block until ``seq`` moves on (True) or ``timeout`` seconds pass (False)."""
        with self._cond:
            self.waiting += 1
            try:
                if self.seq != seq:
                    return True
                self._cond.wait(timeout)
                return self.seq != seq
            finally:
                self.waiting -= 1


class WakeFd:
    """A file descriptor that becomes readable when a ``Signal`` fires, while armed.

    Lets a thread that waits in ``poll()`` on a connection (a direct read) also wake up for
    anything else that happens to its socket: another pipe's messages, close, term.
    """

    __slots__ = ("_lock", "_r", "_w", "fd", "fired", "signal")

    def __init__(self, signal: Signal) -> None:
        self._r, self._w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.fd = self._r
        self.signal = signal
        #: whether a byte waits in the pipe; changed with the pipe's content, under ``_lock``
        self.fired = False
        # fire() runs on a notifying thread while the waiter drains: unlocked, the flag and the pipe
        # could disagree (a byte left behind with the flag down made every later poll() return at once
        # while drain() said "not fired": a direct reader spun on its connection for good)
        self._lock = threading.Lock()

    def fire(self) -> None:
        """Make the descriptor readable (once, until drained)."""
        with self._lock:
            if not self.fired:
                self.fired = True
                try:
                    os.write(self._w, b"\x01")
                except OSError:
                    pass

    def arm(self) -> None:
        """Fire on the signal's next notify."""
        self.signal.watchers.append(self.fire)

    def disarm(self) -> bool:
        """Stop firing; empty the descriptor; return whether it fired."""
        try:
            self.signal.watchers.remove(self.fire)
        except ValueError:
            pass
        return self.drain()

    def drain(self) -> bool:
        """Empty the descriptor (it fires again on the next notify); return whether it had fired."""
        if not self.fired:  # (read without the lock: a fire() racing with this is seen next time)
            return False
        with self._lock:
            self.fired = False
            try:
                os.read(self._r, 64)
            except OSError:
                pass
        return True

    def close(self) -> None:
        """Release the descriptors."""
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass


if hasattr(os, "eventfd"):

    def _doorbell_fds() -> tuple[int, int]:
        fd = os.eventfd(0, os.EFD_CLOEXEC)
        return fd, fd

    def _ring(fd: int) -> None:
        os.eventfd_write(fd, 1)

    def _await_ring(fd: int) -> None:
        os.eventfd_read(fd)  # blocks (the GIL released) until rung; takes every ring so far

else:  # pragma: no cover - platforms without eventfd: a pipe does the same

    def _doorbell_fds() -> tuple[int, int]:
        r, w = os.pipe()
        os.set_blocking(w, False)
        return r, w

    def _ring(fd: int) -> None:
        try:
            os.write(fd, b"\x01")
        except BlockingIOError:  # full: rung already
            pass

    def _await_ring(fd: int) -> None:
        os.read(fd, 4096)


class Doorbell:
    """A descriptor a sleeping consumer blocks on and producers ring (see ``Inbox``).

    Doorbells are lent, not owned: a consumer borrows one from ``idle`` for the length of one sleep
    and gives it back when it wakes. So a process holds as many as threads ever slept at the same
    time (at most ``MAX_DOORBELLS``), however many sockets come and go, and none is ever closed
    while the process may ring it: a producer that read a doorbell just before its sleeper woke may
    still ring it, which wakes its next borrower once for nothing (``Inbox.take`` looks again).
    A closed descriptor, or one the kernel gave to something else meanwhile, would be written to.
    """

    __slots__ = ("poller", "rfd", "wfd")

    #: doorbells nobody sleeps on (a list: pop and append are atomic under the GIL)
    idle: ClassVar[list[Doorbell]] = []
    #: doorbells this process made (idle or lent)
    made: ClassVar[int] = 0
    _making: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self.rfd, self.wfd = _doorbell_fds()
        self.poller: select.poll | None = None  # made by the first timed wait

    @classmethod
    def borrow(cls) -> Doorbell | None:
        """An idle doorbell, or a new one; None when ``MAX_DOORBELLS`` are all lent."""
        idle = cls.idle
        if idle:
            try:
                return idle.pop()
            except IndexError:  # another thread took the last one meanwhile
                pass
        with cls._making:
            if cls.made >= MAX_DOORBELLS:
                return None
            cls.made += 1
        return cls()

    def wait(self, ready: SimpleQueue[Any], timeout: float | None) -> None:
        """Sleep until ``ready`` holds something (``Empty`` after ``timeout`` seconds)."""
        if timeout is None:
            while ready.empty():
                _await_ring(self.rfd)
            return
        poller = self.poller
        if poller is None:
            poller = self.poller = select.poll()
            poller.register(self.rfd, select.POLLIN)
        end = time.monotonic() + timeout
        while ready.empty():
            left = end - time.monotonic()
            if left <= 0:
                raise Empty
            if poller.poll(math.ceil(left * 1000)):
                _await_ring(self.rfd)

    @classmethod
    def _forget_after_fork(cls) -> None:
        """In a forked child: the idle doorbells are the parent's too (a ring in one process would
        be taken in the other), so the child closes them and makes its own."""
        for bell in cls.idle:
            for fd in {bell.rfd, bell.wfd}:
                os.close(fd)
        cls.idle = []
        cls.made = 0
        cls._making = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=Doorbell._forget_after_fork)


class Inbox:
    """Where the pipes of one socket announce that they hold messages.

    Each pipe queues its own messages (``Pipe.pending``) so the socket can fair-queue between
    peers; ``ready`` carries a pipe each time it goes from empty to non-empty (and ``None`` as a
    wake-up for close/term). The ``signal``'s watchers (pollers, file-descriptor wakers) run on every
    delivery; senders blocked on the same signal for room are not woken by input.

    A consumer with nothing to wait for but ``ready`` blocks in ``take()``, on a ``Doorbell`` (an
    eventfd) that producers ring after ``ready.put`` while ``sleeping`` is set. Why not block in
    ``ready.get()``: ``SimpleQueue.put`` wakes its waiter while the producer holds the GIL, so on one
    CPU the waiter is scheduled only to block on the GIL at once (measured: ~2.75 context switches per
    hand-off instead of 1, twice the CPU time). ``os.eventfd_write`` releases the GIL before it wakes
    the sleeper, which then runs straight on. The doorbell is borrowed for one sleep and given back
    on waking, so a socket holds no descriptor for it and its close has nothing to release.
    Producers take no lock.
    """

    __slots__ = ("_bell", "lazy", "ready", "signal", "sleeping")

    def __init__(self, signal: Signal) -> None:
        self.ready: SimpleQueue[Pipe | None] = SimpleQueue()
        self.signal = signal
        #: the consumer is in take(), or about to block there: ring the doorbell after a put
        self.sleeping = False
        self._bell: Doorbell | None = None  # lent for the length of one sleep in take()
        #: take()s left that wait in ``ready.get()`` (a flood was seen): the producer keeps the GIL
        self.lazy = 0

    def put(self, pipe: Pipe, batch: list) -> None:
        """Deliver a batch of messages that arrived on ``pipe`` (producer side)."""
        pipe.pending.extend(batch)
        pipe.received += len(batch)
        if not pipe.signalled:
            pipe.signalled = True
            self.ready.put(pipe)
            if self.sleeping:
                self.ring()
        if self.signal.watchers:  # pollers, wake-up descriptors (blocked senders don't care)
            self.signal.notify()

    def announce(self, pipe: Pipe | None) -> None:
        """Put ``pipe`` (or ``None``: a wake-up with no input) in ``ready`` and wake the consumer."""
        self.ready.put(pipe)
        if self.sleeping:
            self.ring()

    def wake(self) -> None:
        """Wake a thread blocked waiting for input without delivering anything."""
        self.announce(None)

    def ring(self) -> None:
        """Wake the consumer blocked in ``take()`` (producer side, after ``ready.put``)."""
        bell = self._bell
        if bell is not None:
            _ring(bell.wfd)

    def take(self, timeout: float | None = None) -> Pipe | None:
        """Block until ``ready`` holds something and take it (consumer side). ``timeout`` seconds
        at most (None: no limit; close and term put a ``None`` in ``ready`` to end the wait);
        ``queue.Empty`` when it runs out."""
        ready = self.ready
        if not ready.empty():
            return ready.get_nowait()
        if self.lazy:  # a flood lately: wait the way that lets the producer keep the GIL
            self.lazy -= 1
            return ready.get(True, timeout)
        bell = Doorbell.borrow()
        if bell is None:  # every doorbell is lent (MAX_DOORBELLS threads asleep): wait the slow way
            return ready.get(True, timeout)
        self._bell = bell
        # a producer puts, then reads ``sleeping``; we set it, then look: one of us sees the other
        self.sleeping = True
        try:
            bell.wait(ready, timeout)
        finally:
            self.sleeping = False
            self._bell = None  # a producer that read it already rings it once for nothing
            Doorbell.idle.append(bell)
        pipe = ready.get_nowait()
        if pipe is not None and len(pipe.pending) > 1:
            # woken to a queue, not to one message: a flood, where handing the GIL over at every
            # message costs the producer more than the wake-up saves (~10-20% of its rate on one CPU)
            self.lazy = LAZY_TAKES
        return pipe


class Pipe:
    """One peer attached to a socket.

    Inbound: the peer's messages go into ``inbox`` (owned by the socket) and are counted; when the
    depth reaches ``hwm_in`` the producer pauses and ``on_resume`` is called once the consumer has
    drained it to the low-water mark. Outbound: ``deliver(msg)`` hands one complete message to the
    peer and returns False when the pipe is full (HWM); transports subclass it.
    """

    __slots__ = (
        "__weakref__",
        "alive",
        "bytes_in",
        "bytes_out",
        "connects",
        "dropped_filtered",
        "dropped_hwm",
        "dropped_unsent",
        "endpoint",
        "hwm_blocks",
        "hwm_in",
        "in_ring",
        "inbox",
        "lwm_in",
        "meta",
        "msgs_out",
        "on_resume",
        "out_signal",
        "paused",
        "peak_in",
        "peer_type",
        "pending",
        "received",
        "routing_id",
        "signalled",
        "zmtp_minor",
    )

    def __init__(self, inbox: Inbox | None = None, *, hwm_in: int = 1000, endpoint: str = "") -> None:
        self.inbox = inbox
        self.pending: deque[Msg] = deque()  # the peer's messages not yet received by the socket
        self.signalled = False  # producer: the socket has been told this pipe holds messages
        self.in_ring = False  # consumer: the pipe is in the socket's fair-queue ring
        self.received = 0
        self.hwm_in = hwm_in
        self.lwm_in = max(0, int(hwm_in * LOW_WATER_FRACTION)) if hwm_in > 0 else 0
        self.paused = False
        self.on_resume: Callable[[], Any] | None = None
        self.out_signal: Signal | None = None
        self.routing_id = b""
        self.peer_type: int | None = None
        self.endpoint = endpoint
        self.alive = True
        self.meta: dict[str, bytes] = {}
        # statistics (Socket.statistics): counted where it costs least, never per frame
        self.bytes_in = 0  # octets read from the peer's connection (stream transports)
        self.msgs_out = 0  # messages accepted for the peer
        self.bytes_out = 0  # octets written to the peer's connection (stream transports)
        self.peak_in = 0  # the deepest the inbound queue has been (seen once per delivered batch)
        self.hwm_blocks = 0  # sends that found this pipe full and waited or went elsewhere
        self.dropped_hwm = 0  # messages dropped because this pipe was full (PUB, ROUTER)
        self.dropped_filtered = 0  # messages from this peer no subscription matched (SUB, XSUB)
        self.dropped_unsent = 0  # messages still queued for the peer when its connection closed
        self.connects = 0  # connections that carried this pipe (>1: it reconnected)
        self.zmtp_minor: int | None = None  # ZMTP 3.x minor version negotiated (None: inproc)

    # -- inbound accounting -------------------------------------------------------------
    def conflate(self) -> None:
        """CONFLATE: keep only the newest inbound message (the deque drops the older one itself,
        atomically, so producers and the consumer need no extra step); never pause the producer."""
        self.pending = deque(self.pending, maxlen=1)
        self.hwm_in = 0

    def pause(self) -> bool:
        """Producer side: mark the pipe paused; returns False if the consumer already drained it."""
        self.paused = True
        if len(self.pending) <= self.lwm_in:
            self.paused = False
            return False
        return True

    def maybe_resume(self) -> None:
        """Consumer side, on a paused pipe: resume the producer once drained to low water."""
        if self.paused and len(self.pending) <= self.lwm_in:
            self.paused = False
            cb = self.on_resume
            if cb is not None:
                cb()

    # -- outbound ------------------------------------------------------------------------
    def deliver(self, msg: Msg) -> bool:
        """Queue one complete message for the peer; False when full. Transports override."""
        raise NotImplementedError

    def deliver_many(self, msgs: list[Msg], enc: list) -> int:
        """Queue ``msgs`` for the peer, in order, as far as there is room; return how many went.

        A publisher hands the same batch to several pipes: ``enc`` is scratch space they share,
        where a transport that encodes keeps the encoded batch for the others to reuse.
        """
        n = 0
        for msg in msgs:
            if not self.deliver(msg):
                break
            n += 1
        return n

    def io_scheduler(self) -> tuple[Callable[..., Any], Callable[..., Any]] | None:
        """``(call_soon, call_later_here)`` of the I/O thread serving this pipe, or None (inproc).

        ``call_later_here(delay, fn)`` may only be called from that I/O thread."""
        return None

    def writable(self) -> bool:
        """Whether ``deliver`` would accept a message now."""
        raise NotImplementedError

    def release_reads(self) -> None:
        """Let the transport read in the background again (a waiter other than recv is coming)."""

    def wait_readable(self, timeout: float | None, wake: WakeFd) -> list | bool:
        """Wait on the calling thread for this pipe's peer to send (transports that can read
        directly override this). Returns the messages read (not queued: the caller takes them),
        True (nothing yet: look again) or False (not supported now: wait for the inbox)."""
        return False

    def subscription(self, subscribe: bool, topic: bytes) -> None:
        """Tell the peer (a publisher) about a (un)subscription of this socket (SUB, XSUB).

        Never blocked by HWM. Transports that can't reach the peer now drop it: every
        subscription is sent again when a connection is (re-)established."""
        raise NotImplementedError

    def queued_out(self) -> int:
        """Messages waiting to go to the peer (statistics)."""
        return 0

    def sent_count(self) -> int:
        """Messages accepted for the peer so far (statistics)."""
        return self.msgs_out

    def terminate(self, linger: float | None = 0.0) -> None:
        """Detach from the peer (local close or disconnect); ``linger`` seconds to flush."""
        self.alive = False

    def notify_writable(self) -> None:
        """Transport side: space became available towards the peer."""
        sig = self.out_signal
        if sig is not None:
            sig.notify()

    def statistics(self) -> dict[str, Any]:
        """This peer's counters now (see ``Socket.statistics``)."""
        minor = self.zmtp_minor
        stream = minor is not None
        depth = len(self.pending)
        return {
            "endpoint": self.endpoint,
            "zmtp_version": f"3.{minor}" if stream else None,
            "peer_type": self.peer_type,
            "routing_id": self.routing_id,
            "connected": self.is_connected(),
            "msgs_in": self.received,
            "bytes_in": self.bytes_in if stream else None,
            "msgs_out": self.sent_count(),
            "bytes_out": self.bytes_out if stream else None,
            "queue_in": depth,
            "queue_in_peak": max(self.peak_in, depth),
            "queue_out": self.queued_out(),
            "queue_out_peak": self.peak_queued_out(),
            "hwm_blocks": self.hwm_blocks,
            "dropped_hwm": self.dropped_hwm,
            "dropped_filtered": self.dropped_filtered,
            "dropped_unsent": self.dropped_unsent,
            "reconnects": max(0, self.connects - 1),
        }

    def is_connected(self) -> bool:
        """Whether messages can reach the peer now (statistics)."""
        return self.alive

    def peak_queued_out(self) -> int:
        """The deepest the outbound queue has been (statistics; 0 where not tracked)."""
        return self.queued_out()

    def __repr__(self) -> str:
        rid = self.routing_id.hex() if self.routing_id else "-"
        return f"<{type(self).__name__} {self.endpoint or '?'} id={rid} depth={len(self.pending)}>"
