"""Hand-built ZMTP 3.x bytes and a blocking raw-TCP peer, for attacking a socket on the wire.

Nothing here imports zlab: the bytes are written from RFC 37 (and /work/shared/ZMTP-NOTES.md) directly,
so they can be checked against libzmq (pyzmq) first and then used against zlab.

Greeting (64 octets): 0xFF, 8 padding octets, 0x7F, major, minor, 20-octet NUL-padded mechanism,
as-server, 31 zero octets. Frame: flags (bit 0 MORE, bit 1 LONG, bit 2 COMMAND), size (1 octet, or 8 octets
big-endian when LONG), body. Command body: 1-octet name length, name, data. READY data: properties, each
1-octet name length, name, 4-octet big-endian value length, value.
"""

from __future__ import annotations

import errno
import socket
import struct
import time
from dataclasses import dataclass

MORE = 0x01
LONG = 0x02
COMMAND = 0x04

GREETING_SIZE = 64


def greeting(
    mechanism: bytes = b"NULL",
    *,
    as_server: int = 0,
    major: int = 3,
    minor: int = 1,
    padding: bytes = b"\x00" * 8,
) -> bytes:
    """A 64-octet ZMTP 3.x greeting."""
    assert len(padding) == 8 and len(mechanism) <= 20
    g = b"\xff" + padding + b"\x7f" + bytes([major, minor]) + mechanism.ljust(20, b"\x00")
    g += bytes([as_server]) + b"\x00" * 31
    assert len(g) == GREETING_SIZE
    return g


def frame_header(size: int, flags: int = 0, *, force_long: bool = False) -> bytes:
    """Flags and size octets for a frame of ``size`` body octets (long form only above 255, like libzmq)."""
    if size > 255 or force_long:
        return bytes([flags | LONG]) + struct.pack(">Q", size)
    return bytes([flags & ~LONG, size])


def frame(body: bytes, flags: int = 0, *, force_long: bool = False) -> bytes:
    return frame_header(len(body), flags, force_long=force_long) + body


def message(frames: list[bytes]) -> bytes:
    """A multipart message: MORE on every frame but the last."""
    out = [frame(f, MORE if i < len(frames) - 1 else 0) for i, f in enumerate(frames)]
    return b"".join(out)


def command(name: bytes, data: bytes = b"", flags: int = 0) -> bytes:
    """A command frame (COMMAND flag added to ``flags``)."""
    return frame(bytes([len(name)]) + name + data, COMMAND | flags)


def properties(props: dict[bytes, bytes] | list[tuple[bytes, bytes]]) -> bytes:
    items = props.items() if isinstance(props, dict) else props
    return b"".join(bytes([len(k)]) + k + struct.pack(">I", len(v)) + v for k, v in items)


def ready(
    socket_type: bytes, identity: bytes | None = None, extra: dict[bytes, bytes] | None = None
) -> bytes:
    """A READY command with ``Socket-Type`` (and ``Identity`` when given)."""
    props: list[tuple[bytes, bytes]] = [(b"Socket-Type", socket_type)]
    if identity is not None:
        props.append((b"Identity", identity))
    props += list((extra or {}).items())
    return command(b"READY", properties(props))


# ------------------------------------------------------------------------------------------------- parsing


@dataclass
class Greeting:
    raw: bytes

    @property
    def signature_ok(self) -> bool:
        return self.raw[0] == 0xFF and self.raw[9] & 0x01 == 1

    @property
    def major(self) -> int:
        return self.raw[10]

    @property
    def minor(self) -> int:
        return self.raw[11]

    @property
    def mechanism(self) -> bytes:
        return self.raw[12:32].rstrip(b"\x00")

    @property
    def as_server(self) -> int:
        return self.raw[32]


@dataclass
class Frame:
    flags: int
    body: bytes

    @property
    def is_command(self) -> bool:
        return bool(self.flags & COMMAND)

    @property
    def more(self) -> bool:
        return bool(self.flags & MORE)

    @property
    def command_name(self) -> bytes:
        assert self.is_command and self.body
        return self.body[1 : 1 + self.body[0]]

    @property
    def command_data(self) -> bytes:
        return self.body[1 + self.body[0] :]


def parse_frames(data: bytes) -> tuple[list[Frame], bytes]:
    """Complete frames in ``data``, and the incomplete rest."""
    frames: list[Frame] = []
    pos = 0
    while pos < len(data):
        flags = data[pos]
        if flags & LONG:
            if pos + 9 > len(data):
                break
            (size,) = struct.unpack_from(">Q", data, pos + 1)
            start = pos + 9
        else:
            if pos + 2 > len(data):
                break
            size = data[pos + 1]
            start = pos + 2
        if start + size > len(data):
            break
        frames.append(Frame(flags, data[start : start + size]))
        pos = start + size
    return frames, data[pos:]


