"""REQ, REP, DEALER and ROUTER (RFC 28): request-reply and its asynchronous building blocks.

Rules: layer L2. REQ alternates strictly (EFSM otherwise), prepends an empty delimiter and only
accepts the reply from the peer it asked. REP strips the envelope up to the delimiter and puts it
back on the reply, dropping the reply if the requester is gone. DEALER load-balances out and
fair-queues in. ROUTER prefixes the routing id on receive and routes on the first frame on send,
never blocking unless ROUTER_MANDATORY asks it to.
"""

from __future__ import annotations

import random
import sys
import time

from zlab.constants import Errno, SocketType
from zlab.errors import ZMQError
from zlab.options import Options
from zlab.pipe import Msg, Pipe
from zlab.sockets.base import LoadBalancer, RoutingTable, SocketCore

#: the envelope of a request from a REQ peer (shared: envelopes are only ever read and copied)
_DELIMITER = [b""]


class _Deadline:
    """What is left of a timeout across several blocking steps."""

    __slots__ = ("end",)

    def __init__(self, timeout: float | None) -> None:
        self.end = None if not timeout else time.monotonic() + timeout

    def left(self, timeout: float | None) -> float | None:
        if self.end is None:
            return timeout
        return max(0.0, self.end - time.monotonic())


class Dealer(SocketCore):
    """Load-balanced out, fair-queued in, no envelope handling."""

    socket_type = SocketType.DEALER

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.lb = LoadBalancer(self)
        if type(self) is Dealer:  # composition, without a call layer
            self.send = self.lb.send  # type: ignore[method-assign]
            self.recv = self.fq.recv  # type: ignore[method-assign]

    def can_send(self) -> bool:
        return self.lb.writable()

    def _attached(self, pipe: Pipe) -> None:
        if self.options.probe_router:  # PROBE_ROUTER: an empty message first, as libzmq does
            pipe.deliver(b"")


class Req(Dealer):
    """Strict send/recv alternation with an empty delimiter frame."""

    socket_type = SocketType.REQ

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.expect_reply = False
        self.reply_pipe: Pipe | None = None
        #: REQ_CORRELATE: the id of the last request, sent as a 4-octet frame before the delimiter
        #: (libzmq copies its uint32 in the machine's byte order, and starts from a random value)
        self.request_id = random.getrandbits(32)

    def send(self, msg: Msg, timeout: float | None) -> None:
        if self.expect_reply and not self.options.req_relaxed:
            raise ZMQError(Errno.EFSM)
        frames = [b"", msg] if type(msg) is bytes else [b"", *msg]
        if self.options.req_correlate:
            self.request_id = (self.request_id + 1) & 0xFFFFFFFF
            frames.insert(0, self.request_id.to_bytes(4, sys.byteorder))
        self.reply_pipe = self.lb.send(frames, timeout)
        self.expect_reply = True

    def recv(self, timeout: float | None) -> Msg:
        if not self.expect_reply:
            raise ZMQError(Errno.EFSM)
        fq = self.fq
        deadline = _Deadline(timeout) if timeout else None
        while True:
            msg = fq.recv(timeout if deadline is None else deadline.left(timeout))
            # only the reply from the peer asked, and only a well-formed one
            if fq.pipe is not self.reply_pipe or isinstance(msg, bytes):
                continue
            if self.options.req_correlate:  # the request id must be the last request's
                if len(msg) < 3 or msg[0] != self.request_id.to_bytes(4, sys.byteorder):
                    continue
                msg = msg[1:]
            if len(msg) < 2 or msg[0] != b"":
                continue
            self.expect_reply = False
            return msg[1] if len(msg) == 2 else msg[1:]

    def can_send(self) -> bool:
        return not self.expect_reply and self.lb.writable()

    def can_recv(self) -> bool:
        return self.expect_reply and self.has_input()


