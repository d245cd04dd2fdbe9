# zlab.bench.raw -- the plain-Python floor every messaging implementation is compared with.
"""``impl="raw"``: what the same work costs with no messaging library at all.

Owns: a blocking stream socket (tcp or unix) carrying 4-byte length-prefixed frames, with many
frames joined into ~256 KiB writes for throughput and read back with ``recv_into`` a 64 KiB buffer
and parsed in bulk; and a pair of ``queue.SimpleQueue`` between two threads for inproc (messages
passed by reference). Point-to-point only: the socket type a scenario asks for is ignored.
"""

from __future__ import annotations

import socket
import struct
import time
from queue import SimpleQueue

from zlab.bench.peer import Backend, Peer

_HDR = struct.Struct("!I")
_unpack_from = _HDR.unpack_from
_HEADERS: dict[int, bytes] = {}
WRITE_CHUNK = 256 * 1024
READ_CHUNK = 64 * 1024  # 256 KiB reads parsed 2x slower per 1 KiB message (mmap-sized buffers, L2)
LARGE = 64 * 1024  # frames at least this big are sent with scatter/gather and read straight into place


def header(n: int) -> bytes:
    """The 4-byte length prefix for an ``n``-byte frame, from a table filled on first use."""
    hdr = _HEADERS.get(n)
    if hdr is None:
        hdr = _HEADERS[n] = _HDR.pack(n)
    return hdr


def parse_addr(addr: str) -> tuple[int, str | tuple[str, int]]:
    """``tcp://127.0.0.1:*`` -> (AF_INET, ("127.0.0.1", 0)); ``ipc:///tmp/x`` -> (AF_UNIX, "/tmp/x")."""
    if addr.startswith("ipc://"):
        return socket.AF_UNIX, addr[len("ipc://") :]
    if addr.startswith("tcp://"):
        host, _, port = addr[len("tcp://") :].rpartition(":")
        family = socket.AF_INET6 if host.startswith("[") else socket.AF_INET
        return family, (host.strip("[]"), 0 if port == "*" else int(port))
    raise ValueError(f"raw cannot open {addr!r}")


