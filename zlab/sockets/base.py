"""The routing core shared by every socket type, and the routing helpers they compose.

Owns: ``SocketCore`` (pipes attached to one socket, the inbox, blocking with timeouts) and the
helpers ``LoadBalancer`` (round-robin out over writable pipes), fair-queued input (the inbox, in
arrival order, bounded per pipe by RCVHWM) and ``RoutingTable`` (pipes by routing id).

Rules: layer L2; imports L0/L1 only, never ``zlab.io``. A core deals in complete messages
(``bytes`` or ``list[bytes]``); frames-at-a-time, flags and options parsing live in the facade.
Timeouts are in seconds, ``None`` = forever, ``0`` = don't block (raise ``Again``).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from queue import Empty
from typing import ClassVar

from zlab.constants import Errno
from zlab.errors import Again, ContextTerminated, ZMQError
from zlab.options import Options
from zlab.pipe import Inbox, Msg, Pipe, Signal, WakeFd

#: departed peers whose counters statistics() still shows
DEPARTED_KEPT = 32


class SocketCore:
    """Pipes, inbox and blocking for one socket; subclasses add the routing of one type."""

    socket_type: ClassVar[int]
    can_send_type: ClassVar[bool] = True
    can_recv_type: ClassVar[bool] = True
    #: attach connect-side pipes at connect() time (IMMEDIATE=0) rather than at handshake
    attach_on_connect: ClassVar[bool] = True

    def __init__(self, options: Options) -> None:
        self.options = options
        self.signal = Signal()
        self.inbox = Inbox(self.signal)
        self.pipes: list[Pipe] = []
        self.closed = False
        self.terminated = False
        self.fq = FairQueue(self)
        self._wakefd: WakeFd | None = None
        #: no pipe can be read on the calling thread (wait_readable): a blocking recv waits on the
        #: inbox alone (kept by _set_pipes)
        self.inbox_only = True
        #: peers that went away, newest last (their counters stay visible in statistics)
        self.departed: deque[Pipe] = deque(maxlen=DEPARTED_KEPT)
        #: socket-level counters (statistics): messages no peer could take, by reason
        self.dropped: dict[str, int] = {}

    # -- pipes ------------------------------------------------------------------------------
    def attach(self, pipe: Pipe) -> bool:
        """Add a pipe; returns False if this socket type refuses it (e.g. PAIR's second peer)."""
        if self.closed:
            return False
        pipe.inbox = self.inbox
        pipe.out_signal = self.signal
        self._set_pipes([*self.pipes, pipe])
        self._attached(pipe)
        if pipe.pending and not pipe.signalled:  # messages that arrived before the attach
            pipe.signalled = True
            self.inbox.announce(pipe)
        self.signal.notify()
        return True

    def detach(self, pipe: Pipe) -> None:
        """Remove a pipe whose peer went away (or that the socket disconnected)."""
        if not self._drop_pipe(pipe):
            return
        self._detached(pipe)
        self.signal.notify()

    def _set_pipes(self, pipes: list[Pipe]) -> None:
        """Replace ``pipes`` (copy on write: senders iterate without a lock), and note whether a
        blocking recv may read its only pipe directly (``inbox_only``)."""
        self.pipes = pipes
        self.inbox_only = len(pipes) != 1 or type(pipes[0]).wait_readable is Pipe.wait_readable

    def _drop_pipe(self, pipe: Pipe) -> bool:
        """Drop ``pipe`` from ``pipes`` into ``departed``; False if it was not attached."""
        if pipe not in self.pipes:
            return False
        self._set_pipes([p for p in self.pipes if p is not pipe])
        self.departed.append(pipe)
        return True

    def statistics(self) -> list[dict]:
        """Every peer's counters (attached peers first, then recently departed ones)."""
        rows = [p.statistics() for p in self.pipes]
        attached = set(map(id, self.pipes))
        rows += [p.statistics() for p in list(self.departed) if id(p) not in attached]
        return rows

    def count_drop(self, reason: str, n: int = 1) -> None:
        """``n`` messages no peer took (statistics)."""
        self.dropped[reason] = self.dropped.get(reason, 0) + n

    def prepare_wait(self) -> None:
        """A poller is about to wait on this socket: input must reach the inbox in the background
        (a connection a blocking recv was reading directly is handed back to the reactor)."""
        for pipe in self.pipes:
            pipe.release_reads()

    @property
    def wakefd(self) -> WakeFd:
        """A descriptor that this socket's signal makes readable (for direct reads)."""
        w = self._wakefd
        if w is None:
            w = self._wakefd = WakeFd(self.signal)
        return w

    def _attached(self, pipe: Pipe) -> None:
        """Hook for subclasses."""

    def settle(self) -> None:
        """The application called connect() or bind(): do now what libzmq does at the start of
        such a call (it processes the socket's pending commands). Hook for subclasses."""

    def configure(self) -> None:
        """An option changed (the facade calls this after every setsockopt): subclasses that keep
        derived state (inverted matching ...) refresh it here, so the send and recv paths test nothing."""

    def _detached(self, pipe: Pipe) -> None:
        """Hook for subclasses."""

    # -- receiving ----------------------------------------------------------------------------
    def has_input(self) -> bool:
        """Whether a receive would not block."""
        return self.fq.has_input()

    # -- sending ----------------------------------------------------------------------------
    def wait_for(self, ready: Callable[[], bool], timeout: float | None) -> None:
        """Block until ``ready()`` is true; Again after ``timeout``, ContextTerminated on term."""
        if timeout == 0:
            raise Again()
        sig = self.signal
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            seq = sig.seq
            if self.terminated:
                raise ContextTerminated()
            if self.closed:
                raise ZMQError(Errno.ENOTSOCK, "Socket operation on a closed socket")
            if ready():
                return
            remaining = None
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Again()
            sig.wait(seq, remaining)

    # -- the per-type API used by the facade --------------------------------------------------
    def send(self, msg: Msg, timeout: float | None) -> Pipe | None:
        """Route one complete message; raise Again if it can't go within ``timeout``. Returns the pipe
        it went to where the type knows it (load-balanced sends), else None; the facade ignores it."""
        raise ZMQError(Errno.ENOTSUP, "this socket type cannot send")

    def recv(self, timeout: float | None) -> Msg:
        """Receive one complete message; raise Again if none arrives within ``timeout``."""
        raise ZMQError(Errno.ENOTSUP, "this socket type cannot receive")

    def can_send(self) -> bool:
        """Whether a send would not block (for POLLOUT)."""
        return False

    def can_recv(self) -> bool:
        """Whether a receive would not block (for POLLIN)."""
        return self.fq.has_input()

    def close(self) -> None:
        """Stop routing; wake any thread blocked in this socket."""
        self.closed = True
        self.inbox.wake()
        self.signal.notify()
        if self._wakefd is not None:
            self._wakefd.close()

    def terminate(self) -> None:
        """The context is terminating: blocked and future calls raise ContextTerminated."""
        self.terminated = True
        self.inbox.wake()
        self.signal.notify()


class FairQueue:
    """Fair-queued input (RFC 28/30): one message from each peer with input, in turn.

    Pipes that hold messages form a ring; ``recv`` takes the head pipe's next message and moves
    that pipe to the back, so a busy peer cannot starve the others. A pipe enters the ring when
    the socket's inbox announces it, and leaves when it runs dry. Consumer side only.
    """

    __slots__ = ("core", "pipe", "ready", "ring")

    def __init__(self, core: SocketCore) -> None:
        self.core = core
        self.ready = core.inbox.ready
        self.ring: deque[Pipe] = deque()
        self.pipe: Pipe | None = None  # the pipe the last message came from

    def recv(self, timeout: float | None) -> Msg:
        """The next message; Again after ``timeout`` (0: don't wait; None: forever)."""
        ring = self.ring
        if not ring:
            core = self.core
            if timeout is None and core.inbox_only and not (core.closed or core.terminated):
                # the common blocking recv (inproc, or several peers): sleep on the inbox's doorbell
                # (see Inbox); close() and term() wake it with None, which _wait below turns into an error
                ready = self.ready
                self._admit(core.inbox.take())  # then taken from the ring below, as any input
                while not ready.empty():  # other pipes announced meanwhile join the ring too
                    self._admit(ready.get_nowait())
            if not ring:
                direct = self._wait(timeout)
                if direct is not None:  # read on this thread, straight from the connection
                    return direct
        pipe = ring[0]
        pending = pipe.pending
        msg = pending.popleft()
        if not pending:
            ring.popleft()
            pipe.in_ring = False
            pipe.signalled = False  # from here the producer announces it again
            if pending:  # it raced us: keep it
                pipe.signalled = pipe.in_ring = True
                ring.append(pipe)
        elif len(ring) > 1:
            ring.rotate(-1)
        if pipe.paused:
            pipe.maybe_resume()
        self.pipe = pipe
        return msg

    def take(self, timeout: float | None) -> tuple[Pipe, Msg]:
        """The next message and the pipe it came from."""
        msg = self.recv(timeout)
        return self.pipe, msg  # type: ignore[return-value]

    def _admit(self, pipe: Pipe | None) -> None:
        if pipe is not None and not pipe.in_ring and pipe.pending:
            pipe.in_ring = True
            self.ring.append(pipe)

    def _wait(self, timeout: float | None) -> Msg | None:
        """Block until some pipe holds a message (it is then in the ring, and None is returned),
        or return the first of the messages a direct read got from the only pipe."""
        ready = self.ready
        core = self.core
        deadline = None
        left: float | None  # what is left of the timeout; None: no limit
        while True:
            while not ready.empty():  # announcements already there: no blocking
                self._admit(ready.get_nowait())
            if self.ring:
                return None
            if core.terminated:
                raise ContextTerminated()
            if core.closed:
                raise ZMQError(Errno.ENOTSOCK, "Socket operation on a closed socket")
            if timeout is not None and timeout > 0:
                if deadline is None:
                    deadline = time.monotonic() + timeout
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Again()
            else:
                left = timeout
            pipes = core.pipes
            if len(pipes) == 1 and left != 0:
                got = pipes[0].wait_readable(left, core.wakefd)
                if got is True:
                    continue  # nothing yet, or something else happened: look again
                if got:
                    return self._direct(pipes[0], got)
            try:
                pipe = ready.get_nowait() if left == 0 else core.inbox.take(left)
            except Empty:
                raise Again() from None
            self._admit(pipe)

    def _direct(self, pipe: Pipe, msgs: list) -> Msg:
        """Hand out the first message of a direct read; the others wait in the pipe."""
        pipe.received += 1
        self.pipe = pipe
        if len(msgs) > 1:
            if pipe.pending.maxlen == 1:  # CONFLATE: only the newest counts
                pipe.received += len(msgs) - 1
                return msgs[-1]
            self._keep(pipe, msgs[1:])
        return msgs[0]

    def _keep(self, pipe: Pipe, msgs: list) -> None:
        """Queue messages a direct read got (consumer side) and put their pipe in the ring."""
        pipe.received += len(msgs)
        pipe.pending.extend(msgs)
        if not pipe.in_ring:
            pipe.signalled = pipe.in_ring = True
            self.ring.append(pipe)

    def has_input(self) -> bool:
        """Whether ``recv`` would not block."""
        ready = self.ready
        if self.ring:
            return True
        pipes = self.core.pipes
        if len(pipes) == 1:  # messages may wait in the kernel for a direct reader
            got = pipes[0].wait_readable(0, self.core.wakefd)
            if got and got is not True:
                self._keep(pipes[0], got)
        while not ready.empty():
            self._admit(ready.get_nowait())
        return bool(self.ring)


class LoadBalancer:
    """Round-robin over the pipes that accept a message (RFC 28/30 "load-balance")."""

    __slots__ = ("core", "next")

    def __init__(self, core: SocketCore) -> None:
        self.core = core
        self.next = 0

    def send(self, msg: Msg, timeout: float | None) -> Pipe:
        """Deliver to the next pipe with room; block (or Again) while none has room."""
        pipes = self.core.pipes
        n = len(pipes)
        if n:
            i = self.next
            if i >= n:
                i = 0
            pipe = pipes[i]
            if pipe.deliver(msg):
                self.next = i + 1
                return pipe
            pipe.hwm_blocks += 1
            for k in range(1, n):
                j = (i + k) % n
                pipe = pipes[j]
                if pipe.deliver(msg):
                    self.next = j + 1
                    return pipe
                pipe.hwm_blocks += 1
        self.core.wait_for(self.writable, timeout)
        return self.send(msg, timeout)

    def writable(self) -> bool:
        """Whether some pipe would accept a message."""
        return any(p.writable() for p in self.core.pipes)


class RoutingTable:
    """Pipes by routing id, with ids generated for peers that don't name themselves."""

    __slots__ = ("by_id", "next_id")

    def __init__(self) -> None:
        self.by_id: dict[bytes, Pipe] = {}
        self.next_id = 0x6B8B4567  # libzmq starts from a random-looking value too

    def add(self, pipe: Pipe, handover: bool = False) -> tuple[bool, Pipe | None]:
        """Give ``pipe`` a routing id (the peer's own if it sent one). Returns (False, None) if the id is
        taken; with ``handover`` the new pipe takes it, and the old pipe is returned (renamed) to be closed."""
        rid = pipe.routing_id
        old = None
        if rid:
            old = self.by_id.get(rid)
            if old is not None and old is not pipe:
                if not handover:
                    return False, None
                self.by_id.pop(rid)
                old.routing_id = self._generate()
                self.by_id[old.routing_id] = old
            else:
                old = None
        else:
            rid = pipe.routing_id = self._generate()
        self.by_id[rid] = pipe
        return True, old

    def remove(self, pipe: Pipe) -> None:
        """Forget ``pipe``."""
        if self.by_id.get(pipe.routing_id) is pipe:
            del self.by_id[pipe.routing_id]

    def _generate(self) -> bytes:
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        return b"\x00" + self.next_id.to_bytes(4, "big")
