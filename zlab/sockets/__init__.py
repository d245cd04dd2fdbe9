"""Routing per socket type, over pipes (layer L2).

``create(socket_type, options)`` builds the routing core of a socket. Each type is a small
composition of the helpers in ``base``: load-balance out, fair-queue in, route by identity.
Never imports ``zlab.io``.
"""

from __future__ import annotations

from zlab.constants import Errno, SocketType
from zlab.errors import ZMQError
from zlab.options import Options
from zlab.sockets.base import SocketCore
from zlab.sockets.pair import Pair
from zlab.sockets.pipeline import Pull, Push
from zlab.sockets.pubsub import Pub, Sub, XPub, XSub
from zlab.sockets.reqrep import Dealer, Rep, Req, Router
from zlab.sockets.stream import Stream

CORES: dict[int, type[SocketCore]] = {
    SocketType.PAIR: Pair,
    SocketType.PUSH: Push,
    SocketType.PULL: Pull,
    SocketType.REQ: Req,
    SocketType.REP: Rep,
    SocketType.DEALER: Dealer,
    SocketType.ROUTER: Router,
    SocketType.PUB: Pub,
    SocketType.SUB: Sub,
    SocketType.XPUB: XPub,
    SocketType.XSUB: XSub,
    SocketType.STREAM: Stream,
}


def create(socket_type: int, options: Options) -> SocketCore:
    """The routing core for ``socket_type``; EINVAL for a type zlab does not offer."""
    cls = CORES.get(socket_type)
    if cls is None:
        raise ZMQError(Errno.EINVAL, f"unsupported socket type {socket_type!r}")
    return cls(options)


__all__ = ["CORES", "SocketCore", "create"]
