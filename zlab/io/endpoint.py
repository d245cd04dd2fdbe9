"""Endpoint parsing: ``tcp://host:port``, ``ipc://path``, ``inproc://name``.

Owns: ``Endpoint`` and ``parse()``, which turn an endpoint string into what a transport needs,
raising pyzmq's errors: EPROTONOSUPPORT for an unknown transport, EINVAL for a malformed
address. Rules: layer L2 (zlab.io); no I/O except name resolution for tcp hosts and the OS's
interface list for interface names (``tcp://lo:*``, ``tcp://eth0:5555``).
"""

from __future__ import annotations

import fcntl
import ipaddress
import socket
import struct
from dataclasses import dataclass

from zlab.constants import Errno
from zlab.errors import ZMQError

TRANSPORTS = ("tcp", "ipc", "inproc")
IPC_PATH_MAX = 107
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A parsed endpoint. ``address`` is (host, port) for tcp, a path for ipc, a name for inproc;
    ``source`` is the local (host, port) a tcp connect binds first (``tcp://src:port;dst:port``)."""

    transport: str
    address: tuple[str, int] | str
    family: int = 0
    text: str = ""
    source: tuple[str, int] | None = None
    ipv6: bool = False

    @property
    def wildcard_port(self) -> bool:
        """A tcp endpoint whose port the OS picks (``*`` or 0)."""
        return self.transport == "tcp" and self.address[1] == 0


def parse(addr: str | bytes, *, bind: bool, ipv6: bool = False) -> Endpoint:
    """Parse ``addr`` for ``bind`` (True) or connect (False); ``ipv6`` is the socket's IPV6 option."""
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
        if len(rest.encode()) > IPC_PATH_MAX:  # "@name" (abstract) counts its "@" as libzmq does
            raise ZMQError(
                Errno.ENAMETOOLONG,
                f"ipc path {rest!r} is longer than {IPC_PATH_MAX} characters (sizeof(sockaddr_un.sun_path))",
            )
        return Endpoint("ipc", rest, socket.AF_UNIX, text=addr)
    return _parse_tcp(addr, rest, bind, ipv6)


def _parse_tcp(addr: str, rest: str, bind: bool, ipv6: bool) -> Endpoint:
    source = None
    if ";" in rest:  # "source;dest" connect syntax: bind the source, then connect to the destination
        src_text, rest = rest.rsplit(";", 1)
        if not bind:
            src_host, port = _host_port(addr, src_text, wildcard_ok=True)
            source = _local_address(addr, src_host, port, ipv6)
    host, port = _host_port(addr, rest, wildcard_ok=bind)
    if host == "*":
        if not bind:
            raise ZMQError(Errno.EINVAL, f"cannot connect to a wildcard host: {addr!r}")
        if ipv6:  # dual stack, as libzmq with IPV6
            return Endpoint("tcp", ("::", port), socket.AF_INET6, text=addr, ipv6=True)
        return Endpoint("tcp", ("0.0.0.0", port), socket.AF_INET, text=addr)
    if bind:
        local = _local_address(addr, host, port, ipv6)
        return Endpoint("tcp", local, _numeric_family(local[0]), text=addr, ipv6=ipv6)
    numeric = _numeric_family(host)
    if numeric:
        return Endpoint("tcp", (host, port), numeric, text=addr, source=source, ipv6=ipv6)
    # a host name: resolved when dialling (and again on each reconnect), as libzmq does
    return Endpoint("tcp", (host, port), 0, text=addr, source=source, ipv6=ipv6)


def _host_port(addr: str, text: str, wildcard_ok: bool) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    if not sep or not host:
        raise ZMQError(Errno.EINVAL, f"invalid tcp endpoint {addr!r}: expected tcp://host:port")
    if port_text in ("*", "0"):
        if not wildcard_ok:
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
    return host, port


def _local_address(addr: str, host: str, port: int, ipv6: bool) -> tuple[str, int]:
    """A local address to bind, as libzmq finds it: ``*``, a numeric address (IPv6 only with the
    IPV6 option), an interface name (its address), or a host name; ENODEV when none fits."""
    if host == "*":
        return ("::" if ipv6 else "0.0.0.0"), port
    family = _numeric_family(host)
    if family == socket.AF_INET6 and not ipv6:
        raise ZMQError(Errno.ENODEV, f"No such device: {addr!r} is IPv6 and the IPV6 option is not set")
    if family:
        return host, port
    found = interface_address(host, ipv6)
    if found is not None:
        return found, port
    try:
        return resolve(host, port, addr, ipv6)
    except ZMQError:
        raise ZMQError(Errno.ENODEV, f"No such device: no interface or host {host!r} in {addr!r}") from None


def interface_address(name: str, ipv6: bool = False) -> str | None:
    """The address of network interface ``name`` (``lo``, ``eth0`` ...), or None if there is no such
    interface: its IPv4 address, or with ``ipv6`` its IPv6 one if it has one (as libzmq prefers)."""
    if name not in {n for _, n in socket.if_nameindex()}:
        return None
    if ipv6:
        found = _interface_ipv6(name)
        if found is not None:
            return found
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            req = struct.pack("256s", name.encode()[:15])
            raw = fcntl.ioctl(s.fileno(), _SIOCGIFADDR, req)
        return socket.inet_ntoa(raw[20:24])
    except OSError:  # no IPv4 address on it
        return None


def _interface_ipv6(name: str) -> str | None:
    """An IPv6 address of ``name`` from /proc/net/if_inet6 (Linux), global scope first."""
    try:
        with open("/proc/net/if_inet6") as f:
            rows = [line.split() for line in f]
    except OSError:
        return None
    mine = [r for r in rows if len(r) >= 6 and r[5] == name]
    mine.sort(key=lambda r: r[3] != "00")  # scope 00 (global) first, then host (10), link (20)
    for r in mine:
        if r[3] in ("00", "10"):  # link-local addresses need a scope id: not used
            return str(ipaddress.IPv6Address(bytes.fromhex(r[0])))
    return None


def _numeric_family(host: str) -> int:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return family
        except OSError:
            continue
    return 0


def resolve(host: str, port: int, addr: str = "", ipv6: bool = False) -> tuple[str, int]:
    """Resolve ``host`` to an address (IPv4 first; IPv6 too with the IPV6 option); EINVAL if it can't be."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ZMQError(Errno.EINVAL, f"cannot resolve {host!r} in {addr!r}: {exc}") from None
    for info in infos:  # IPv4 only, as libzmq does without IPV6
        if info[0] == socket.AF_INET:
            return str(info[4][0]), port
    if ipv6:
        for info in infos:
            if info[0] == socket.AF_INET6:
                return str(info[4][0]), port
    raise ZMQError(Errno.EINVAL, f"no IPv4 address for {host!r} in {addr!r}")


def format_tcp(host: str, port: int, family: int) -> str:
    """``tcp://host:port`` as LAST_ENDPOINT shows it (IPv6 in brackets)."""
    if family == socket.AF_INET6:
        return f"tcp://[{host}]:{port}"
    return f"tcp://{host}:{port}"
