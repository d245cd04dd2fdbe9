"""PUSH and PULL (RFC 30): load-balanced out, fair-queued in.

Rules: layer L2; PUSH never drops (it blocks, or raises Again), PULL never sends.
"""

from __future__ import annotations

from zlab.constants import SocketType
from zlab.options import Options
from zlab.sockets.base import LoadBalancer, SocketCore


class Push(SocketCore):
    """Round-robin over connected peers with room; blocks while there are none."""

    socket_type = SocketType.PUSH
    can_recv_type = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.lb = LoadBalancer(self)
        self.send = self.lb.send  # type: ignore[method-assign]  # composition, without a call layer

    def can_send(self) -> bool:
        return self.lb.writable()

    def can_recv(self) -> bool:
        return False


class Pull(SocketCore):
    """Fair-queued input from every connected PUSH."""

    socket_type = SocketType.PULL
    can_send_type = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.recv = self.fq.recv  # type: ignore[method-assign]
