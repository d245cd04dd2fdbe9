"""CONFLATE on the sending side of a tcp/ipc peer: keep only the newest message not yet written.

Owns: ``ConflatingStreamPipe`` and ``ConflatingWrappedStreamPipe`` (CURVE), the outbound pipes of a
PUSH, DEALER or PUB with CONFLATE set (``Options.conflating_out``).

What libzmq 4.3.5 does, and so zlab: the pipe between a conflating socket and its connection holds
one message; a send replaces it; the connection takes it whenever it can write. A send never
blocks (no SNDHWM), and a slow peer gets what was already on its way plus the newest message.
zlab keeps, per peer, the message being written (it cannot be taken back once its first octet is
in the kernel) and one ``newest`` message, which each send replaces. Before the connection is up,
only ``newest`` waits. Multipart messages stay whole (libzmq documents CONFLATE as single-part
only and mangles multipart: it conflates frame by frame).

Rules: layer L2 (zlab.io). Everything happens under the pipe's ``wlock``; the common (not
conflating) send path in ``stream_pipe`` is untouched.
"""

from __future__ import annotations

from zlab.io.link import SocketLink
from zlab.io.reactor import Reactor
from zlab.io.stream_pipe import StreamPipe
from zlab.io.wrapped_pipe import WrappedStreamPipe
from zlab.pipe import Msg


class ConflatingStreamPipe(StreamPipe):
    """A stream pipe that keeps only the newest message besides the one being written."""

    __slots__ = ()

    def __init__(self, link: SocketLink, reactor: Reactor, endpoint: str) -> None:
        super().__init__(link, reactor, endpoint)
        self.hwm_out = 0  # never full: a send replaces the waiting message

    def deliver(self, msg: Msg) -> bool:
        with self.wlock:
            if not self.alive:
                return False
            if self.newest is not None:
                self.dropped_hwm += 1  # conflated: replaced before it could go
            self.newest = msg
            self.msgs_out += 1
            if self.ready and not self.nmsgs and not self.want_write:
                self._write()
        return True

    def deliver_many(self, msgs: list[Msg], enc: list) -> int:
        for msg in msgs:
            if not self.deliver(msg):
                return 0
        return len(msgs)

    def _write(self) -> None:
        """Write what is queued; whenever no message is left in the queue, the newest goes next.
        The drain hook (linger) runs only once ``newest`` is out too."""
        hook, self.on_drained = self.on_drained, None
        try:
            StreamPipe._write(self)
            while (
                self.newest is not None
                and not self.nmsgs
                and self.ready
                and self.sock is not None
                and not self.want_write
            ):
                msg, self.newest = self.newest, None
                self._encode_one(msg)
                StreamPipe._write(self)
        finally:
            self.on_drained = hook
        if hook is not None and not self.nbytes and self.newest is None:
            self.reactor.call_soon(hook)

    def queued_out(self) -> int:
        return self.nmsgs + (self.newest is not None)

    def pending_bytes(self) -> int:
        newest = self.newest
        extra = 0 if newest is None else len(newest) if type(newest) is bytes else sum(map(len, newest))
        return super().pending_bytes() + extra


class ConflatingWrappedStreamPipe(ConflatingStreamPipe, WrappedStreamPipe):
    """The same for CURVE connections (messages encoded by the mechanism as they are written)."""

    __slots__ = ()
