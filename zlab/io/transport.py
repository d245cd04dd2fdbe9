"""Stream transports (tcp, ipc): listeners that accept, connecters that connect and reconnect.

Owns: ``Listener`` (a bound, listening OS socket and the engines it accepted) and ``Connecter``
(one connect() endpoint: dials, retries with RECONNECT_IVL and its backoff up to
RECONNECT_IVL_MAX, and keeps the connect-side pipe across connections).

Rules: layer L2 (zlab.io). Binding happens on the caller's thread, so EADDRINUSE and friends
raise from ``bind()``; everything after runs on the reactor thread.
"""

from __future__ import annotations

import errno
import os
import socket
import stat

from zlab.constants import Errno, Event
from zlab.errors import ZMQError
from zlab.io.endpoint import Endpoint, format_tcp, resolve
from zlab.io.engine import StreamEngine
from zlab.io.link import SocketLink
from zlab.io.reactor import READ, WRITE, Reactor, Timer
from zlab.io.security import new_stream_pipe
from zlab.io.stream_pipe import StreamPipe

#: connections accepted per readiness event before yielding to other work
ACCEPT_BATCH = 64


def _tune(sock: socket.socket, link: SocketLink, tcp: bool) -> None:
    """Options on a connected OS socket, as libzmq sets them (each only when set)."""
    sock.setblocking(False)
    opts = link.options
    if tcp:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if opts.tcp_keepalive != -1:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, opts.tcp_keepalive)
            if opts.tcp_keepalive:
                for value, name in (
                    (opts.tcp_keepalive_cnt, "TCP_KEEPCNT"),
                    (opts.tcp_keepalive_idle, "TCP_KEEPIDLE"),
                    (opts.tcp_keepalive_intvl, "TCP_KEEPINTVL"),
                ):
                    if value != -1:
                        sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)
        if opts.tcp_maxrt > 0:  # Linux: TCP_USER_TIMEOUT (ms), as libzmq maps it
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, opts.tcp_maxrt)
    _tune_ip(sock, link, tcp)
    if opts.sndbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, opts.sndbuf)
    if opts.rcvbuf > 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, opts.rcvbuf)


def _tune_ip(sock: socket.socket, link: SocketLink, tcp: bool) -> None:
    """TOS and BINDTODEVICE, which libzmq sets on listening and connecting sockets before bind/connect."""
    if not tcp:
        return
    opts = link.options
    if opts.tos:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, opts.tos)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, opts.tos)
    if opts.bindtodevice:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, opts.bindtodevice)


