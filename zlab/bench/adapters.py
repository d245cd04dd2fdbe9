# zlab.bench.adapters -- the tiny socket interface scenarios are written against.
"""Peers and backends: how one scenario drives zlab, pyzmq and the plain-Python floor alike.

Owns: the peers and backends (implementing :class:`Peer` and :class:`Backend` of
:mod:`zlab.bench.peer`, which also has the wire conventions) that open bound or connected peers
for an implementation, transport, API and security mechanism (options and ZAP handler from
:mod:`zlab.bench.security`), and the implementation
registry (module import, version, "not importable" reasons). zlab and pyzmq are driven by the same
code through their public pyzmq-shaped API only (``import zlab`` / ``import zmq``, and for the
asyncio API ``zlab.asyncio`` / ``zmq.asyncio``); ``raw`` lives in :mod:`zlab.bench.raw`.

The asyncio API behind the same (blocking-looking) peer interface, so every scenario stays written
once: each peer thread owns an event loop, registered as its running loop, so both libraries' sockets
bind to it. A call takes the future the asyncio socket returns; if it is done (the fast path), that is
the result; otherwise the peer runs its loop until it is (``run_until_complete``), which is where the
asyncio wake-up machinery is measured. Measured here: waiting through ``run_until_complete`` costs
about 6 µs more per blocking call than an ``await`` in a task; both implementations pay it.
"""

from __future__ import annotations

import asyncio
import importlib
import platform
from asyncio.events import _set_running_loop
from types import ModuleType
from typing import Any

from zlab.bench.peer import END as END  # re-exported: scenarios import the conventions from here
from zlab.bench.peer import HELLO as HELLO
from zlab.bench.peer import Backend, Peer
from zlab.bench.security import Security, apply_options, start_authenticator

LINGER_MS = 0  # peers close only after every peer reported (control "stop"): nothing left to deliver


class MQPeer(Peer):
    """A pyzmq-shaped socket; send and recv are the socket's own bound methods."""

    def __init__(self, sock: Any, endpoint: str) -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.send = sock.send  # type: ignore[method-assign]
        self.recv = sock.recv  # type: ignore[method-assign]

    def recv_within(self, timeout_s: float) -> bytes | None:
        return self.recv() if self.sock.poll(round(timeout_s * 1000)) else None

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
    """zlab or pyzmq through the public API: one Context per process, one socket per peer.

    With a security mechanism, a bound socket is the mechanism's server and a connected one its
    client; for PLAIN the first bind starts the implementation's own authenticator in the context.
    """

    def __init__(self, module: ModuleType, impl: str = "zlab", security: Security | None = None) -> None:
        self.z = module
        self.impl = impl
        self.security = security or Security()
        self.ctx = module.Context()
        self.auth: Any = None

    def _socket(self, kind: str, server: bool) -> Any:
        sock = self.ctx.socket(getattr(self.z, kind))
        sock.setsockopt(self.z.LINGER, LINGER_MS)
        if kind == "SUB":
            sock.setsockopt(self.z.SUBSCRIBE, b"")
        sec = self.security
        apply_options(self.z, sock, sec.server_options() if server else sec.client_options())
        if server and sec.needs_zap and self.auth is None:
            self.auth = start_authenticator(self.impl, self.ctx, sec)
        return sock

    def _wrap(self, kind: str, sock: Any, endpoint: str) -> Peer:
        return RouterPeer(sock, endpoint) if kind == "ROUTER" else MQPeer(sock, endpoint)

    def bind(self, kind: str, addr: str) -> Peer:
        sock = self._socket(kind, server=True)
        sock.bind(addr)
        endpoint = sock.getsockopt(self.z.LAST_ENDPOINT)
        if isinstance(endpoint, bytes):
            endpoint = endpoint.decode()
        return self._wrap(kind, sock, endpoint.rstrip("\0"))

    def connect(self, kind: str, endpoint: str) -> Peer:
        sock = self._socket(kind, server=False)
        sock.connect(endpoint)
        return self._wrap(kind, sock, endpoint)

    def _stop_auth(self) -> None:
        if self.auth is not None:
            self.auth.stop()
            self.auth = None

    def close(self) -> None:
        self._stop_auth()
        self.ctx.term()


class AsyncioPeer(Peer):
    """An asyncio socket (zlab.asyncio or zmq.asyncio) driven by the peer thread's own event loop."""

    def __init__(self, sock: Any, endpoint: str, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.endpoint = endpoint
        self.loop = loop
        asend, arecv, wait = sock.send, sock.recv, self._wait
        self.send = lambda msg: wait(asend(msg))  # type: ignore[method-assign]
        self.recv = lambda: wait(arecv())  # type: ignore[method-assign]

    def _wait(self, fut: Any) -> Any:
        """The result of ``fut``: at once if it is done, else after running the loop until it is."""
        if fut.done():
            return fut.result()
        _set_running_loop(None)  # run_until_complete refuses to start while a loop is "running"
        try:
            return self.loop.run_until_complete(fut)
        finally:
            _set_running_loop(self.loop)

    def close(self) -> None:
        self.sock.close()


class AsyncioRouterPeer(AsyncioPeer):
    """A ROUTER through asyncio: recv strips the routing id and remembers it; send replies to that peer."""

    def __init__(self, sock: Any, endpoint: str, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(sock, endpoint, loop)
        self._route = b""
        wait, arecv, asend = self._wait, sock.recv_multipart, sock.send_multipart

        def recv() -> bytes:
            frames = wait(arecv())
            self._route = frames[0]
            return frames[-1]

        self.recv = recv  # type: ignore[method-assign]
        self.send = lambda msg: wait(asend([self._route, msg]))  # type: ignore[method-assign]


class AsyncioBackend(MQBackend):
    """zlab.asyncio or zmq.asyncio: one Context per process; one event loop per peer thread."""

    def __init__(
        self,
        module: ModuleType,
        async_module: ModuleType,
        impl: str = "zlab",
        security: Security | None = None,
    ) -> None:
        self.z = module
        self.impl = impl
        self.security = security or Security()
        self.ctx = async_module.Context()
        self.auth = None
        self.loops: list[asyncio.AbstractEventLoop] = []

    def _wrap(self, kind: str, sock: Any, endpoint: str) -> Peer:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        _set_running_loop(loop)  # the sockets' futures belong to this loop, made before any call
        self.loops.append(loop)
        cls = AsyncioRouterPeer if kind == "ROUTER" else AsyncioPeer
        return cls(sock, endpoint, loop)

    def close(self) -> None:
        self._stop_auth()
        self.ctx.term()
        _set_running_loop(None)
        for loop in self.loops:
            loop.close()


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


def open_backend(impl: str, transport: str, api: str = "sync", security: Security | None = None) -> Backend:
    """The backend for ``impl`` on ``transport`` through ``api`` (sync or asyncio) in this process, its
    sockets secured by ``security`` (None: the NULL mechanism; raw has none)."""
    if impl == "raw":
        from zlab.bench.raw import RawBackend

        return RawBackend(transport)
    module = impl_module(impl)
    if api == "asyncio":
        return AsyncioBackend(module, importlib.import_module(f"{_MODULES[impl]}.asyncio"), impl, security)
    return MQBackend(module, impl, security)
