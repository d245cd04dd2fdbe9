"""The inproc transport: two pipes wired directly between two sockets of one context.

Owns: ``InprocPipe`` (delivers message references straight into the peer socket's inbox: no
codec, no copy, no I/O thread) and ``InprocRegistry`` (names bound in a context, and connects
waiting for a bind). Rules: layer L2 (zlab.io). The HWM of an inproc pipe is the sender's SNDHWM
plus the receiver's RCVHWM, as in libzmq.
"""

from __future__ import annotations

import threading

from zlab.constants import Errno, SocketType
from zlab.errors import ZMQError
from zlab.io.link import SocketLink
from zlab.pipe import Msg, Pipe
from zlab.zmtp import compatible

_PUBLISHERS = (SocketType.PUB, SocketType.XPUB)


class InprocPipe(Pipe):
    """One end of an inproc pipe pair; ``peer`` is the other end, held by the other socket."""

    __slots__ = ("attached", "hwm_out", "link", "peer")

    def __init__(self, link: SocketLink | None, endpoint: str) -> None:
        super().__init__(None, hwm_in=0, endpoint=endpoint)
        self.link = link
        self.peer: InprocPipe | None = None
        self.hwm_out = 0
        self.attached = False  # the owning socket took this end

    def deliver(self, msg: Msg) -> bool:
        peer = self.peer
        if peer is None or not peer.alive:
            return False
        hwm = self.hwm_out
        if hwm and len(peer.pending) >= hwm:
            peer.paused = True  # the consumer resumes us at low water
            if len(peer.pending) >= hwm:
                return False
        # Inbox.put, inlined: this is the whole inproc send path
        peer.pending.append(msg)
        peer.received += 1
        inbox = peer.inbox
        if inbox is not None:  # None until a connect-before-bind peer gets bound
            if not peer.signalled:
                peer.signalled = True
                inbox.ready.put(peer)
                if inbox.sleeping:  # the consumer is blocked in Inbox.take()
                    inbox.ring()
            if inbox.signal.watchers:  # pollers, wake-up descriptors
                inbox.signal.notify()
        return True

    def subscription(self, subscribe: bool, topic: bytes) -> None:
        """A (un)subscription as a message 0x01/0x00 + topic, past the HWM (it is never dropped)."""
        peer = self.peer
        if peer is None or not peer.alive:
            return
        msg = (b"\x01" if subscribe else b"\x00") + topic
        inbox = peer.inbox
        if inbox is not None:
            inbox.put(peer, [msg])
        else:  # a connect before the bind: queued until the binder takes this end
            peer.pending.append(msg)
            peer.received += 1

    def queued_out(self) -> int:
        peer = self.peer
        return len(peer.pending) if peer is not None else 0

    def sent_count(self) -> int:
        peer = self.peer
        return peer.received if peer is not None else self.msgs_out

    def writable(self) -> bool:
        peer = self.peer
        if peer is None or not peer.alive:
            return False
        hwm = self.hwm_out
        if hwm and len(peer.pending) >= hwm:
            peer.paused = True  # so that the consumer wakes a poller waiting for room at low water
            return len(peer.pending) < hwm
        return True

    def terminate(self, linger: float | None = 0.0) -> None:
        """Tear down both ends: each socket forgets its pipe; queued messages stay readable."""
        for end in (self, self.peer):
            if end is not None and end.alive:
                end.alive = False
                if end.link is not None:
                    end.link.detach(end)
                end.notify_writable()


def _pair(a: SocketLink, endpoint: str, peer_id: bytes = b"") -> tuple[InprocPipe, InprocPipe]:
    """Two pipe ends for a connect from ``a``; the far end belongs to nobody until a bind.
    ``peer_id`` (CONNECT_ROUTING_ID) is how ``a`` names the binder."""
    pa, pb = InprocPipe(a, endpoint), InprocPipe(None, endpoint)
    pa.peer, pb.peer = pb, pa
    pa.hwm_out = a.options.sndhwm  # until the binder's RCVHWM is known
    pa.routing_id = peer_id
    pb.routing_id = a.options.routing_id  # how the binder names a
    pb.peer_type = a.socket_type
    # a consumer draining one end resumes the sender blocked on the other
    pa.on_resume = pb.notify_writable
    pb.on_resume = pa.notify_writable
    return pa, pb