def _new_tcp_socket(family: int, link: SocketLink, ipv6_any: bool) -> socket.socket:
    """A tcp OS socket; an IPv6 one bound to ``::`` takes IPv4 too (dual stack), as in libzmq."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6 and ipv6_any:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    return sock


class Listener:
    """A bound endpoint accepting stream connections."""

    def __init__(self, reactor: Reactor, link: SocketLink, endpoint: Endpoint, peer_id: bytes = b"") -> None:
        self.reactor = reactor
        self.link = link
        self.endpoint = endpoint
        self.engines: set[StreamEngine] = set()
        self.closed = False
        self._ipc_file: tuple[int, int] | None = None
        self.sock = self._bind()
        self.last_endpoint = self._resolved()
        self.fd = self.sock.fileno()
        reactor.call_soon(self._start)

    def _bind(self) -> socket.socket:
        ep = self.endpoint
        if ep.transport == "tcp":
            sock = _new_tcp_socket(ep.family, self.link, ep.ipv6)
        else:
            sock = socket.socket(ep.family, socket.SOCK_STREAM)
        try:
            if ep.transport == "tcp":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                _tune_ip(sock, self.link, True)
                sock.bind(ep.address)
            else:
                path = ep.address
                assert isinstance(path, str)
                _unlink_stale_socket(path)
                sock.bind(path if not path.startswith("@") else "\0" + path[1:])
                if not path.startswith("@"):
                    st = os.stat(path)
                    self._ipc_file = (st.st_dev, st.st_ino)
            sock.listen(self.link.options.backlog)
            sock.setblocking(False)
        except OSError as exc:
            # as libzmq 4.3.5: CLOSED for the OS socket (naming no endpoint for tcp), then
            # BIND_FAILED naming the address without its transport
            self.link.event(Event.CLOSED, ep.text if ep.transport == "ipc" else "", sock.fileno())
            sock.close()
            self.link.event(Event.BIND_FAILED, ep.text.partition("://")[2], exc.errno or 0)
            code = exc.errno or Errno.EINVAL
            raise ZMQError(code, f"{os.strerror(code)} ({ep.text})") from None
        return sock

    def _resolved(self) -> str:
        ep = self.endpoint
        if ep.transport == "tcp":
            host, port = self.sock.getsockname()[:2]
            return format_tcp(host, port, ep.family)
        return ep.text

    def _start(self) -> None:
        if self.closed:
            return
        self.reactor.register(self.fd, READ, self._on_accept)
        self.link.event(Event.LISTENING, self.last_endpoint, self.fd)

    def _on_accept(self, mask: int) -> None:
        tcp = self.endpoint.transport == "tcp"
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.link.event(Event.ACCEPT_FAILED, self.last_endpoint, exc.errno or 0)
                return
            if self.link.closed:
                conn.close()
                continue
            try:
                _tune(conn, self.link, tcp)
            except OSError:
                conn.close()
                continue
            engine = StreamEngine(
                self.reactor, conn, self.link, self.last_endpoint, on_closed=self._engine_closed
            )
            self.engines.add(engine)
            self.link.event(Event.ACCEPTED, self.last_endpoint, conn.fileno())
            engine.start()

    def _engine_closed(self, engine: StreamEngine, reason: str) -> None:
        self.engines.discard(engine)

    def release_path(self) -> None:
        """Remove our ipc socket file (any thread; the socket calls it on unbind/close so that a
        bind that follows at once finds the path free; later it might be another socket's file)."""
        ipc_file, self._ipc_file = self._ipc_file, None
        if ipc_file is None:
            return
        path = self.endpoint.address
        assert isinstance(path, str)
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) == ipc_file:
                os.unlink(path)
        except OSError:
            pass

    def close(self, linger_ms: int = 0) -> None:
        """Stop accepting; close the connections this endpoint accepted (reactor thread)."""
        if self.closed:
            return
        self.closed = True
        self.reactor.unregister(self.fd)
        self.sock.close()
        self.release_path()
        self.link.event(Event.CLOSED, self.last_endpoint, self.fd)
        for engine in list(self.engines):
            engine.terminate(linger_ms)


def _unlink_stale_socket(path: str) -> None:
    """libzmq replaces an existing socket file at an ipc path; we do too (and nothing else)."""
    if path.startswith("@"):
        return
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.unlink(path)
    except FileNotFoundError:
        pass