class _Routed(SocketCore):
    """A socket that keeps its peers by routing id, as libzmq's ROUTER does (its REP is one too): a
    second peer with an id already taken is refused unless ROUTER_HANDOVER gives it the id;
    PROBE_ROUTER sends each new peer an empty message."""

    attach_on_connect = False

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.table = RoutingTable()

    def attach(self, pipe: Pipe) -> bool:
        if self.closed:
            return False
        added, old = self.table.add(pipe, self.options.router_handover)
        if not added:
            return False
        if not super().attach(pipe):
            return False
        if old is not None:  # ROUTER_HANDOVER: the new peer takes the id; libzmq drops the old one
            self.detach(old)
            old.terminate()
        return True

    def _attached(self, pipe: Pipe) -> None:
        if self.options.probe_router:  # PROBE_ROUTER: an empty message first, as libzmq does
            pipe.deliver(b"")

    def _detached(self, pipe: Pipe) -> None:
        self.table.remove(pipe)


class Rep(_Routed):
    """Receives a request with its envelope, replies along the same envelope."""

    socket_type = SocketType.REP

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.envelope: list | None = None
        self.reply_pipe: Pipe | None = None

    def recv(self, timeout: float | None) -> Msg:
        if self.envelope is not None:
            raise ZMQError(Errno.EFSM)
        fq = self.fq
        deadline = _Deadline(timeout) if timeout else None
        while True:
            msg = fq.recv(timeout if deadline is None else deadline.left(timeout))
            if isinstance(msg, bytes):
                continue  # no envelope: malformed request, dropped
            pipe = fq.pipe
            if len(msg) == 2 and msg[0] == b"":  # a REQ's request: [delimiter, body]
                self.envelope = _DELIMITER
                self.reply_pipe = pipe
                return msg[1]
            try:
                i = msg.index(b"")
            except ValueError:
                continue
            self.envelope = msg[: i + 1]
            self.reply_pipe = pipe
            body = msg[i + 1 :]
            return body[0] if len(body) == 1 else body

    def send(self, msg: Msg, timeout: float | None) -> None:
        envelope = self.envelope
        if envelope is None:
            raise ZMQError(Errno.EFSM)
        pipe = self.reply_pipe
        if pipe is None or not pipe.alive:
            self.envelope = self.reply_pipe = None
            self.count_drop("requester_gone")
            return
        reply = [*envelope, msg] if isinstance(msg, bytes) else envelope + msg
        if not pipe.deliver(reply):
            if not self.options.router_mandatory:  # a full requester loses its reply
                pipe.dropped_hwm += 1
            else:  # wait for room; Again leaves the reply to be sent (libzmq 4.3.5 aborts here)
                pipe.hwm_blocks += 1
                self.wait_for(lambda: pipe.writable() or not pipe.alive, timeout)
                if pipe.alive and not pipe.deliver(reply):  # type: ignore[redundant-expr]  # wait_for may end it
                    pipe.dropped_hwm += 1
        self.envelope = self.reply_pipe = None

    def can_send(self) -> bool:
        return self.envelope is not None

    def can_recv(self) -> bool:
        return self.envelope is None and self.has_input()


class Router(_Routed):
    """Routing-id frame on receive; routes on the first frame on send."""

    socket_type = SocketType.ROUTER

    def recv(self, timeout: float | None) -> Msg:
        pipe, msg = self.fq.take(timeout)
        if type(msg) is bytes:
            return [pipe.routing_id, msg]
        return [pipe.routing_id, *msg]

    def send(self, msg: Msg, timeout: float | None) -> None:
        if isinstance(msg, bytes) or len(msg) < 2:
            return  # a routing id with no body: nothing to send
        pipe = self.table.by_id.get(msg[0])
        mandatory = self.options.router_mandatory
        if pipe is None:
            if mandatory:
                raise ZMQError(Errno.EHOSTUNREACH, "Host unreachable")
            self.count_drop("unroutable")
            return
        body = msg[1] if len(msg) == 2 else msg[1:]
        if pipe.deliver(body):
            return
        if not mandatory:
            pipe.dropped_hwm += 1
            return
        pipe.hwm_blocks += 1
        self.wait_for(lambda: pipe.writable() or not pipe.alive, timeout)
        if not pipe.alive:
            raise ZMQError(Errno.EHOSTUNREACH, "Host unreachable")
        self.send(msg, timeout)

    def can_send(self) -> bool:
        if self.options.router_mandatory:
            return any(p.writable() for p in self.pipes)
        return True
