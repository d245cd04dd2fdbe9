"""Devices: proxies that make their own sockets and run in the background, with pyzmq's shape.

Owns: ``Device`` / ``ThreadDevice`` (QUEUE, FORWARDER, STREAMER: a two-socket proxy), ``Proxy`` /
``ThreadProxy`` (plus a capture, "mon", socket), ``ProxySteerable`` / ``ThreadProxySteerable``
(plus a control, "ctrl", socket) and ``MonitoredQueue`` / ``ThreadMonitoredQueue`` (copies with an
in/out prefix frame); ``monitored_queue`` itself lives in ``zlab.proxy`` and is re-exported here.

Rules: layer L3. A device is given socket *types*; ``bind_in``, ``connect_out``, ``setsockopt_mon`` ...
only record what to do, and the sockets are made, configured (options first), bound and connected in
the thread that runs the device, which alone uses them. The device ends when its context is
terminated (or on TERMINATE for a steerable one); it then closes the sockets it made, unless the
terminating context is closing them itself. The context comes from ``context_factory`` (by default
the shared ``Context.instance()``); set it on a device to use another one.
"""

from __future__ import annotations

import random
import socket as _pysocket
import threading
from collections.abc import Callable
from typing import Any

from zlab.constants import DeviceType, Errno, SocketType
from zlab.context import Context
from zlab.errors import ContextTerminated, ZMQBindError, ZMQError
from zlab.proxy import monitored_queue, proxy, proxy_steerable
from zlab.socket import Socket

QUEUE = DeviceType.QUEUE
FORWARDER = DeviceType.FORWARDER
STREAMER = DeviceType.STREAMER


class _Plan:
    """What to do with one socket once it exists: its type, options, binds and connects, in order."""

    __slots__ = ("binds", "connects", "options", "type")

    def __init__(self, socket_type: int | None) -> None:
        self.type = socket_type
        self.options: list[tuple[int, Any]] = []
        self.binds: list[str] = []
        self.connects: list[str] = []

    def make(self, ctx: Context) -> Socket:
        assert self.type is not None
        sock = ctx.socket(self.type)
        try:
            for option, value in self.options:
                sock.setsockopt(option, value)
            for addr in self.binds:
                sock.bind(addr)
            for addr in self.connects:
                sock.connect(addr)
        except BaseException:
            sock.close(0)
            raise
        return sock


