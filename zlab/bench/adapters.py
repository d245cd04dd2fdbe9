# zlab.bench.adapters -- the tiny socket interface scenarios are written against.
"""Peers and backends: how one scenario drives zlab, pyzmq and the plain-Python floor alike.

Owns: the :class:`Peer` interface (send, recv, send_many, recv_until_end), the :class:`Backend`
that opens bound or connected peers for an implementation and transport, and the implementation
registry (module import, version, "not importable" reasons). zlab and pyzmq are driven by the same
code through their public pyzmq-shaped API only (``import zlab`` / ``import zmq``); ``raw`` lives
in :mod:`zlab.bench.raw`.

Wire conventions shared by every scenario: data messages are never empty; an empty message
(:data:`END`) ends a run; :data:`HELLO` is the publish-subscribe handshake message.
"""

from __future__ import annotations

import importlib
import platform
import time
from types import ModuleType
from typing import Any

END = b""
HELLO = b"\x01"
LINGER_MS = 0  # peers close only after every peer reported (control "stop"): nothing left to deliver


class Peer:
    """One connected endpoint as a scenario sees it.

    Subclasses set ``send`` and ``recv`` (often straight to a socket's bound methods, so the
    adapter costs nothing on the hot path) and may override the bulk helpers.
    """

    endpoint: str = ""

    def send(self, msg: bytes) -> None:  # pragma: no cover - replaced by subclasses
        """Send one message."""
        raise NotImplementedError

    def recv(self) -> bytes:  # pragma: no cover - replaced by subclasses
        """Receive one message (blocking)."""
        raise NotImplementedError

    def accept(self) -> None:
        """Called once on a bound peer after its endpoint was published (a stream accepts here)."""

    def send_many(self, msg: bytes, n: int) -> None:
        """Send ``msg`` ``n`` times (a batching implementation may join them into few writes)."""
        send = self.send
        for _ in range(n):
            send(msg)

    def recv_until_end(self, skip: bytes | None = None) -> tuple[int, int, int]:
        """Count data messages until :data:`END`, skipping leading ``skip`` messages.

        Returns (count, perf_counter_ns at the first data message, perf_counter_ns at END).
        """
        recv = self.recv
        clock = time.perf_counter_ns
        msg = recv()
        if skip is not None:
            while msg == skip:
                msg = recv()
        first = clock()
        count = 0
        while msg:
            count += 1
            msg = recv()
        return count, first, clock()

    def close(self) -> None:
        """Release the peer's resources."""


class Backend:
    """Opens peers of one implementation on one transport, inside one process."""

    def bind(self, kind: str, addr: str) -> Peer:
        """A peer of socket type ``kind`` bound to ``addr`` (``tcp://host:*`` picks a port)."""
        raise NotImplementedError

    def connect(self, kind: str, endpoint: str) -> Peer:
        """A peer of socket type ``kind`` connected to ``endpoint``."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the backend (a messaging context is terminated here)."""


class MQPeer(Peer):
    """A pyzmq-shaped socket; send and recv are the socket's own bound methods."""

    def __init__(self, sock: Any, endpoint: str) -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.send = sock.send  # type: ignore[method-assign]
        self.recv = sock.recv  # type: ignore[method-assign]

    def close(self) -> None:
        self.sock.close()


class RouterPeer(MQPeer):
    """A ROUTER socket: recv strips the routing id and remembers it; send replies to that peer."""

    def __init__(self, sock: Any, endpoint: str) -> None:
        super().__init__(sock, endpoint)
        self._route = b""
        self.send = self._send  # type: ignore[method-assign]
        self.recv = self._recv  # type: ignore[method-assign]

    def _recv(self) -> bytes:
        frames = self.sock.recv_multipart()
        self._route = frames[0]
        return frames[-1]

    def _send(self, msg: bytes) -> None:
        self.sock.send_multipart([self._route, msg])


class MQBackend(Backend):
    """zlab or pyzmq through the public API: one Context per process, one socket per peer."""

    def __init__(self, module: ModuleType) -> None:
        self.z = module
        self.ctx = module.Context()

    def _socket(self, kind: str) -> Any:
        sock = self.ctx.socket(getattr(self.z, kind))
        sock.setsockopt(self.z.LINGER, LINGER_MS)
        if kind == "SUB":
            sock.setsockopt(self.z.SUBSCRIBE, b"")
        return sock

    def _wrap(self, kind: str, sock: Any, endpoint: str) -> Peer:
        return RouterPeer(sock, endpoint) if kind == "ROUTER" else MQPeer(sock, endpoint)

    def bind(self, kind: str, addr: str) -> Peer:
        sock = self._socket(kind)
        sock.bind(addr)
        endpoint = sock.getsockopt(self.z.LAST_ENDPOINT)
        if isinstance(endpoint, bytes):
            endpoint = endpoint.decode()
        return self._wrap(kind, sock, endpoint.rstrip("\0"))

    def connect(self, kind: str, endpoint: str) -> Peer:
        sock = self._socket(kind)
        sock.connect(endpoint)
        return self._wrap(kind, sock, endpoint)

    def close(self) -> None:
        self.ctx.term()


_MODULES = {"zlab": "zlab", "pyzmq": "zmq"}


def impl_module(impl: str) -> ModuleType:
    """The pyzmq-shaped module behind ``impl`` (``zlab`` or ``zmq``); ImportError if unusable."""
    module = importlib.import_module(_MODULES[impl])
    if not hasattr(module, "Context"):
        raise ImportError(f"{_MODULES[impl]} has no Context")
    return module


def unavailable_reason(impl: str) -> str | None:
    """Why ``impl`` cannot run on this machine right now, or None."""
    if impl == "raw":
        return None
    try:
        impl_module(impl)
    except Exception as exc:
        return f"{impl} not importable" if impl == "zlab" else f"{impl} not importable: {exc}"
    return None


def impl_version(impl: str) -> str:
    """Version string recorded in the ``impl_version`` column."""
    if impl == "raw":
        return f"python {platform.python_version()}"
    try:
        module = impl_module(impl)
    except Exception:
        return "unavailable"
    if impl == "pyzmq":
        return f"{module.__version__} (libzmq {module.zmq_version()})"
    return str(getattr(module, "__version__", "unknown"))


def open_backend(impl: str, transport: str) -> Backend:
    """The backend for ``impl`` on ``transport`` in this process."""
    if impl == "raw":
        from zlab.bench.raw import RawBackend

        return RawBackend(transport)
    return MQBackend(impl_module(impl))