def parse_properties(data: bytes) -> dict[bytes, bytes]:
    props: dict[bytes, bytes] = {}
    pos = 0
    while pos < len(data):
        n = data[pos]
        name = data[pos + 1 : pos + 1 + n]
        pos += 1 + n
        (vlen,) = struct.unpack_from(">I", data, pos)
        props[name] = data[pos + 4 : pos + 4 + vlen]
        pos += 4 + vlen
    return props


def error_reason(frames: list[Frame]) -> bytes | None:
    """The reason of the first ERROR command among ``frames``, or None."""
    for f in frames:
        if f.is_command and f.command_name == b"ERROR":
            data = f.command_data
            return data[1 : 1 + data[0]] if data else b""
    return None


# ------------------------------------------------------------------------------------------------ raw peer


@dataclass
class Closed:
    """How the remote end ended a raw connection: EOF (``b""``), a reset, or not at all (timeout)."""

    how: str  # "eof", "reset", "timeout"
    received: bytes = b""


class RawPeer:
    """A blocking TCP socket speaking bytes we choose. Every read is bounded by a deadline."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = b""
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    @classmethod
    def connect(cls, host: str, port: int) -> RawPeer:
        return cls(socket.create_connection((host, port), timeout=5.0))

    @classmethod
    def to_endpoint(cls, endpoint: str) -> RawPeer:
        """Connect to ``tcp://host:port`` or ``ipc:///path`` (a Unix stream socket)."""
        if endpoint.startswith("ipc://"):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5.0)
            s.connect(endpoint[len("ipc://") :])
            return cls(s)
        assert endpoint.startswith("tcp://"), endpoint
        host, _, port = endpoint[len("tcp://") :].rpartition(":")
        return cls.connect(host, int(port))

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float, wanted: str) -> None:
        """Append one chunk from the socket to ``self.received``; raise on timeout or EOF."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out waiting for {wanted}; have {self.received[:80]!r}")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except TimeoutError:
            raise TimeoutError(f"timed out waiting for {wanted}; have {self.received[:80]!r}") from None
        if not chunk:
            raise ConnectionError(f"EOF while waiting for {wanted}; have {self.received!r}")
        self.received += chunk

    def read_exact(self, n: int, timeout: float = 5.0) -> bytes:
        """Return and consume the next ``n`` octets."""
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            self._fill(deadline, f"{n} octets")
        out, self.received = self.received[:n], self.received[n:]
        return out

    def read_greeting(self, timeout: float = 5.0) -> Greeting:
        return Greeting(self.read_exact(GREETING_SIZE, timeout))

    def read_frame(self, timeout: float = 5.0) -> Frame:
        """Return and consume the next complete frame."""
        deadline = time.monotonic() + timeout
        while True:
            frames, _rest = parse_frames(self.received)
            if frames:
                f = frames[0]
                hdr = 9 if f.flags & LONG else 2
                self.received = self.received[hdr + len(f.body) :]
                return f
            self._fill(deadline, "a frame")

    def handshake(
        self, socket_type: bytes, identity: bytes | None = None, *, minor: int = 1
    ) -> tuple[Greeting, dict[bytes, bytes]]:
        """Full NULL handshake: our greeting and READY, then the peer's greeting and READY properties."""
        self.send(greeting(minor=minor) + ready(socket_type, identity))
        g = self.read_greeting()
        f = self.read_frame()
        assert f.is_command and f.command_name == b"READY", f
        return g, parse_properties(f.command_data)

    def wait_closed(self, timeout: float = 5.0) -> Closed:
        """Read (and keep) everything until the peer closes (EOF or reset) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return Closed("timeout", self.received)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return Closed("timeout", self.received)
            except ConnectionResetError:
                return Closed("reset", self.received)
            except OSError as exc:
                if exc.errno in (errno.ECONNRESET, errno.EPIPE):
                    return Closed("reset", self.received)
                raise
            if not chunk:
                return Closed("eof", self.received)
            self.received += chunk

    def reset(self) -> None:
        """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class RawListener:
    """A listening TCP socket on 127.0.0.1 (ephemeral port) that hands out accepted connections as RawPeers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.endpoint = f"tcp://127.0.0.1:{self.port}"

    def accept(self, timeout: float = 5.0) -> RawPeer:
        self.sock.settimeout(timeout)
        conn, _ = self.sock.accept()
        return RawPeer(conn)

    def close(self) -> None:
        self.sock.close()