class Connecter:
    """One connect() endpoint: dial, hand the connection to an engine, redial when it ends."""

    def __init__(self, reactor: Reactor, link: SocketLink, endpoint: Endpoint, peer_id: bytes = b"") -> None:
        self.reactor = reactor
        self.link = link
        self.endpoint = endpoint
        self.text = endpoint.text
        self.closed = False
        self.lingering = False  # closed by the socket, still dialling to flush queued messages
        self.engine: StreamEngine | None = None
        self.sock: socket.socket | None = None
        self._timer: Timer | None = None
        self._linger_timer: Timer | None = None
        self._ivl = link.options.reconnect_ivl
        self._connect_timer: Timer | None = None
        self.pipe: StreamPipe | None = None
        #: the pipe joined the socket's routing at connect() (the engine must not attach it again)
        self.attached = False
        if peer_id or (link.attach_on_connect and not link.options.immediate):
            self.pipe = new_stream_pipe(link, reactor, endpoint.text)
            # CONNECT_ROUTING_ID: a ROUTER names the peer at once (and may send to it before it is up)
            self.pipe.routing_id = peer_id
            self.attached = link.attach(self.pipe)
        reactor.call_soon(self._dial)

    def _dial(self) -> None:
        self._timer = None
        if self.closed:
            return
        ep = self.endpoint
        address = ep.address
        family = ep.family
        if not family:  # a host name, looked up at each dial
            try:
                address = resolve(*address, ipv6=ep.ipv6)  # type: ignore[misc]
            except ZMQError:
                self._retry()
                return
            family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if ep.transport == "ipc":
            assert isinstance(address, str)
            address = address if not address.startswith("@") else "\0" + address[1:]
        else:
            try:
                _tune_ip(sock, self.link, True)
                if ep.source is not None:  # tcp://src:port;dst:port
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind(ep.source)
            except OSError:
                self.link.event(Event.CLOSED, self.text, sock.fileno())
                sock.close()
                self._retry()
                return
        err = sock.connect_ex(address)
        if err in (0, errno.EISCONN):
            self._connected(sock)
        elif err in (errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self.sock = sock
            self.reactor.register(sock.fileno(), WRITE, self._on_connect_ready)
            self.link.event(Event.CONNECT_DELAYED, self.text, err)
            timeout = self.link.options.connect_timeout
            if timeout > 0:  # CONNECT_TIMEOUT: give up this attempt (and retry) after it
                self._connect_timer = self.reactor.call_later(timeout / 1000.0, self._connect_expired)
        else:
            self.link.event(Event.CLOSED, self.text, sock.fileno())
            sock.close()
            self._retry()

    def _connect_expired(self) -> None:
        self._connect_timer = None
        sock = self.sock
        if sock is None or self.closed:
            return
        self.sock = None
        self.reactor.unregister(sock.fileno())
        self.link.event(Event.CLOSED, self.text, sock.fileno())
        sock.close()
        self._retry()

    def _on_connect_ready(self, mask: int) -> None:
        sock = self.sock
        self.sock = None
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        if sock is None:
            return
        self.reactor.unregister(sock.fileno())
        err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err or self.closed:
            self.link.event(Event.CLOSED, self.text, sock.fileno())
            sock.close()
            self._retry()
            return
        self._connected(sock)

    def _connected(self, sock: socket.socket) -> None:
        try:
            _tune(sock, self.link, self.endpoint.transport == "tcp")
        except OSError:
            sock.close()
            self._retry()
            return
        self._ivl = self.link.options.reconnect_ivl
        self.link.event(Event.CONNECTED, self.text, sock.fileno())
        self.engine = StreamEngine(
            self.reactor, sock, self.link, self.text, pipe=self.pipe, on_closed=self._engine_closed
        )
        self.engine.attached = self.engine.attached or self.attached
        self.engine.start()

    def _engine_closed(self, engine: StreamEngine, reason: str) -> None:
        if engine is self.engine:
            self.engine = None
        if engine.refused:  # the peer sent ERROR in the handshake: like libzmq, give up this endpoint
            self.detach_pipe()
            self._finish(0)
            return
        self._retry()

    def _retry(self) -> None:
        if self.closed:
            return
        opts = self.link.options
        if opts.reconnect_ivl < 0:
            return
        delay = max(self._ivl, 1)
        if opts.reconnect_ivl_max > opts.reconnect_ivl:
            self._ivl = min(self._ivl * 2, opts.reconnect_ivl_max)
        self.link.event(Event.CONNECT_RETRIED, self.text, delay)
        self._timer = self.reactor.call_later(delay / 1000.0, self._dial)

    def detach_pipe(self) -> None:
        """Take the connect-side pipe out of the socket's routing at once (any thread)."""
        pipe = self.pipe
        if pipe is not None and pipe.alive:
            pipe.alive = False  # accepts no more messages; what it holds may still be flushed
            self.link.detach(pipe)
            pipe.notify_writable()

    def close(self, linger_ms: int = 0) -> None:
        """Stop dialling and close, after flushing queued messages for up to ``linger_ms``.

        Messages queued before the connection came up are worth waiting for too: a short script
        that connects, sends and closes expects them delivered, as libzmq does. So with a linger
        and such messages, dialling goes on until they are flushed or the linger expires.
        """
        if self.closed or self.lingering:
            return
        self.detach_pipe()
        pipe = self.pipe
        engine = self.engine
        waiting = pipe is not None and pipe.pending_bytes() > 0 and (engine is None or not engine.handshaken)
        if linger_ms != 0 and waiting:
            assert pipe is not None
            self.lingering = True
            self.reactor.lingering.add(self)
            pipe.on_drained = self._finish
            if linger_ms > 0:
                self._linger_timer = self.reactor.call_later(linger_ms / 1000.0, self._finish)
            return
        self._finish(linger_ms)

    def _finish(self, linger_ms: int = 0) -> None:
        if self.closed:
            return
        self.closed = True
        self.lingering = False
        self.reactor.lingering.discard(self)
        for timer in (self._timer, self._linger_timer, self._connect_timer):
            if timer is not None:
                timer.cancel()
        if self.sock is not None:
            self.link.event(Event.CLOSED, self.text, self.sock.fileno())
            self.reactor.unregister(self.sock.fileno())
            self.sock.close()
            self.sock = None
        if self.pipe is not None:
            self.pipe.on_drained = None
        if self.engine is not None:
            self.engine.persistent = False  # its pipe goes with it now
            self.engine.attached = False
            self.engine.terminate(linger_ms)
