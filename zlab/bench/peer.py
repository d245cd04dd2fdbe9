# zlab.bench.peer -- the interface every scenario is written against.
"""The :class:`Peer` and :class:`Backend` interfaces, and the wire conventions of every scenario.

Owns: ``Peer`` (send, recv, send_many, recv_until_end, recv_within), ``Backend`` (opens bound or connected peers),
:data:`END` and :data:`HELLO`. Implementations build on this module: the messaging libraries in
:mod:`zlab.bench.adapters`, the plain-Python floor in :mod:`zlab.bench.raw`. Imports nothing of zlab.

Wire conventions shared by every scenario: data messages are never empty; an empty message
(:data:`END`) ends a run; :data:`HELLO` is the publish-subscribe handshake message.
"""

from __future__ import annotations

import time

END = b""
HELLO = b"\x01"


class Peer:
    """One connected endpoint as a scenario sees it.

    Subclasses set ``send`` and ``recv`` (often straight to a socket's bound methods, so the
    adapter costs nothing on the hot path) and may override the bulk helpers.
    """

    endpoint: str = ""

    def send(self, msg: bytes) -> None:  # pragma: no cover - replaced by subclasses
        """Send one message."""
        raise NotImplementedError

    def recv(self) -> bytes:  # pragma: no cover - replaced by subclasses
        """Receive one message (blocking)."""
        raise NotImplementedError

    def recv_nowait(self) -> bytes | None:
        """One message if one is waiting, else None at once (open-loop clients poll between sends)."""
        return self.recv_within(0.0)

    def recv_within(self, timeout_s: float) -> bytes | None:
        """One message if one arrives within ``timeout_s`` seconds, else None."""
        raise NotImplementedError(f"{type(self).__name__} has no receive with a timeout")

    def accept(self) -> None:
        """Called once on a bound peer after its endpoint was published (a stream accepts here)."""

    def send_many(self, msg: bytes, n: int) -> None:
        """Send ``msg`` ``n`` times (a batching implementation may join them into few writes)."""
        send = self.send
        for _ in range(n):
            send(msg)

    def recv_until_end(self, skip: bytes | None = None) -> tuple[int, int, int]:
        """Count data messages until :data:`END`, skipping leading ``skip`` messages.

        Returns (count, perf_counter_ns at the first data message, perf_counter_ns at END).
        """
        recv = self.recv
        clock = time.perf_counter_ns
        msg = recv()
        if skip is not None:
            while msg == skip:
                msg = recv()
        first = clock()
        count = 0
        while msg:
            count += 1
            msg = recv()
        return count, first, clock()

    def close(self) -> None:
        """Release the peer's resources."""


class Backend:
    """Opens peers of one implementation on one transport, inside one process."""

    def bind(self, kind: str, addr: str) -> Peer:
        """A peer of socket type ``kind`` bound to ``addr`` (``tcp://host:*`` picks a port)."""
        raise NotImplementedError

    def connect(self, kind: str, endpoint: str) -> Peer:
        """A peer of socket type ``kind`` connected to ``endpoint``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the backend (a messaging context is terminated here)."""
