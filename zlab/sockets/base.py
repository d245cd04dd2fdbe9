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
from collections.abc import Callable
from queue import Empty
from typing import ClassVar

from zlab.constants import Errno
from zlab.errors import Again, ContextTerminated, ZMQError
from zlab.options import Options
from zlab.pipe import Inbox, Msg, Pipe, Signal


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
        # the batch being consumed: messages, index of the next one, the pipe they came from
        self._batch: list | None = None
        self._bi = 0
        self._bpipe: Pipe | None = None

    # -- pipes ------------------------------------------------------------------------------
    def attach(self, pipe: Pipe) -> bool:
        """Add a pipe; returns False if this socket type refuses it (e.g. PAIR's second peer)."""
        if self.closed:
            return False
        pipe.inbox = self.inbox
        pipe.out_signal = self.signal
        self.pipes.append(pipe)
        self._attached(pipe)
        self.signal.notify()
        return True

    def detach(self, pipe: Pipe) -> None:
        """Remove a pipe whose peer went away (or that the socket disconnected)."""
        try:
            self.pipes.remove(pipe)
        except ValueError:
            return
        self._detached(pipe)
        self.signal.notify()

    def _attached(self, pipe: Pipe) -> None:
        """Hook for subclasses."""

    def _detached(self, pipe: Pipe) -> None:
        """Hook for subclasses."""

    # -- receiving (fair-queued: arrival order, each pipe bounded by RCVHWM) -----------------
    def _take(self, timeout: float | None) -> tuple[Pipe, Msg]:
        """The next message and the pipe it came from; raise Again after ``timeout``."""
        batch = self._batch
        if batch is not None:
            i = self._bi
            msg = batch[i]
            i += 1
            if i == len(batch):
                self._batch = None
            else:
                self._bi = i
            return self._bpipe, msg  # type: ignore[return-value]
        return self._take_slow(timeout)

    def _take_slow(self, timeout: float | None) -> tuple[Pipe, Msg]:
        q = self.inbox.queue
        deadline = None
        while True:
            if self.terminated:
                raise ContextTerminated()
            if self.closed:
                raise ZMQError(Errno.ENOTSOCK, "Socket operation on a closed socket")
            if timeout == 0:
                if q.empty():
                    raise Again()
                pipe, batch = q.get_nowait()
            else:
                if timeout is None:
                    pipe, batch = q.get()
                else:
                    if deadline is None:
                        deadline = time.monotonic() + timeout
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        if q.empty():
                            raise Again()
                        remaining = 0
                    try:
                        pipe, batch = q.get(True, remaining) if remaining > 0 else q.get_nowait()
                    except Empty:
                        raise Again() from None
            if pipe is None:
                continue  # wake-up sentinel: re-check closed/terminated
            pipe.consumed_batch(len(batch))
            if len(batch) > 1:
                self._batch = batch
                self._bi = 1
            self._bpipe = pipe
            return pipe, batch[0]

    def has_input(self) -> bool:
        """Whether a receive would not block."""
        return self._batch is not None or not self.inbox.queue.empty()

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
    def send(self, msg: Msg, timeout: float | None) -> None:
        """Route one complete message; raise Again if it can't go within ``timeout``."""
        raise ZMQError(Errno.ENOTSUP, "this socket type cannot send")

    def recv(self, timeout: float | None) -> Msg:
        """Receive one complete message; raise Again if none arrives within ``timeout``."""
        raise ZMQError(Errno.ENOTSUP, "this socket type cannot receive")

    def can_send(self) -> bool:
        """Whether a send would not block (for POLLOUT)."""
        return False

    def can_recv(self) -> bool:
        """Whether a receive would not block (for POLLIN)."""
        return self.has_input()

    def close(self) -> None:
        """Stop routing; wake any thread blocked in this socket."""
        self.closed = True
        self.inbox.wake()
        self.signal.notify()

    def terminate(self) -> None:
        """The context is terminating: blocked and future calls raise ContextTerminated."""
        self.terminated = True
        self.inbox.wake()
        self.signal.notify()


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
            for k in range(1, n):
                j = (i + k) % n
                pipe = pipes[j]
                if pipe.deliver(msg):
                    self.next = j + 1
                    return pipe
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

    def add(self, pipe: Pipe, handover: bool = False) -> bool:
        """Give ``pipe`` a routing id (the peer's own if it sent one); False if it is taken."""
        rid = pipe.routing_id
        if rid:
            old = self.by_id.get(rid)
            if old is not None and old is not pipe:
                if not handover:
                    return False
                self.by_id.pop(rid)
                old.routing_id = self._generate()
                self.by_id[old.routing_id] = old
        else:
            rid = pipe.routing_id = self._generate()
        self.by_id[rid] = pipe
        return True

    def remove(self, pipe: Pipe) -> None:
        """Forget ``pipe``."""
        if self.by_id.get(pipe.routing_id) is pipe:
            del self.by_id[pipe.routing_id]

    def _generate(self) -> bytes:
        self.next_id = (self.next_id + 1) & 0xFFFFFFFF
        return b"\x00" + self.next_id.to_bytes(4, "big")
