"""The ZAP client (RFC 27): how a connection's engine asks the context's ZAP handler about a peer.

Owns: ``ZapClient``, one per context: an inproc DEALER-like end connected to the handler bound at
``inproc://zeromq.zap.01``, request ids, and the dispatch of replies to the engines that asked.

Rules: layer L2 (zlab.io). It reaches the handler through an ``InprocNames`` (the context's inproc
registry, given by the context: this module does not import the inproc transport). Never blocks the reactor: a request is one inproc delivery; replies wake
the reactor (a watcher on the client's own inbox signal), which parses them and calls the engine's
callback on the reactor thread. With no handler bound, ``request`` says so at once (False) and the
engine decides what libzmq would do.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from zlab.constants import SocketType
from zlab.errors import ProtocolError, ZMQError
from zlab.io.link import SocketLink
from zlab.io.reactor import Reactor
from zlab.options import Options
from zlab.pipe import Inbox, Pipe, Signal
from zlab.zmtp import ZapReply
from zlab.zmtp.commands import decode_metadata

#: the inproc name a ZAP handler binds (RFC 27)
ZAP_ENDPOINT = "zeromq.zap.01"
ZAP_VERSION = b"1.0"

ReplyCallback = Callable[[ZapReply | None], None]
"""Called on the reactor thread with the handler's reply (None: the reply was malformed)."""


class InprocNames(Protocol):
    """The names bound in a context (``inproc.InprocRegistry``), as the ZAP client uses them."""

    def is_bound(self, name: str) -> bool: ...

    def connect(self, name: str, link: SocketLink) -> Pipe | None: ...


def parse_reply(frames: list[bytes]) -> tuple[bytes, ZapReply]:
    """(request id, reply) from a reply's frames after the empty delimiter; ProtocolError if malformed."""
    if len(frames) != 6 or frames[0] != ZAP_VERSION:
        raise ProtocolError("malformed ZAP reply")
    _version, request_id, code, text, user_id, metadata = frames
    status = code.decode("ascii", "replace")
    if status not in ("200", "300", "400", "500"):
        raise ProtocolError(f"invalid ZAP status code {status!r}")
    return request_id, ZapReply(status, text.decode("utf-8", "replace"), user_id, decode_metadata(metadata))


class ZapClient:
    """Sends ZAP requests to the handler of one context and routes the replies back."""

    def __init__(self, registry: InprocNames, reactor: Callable[[], Reactor]) -> None:
        self.registry = registry
        self._reactor = reactor  # the context's reactor (started on first tcp/ipc use)
        self.signal = Signal()
        self.inbox = Inbox(self.signal)
        self.signal.watchers.append(self._wake)
        options = Options(type=SocketType.DEALER, sndhwm=0, rcvhwm=0)
        self.link = SocketLink(options, self._attach, self._detach, attach_on_connect=False)
        self.pipe: Pipe | None = None
        self.waiting: dict[bytes, ReplyCallback] = {}
        self._next_id = 0
        self._lock = threading.Lock()  # requests come from the reactor; replies wake it from anywhere
        self._scheduled = False

    def _attach(self, pipe: Pipe) -> bool:
        pipe.inbox = self.inbox
        return True

    def _detach(self, pipe: Pipe) -> None:
        if self.pipe is pipe:
            self.pipe = None

    def request(self, frames: list[bytes], callback: ReplyCallback) -> bytes | None:
        """Send a request (domain, address, identity, mechanism, credentials...); the request id, or
        None if no handler is bound (or it can't take the request)."""
        with self._lock:
            pipe = self.pipe
            if pipe is None or not pipe.alive:
                if not self.registry.is_bound(ZAP_ENDPOINT):
                    return None
                try:
                    pipe = self.pipe = self.registry.connect(ZAP_ENDPOINT, self.link)
                except ZMQError:  # a handler of a socket type that can't answer a DEALER
                    return None
                if pipe is None:
                    return None
            self._next_id += 1
            request_id = str(self._next_id).encode()
            self.waiting[request_id] = callback
            if not pipe.deliver([b"", ZAP_VERSION, request_id, *frames]):
                del self.waiting[request_id]
                return None
            return request_id

    def cancel(self, request_id: bytes) -> None:
        """The asking connection went away: its reply, if it comes, is dropped."""
        with self._lock:
            self.waiting.pop(request_id, None)

    def _wake(self) -> None:
        """A reply arrived (any thread): drain on the reactor."""
        if not self._scheduled:
            self._scheduled = True
            self._reactor().call_soon(self._drain)

    def _drain(self) -> None:
        self._scheduled = False
        while not self.inbox.ready.empty():
            self.inbox.ready.get_nowait()
        pipe = self.pipe
        if pipe is None:
            return
        pipe.signalled = False
        pending = pipe.pending
        while pending:
            msg = pending.popleft()
            frames = [msg] if type(msg) is bytes else list(msg)
            if frames and frames[0] == b"":
                frames = frames[1:]
            try:
                request_id, reply = parse_reply(frames)
            except ProtocolError:
                request_id = frames[1] if len(frames) > 1 else b""
                reply = None
            with self._lock:
                callback = self.waiting.pop(request_id, None)
            if callback is not None:
                callback(reply)