def _free_tcp_port(addr: str, min_port: int, max_port: int, max_tries: int, taken: set[int]) -> int:
    """A port on ``addr`` (``tcp://host``) that nothing listens on now (it may be taken before use)."""
    host = addr.split("://", 1)[-1].strip("[]")
    if host in ("*", ""):
        host = "0.0.0.0"
    family = _pysocket.AF_INET6 if ":" in host else _pysocket.AF_INET
    any_port = min_port == 49152 and max_port == 65536
    for _ in range(max_tries):
        port = 0 if any_port else random.randrange(min_port, max_port)
        with _pysocket.socket(family, _pysocket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            port = probe.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port
    raise ZMQBindError("Could not reserve random port.")


class Device:
    """A proxy between an "in" and an "out" socket that the device makes itself.

    ``Device(zlab.QUEUE, zlab.ROUTER, zlab.DEALER)``; then ``bind_in``/``connect_in``/
    ``setsockopt_in`` (and ``_out``) record what to do with each socket, and ``start()`` runs the
    device: in the calling thread here, in a background thread in ``ThreadDevice``. An ``out_type``
    below 0 uses the in socket for both sides. The device type is recorded, as in pyzmq; every type
    runs the same proxy.
    """

    #: makes the context the device's sockets are made in (called in the device's thread)
    context_factory: Callable[[], Context] = Context.instance

    def __init__(self, device_type: int = QUEUE, in_type: int | None = None, out_type: int | None = None):
        if in_type is None:
            raise TypeError("in_type must be specified")
        if out_type is None:
            raise TypeError("out_type must be specified")
        self.device_type = device_type
        self.in_type = in_type
        self.out_type = out_type
        #: whether a background device's thread is a daemon (it only ends with its context)
        self.daemon = True
        self.done = False
        self._plans: dict[str, _Plan] = {"in": _Plan(in_type), "out": _Plan(out_type)}
        self._sockets: list[Socket] = []
        self._ports: set[int] = set()
        self._finished = threading.Event()

    # -- what to do with the sockets ---------------------------------------------------------------
    def _bind(self, which: str, addr: str) -> None:
        self._plans[which].binds.append(addr)

    def _connect(self, which: str, addr: str) -> None:
        self._plans[which].connects.append(addr)

    def _setsockopt(self, which: str, option: int, value: Any) -> None:
        self._plans[which].options.append((option, value))

    def _bind_random(
        self, which: str, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100
    ) -> int:
        port = _free_tcp_port(addr, min_port, max_port, max_tries, self._ports)
        self._bind(which, f"{addr}:{port}")
        return port

    def bind_in(self, addr: str) -> None:
        """Bind the in socket to ``addr`` when the device starts."""
        self._bind("in", addr)

    def bind_in_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr`` (``tcp://host``), bind the in socket to it at start; return it."""
        return self._bind_random("in", addr, *args, **kwargs)

    def connect_in(self, addr: str) -> None:
        """Connect the in socket to ``addr`` when the device starts."""
        self._connect("in", addr)

    def setsockopt_in(self, option: int, value: Any) -> None:
        """Set an option of the in socket when the device starts (before any bind or connect)."""
        self._setsockopt("in", option, value)

    def bind_out(self, addr: str) -> None:
        """Bind the out socket to ``addr`` when the device starts."""
        self._bind("out", addr)

    def bind_out_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr``, bind the out socket to it at start; return it."""
        return self._bind_random("out", addr, *args, **kwargs)

    def connect_out(self, addr: str) -> None:
        """Connect the out socket to ``addr`` when the device starts."""
        self._connect("out", addr)

    def setsockopt_out(self, option: int, value: Any) -> None:
        """Set an option of the out socket when the device starts."""
        self._setsockopt("out", option, value)

    # -- running -------------------------------------------------------------------------------------
    def _setup_sockets(self) -> dict[str, Socket]:
        """Make every socket of the device, in its own thread."""
        ctx = self.context_factory()
        self._context = ctx
        made: dict[str, Socket] = {}
        for which, plan in self._plans.items():
            if which == "out" and self.out_type < 0:
                made["out"] = made["in"]
                continue
            made[which] = plan.make(ctx)
            self._sockets.append(made[which])
        return made

    def run_device(self) -> Any:
        """Make the sockets and run the proxy (in the calling thread)."""
        s = self._setup_sockets()
        return proxy(s["in"], s["out"])

    def run(self) -> None:
        """Run the device until its context ends; close its sockets afterwards."""
        try:
            self.run_device()
        except ContextTerminated:
            pass
        except ZMQError as exc:
            if exc.errno != Errno.ENOTSOCK:
                raise
        finally:
            for sock in self._sockets:
                if not sock.closed and not sock.core.terminated:  # a terminating context closes its own
                    sock.close()
            self.done = True
            self._finished.set()

    def start(self) -> None:
        """Run the device (in the calling thread: see ``ThreadDevice`` for the background)."""
        self.run()

    def join(self, timeout: float | None = None) -> None:
        """Wait (up to ``timeout`` seconds) for the device to finish."""
        self._finished.wait(timeout)


class BackgroundDevice(Device):
    """A device that runs in a background launcher (a thread here)."""

    launcher: threading.Thread | None = None

    def start(self) -> None:
        """Start the device in the background."""
        self.launcher = threading.Thread(
            target=self.run, name=f"zlab-{type(self).__name__}", daemon=self.daemon
        )
        self.launcher.start()

    def join(self, timeout: float | None = None) -> None:
        """Wait (up to ``timeout`` seconds) for the device's thread to end."""
        if self.launcher is not None:
            self.launcher.join(timeout)


class ThreadDevice(BackgroundDevice):
    """A ``Device`` in a background thread."""


class Proxy(Device):
    """A device that also sends a copy of every message to a third, "mon", socket (PUB by default).

    ``Proxy(in_type, out_type, mon_type)``, configured with ``bind_mon``, ``connect_mon`` and
    ``setsockopt_mon`` besides the in and out methods.
    """

    def __init__(self, in_type: int, out_type: int, mon_type: int = SocketType.PUB) -> None:
        super().__init__(QUEUE, in_type, out_type)
        self.mon_type = mon_type
        self._plans["mon"] = _Plan(mon_type)

    def bind_mon(self, addr: str) -> None:
        """Bind the mon socket to ``addr`` when the device starts."""
        self._bind("mon", addr)

    def bind_mon_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr``, bind the mon socket to it at start; return it."""
        return self._bind_random("mon", addr, *args, **kwargs)

    def connect_mon(self, addr: str) -> None:
        """Connect the mon socket to ``addr`` when the device starts."""
        self._connect("mon", addr)

    def setsockopt_mon(self, option: int, value: Any) -> None:
        """Set an option of the mon socket when the device starts."""
        self._setsockopt("mon", option, value)

    def run_device(self) -> Any:
        s = self._setup_sockets()
        return proxy(s["in"], s["out"], s["mon"])


class ThreadProxy(Proxy, BackgroundDevice):
    """A ``Proxy`` in a background thread."""


class ProxySteerable(Proxy):
    """A ``Proxy`` with a fourth, "ctrl", socket that steers it (PAUSE, RESUME, TERMINATE, STATISTICS).

    ``ProxySteerable(in_type, out_type, mon_type, ctrl_type)``, configured with ``bind_ctrl``,
    ``connect_ctrl`` and ``setsockopt_ctrl``. TERMINATE ends the device.
    """

    def __init__(
        self, in_type: int, out_type: int, mon_type: int = SocketType.PUB, ctrl_type: int | None = None
    ) -> None:
        super().__init__(in_type, out_type, mon_type)
        if ctrl_type is None:
            raise TypeError("ctrl_type must be specified")
        self.ctrl_type = ctrl_type
        self._plans["ctrl"] = _Plan(ctrl_type)

    def bind_ctrl(self, addr: str) -> None:
        """Bind the ctrl socket to ``addr`` when the device starts."""
        self._bind("ctrl", addr)

    def bind_ctrl_to_random_port(self, addr: str, *args: int, **kwargs: int) -> int:
        """Pick a free port on ``addr``, bind the ctrl socket to it at start; return it."""
        return self._bind_random("ctrl", addr, *args, **kwargs)

    def connect_ctrl(self, addr: str) -> None:
        """Connect the ctrl socket to ``addr`` when the device starts."""
        self._connect("ctrl", addr)

    def setsockopt_ctrl(self, option: int, value: Any) -> None:
        """Set an option of the ctrl socket when the device starts."""
        self._setsockopt("ctrl", option, value)

    def run_device(self) -> Any:
        s = self._setup_sockets()
        return proxy_steerable(s["in"], s["out"], s["mon"], s["ctrl"])


class ThreadProxySteerable(ProxySteerable, BackgroundDevice):
    """A ``ProxySteerable`` in a background thread."""


class MonitoredQueue(Proxy):
    """A ``Proxy`` whose copies on the mon socket start with ``in_prefix`` or ``out_prefix`` (where the
    message came from); between two ROUTERs the routing ids are swapped (see ``monitored_queue``)."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = SocketType.PUB,
        in_prefix: bytes = b"in",
        out_prefix: bytes = b"out",
    ) -> None:
        super().__init__(in_type, out_type, mon_type)
        self._in_prefix = in_prefix
        self._out_prefix = out_prefix

    def run_device(self) -> Any:
        s = self._setup_sockets()
        return monitored_queue(s["in"], s["out"], s["mon"], self._in_prefix, self._out_prefix)


class ThreadMonitoredQueue(MonitoredQueue, BackgroundDevice):
    """A ``MonitoredQueue`` in a background thread."""


__all__ = [
    "FORWARDER",
    "QUEUE",
    "STREAMER",
    "BackgroundDevice",
    "Device",
    "MonitoredQueue",
    "Proxy",
    "ProxySteerable",
    "ThreadDevice",
    "ThreadMonitoredQueue",
    "ThreadProxy",
    "ThreadProxySteerable",
    "monitored_queue",
]
