"""``Context``: the container of sockets, the inproc namespace and the I/O thread.

Owns: socket creation, the inproc registry, the reactor (started on first tcp/ipc use), and
termination. Rules: layer L3. ``term()`` never hangs on a socket left open: it closes such sockets
with their LINGER, an infinite LINGER bounded to ``LEAKED_SOCKET_LINGER_MS``. A socket the
application closed itself keeps its LINGER as given (-1: until its messages are sent).
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Any, ClassVar

from zlab.constants import ContextOption, SocketOption
from zlab.errors import ContextTerminated, ZMQError
from zlab.io.inproc import InprocRegistry
from zlab.io.reactor import Reactor
from zlab.io.zap import ZapClient
from zlab.socket import Socket, declares

#: how long term() lets a socket that was never closed, with LINGER -1, flush its messages
LEAKED_SOCKET_LINGER_MS = 1000


class Context:
    """A zlab context: ``ctx = zlab.Context(); s = ctx.socket(zlab.REQ)``."""

    _instance: ClassVar[Context | None] = None
    _instance_pid: ClassVar[int | None] = None
    _instance_lock: ClassVar[threading.Lock] = threading.Lock()
    _socket_class: ClassVar[type[Socket]] = Socket
    # the instance's own attributes (pyzmq's rule: other names set as attributes are options)
    io_threads: int
    inproc: InprocRegistry
    closed: bool
    #: default socket options, applied to every socket made afterwards (``ctx.setsockopt``)
    sockopts: dict[int, Any]

    def __init__(self, io_threads: int = 1, **kwargs: Any) -> None:
        self.sockopts = {}
        self.io_threads = io_threads
        self.inproc = InprocRegistry()
        self._sockets: weakref.WeakSet[Socket] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._reactor: Reactor | None = None
        self._zap: ZapClient | None = None
        self.closed = False
        self._options: dict[int, int] = {
            ContextOption.IO_THREADS: io_threads,
            ContextOption.MAX_SOCKETS: 1023,
        }

    @classmethod
    def instance(cls, io_threads: int = 1) -> Context:
        """The process-wide shared context (a new one if the last was terminated, or in a forked
        child: the parent's I/O thread does not exist there)."""
        with cls._instance_lock:
            inst = cls._instance
            if inst is None or inst.closed or cls._instance_pid != os.getpid():
                inst = cls._instance = cls(io_threads)
                cls._instance_pid = os.getpid()
            return inst

    @property
    def reactor(self) -> Reactor:
        """The I/O thread's reactor, started on first use."""
        r = self._reactor
        if r is None:
            with self._lock:
                if self.closed:
                    raise ContextTerminated()
                r = self._reactor
                if r is None:
                    r = self._reactor = Reactor(name=f"zlab-io-{id(self):x}")
                    r.start()
        return r

    def _zap_client(self) -> ZapClient:
        """The context's ZAP client (what a server-side connection asks its ZAP handler through)."""
        zap = self._zap
        if zap is None:
            with self._lock:
                zap = self._zap
                if zap is None:
                    zap = self._zap = ZapClient(self.inproc, lambda: self.reactor)
        return zap

    def _reactor_call(self, fn: Any, *args: Any) -> None:
        r = self._reactor
        if r is not None:
            r.call_soon(fn, *args)

    def socket(self, socket_type: int, socket_class: type[Socket] | None = None, **kwargs: Any) -> Socket:
        """A new socket of ``socket_type`` (``zlab.PUSH`` ...); options may be given as keywords.

        ``socket_class`` overrides the context's own, as in pyzmq: ``zlab.Socket`` gives a blocking
        socket in a ``zlab.asyncio.Context`` (a ZAP handler thread in an asyncio program does so).
        """
        if self.closed:
            raise ContextTerminated()
        sock = (socket_class or self._socket_class)(self, socket_type)
        for name, value in kwargs.items():
            setattr(sock, name, value)
        for option, value in self.sockopts.items():
            try:
                sock.setsockopt(option, value)
            except ZMQError:  # as pyzmq: a default that does not apply to this type (SUBSCRIBE on PUSH)
                pass
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _socket_closed(self, sock: Socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def term(self) -> None:
        """Terminate: blocked calls raise ContextTerminated; open sockets are closed (with LINGER)."""
        if self.closed:
            return
        self.closed = True
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            sock.core.terminate()
        for sock in open_sockets:  # left open: LINGER applies, but an infinite one is bounded
            linger = sock.options.linger
            sock.close(linger if linger >= 0 else LEAKED_SOCKET_LINGER_MS)
        reactor = self._reactor
        if reactor is not None:
            self._wait_lingering(reactor)
            reactor.stop()

    def _wait_lingering(self, reactor: Reactor) -> None:
        """Wait while connections are still flushing lingering messages (polled on the reactor)."""
        done = threading.Event()
        idle: list[bool] = []

        def probe() -> None:
            idle.append(reactor.lingering_count() == 0)
            done.set()

        while True:
            done.clear()
            reactor.call_soon(probe)
            if not done.wait(5.0) or idle.pop():
                return
            time.sleep(0.005)

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with ``linger`` ms if given) and terminate."""
        with self._lock:
            open_sockets = list(self._sockets)
        for sock in open_sockets:
            sock.close(linger)
        self.term()

    def set(self, option: int, value: int) -> None:
        """Set a context option (IO_THREADS, MAX_SOCKETS)."""
        self._options[int(option)] = value

    def get(self, option: int) -> int:
        """Read a context option."""
        return self._options[int(option)]

    def setsockopt(self, option: int, value: Any) -> None:
        """Set a default socket option for sockets made afterwards (as pyzmq); a default that
        does not apply to a socket's type is skipped for that socket."""
        self.sockopts[int(option)] = value

    def getsockopt(self, option: int) -> Any:
        """A default socket option set with ``setsockopt`` (KeyError if none)."""
        return self.sockopts[int(option)]

    def __setattr__(self, name: str, value: Any) -> None:
        """pyzmq's rules: the context's own (or ``_``-prefixed, or class-declared) attributes as
        usual; a context option's name sets it (``ctx.max_sockets``), a socket option's name sets
        a default for new sockets (``ctx.linger = 0``); anything else is an AttributeError."""
        if name in self.__dict__ or name.startswith("_") or declares(type(self), name):
            object.__setattr__(self, name, value)
            return
        upper = name.upper()
        if upper in ContextOption.__members__:
            self.set(ContextOption[upper], value)
        elif upper in SocketOption.__members__:
            self.sockopts[int(SocketOption[upper])] = value
        else:
            raise AttributeError(f"No such context or socket option: {upper}")

    def __getattr__(self, name: str) -> Any:
        upper = name.upper()
        if name.startswith("_"):
            raise AttributeError(name)
        if upper in ContextOption.__members__:
            try:
                return self._options[int(ContextOption[upper])]
            except KeyError:
                raise AttributeError(name) from None
        if upper in SocketOption.__members__ and int(SocketOption[upper]) in self.sockopts:
            return self.sockopts[int(SocketOption[upper])]
        raise AttributeError(name)

    def __delattr__(self, name: str) -> None:
        upper = name.upper()
        if name not in self.__dict__ and upper in SocketOption.__members__:
            try:
                del self.sockopts[int(SocketOption[upper])]
            except KeyError:
                raise AttributeError(name) from None
            return
        object.__delattr__(self, name)

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.term()

    def __repr__(self) -> str:
        name = "zlab.Context" if type(self).__module__ == __name__ else f"{type(self).__module__}.Context"
        if self.closed:
            return f"<{name} terminated>"
        with self._lock:
            socks = list(self._sockets)
        kinds = ", ".join(sorted(s._summary()["type"] for s in socks))
        io = "I/O thread running" if self._reactor is not None else "no I/O thread yet"
        return f"<{name} {len(socks)} socket{'' if len(socks) == 1 else 's'}{f' ({kinds})' if kinds else ''}, {io}>"
