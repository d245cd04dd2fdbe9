"""PAIR (RFC 31): exactly one peer at a time.

Rules: layer L2; a second peer is refused while the first is attached.
"""

from __future__ import annotations

from zlab.constants import SocketType
from zlab.options import Options
from zlab.pipe import Msg, Pipe
from zlab.sockets.base import SocketCore


class Pair(SocketCore):
    """Sends to, and receives from, its single peer; blocks while there is none or it is full."""

    socket_type = SocketType.PAIR

    def attach(self, pipe: Pipe) -> bool:
        if self.pipes:
            return False
        return super().attach(pipe)

    def send(self, msg: Msg, timeout: float | None) -> None:
        pipes = self.pipes
        if pipes and pipes[0].deliver(msg):
            return
        if pipes:
            pipes[0].hwm_blocks += 1
        self.wait_for(self.can_send, timeout)
        self.send(msg, timeout)

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.recv = self.fq.recv  # type: ignore[method-assign]

    def can_send(self) -> bool:
        pipes = self.pipes
        return bool(pipes) and pipes[0].writable()
