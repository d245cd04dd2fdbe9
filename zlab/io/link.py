"""What a transport knows about the socket it serves: data and callbacks, never its class.

Owns: ``SocketLink``, and ``ZapRequester`` (what an engine needs of the context's ZAP client, which
``zap.py`` implements above this module). Rules: layer L2 (zlab.io); the facade builds a link from a
socket's routing core, so that ``zlab.io`` never imports ``zlab.sockets``; this module imports no
other ``zlab.io`` module (transports, the engine and the ZAP client all build on it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from zlab.options import Options
from zlab.pipe import Pipe

if TYPE_CHECKING:
    from zlab.zmtp import ZapReply


class ZapRequester(Protocol):
    """Asks a ZAP handler (RFC 27) about a peer; ``zap.ZapClient`` is the one in use."""

    def request(self, frames: list[bytes], callback: Callable[[ZapReply | None], None]) -> bytes | None:
        """Send a request; its id, or None if no handler can take it. ``callback`` gets the reply
        (None: malformed) on the reactor thread."""

    def cancel(self, request_id: bytes) -> None:
        """The asking connection went away: drop its reply."""


@dataclass(slots=True, eq=False)
class SocketLink:
    """A socket as its transports see it."""

    options: Options
    #: add a pipe to the socket's routing; False if the socket type refuses the peer
    attach: Callable[[Pipe], bool]
    #: remove a pipe whose peer went away
    detach: Callable[[Pipe], None]
    #: whether connect-side pipes join the routing at connect() time (IMMEDIATE=0)
    attach_on_connect: bool
    #: monitor hook: (event, endpoint, value)
    monitor: Callable[[int, str, object], None] | None = None
    closed: bool = False
    #: a subscriber's current topics (SUB, XSUB), sent on every new connection; None for others
    subscriptions: Callable[[], list[bytes]] | None = None
    #: held while the subscriptions change, and while a new connection takes them all
    sub_lock: threading.Lock = field(default_factory=threading.Lock)
    #: the ZAP client of the socket's context (reaches ``inproc://zeromq.zap.01`` there)
    zap: Callable[[], ZapRequester | None] | None = None

    @property
    def socket_type(self) -> int:
        """The socket's type (``zlab.PUSH`` ...)."""
        return self.options.type

    def event(self, event: int, endpoint: str, value: object = 0) -> None:
        """Report a monitor event, if anyone listens."""
        mon = self.monitor
        if mon is not None:
            mon(event, endpoint, value)
