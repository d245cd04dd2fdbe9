"""Hostile CURVE peers against a CURVE server socket (zlab, and libzmq as the control): a replayed or
reordered MESSAGE, a HELLO of the wrong size, a forged cookie, a clear frame after the handshake. Each
attacker's connection is dropped, what it replayed never arrives, and a well-behaved CURVE client on the
same socket is served before and after.

The attacker is zlab's sans-I/O CURVE client driven over a raw TCP socket (tests/zmtp/_curve.py), so its
bytes are real CurveZMQ, bent one way at a time.
"""

from __future__ import annotations

import socket

import pytest

from tests.hostile.support import Ctx, bind_tcp
from tests.zmtp._curve import CurveWire, PeerClosed
from zlab.zmtp import curve
from zlab.zmtp.commands import encode_metadata
from zlab.zmtp.frames import command_frame
from zlab.zmtp.greeting import GREETING_SIZE, build_greeting

zmq = pytest.importorskip("zmq")

pytestmark = [pytest.mark.timeout(20)]

ATTACKER_META = {"Socket-Type": b"DEALER", "Identity": b"attacker"}


class Server:
    """A bound CURVE ROUTER (no ZAP handler: any client key is let in) and a good libzmq client."""

    def __init__(self, target: Ctx, libzmq: Ctx) -> None:
        self.public, self.secret = curve.keypair()
        self.sock = target.socket("ROUTER", curve_server=1, curve_secretkey=self.secret)
        self.endpoint = bind_tcp(target, self.sock)
        self.port = int(self.endpoint.rsplit(":", 1)[1])
        good_pub, good_sec = curve.keypair()
        self.good = libzmq.socket(
            "DEALER",
            routing_id=b"good",
            curve_serverkey=self.public,
            curve_publickey=good_pub,
            curve_secretkey=good_sec,
        )
        self.good.connect(self.endpoint)

    def served(self, tag: bytes) -> None:
        """The good client still gets through, both ways."""
        self.good.send(tag)
        assert [bytes(f) for f in self.sock.recv_multipart()] == [b"good", tag]
        self.sock.send_multipart([b"good", tag + b"-back"])
        assert self.good.recv() == tag + b"-back"

    def attacker(self) -> CurveWire:
        pub, sec = curve.keypair()
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        return CurveWire(sock, curve.CurveClient(pub, sec, self.public))


@pytest.fixture
def server(impl: Ctx, libzmq: Ctx) -> Server:
    return Server(impl, libzmq)


def dropped(wire: CurveWire) -> bool:
    """Read until the server closes the connection (True), ignoring what it sends."""
    try:
        while True:
            wire.read_frame()
    except (PeerClosed, ConnectionResetError):
        return True


def test_replayed_message_drops_the_connection(server: Server) -> None:
    server.served(b"before")
    wire = server.attacker()
    wire.handshake(ATTACKER_META)
    out: list = []
    wire.mech.encode([b"once"], out)
    frame = b"".join(out)
    wire.sock.sendall(frame)
    assert [bytes(f) for f in server.sock.recv_multipart()] == [b"attacker", b"once"]
    wire.sock.sendall(frame)  # the same nonce again
    assert dropped(wire)
    server.served(b"after")
    assert server.sock.poll(0) == 0  # the replay never arrived
    wire.close()


def test_reordered_messages_drop_the_connection(server: Server) -> None:
    wire = server.attacker()
    wire.handshake(ATTACKER_META)
    first: list = []
    second: list = []
    wire.mech.encode([b"first"], first)
    wire.mech.encode([b"second"], second)
    wire.sock.sendall(b"".join(second))
    assert [bytes(f) for f in server.sock.recv_multipart()] == [b"attacker", b"second"]
    wire.sock.sendall(b"".join(first))  # a lower nonce after a higher one
    assert dropped(wire)
    server.served(b"after")
    assert server.sock.poll(0) == 0
    wire.close()


@pytest.mark.parametrize("size", [199, 201])
def test_hello_of_the_wrong_size_drops_the_connection(server: Server, size: int) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(build_greeting(b"CURVE"))
    got = b""
    while len(got) < GREETING_SIZE:
        data = sock.recv(GREETING_SIZE - len(got))
        assert data
        got += data
    sock.sendall(command_frame(b"HELLO", b"\x01\x00" + bytes(size - 8)))
    wire = CurveWire.__new__(CurveWire)  # only its reader is needed here
    wire.sock, wire.buf, wire.frames = sock, b"", []
    assert dropped(wire)
    assert not any(body.startswith(b"\x07WELCOME") for _, body in wire.frames)
    server.served(b"after")
    sock.close()


def test_forged_cookie_drops_the_connection(server: Server) -> None:
    wire = server.attacker()
    greeting = wire._need(GREETING_SIZE)
    assert greeting[12:17] == b"CURVE"
    mech = wire.mech
    for command in mech.start(encode_metadata(ATTACKER_META)):
        wire.send_command(*command)
    _, welcome = wire.read_frame()
    [(name, data)] = mech.receive(b"WELCOME", welcome[8:])
    forged = bytearray(data)
    forged[40] ^= 0x01  # inside the cookie's box
    wire.send_command(name, bytes(forged))
    assert dropped(wire)
    assert not any(body.startswith(b"\x05READY") for _, body in wire.frames)
    server.served(b"after")
    wire.close()


def test_clear_frame_after_the_handshake_drops_the_connection(server: Server) -> None:
    wire = server.attacker()
    wire.handshake(ATTACKER_META)
    wire.sock.sendall(b"\x00\x05hello")  # a message frame in clear where a MESSAGE belongs
    assert dropped(wire)
    server.served(b"after")
    assert server.sock.poll(0) == 0
    wire.close()


def test_client_stuck_after_welcome_is_dropped_at_handshake_ivl(impl: Ctx, libzmq: Ctx) -> None:
    """A client that takes its WELCOME (the server's cookie) and never sends INITIATE is dropped when
    HANDSHAKE_IVL expires."""
    public, secret = curve.keypair()
    sock = impl.socket("ROUTER", curve_server=1, curve_secretkey=secret, handshake_ivl=200)
    port = int(bind_tcp(impl, sock).rsplit(":", 1)[1])
    pub, sec = curve.keypair()
    wire = CurveWire(
        socket.create_connection(("127.0.0.1", port), timeout=5), curve.CurveClient(pub, sec, public)
    )
    wire._need(GREETING_SIZE)
    for command in wire.mech.start(encode_metadata(ATTACKER_META)):
        wire.send_command(*command)
    _, welcome = wire.read_frame()
    assert welcome.startswith(b"\x07WELCOME")
    assert dropped(wire)  # bounded by the socket's 5 s timeout: a hang fails
    wire.close()