class StreamPeer(Peer):
    """A framed blocking stream socket (one peer on each end)."""

    def __init__(self, sock: socket.socket | None, endpoint: str, listener: socket.socket | None = None):
        self.endpoint = endpoint
        self._listener = listener
        self._rbuf = bytearray(READ_CHUNK)
        self._rview = memoryview(self._rbuf)
        self._buf = b""
        self._pos = 0
        if sock is not None:
            self._setup(sock)

    def _setup(self, sock: socket.socket) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock

    def accept(self) -> None:
        if self._listener is not None:
            sock, _ = self._listener.accept()
            self._listener.close()
            self._listener = None
            self._setup(sock)

    def send(self, msg: bytes) -> None:  # type: ignore[override]
        n = len(msg)
        if n < LARGE:
            self.sock.sendall(header(n) + msg)
        else:
            self._sendv(header(n), msg)

    def _sendv(self, hdr: bytes, msg: bytes) -> None:
        """Scatter/gather write of a large frame; the payload is never copied."""
        total = len(hdr) + len(msg)
        sent = self.sock.sendmsg((hdr, msg))
        if sent < total:
            if sent < len(hdr):
                self.sock.sendall(hdr[sent:])
                sent = len(hdr)
            self.sock.sendall(memoryview(msg)[sent - len(hdr) :])

    def send_many(self, msg: bytes, n: int) -> None:
        size = len(msg)
        if size >= LARGE:
            for _ in range(n):
                self._sendv(header(size), msg)
            return
        per_write = max(1, WRITE_CHUNK // (size + _HDR.size))
        sendall = self.sock.sendall
        join = b"".join
        while n > 0:
            k = per_write if n > per_write else n
            n -= k
            parts: list[bytes] = []
            append = parts.append
            for _ in range(k):  # per message, as a real sender of distinct messages would
                append(header(len(msg)))
                append(msg)
            sendall(join(parts))

    def _fill(self) -> None:
        """Read one more chunk from the socket, keeping the unread tail of the buffer."""
        k = self.sock.recv_into(self._rbuf)
        if k == 0:
            raise ConnectionError("raw peer closed the stream")
        if self._pos < len(self._buf):
            self._buf = self._buf[self._pos :] + self._rview[:k]
        else:
            self._buf = bytes(self._rview[:k])
        self._pos = 0

    def _recv_large(self, n: int) -> bytearray:
        """Read an ``n``-byte payload whose header is at the buffer position, straight into place."""
        out = bytearray(n)
        view = memoryview(out)
        have = self._buf[self._pos + _HDR.size :]
        got = len(have)
        view[:got] = have
        self._buf, self._pos = b"", 0
        recv_into = self.sock.recv_into
        while got < n:
            k = recv_into(view[got:], n - got)
            if k == 0:
                raise ConnectionError("raw peer closed the stream")
            got += k
        return out

    def recv(self) -> bytes:  # type: ignore[override]
        while True:
            buf, pos = self._buf, self._pos
            avail = len(buf) - pos
            if avail >= 4:
                (n,) = _unpack_from(buf, pos)
                if avail - 4 >= n:
                    self._pos = pos + 4 + n
                    return buf[pos + 4 : pos + 4 + n]
                if n >= LARGE:
                    return self._recv_large(n)  # type: ignore[return-value]
            self._fill()

    def recv_until_end(self, skip: bytes | None = None) -> tuple[int, int, int]:
        """Bulk version: parses every complete frame already in the buffer before reading again."""
        clock = time.perf_counter_ns
        msg = self.recv()
        if skip is not None:
            while msg == skip:
                msg = self.recv()
        first = clock()
        count = 0
        while msg:
            count += 1
            buf, pos = self._buf, self._pos
            end = len(buf)
            while end - pos >= 4:
                (n,) = _unpack_from(buf, pos)
                if end - pos - 4 < n:
                    break
                pos += 4
                if not n:
                    self._pos = pos
                    return count, first, clock()
                msg = buf[pos : pos + n]  # materialise each message, as a receiver must
                pos += n
                count += 1
            self._pos = pos
            msg = self.recv()
        return count, first, clock()

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if getattr(self, "sock", None) is not None:
            self.sock.close()


class QueuePeer(Peer):
    """inproc floor: two SimpleQueues between threads; messages travel by reference."""

    def __init__(self, inbox: SimpleQueue, outbox: SimpleQueue, endpoint: str) -> None:
        self.endpoint = endpoint
        self.send = outbox.put  # type: ignore[method-assign]
        self.recv = inbox.get  # type: ignore[method-assign]


_INPROC: dict[str, tuple[SimpleQueue, SimpleQueue]] = {}


class RawBackend(Backend):
    """Opens raw peers: stream sockets for tcp/ipc, queue pairs for inproc."""

    def __init__(self, transport: str) -> None:
        self.transport = transport

    def bind(self, kind: str, addr: str) -> Peer:
        if self.transport == "inproc":
            a_to_b, b_to_a = SimpleQueue(), SimpleQueue()
            _INPROC[addr] = (a_to_b, b_to_a)
            return QueuePeer(inbox=a_to_b, outbox=b_to_a, endpoint=addr)
        family, where = parse_addr(addr)
        listener = socket.socket(family, socket.SOCK_STREAM)
        if family == socket.AF_UNIX:
            assert isinstance(where, str)
            listener.bind(where)
            endpoint = addr
        else:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(where)
            host, port = listener.getsockname()[:2]
            endpoint = f"tcp://[{host}]:{port}" if family == socket.AF_INET6 else f"tcp://{host}:{port}"
        listener.listen(1)
        return StreamPeer(None, endpoint, listener=listener)

    def connect(self, kind: str, endpoint: str) -> Peer:
        if self.transport == "inproc":
            a_to_b, b_to_a = _INPROC.pop(endpoint)
            return QueuePeer(inbox=b_to_a, outbox=a_to_b, endpoint=endpoint)
        family, where = parse_addr(endpoint)
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.connect(where)
        return StreamPeer(sock, endpoint)

    def close(self) -> None:
        _INPROC.clear()
