"""A Connection driven over a real loopback TCP socket against libzmq (pyzmq): no zlab sockets involved."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from zlab.constants import SocketType as T
from zlab.zmtp import Connection, HandshakeDone, Pong, Subscribe

zmq = pytest.importorskip("zmq")

pytestmark = pytest.mark.interop


class Wire:
    """A plain TCP socket pumping bytes through a Connection."""

    def __init__(self, endpoint: str, conn: Connection) -> None:
        host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=5)
        self.conn = conn
        self.flush()

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def send(self, frames: list[bytes]) -> None:
        self.sock.sendall(self.conn.encode(frames))

    def pump_until(self, done: Callable[[], bool]) -> list:
        """Read and feed until `done()` is true; return the messages received meanwhile."""
        got: list = []
        while not done():
            data = self.sock.recv(65536)
            assert data, "libzmq closed the connection"
            got += self.conn.receive_data(data)
            self.flush()
        return got

    def recv_messages(self, count: int) -> list:
        got: list = []
        while len(got) < count:
            got += self._read_once()
        return got

    def _read_once(self) -> list:
        data = self.sock.recv(65536)
        assert data, "libzmq closed the connection"
        got = self.conn.receive_data(data)
        self.flush()
        return got

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def ctx():  # type: ignore[no-untyped-def]
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.mark.timeout(10)
def test_dealer_against_libzmq_router(ctx) -> None:  # type: ignore[no-untyped-def]
    router = ctx.socket(zmq.ROUTER)
    router.rcvtimeo = router.sndtimeo = 5000
    router.bind("tcp://127.0.0.1:*")
    conn = Connection(T.DEALER, routing_id=b"zlab-peer")
    wire = Wire(router.getsockopt(zmq.LAST_ENDPOINT).decode(), conn)
    try:
        wire.pump_until(lambda: conn.handshake_done)
        assert conn.peer_socket_type == T.ROUTER and conn.peer_minor == 1
        assert isinstance(conn.events.popleft(), HandshakeDone)
        wire.send([b"hello", b"", b"w" * 300])
        assert router.recv_multipart() == [b"zlab-peer", b"hello", b"", b"w" * 300]
        big = bytes(range(256)) * 1024
        router.send_multipart([b"zlab-peer", b"back", big])
        router.send_multipart([b"zlab-peer", b"single"])
        assert wire.recv_messages(2) == [[b"back", big], b"single"]
        conn.ping(50, b"ctx")
        wire.flush()
        wire.pump_until(lambda: any(isinstance(e, Pong) for e in conn.events))
        assert Pong(b"ctx") in conn.events
    finally:
        wire.close()


@pytest.mark.timeout(10)
def test_sub_against_libzmq_xpub(ctx) -> None:  # type: ignore[no-untyped-def]
    xpub = ctx.socket(zmq.XPUB)
    xpub.rcvtimeo = xpub.sndtimeo = 5000
    xpub.bind("tcp://127.0.0.1:*")
    conn = Connection(T.SUB)
    conn.subscribe(b"news")  # held until the version is known, then sent as a SUBSCRIBE command
    wire = Wire(xpub.getsockopt(zmq.LAST_ENDPOINT).decode(), conn)
    try:
        wire.pump_until(lambda: conn.handshake_done)
        assert xpub.recv() == b"\x01news"
        xpub.send_multipart([b"news", b"item"])
        assert wire.recv_messages(1) == [[b"news", b"item"]]
        conn.cancel(b"news")
        wire.flush()
        assert xpub.recv() == b"\x00news"
    finally:
        wire.close()


@pytest.mark.timeout(10)
def test_xpub_connection_sees_libzmq_subscribe_command(ctx) -> None:  # type: ignore[no-untyped-def]
    sub = ctx.socket(zmq.SUB)
    sub.subscribe(b"t1")
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    try:
        sub.connect(f"tcp://127.0.0.1:{server.getsockname()[1]}")
        sock, _ = server.accept()
        sock.settimeout(5)
        conn = Connection(T.XPUB)
        sock.sendall(conn.data_to_send())
        while not any(isinstance(e, Subscribe) for e in conn.events):
            data = sock.recv(65536)
            assert data
            conn.receive_data(data)
            out = conn.data_to_send()
            if out:
                sock.sendall(out)
        assert conn.peer_socket_type == T.SUB
        assert Subscribe(b"t1") in conn.events
        sock.sendall(conn.encode([b"t1", b"payload"]))
        sub.rcvtimeo = 5000
        assert sub.recv_multipart() == [b"t1", b"payload"]
        sock.close()
    finally:
        server.close()
