"""``Socket``: the pyzmq-shaped socket facade.

Owns: the public socket API (bind/connect/unbind/disconnect/close, send/recv and their multipart,
string, json and pyobj forms, options as methods and attributes, EVENTS). It turns frames and
flags into complete messages for the routing core (``zlab.sockets``) and endpoints into transports
(``zlab.io``), wiring the two through a ``SocketLink``.

Rules: layer L3. A ``Socket`` is used from one thread at a time (as in libzmq). The send and recv
fast paths do one type check, one flag test and one call into the core per message.
"""

from __future__ import annotations

import inspect
import itertools
import json
import pickle
import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, overload

from zlab import sockets as _sockets
from zlab.constants import Errno, Event, Flag, PollEvent, SocketOption, SocketType
from zlab.errors import ContextTerminated, ZMQBindError, ZMQError
from zlab.frame import Frame, MessageTracker, to_bytes
from zlab.io.endpoint import parse
from zlab.io.inproc import InprocPipe
from zlab.io.link import SocketLink
from zlab.io.transport import Connecter, Listener
from zlab.options import BytesOption, IntOption, Options
from zlab.pipe import Msg, WakeFd
from zlab.sockets.base import SocketCore
from zlab.sockets.pubsub import XSub
from zlab.utils.monitor import MonitorEmitter
from zlab.utils.statistics import Statistics, peer_row

if TYPE_CHECKING:
    from zlab.io.inproc import InprocRegistry
    from zlab.io.link import ZapRequester
    from zlab.io.reactor import Reactor


class SocketContext(Protocol):
    """What a socket needs of its context (``zlab.Context``, which imports this module)."""

    closed: bool
    inproc: InprocRegistry
    _reactor: Reactor | None

    @property
    def reactor(self) -> Reactor: ...

    def _zap_client(self) -> ZapRequester: ...

    def _reactor_call(self, fn: Any, *args: Any) -> None: ...

    def _socket_closed(self, sock: Socket) -> None: ...

    def socket(self, socket_type: int) -> Socket: ...


NOBLOCK = int(Flag.NOBLOCK)  # plain ints: tested on every send and recv
SNDMORE = int(Flag.SNDMORE)
_OPTION_NAMES = {name.lower(): int(member) for name, member in SocketOption.__members__.items()}
_TIMEOUT_CACHE = {SocketOption.SNDTIMEO, SocketOption.RCVTIMEO}
_monitor_ids = itertools.count(1)  # names get_monitor_socket() gives its inproc endpoints


def declares(cls: type, name: str) -> bool:
    """Whether ``cls`` or a base defines or annotates ``name`` (pyzmq's plain-attribute rule)."""
    return any(name in c.__dict__ or name in inspect.get_annotations(c) for c in cls.__mro__)


class EndpointContext:
    """What ``bind``/``connect`` return: ``with s.bind(addr):`` unbinds (disconnects) on exit."""

    __slots__ = ("addr", "kind", "socket")

    def __init__(self, socket: Socket, kind: str, addr: str) -> None:
        self.socket = socket
        self.kind = kind
        self.addr = addr

    def __enter__(self) -> Socket:
        return self.socket

    def __exit__(self, *exc: object) -> None:
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(self.addr)
        else:
            self.socket.disconnect(self.addr)

    def __repr__(self) -> str:
        return f"<EndpointContext({self.kind}={self.addr!r})>"


