"""The inproc transport: two pipes wired directly between two sockets of one context.

Owns: ``InprocPipe`` (delivers message references straight into the peer socket's inbox: no
codec, no copy, no I/O thread) and ``InprocRegistry`` (names bound in a context, and connects
waiting for a bind). Rules: layer L2 (zlab.io). The HWM of an inproc pipe is the sender's SNDHWM
plus the receiver's RCVHWM, as in libzmq.
"""

from __future__ import annotations

import threading

from zlab.constants import Errno
from zlab.errors import ZMQError
from zlab.io.link import SocketLink
from zlab.pipe import Msg, Pipe
from zlab.zmtp import compatible


class InprocPipe(Pipe):
    """One end of an inproc pipe pair; ``peer`` is the other end, held by the other socket."""

    __slots__ = ("hwm_out", "link", "peer")

    def __init__(self, link: SocketLink, endpoint: str) -> None:
        super().__init__(None, hwm_in=0, endpoint=endpoint)
        self.link = link
        self.peer: InprocPipe | None = None
        self.hwm_out = 0

    def deliver(self, msg: Msg) -> bool:
        peer = self.peer
        if peer is None or not peer.alive:
            return False
        hwm = self.hwm_out
        if hwm and peer.received - peer.consumed >= hwm:
            peer.paused = True  # the consumer resumes us at low water
            if peer.received - peer.consumed >= hwm:
                return False
        peer.inbox.put(peer, [msg])  # type: ignore[union-attr]
        return True

    def writable(self) -> bool:
        peer = self.peer
        if peer is None or not peer.alive:
            return False
        return not self.hwm_out or peer.received - peer.consumed < self.hwm_out

    def terminate(self, linger: float | None = 0.0) -> None:
        """Tear down both ends: each socket forgets its pipe; queued messages stay readable."""
        for end in (self, self.peer):
            if end is not None and end.alive:
                end.alive = False
                end.link.detach(end)
                end.notify_writable()


def wire(a: SocketLink, b: SocketLink, endpoint: str) -> tuple[InprocPipe, InprocPipe] | None:
    """Connect socket ``a`` (connecter) to ``b`` (binder); None if ``b`` refuses the peer."""
    pa, pb = InprocPipe(a, endpoint), InprocPipe(b, endpoint)
    pa.peer, pb.peer = pb, pa
    pa.peer_type, pb.peer_type = b.socket_type, a.socket_type
    pa.routing_id = b.options.routing_id  # how a names b, and b names a
    pb.routing_id = a.options.connect_routing_id or a.options.routing_id
    pa.hwm_out = _sum_hwm(a.options.sndhwm, b.options.rcvhwm)
    pb.hwm_out = _sum_hwm(b.options.sndhwm, a.options.rcvhwm)
    pb.lwm_in, pa.lwm_in = pa.hwm_out // 2, pb.hwm_out // 2
    # a consumer draining one end resumes the sender blocked on the other
    pa.on_resume = pb.notify_writable
    pb.on_resume = pa.notify_writable
    if not b.attach(pb):
        return None
    if not a.attach(pa):
        pb.alive = False
        b.detach(pb)
        return None
    return pa, pb


def _sum_hwm(snd: int, rcv: int) -> int:
    return 0 if snd == 0 or rcv == 0 else snd + rcv


class InprocRegistry:
    """The inproc names of one context: who is bound where, and who waits for a bind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: dict[str, SocketLink] = {}
        self._waiting: dict[str, list[tuple[SocketLink, list]]] = {}

    def bind(self, name: str, link: SocketLink) -> None:
        """Bind ``name``; wires any connects that came first. EADDRINUSE if taken."""
        with self._lock:
            if name in self._bound:
                raise ZMQError(Errno.EADDRINUSE, f"inproc://{name} is already bound")
            self._bound[name] = link
            waiting = self._waiting.pop(name, [])
        for connecter, holder in waiting:
            if not connecter.closed:
                self._wire(connecter, link, name, holder)

    def unbind(self, name: str, link: SocketLink) -> None:
        """Release ``name`` (existing pipes stay); ENOENT if ``link`` doesn't hold it."""
        with self._lock:
            if self._bound.get(name) is not link:
                raise ZMQError(Errno.ENOENT, f"inproc://{name} is not bound by this socket")
            del self._bound[name]

    def connect(self, name: str, link: SocketLink) -> list:
        """Connect to ``name`` now or when it gets bound; returns a holder filled with the pipe."""
        holder: list = []
        with self._lock:
            target = self._bound.get(name)
            if target is None:
                self._waiting.setdefault(name, []).append((link, holder))
                return holder
        if not compatible(link.socket_type, target.socket_type):
            raise ZMQError(Errno.ENOCOMPATPROTO, f"inproc://{name}: socket types are not compatible")
        self._wire(link, target, name, holder)
        return holder

    def cancel(self, name: str, link: SocketLink) -> None:
        """Forget connects of ``link`` still waiting for ``name`` to be bound."""
        with self._lock:
            waiting = self._waiting.get(name)
            if waiting:
                waiting[:] = [w for w in waiting if w[0] is not link]

    def forget(self, link: SocketLink) -> None:
        """A socket closed: drop its names and its waiting connects."""
        with self._lock:
            for name in [n for n, bound in self._bound.items() if bound is link]:
                del self._bound[name]
            for waiting in self._waiting.values():
                waiting[:] = [w for w in waiting if w[0] is not link]

    @staticmethod
    def _wire(a: SocketLink, b: SocketLink, name: str, holder: list) -> None:
        if not compatible(a.socket_type, b.socket_type):
            return
        pair = wire(a, b, f"inproc://{name}")
        if pair is not None:
            holder.append(pair[0])
