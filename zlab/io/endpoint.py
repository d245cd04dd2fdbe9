"""Endpoint parsing: ``tcp://host:port``, ``ipc://path``, ``inproc://name``.

Owns: ``Endpoint`` and ``parse()``, which turn an endpoint string into what a transport needs,
raising pyzmq's errors: EPROTONOSUPPORT for an unknown transport, EINVAL for a malformed
address. Rules: layer L2 (zlab.io); no I/O except name resolution for tcp hosts.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from zlab.constants import Errno
from zlab.errors import ZMQError

TRANSPORTS = ("tcp", "ipc", "inproc")
IPC_PATH_MAX = 107


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed endpoint. ``address`` is (host, port) for tcp, a path for ipc, a name for inproc."""

    transport: str
    address: tuple[str, int] | str
    family: int = 0
    text: str = ""

    @property
    def wildcard_port(self) -> bool:
        """A tcp endpoint whose port the OS picks (``*`` or 0)."""
        return self.transport == "tcp" and self.address[1] == 0  # type: ignore[index]


def parse(addr: str | bytes, *, bind: bool) -> Endpoint:
    """Parse ``addr`` for ``bind`` (True) or connect (False)."""
    if isinstance(addr, bytes):
        addr = addr.decode()
    if not isinstance(addr, str):
        raise TypeError(f"endpoint must be str, not {type(addr).__name__}")
    transport, sep, rest = addr.partition("://")
    if not sep:
        raise ZMQError(Errno.EINVAL, f"invalid endpoint {addr!r}: expected transport://address")
    if transport not in TRANSPORTS:
        raise ZMQError(
            Errno.EPROTONOSUPPORT,
            f"unsupported transport {transport!r} in {addr!r} (zlab offers tcp, ipc, inproc)",
        )
    if not rest:
        raise ZMQError(Errno.EINVAL, f"invalid endpoint {addr!r}: empty address")
    if transport == "inproc":
        return Endpoint("inproc", rest, text=addr)
    if transport == "ipc":
        if rest == "*":
            raise ZMQError(Errno.EINVAL, "ipc://* (a generated path) is not supported; name a path")
        if len(rest.encode()) > IPC_PATH_MAX and not rest.startswith("@"):
            raise ZMQError(Errno.EINVAL, f"ipc path too long ({len(rest)} > {IPC_PATH_MAX}): {rest!r}")
        return Endpoint("ipc", rest, socket.AF_UNIX, text=addr)
    return _parse_tcp(addr, rest, bind)


def _parse_tcp(addr: str, rest: str, bind: bool) -> Endpoint:
    if ";" in rest:  # "source;dest" connect syntax: keep the destination
        rest = rest.rsplit(";", 1)[1]
    host, sep, port_text = rest.rpartition(":")
    if not sep or not host:
        raise ZMQError(Errno.EINVAL, f"invalid tcp endpoint {addr!r}: expected tcp://host:port")
    if port_text in ("*", "0"):
        if not bind:
            raise ZMQError(Errno.EINVAL, f"cannot connect to a wildcard port: {addr!r}")
        port = 0
    else:
        try:
            port = int(port_text)
        except ValueError:
            raise ZMQError(Errno.EINVAL, f"invalid port {port_text!r} in {addr!r}") from None
        if not 0 < port < 65536:
            raise ZMQError(Errno.EINVAL, f"port out of range in {addr!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "*":
        if not bind:
            raise ZMQError(Errno.EINVAL, f"cannot connect to a wildcard host: {addr!r}")
        return Endpoint("tcp", ("0.0.0.0", port), socket.AF_INET, text=addr)
    numeric = _numeric_family(host)
    if numeric:
        return Endpoint("tcp", (host, port), numeric, text=addr)
    if not bind:  # a host name: resolved when dialling (and again on each reconnect), as libzmq does
        return Endpoint("tcp", (host, port), 0, text=addr)
    return Endpoint("tcp", resolve(host, port, addr), socket.AF_INET, text=addr)


def _numeric_family(host: str) -> int:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return family
        except OSError:
            continue
    return 0


def resolve(host: str, port: int, addr: str = "") -> tuple[str, int]:
    """Resolve ``host`` to an address (IPv4 preferred); EINVAL if it can't be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ZMQError(Errno.EINVAL, f"cannot resolve {host!r} in {addr!r}: {exc}") from None
    for info in infos:  # IPv4 only, as libzmq does without IPV6
        if info[0] == socket.AF_INET:
            return info[4][0], port
    raise ZMQError(Errno.EINVAL, f"no IPv4 address for {host!r} in {addr!r}")


def format_tcp(host: str, port: int, family: int) -> str:
    """``tcp://host:port`` as LAST_ENDPOINT shows it (IPv6 in brackets)."""
    if family == socket.AF_INET6:
        return f"tcp://[{host}]:{port}"
    return f"tcp://{host}:{port}"