class Socket:
    """A zlab socket: create it with ``Context.socket(zlab.REQ)``."""

    # Their types (set with object.__setattr__ in __init__, since attribute writes are options).
    context: SocketContext
    options: Options
    core: SocketCore
    link: SocketLink
    _closed: bool
    _parts: list[bytes] | None
    _rparts: list[bytes] | None
    _sndtimeo: float | None
    _rcvtimeo: float | None
    _bound: dict[str, Any]
    _connected: dict[str, list[Any]]
    _last_endpoint: bytes
    _wake_fd: WakeFd | None
    _wake_lock: threading.Lock
    _monitor: MonitorEmitter | None
    _monitor_socket: Socket | None
    _csend: Callable[[Msg, float | None], object]
    _crecv: Callable[[float | None], Msg]

    def __init__(self, context: SocketContext, socket_type: int) -> None:
        if isinstance(socket_type, bool) or not isinstance(socket_type, int):
            raise TypeError(f"socket type must be an int such as zlab.REQ, not {socket_type!r}")
        options = Options(type=int(socket_type))
        core = _sockets.create(int(socket_type), options)
        object.__setattr__(self, "context", context)
        object.__setattr__(self, "options", options)
        object.__setattr__(self, "core", core)
        link = SocketLink(options, core.attach, core.detach, core.attach_on_connect)
        if isinstance(core, XSub):  # SUB, XSUB: connections send these when they are made
            link.subscriptions = core.subscriptions
            link.sub_lock = core.sub_lock
        link.zap = context._zap_client
        object.__setattr__(self, "link", link)
        object.__setattr__(self, "_closed", False)
        object.__setattr__(self, "_parts", None)  # frames sent with SNDMORE, waiting for the last
        object.__setattr__(self, "_rparts", None)  # frames of a message being received one by one
        object.__setattr__(self, "_sndtimeo", None)
        object.__setattr__(self, "_rcvtimeo", None)
        object.__setattr__(self, "_bound", {})
        object.__setattr__(self, "_connected", {})
        object.__setattr__(self, "_last_endpoint", b"")
        object.__setattr__(self, "_wake_fd", None)
        object.__setattr__(self, "_wake_lock", threading.Lock())
        object.__setattr__(self, "_monitor", None)  # the MonitorEmitter while monitored
        object.__setattr__(self, "_monitor_socket", None)  # what get_monitor_socket() returned
        object.__setattr__(self, "_csend", core.send)  # the core's bound methods, looked up once
        object.__setattr__(self, "_crecv", core.recv)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._closed

    @property
    def socket_type(self) -> int:
        """The socket type (``zlab.REQ`` ...)."""
        return self.options.type

    def close(self, linger: int | None = None) -> None:
        """Close the socket. Pending outgoing messages are flushed for ``linger`` ms (-1: until sent)."""
        if self._closed:
            return
        object.__setattr__(self, "_closed", True)
        linger_ms = self.options.linger if linger is None else int(linger)
        self.link.closed = True
        self.core.close()
        ctx = self.context
        for handle in self._bound.values():
            if isinstance(handle, Listener):
                handle.release_path()
                ctx._reactor_call(handle.close, linger_ms)
        for handles in self._connected.values():
            for handle in handles:
                if isinstance(handle, Connecter):
                    ctx._reactor_call(handle.close, linger_ms)
        for pipe in list(self.core.pipes):
            if isinstance(pipe, InprocPipe):
                pipe.terminate()
        ctx.inproc.forget(self.link)
        if self._monitor is not None:  # after the endpoints' CLOSED events, as libzmq
            if ctx._reactor is not None:
                ctx._reactor_call(self._stop_monitor)
            else:
                self._stop_monitor()
        wake = self._wake_fd
        if wake is not None:
            wake.disarm()
            wake.close()
        ctx._socket_closed(self)

    def __enter__(self) -> Socket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed and getattr(self.context, "closed", True) is False:
                self.close()
        except Exception:
            pass

    def _check(self) -> None:
        if self.core.terminated:
            raise ContextTerminated()
        if self._closed:
            raise ZMQError(Errno.ENOTSOCK, "Socket operation on a closed socket")

    # -- endpoints ---------------------------------------------------------------------------
    def bind(self, addr: str) -> EndpointContext:
        """Accept connections at ``addr`` (``tcp://127.0.0.1:*`` picks a free port; see LAST_ENDPOINT).

        Returns a context manager: ``with s.bind(addr):`` unbinds on exit, as in pyzmq."""
        self._check()
        ep = parse(addr, bind=True, ipv6=self.options.ipv6)
        if ep.transport == "inproc":
            self._check_inproc(ep.text)
            self.context.inproc.bind(ep.address, self.link)  # type: ignore[arg-type]  # inproc: a str
            self._bound[ep.text] = ep.address
            object.__setattr__(self, "_last_endpoint", ep.text.encode())
            self.core.settle()  # what libzmq does in a bind (XPUB_WELCOME_MSG to the peers attached so far)
            return EndpointContext(self, "bind", ep.text)
        listener = Listener(self.context.reactor, self.link, ep)
        self._bound[listener.last_endpoint] = listener
        object.__setattr__(self, "_last_endpoint", listener.last_endpoint.encode())
        self.core.settle()  # what libzmq does in a bind (XPUB_WELCOME_MSG to the peers attached so far)
        return EndpointContext(self, "bind", listener.last_endpoint)

    def bind_to_random_port(
        self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100
    ) -> int:
        """Bind ``addr`` (``tcp://host``) to a random port in [min_port, max_port); return the port."""
        if min_port == 49152 and max_port == 65536:
            self.bind(f"{addr}:*")
            return int(self._last_endpoint.rsplit(b":", 1)[1])
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except ZMQError as exc:
                if exc.errno in (Errno.EADDRINUSE, Errno.EACCES if hasattr(Errno, "EACCES") else 13):
                    continue
                raise
            return port
        raise ZMQBindError("Could not bind socket to random port.")

    def connect(self, addr: str) -> EndpointContext:
        """Connect to ``addr``; the connection is made (and remade) in the background.

        Returns a context manager: ``with s.connect(addr):`` disconnects on exit, as in pyzmq."""
        self._check()
        ep = parse(addr, bind=False, ipv6=self.options.ipv6)
        if ep.transport == "inproc":
            self._check_inproc(ep.text)
        # CONNECT_ROUTING_ID: how this socket names the peer of this connect; used up by it (libzmq)
        peer_id = self.options.connect_routing_id
        if peer_id:
            table = getattr(self.core, "table", None)
            if table is not None and peer_id in table.by_id:
                raise ZMQError(Errno.EINVAL, f"CONNECT_ROUTING_ID {peer_id!r} already names a peer")
            self.options.connect_routing_id = b""
        if ep.transport == "inproc":
            handle: Any = self.context.inproc.connect(ep.address, self.link, peer_id)  # type: ignore[arg-type]  # inproc: a str
        else:
            handle = Connecter(self.context.reactor, self.link, ep, peer_id)
        self._connected.setdefault(ep.text, []).append(handle)
        self.core.settle()  # what libzmq does in a connect (XPUB_WELCOME_MSG to the new peers)
        object.__setattr__(self, "_last_endpoint", ep.text.encode())
        return EndpointContext(self, "connect", ep.text)

    def _check_inproc(self, text: str) -> None:
        if self.options.type == SocketType.STREAM:  # raw bytes need a byte stream: tcp or ipc
            raise ZMQError(Errno.ENOCOMPATPROTO, f"a STREAM socket takes tcp:// or ipc://, not {text!r}")

    def unbind(self, addr: str | bytes) -> None:
        """Stop accepting at ``addr`` (as bound, or as LAST_ENDPOINT reported it)."""
        self._check()
        text = addr.decode() if isinstance(addr, bytes) else addr
        handle = self._bound.pop(text, None)
        if handle is None:
            raise ZMQError(Errno.ENOENT, f"not bound to {text!r}")
        if isinstance(handle, Listener):
            handle.release_path()
            self.context._reactor_call(handle.close, 0)
        else:
            self.context.inproc.unbind(handle, self.link)

    def disconnect(self, addr: str | bytes) -> None:
        """Drop the connection(s) made by ``connect(addr)``."""
        self._check()
        text = addr.decode() if isinstance(addr, bytes) else addr
        handles = self._connected.pop(text, None)
        if not handles:
            raise ZMQError(Errno.ENOENT, f"not connected to {text!r}")
        for handle in handles:
            if isinstance(handle, Connecter):
                handle.detach_pipe()  # out of load-balancing now, flushed or dropped by the I/O thread
                self.context._reactor_call(handle.close, self.options.linger)
            elif handle is not None:
                handle.terminate()

    # -- monitoring --------------------------------------------------------------------------
    def monitor(self, addr: str | bytes | None, events: int = Event.ALL) -> None:
        """Report this socket's ``events`` (a mask of ``zlab.EVENT_*``) on a PAIR socket bound at
        the inproc endpoint ``addr``, in libzmq's two-frame format (see ``zlab.utils.monitor``);
        ``None`` stops (MONITOR_STOPPED is sent). A monitor already running is stopped first.

        As in libzmq, an event is dropped while no PAIR is connected to ``addr`` or its queue is full.
        """
        self._check()
        if addr is None:
            self._stop_monitor()
            return
        text = addr.decode() if isinstance(addr, bytes) else addr
        ep = parse(text, bind=True)
        if ep.transport != "inproc":
            raise ZMQError(Errno.EPROTONOSUPPORT, f"a monitor endpoint must be inproc://, not {text!r}")
        self._stop_monitor()
        pair = self.context.socket(SocketType.PAIR)
        pair.setsockopt(SocketOption.LINGER, 0)
        try:
            pair.bind(text)
        except BaseException:
            pair.close(linger=0)
            raise
        emitter = MonitorEmitter(pair, events)
        object.__setattr__(self, "_monitor", emitter)
        self.link.monitor = emitter

    def get_monitor_socket(self, events: int | None = None, addr: str | None = None) -> Socket:
        """Monitor this socket (at ``addr``, by default ``inproc://monitor.s-<n>``) and return a
        PAIR socket connected to it: read events with ``zlab.utils.monitor.recv_monitor_message``.
        While that socket stays open, calling this again returns it."""
        current = self._monitor_socket
        if current is not None and not current.closed and self._monitor is not None:
            return current
        if addr is None:
            addr = f"inproc://monitor.s-{next(_monitor_ids)}"
        self.monitor(addr, Event.ALL if events is None else events)
        sock = self.context.socket(SocketType.PAIR)
        sock.connect(addr)
        object.__setattr__(self, "_monitor_socket", sock)
        return sock

    def disable_monitor(self) -> None:
        """Stop monitoring (MONITOR_STOPPED is the last event sent)."""
        object.__setattr__(self, "_monitor_socket", None)
        self._stop_monitor()

    def _stop_monitor(self) -> None:
        emitter = self._monitor
        if emitter is None:
            return
        object.__setattr__(self, "_monitor", None)
        if self.link.monitor is emitter:
            self.link.monitor = None
        emitter.stop()

    # -- sending -----------------------------------------------------------------------------
    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> MessageTracker | None:
        """Send one frame; with ``SNDMORE`` more frames of the same message follow."""
        if type(data) is not bytes:
            data = to_bytes(data)
        # the fast path: a whole message. "routing_id is group" tests both draft arguments for None in
        # one comparison (an int and a str are never the same object; a second test costs ~10 ns)
        if not flags and self._parts is None and not self._closed and routing_id is group:  # type: ignore[comparison-overlap]  # see above
            self._csend(data, self._sndtimeo)
            return MessageTracker() if track else None
        if self._closed:
            self._check()
        if routing_id is not None or group is not None:  # as pyzmq built without draft support
            what = "CLIENT-SERVER" if routing_id is not None else "RADIO-DISH"
            raise RuntimeError(
                f"routing_id= and group= need draft sockets ({what}), which zlab does not offer"
            )
        parts = self._parts
        if flags & SNDMORE:
            if parts is None:
                object.__setattr__(self, "_parts", [data])
            else:
                parts.append(data)
            return MessageTracker() if track else None
        if parts is not None:
            parts.append(data)
            object.__setattr__(self, "_parts", None)
            try:
                self._csend(parts, 0 if flags & NOBLOCK else self._sndtimeo)
            except BaseException:
                parts.pop()
                object.__setattr__(self, "_parts", parts)
                raise
        else:
            self._csend(data, 0 if flags & NOBLOCK else self._sndtimeo)
        return MessageTracker() if track else None

    def send_multipart(
        self, msg_parts: Any, flags: int = 0, copy: bool = True, track: bool = False, **kwargs: Any
    ) -> MessageTracker | None:
        """Send a whole message (a sequence of frames) atomically."""
        frames = [p if type(p) is bytes else to_bytes(p) for p in msg_parts]
        if not frames:
            raise ZMQError(Errno.EINVAL, "a message needs at least one frame")
        if self._closed:
            self._check()
        if self._parts is not None:
            frames = self._parts + frames
            object.__setattr__(self, "_parts", None)
        if flags & SNDMORE:
            object.__setattr__(self, "_parts", frames)
            return MessageTracker() if track else None
        self._csend(frames[0] if len(frames) == 1 else frames, 0 if flags & NOBLOCK else self._sndtimeo)
        return MessageTracker() if track else None

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kw: Any
    ) -> Any:
        """Send a str, encoded."""
        if not isinstance(u, str):
            raise TypeError(f"send_string takes str, not {type(u).__name__}")
        return self.send(u.encode(encoding), flags, copy, **kw)

    send_unicode = send_string

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> Any:
        """Send an object as JSON."""
        return self.send(json.dumps(obj, **kwargs).encode("utf-8"), flags)

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL, **kw: Any) -> Any:
        """Send a picklable object (trusted peers only)."""
        return self.send(pickle.dumps(obj, protocol), flags, **kw)

    def send_serialized(self, msg: Any, serialize: Any, flags: int = 0, copy: bool = True, **kw: Any) -> Any:
        """Send ``serialize(msg)`` (a list of frames) as one message."""
        return self.send_multipart(serialize(msg), flags, copy, **kw)

    # -- receiving ---------------------------------------------------------------------------
    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive one frame; RCVMORE tells whether more frames of the message follow."""
        if self._rparts is None and not self._closed:  # the fast path: a new message
            msg = self._crecv(0 if flags else self._rcvtimeo)
            if isinstance(msg, bytes):
                return msg if copy else self._frame(msg, False)
            rest = msg[:0:-1]  # the other frames, reversed so that pop() takes the next one
            if rest:
                object.__setattr__(self, "_rparts", rest)
            data = msg[0]
        else:
            rparts = self._rparts
            if not rparts:
                self._check()  # closed
            data = rparts.pop()  # type: ignore[union-attr]  # None only when closed: _check() raised
            if not rparts:
                object.__setattr__(self, "_rparts", None)
        if copy:
            return data
        return self._frame(data, self._rparts is not None)

    def _frame(self, data: bytes, more: bool) -> Frame:
        """A received frame for copy=False, carrying its connection's properties (Frame.get)."""
        frame = Frame(data)
        frame.more = more
        pipe = self.core.fq.pipe
        if pipe is not None:
            frame.meta = pipe.meta
        return frame

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list:
        """Receive every frame of the next message."""
        if self._rparts:
            frames = [self.recv(flags, copy)]
            while self._rparts:
                frames.append(self.recv(flags, copy))
            return frames
        if self._closed:
            self._check()
        msg = self._crecv(0 if flags & NOBLOCK else self._rcvtimeo)
        frames = [msg] if type(msg) is bytes else list(msg)
        if copy:
            return frames
        last = len(frames) - 1
        return [self._frame(f, i < last) for i, f in enumerate(frames)]

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> int:
        """Receive one frame into ``buffer`` (writable, contiguous); return the frame's full size.

        At most ``nbytes`` octets (0: the buffer's size) are stored; a larger frame is truncated
        and the rest of it is lost, so a return value above that limit means truncation (pyzmq's
        semantics). RCVMORE tells whether more frames of the message follow."""
        if nbytes < 0:
            raise ValueError(f"nbytes={nbytes} must be non-negative")
        view = memoryview(buffer)
        if view.readonly:
            raise BufferError("recv_into needs a writable buffer")
        if not view.c_contiguous:
            raise BufferError("recv_into needs a contiguous buffer")
        if view.format != "B" or view.ndim != 1:
            view = view.cast("B")
        size = len(view)
        if nbytes == 0:
            nbytes = size
        elif nbytes > size:
            raise ValueError(f"nbytes={nbytes} too big for a buffer of {size} B")
        data = Socket.recv(self, flags)  # the blocking recv, also in subclasses (zlab.asyncio)
        n = min(len(data), nbytes)
        view[:n] = data[:n]
        return len(data)

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """Receive a frame and decode it."""
        return self.recv(flags).decode(encoding)

    recv_unicode = recv_string

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """Receive a JSON frame."""
        return json.loads(self.recv(flags), **kwargs)

    def recv_pyobj(self, flags: int = 0) -> Any:
        """Receive a pickled object (trusted peers only)."""
        return pickle.loads(self.recv(flags))

    def recv_serialized(self, deserialize: Any, flags: int = 0, copy: bool = True) -> Any:
        """Receive a message and return ``deserialize(frames)``."""
        return deserialize(self.recv_multipart(flags, copy))

    # -- options -----------------------------------------------------------------------------
    def setsockopt(self, option: int, value: Any) -> None:
        """Set a socket option (``zlab.LINGER`` ...). As in libzmq, HWMs apply to pipes made afterwards."""
        self._check()
        option = int(option)
        if option in (SocketOption.SUBSCRIBE, SocketOption.UNSUBSCRIBE):
            manual = self.options.type == SocketType.XPUB and self.options.xpub_manual
            if self.options.type != SocketType.SUB and not manual:
                raise ZMQError(
                    Errno.EINVAL, "SUBSCRIBE/UNSUBSCRIBE apply to SUB sockets (and XPUB with XPUB_MANUAL)"
                )
            if isinstance(value, str):
                raise TypeError("SUBSCRIBE takes bytes, not str (or use subscribe())")
            topic = bytes(value)
            core: Any = self.core  # an XPub or a Sub here
            if manual:
                core.manual_subscription(option == SocketOption.SUBSCRIBE, topic)
            elif option == SocketOption.SUBSCRIBE:
                core.subscribe(topic)
            else:
                core.unsubscribe(topic)
            return
        if option == SocketOption.HWM:
            self.options.set(SocketOption.SNDHWM, value)
            option = SocketOption.RCVHWM
        self.options.set(option, value)
        self.core.configure()
        if option in _TIMEOUT_CACHE:
            attr = "_sndtimeo" if option == SocketOption.SNDTIMEO else "_rcvtimeo"
            object.__setattr__(self, attr, Options.seconds(int(value)))

    @overload
    def getsockopt(self, option: BytesOption) -> bytes: ...
    @overload
    def getsockopt(self, option: IntOption) -> int: ...
    @overload
    def getsockopt(self, option: int) -> int | bytes: ...
    def getsockopt(self, option: int) -> int | bytes:
        """Read a socket option: bytes for the identity, credential and endpoint options, else an int
        (bools as 0/1), as in pyzmq."""
        option = int(option)
        if option == SocketOption.LAST_ENDPOINT:
            return self._last_endpoint
        self._check()
        if option == SocketOption.RCVMORE:
            return int(bool(self._rparts))
        if option == SocketOption.EVENTS:
            return self._events()
        if option == SocketOption.FD:
            return self._get_fd()
        if option == SocketOption.HWM:
            return self.options.sndhwm
        return self.options.get(option)

    set = setsockopt
    get = getsockopt

    def statistics(self) -> Statistics:
        """Where the messages went, per peer, now: counts and bytes in and out, queue depths now and
        at their peak, HWM blocks, drops by reason, reconnects (see ``zlab.utils.statistics``).

        ``statistics().to_frame()`` gives a pandas DataFrame with one row per peer."""
        core = self.core
        rows = [peer_row(r) for r in core.statistics()]
        return Statistics(rows, self.options.type, core.dropped)

    def subscribe(self, topic: str | bytes) -> None:
        """SUB: receive messages whose first frame starts with ``topic`` (str is UTF-8 encoded).

        Subscriptions are counted: subscribing twice needs two ``unsubscribe`` calls."""
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.setsockopt(SocketOption.SUBSCRIBE, topic)

    def unsubscribe(self, topic: str | bytes) -> None:
        """SUB: take back one ``subscribe(topic)``."""
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.setsockopt(SocketOption.UNSUBSCRIBE, topic)

    def setsockopt_string(self, option: int, value: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from a str."""
        if not isinstance(value, str):
            raise TypeError(f"setsockopt_string takes str, not {type(value).__name__}")
        self.setsockopt(option, value.encode(encoding))

    def getsockopt_string(self, option: int, encoding: str = "utf-8") -> str:
        """Read a bytes option as str (TypeError for an int option, as in pyzmq)."""
        value = self.getsockopt(option)
        if not isinstance(value, bytes):
            raise TypeError(f"option {option} is an int, not a string")
        return value.decode(encoding)

    set_string = setsockopt_unicode = setsockopt_string
    get_string = getsockopt_unicode = getsockopt_string

    def __getattr__(self, name: str) -> Any:
        # only reached for names that are not the object's own: options, in either case (as pyzmq)
        option = _OPTION_NAMES.get(name.lower())
        if option is None or name.startswith("_"):
            raise AttributeError(f"{type(self).__name__} has no such option: {name.upper()}")
        try:
            return self.getsockopt(option)
        except ZMQError as exc:
            if exc.errno == Errno.EINVAL:  # write-only (SUBSCRIBE, STREAM_NOTIFY, CURVE keys), as pyzmq
                raise AttributeError(f"{name} attribute is write-only") from None
            raise

    def __setattr__(self, name: str, value: Any) -> None:
        """pyzmq's rules: a name the instance already has, or one its class (or a base) declares
        (defines or annotates), is a plain attribute; any other name is a socket option in either
        case (``s.linger = 0``, ``s.RCVTIMEO = 10``), else AttributeError. Unlike pyzmq, any
        ``_``-prefixed name is a plain attribute too (no option has one; zlab's subclasses use them)."""
        lname = name.lower()
        if lname in ("subscribe", "unsubscribe"):  # attributes that set options, not the methods
            getattr(self, lname)(value)
            return
        if name in self.__dict__ or name.startswith("_") or declares(type(self), name):
            object.__setattr__(self, name, value)
            return
        option = _OPTION_NAMES.get(lname)
        if option is None:
            raise AttributeError(f"{type(self).__name__} has no such option: {name.upper()}")
        self.setsockopt(option, value)

    def __dir__(self) -> list[str]:
        """The class's attributes and every socket option's name (as pyzmq lists them)."""
        return [*dir(type(self)), *SocketOption.__members__]

    def get_hwm(self) -> int:
        """The high-water mark (SNDHWM; ``set_hwm`` sets both), as pyzmq."""
        return int(self.getsockopt(SocketOption.SNDHWM))

    def set_hwm(self, value: int) -> None:
        """Set SNDHWM and RCVHWM together."""
        self.setsockopt(SocketOption.HWM, value)

    hwm = property(get_hwm, set_hwm, doc="The high-water mark: SNDHWM on read, both HWMs on write.")

    def fileno(self) -> int:
        """The socket's edge-triggered file descriptor (the FD option): readable when EVENTS may
        have changed; read EVENTS (or poll) until nothing is ready before waiting on it again."""
        self._check()
        return self._get_fd()

    # -- readiness ---------------------------------------------------------------------------
    def _events(self) -> int:
        wake = self._wake_fd
        if wake is not None:  # edge-triggered FD: reading EVENTS re-arms it
            # drain first, then look: a notify after the drain leaves the descriptor readable (a
            # notify between a look and a later drain was lost, and the FD never woke its waiter)
            wake.drain()
        core = self.core
        ev = 0
        if self._rparts or core.can_recv():
            ev |= PollEvent.POLLIN
        if core.can_send():
            ev |= PollEvent.POLLOUT
        return ev

    def _get_fd(self) -> int:
        """A file descriptor that becomes readable when EVENTS may have changed (edge-triggered)."""
        with self._wake_lock:
            wake = self._wake_fd
            if wake is None:
                wake = WakeFd(self.core.signal)
                wake.arm()
                wake.fire()  # readable at first: EVENTS may already have something
                object.__setattr__(self, "_wake_fd", wake)
            return wake.fd

    def poll(self, timeout: int | None = None, flags: int = PollEvent.POLLIN) -> int:
        """Wait up to ``timeout`` ms for ``flags``; return the events that are ready."""
        from zlab.poll import Poller

        self._check()
        poller = Poller()
        poller.register(self, flags)
        ready = dict(poller.poll(timeout))
        return ready.get(self, 0)

    # -- display (terminals and notebooks) --------------------------------------------------
    def _summary(self) -> dict[str, Any]:
        """What the reprs show: type, endpoints, peers, messages queued each way, closed."""
        try:
            name = SocketType(self.options.type).name
        except ValueError:
            name = str(self.options.type)
        pipes = [] if self._closed else list(self.core.pipes)
        # tcp/ipc: messages not yet written; inproc: what the peer has not taken
        out = sum(p.queued_out() for p in pipes)
        return {
            "type": name,
            "bound": list(self._bound),
            "connected": list(self._connected),
            "peers": len(pipes),
            "queued_in": sum(len(p.pending) for p in pipes),
            "queued_out": out,
            "closed": self._closed,
        }

    def _class_name(self) -> str:
        mod = type(self).__module__
        return "zlab.Socket" if mod == __name__ else f"{mod}.{type(self).__name__}"

    def __repr__(self) -> str:
        d = self._summary()
        if d["closed"]:
            return f"<{self._class_name()} {d['type']} closed>"
        eps = [f"bound {e}" for e in d["bound"]] + [f"connected {e}" for e in d["connected"]]
        peers = f"{d['peers']} peer{'' if d['peers'] == 1 else 's'}"
        queued = f"queued in {d['queued_in']} / out {d['queued_out']}"
        return f"<{self._class_name()} {d['type']} {', '.join([*eps, peers, queued])}>"

    def _repr_html_(self) -> str:
        """A small table for notebooks."""
        import html

        d = self._summary()
        rows = [
            ("endpoints", "<br>".join(html.escape(f"{k} {e}") for k in ("bound", "connected") for e in d[k])),
            ("peers", str(d["peers"])),
            ("queued in / out", f"{d['queued_in']} / {d['queued_out']}"),
            ("state", "closed" if d["closed"] else "open"),
        ]
        body = "".join(f"<tr><th style='text-align:left'>{k}</th><td>{v or '-'}</td></tr>" for k, v in rows)
        title = html.escape(f"{self._class_name()} {d['type']}")
        return f"<table><caption style='text-align:left'><b>{title}</b></caption>{body}</table>"