def _complete(pa: InprocPipe, pb: InprocPipe, b: SocketLink) -> bool:
    """Give the far end ``pb`` to binder ``b`` and attach both ends; False if refused."""
    a = pa.link
    assert a is not None
    if not compatible(a.socket_type, b.socket_type):
        pa.terminate()
        return False
    pb.link = b
    pa.peer_type = b.socket_type
    if not pa.attached:  # how a names b (unless CONNECT_ROUTING_ID named it already)
        pa.routing_id = pa.routing_id or b.options.routing_id
    pa.hwm_out = _sum_hwm(a.options.sndhwm, b.options.rcvhwm)
    pb.hwm_out = _sum_hwm(b.options.sndhwm, a.options.rcvhwm)
    if a.options.conflating:  # CONFLATE: as libzmq, the connecter's option decides for both ends
        for end, owner in ((pa, a), (pb, b)):
            if owner.socket_type not in _PUBLISHERS:  # a publisher's input is subscriptions: kept whole
                end.conflate()
            end.hwm_out = 0
    pb.lwm_in, pa.lwm_in = pa.hwm_out // 2, pb.hwm_out // 2
    if not b.attach(pb):
        pa.terminate()
        return False
    pb.attached = True
    if not pa.attached:
        if not a.attach(pa):
            pa.terminate()
            return False
        pa.attached = True
    pa.notify_writable()  # a sender blocked on the provisional HWM may go on
    return True


def _sum_hwm(snd: int, rcv: int) -> int:
    return 0 if snd == 0 or rcv == 0 else snd + rcv


class InprocRegistry:
    """The inproc names of one context: who is bound where, and who waits for a bind.

    A connect to a name not bound yet makes its pipe at once (messages queue in it, up to the
    sender's SNDHWM), as libzmq does; the bind hands the far end to the binder.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._bound: dict[str, SocketLink] = {}
        self._waiting: dict[str, list[tuple[InprocPipe, InprocPipe]]] = {}

    def bind(self, name: str, link: SocketLink) -> None:
        """Bind ``name``; wires any connects that came first. EADDRINUSE if taken."""
        with self._lock:
            if name in self._bound:
                raise ZMQError(Errno.EADDRINUSE, f"inproc://{name} is already bound")
            self._bound[name] = link
            waiting = self._waiting.pop(name, [])
        for pa, pb in waiting:
            if pa.alive:
                _complete(pa, pb, link)

    def is_bound(self, name: str) -> bool:
        """Whether some socket is bound at ``name`` now."""
        with self._lock:
            return name in self._bound

    def unbind(self, name: str, link: SocketLink) -> None:
        """Release ``name`` (existing pipes stay); ENOENT if ``link`` doesn't hold it."""
        with self._lock:
            if self._bound.get(name) is not link:
                raise ZMQError(Errno.ENOENT, f"inproc://{name} is not bound by this socket")
            del self._bound[name]

    def connect(self, name: str, link: SocketLink, peer_id: bytes = b"") -> InprocPipe | None:
        """Connect to ``name`` now, or when it gets bound; returns the connecter's pipe end.
        ``peer_id`` (CONNECT_ROUTING_ID) names the binder in ``link``'s routing at once."""
        with self._lock:
            target = self._bound.get(name)
            if target is not None and not compatible(link.socket_type, target.socket_type):
                raise ZMQError(Errno.ENOCOMPATPROTO, f"inproc://{name}: socket types are not compatible")
            pa, pb = _pair(link, f"inproc://{name}", peer_id)
            if target is None:
                self._waiting.setdefault(name, []).append((pa, pb))
                if link.attach_on_connect or peer_id:
                    pa.attached = link.attach(pa)
                return pa
        return pa if _complete(pa, pb, target) else None

    def forget(self, link: SocketLink) -> None:
        """A socket closed: drop its names and its waiting connects."""
        with self._lock:
            for name in [n for n, bound in self._bound.items() if bound is link]:
                del self._bound[name]
            for waiting in self._waiting.values():
                waiting[:] = [w for w in waiting if w[0].link is not link]
