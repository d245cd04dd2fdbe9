"""STREAM: raw TCP peers, each addressed by a routing id (libzmq's ZMQ_STREAM).

Rules: layer L2; never imports ``zlab.io``. Its pipes carry raw data, not ZMTP messages: the
transport (``zlab.io.raw_engine``) delivers each chunk it reads as one message, and an empty one
when a peer connects and when it goes (STREAM_NOTIFY). The core only routes:

- receive: ``[routing id, data]`` from the peers in turn (fair-queued);
- send: ``[routing id, data]`` pairs; several pairs in one message go out in order, as libzmq
  reads the frames of a STREAM message two by two. An unknown id is EHOSTUNREACH; a full peer is
  EAGAIN at once (libzmq never blocks a STREAM send); ``[id, b""]`` closes that peer (its queued
  data is written first) and forgets it, with no notification for a close the program asked for.
"""

from __future__ import annotations

from zlab.constants import Errno, SocketType
from zlab.errors import Again, ZMQError
from zlab.options import Options
from zlab.pipe import Msg, Pipe
from zlab.sockets.base import RoutingTable, SocketCore


class Stream(SocketCore):
    """Routes raw data to and from stream peers by routing id."""

    socket_type = SocketType.STREAM
    attach_on_connect = False  # a pipe per connection, made when the connection is

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.table = RoutingTable()

    def attach(self, pipe: Pipe) -> bool:
        if self.closed:
            return False
        added, _ = self.table.add(pipe)  # no handover: a routing id in use refuses the newcomer
        return added and super().attach(pipe)

    def _detached(self, pipe: Pipe) -> None:
        self.table.remove(pipe)

    def recv(self, timeout: float | None) -> Msg:
        pipe, data = self.fq.take(timeout)
        return [pipe.routing_id, data]

    def send(self, msg: Msg, timeout: float | None) -> None:
        if type(msg) is bytes or len(msg) % 2:
            raise ZMQError(Errno.EINVAL, "a STREAM message is [routing id, data] (pairs of frames)")
        frames: list[bytes] = msg  # type: ignore[assignment]
        by_id = self.table.by_id
        targets = []
        for i in range(0, len(frames), 2):
            pipe = by_id.get(frames[i])
            if pipe is None:
                raise ZMQError(Errno.EHOSTUNREACH, "Host unreachable")
            targets.append((pipe, frames[i + 1]))
        for pipe, data in targets:
            if not data:
                self._close_peer(pipe)
            elif not pipe.deliver(data):
                if not pipe.alive:
                    raise ZMQError(Errno.EHOSTUNREACH, "Host unreachable")
                pipe.hwm_blocks += 1
                raise Again()

    def _close_peer(self, pipe: Pipe) -> None:
        """The program closes this peer: forget it now; its transport flushes and closes."""
        self.table.remove(pipe)
        self._drop_pipe(pipe)
        pipe.terminate()
        self.signal.notify()

    def can_send(self) -> bool:
        return True  # as libzmq: POLLOUT always (a full peer answers EAGAIN)
