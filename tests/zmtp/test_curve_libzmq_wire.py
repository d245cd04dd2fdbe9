"""The sans-I/O CURVE mechanism against libzmq (pyzmq) at the byte level, over a plain TCP socket.

No zlab socket, engine or Connection takes part: tests/zmtp/_curve.py frames the bytes, so these tests
show that the handshake and the MESSAGE encryption themselves agree with libzmq 4.3.
"""

from __future__ import annotations

import socket
import threading

import pytest

from tests.zmtp._curve import CurveWire, PeerClosed
from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import curve
from zlab.zmtp.curve import CurveClient, CurveServer
from zlab.zmtp.frames import FLAG_COMMAND, FLAG_LONG

zmq = pytest.importorskip("zmq")

pytestmark = [pytest.mark.interop, pytest.mark.timeout(10)]


@pytest.fixture
def ctx():  # type: ignore[no-untyped-def]
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def keys() -> dict[str, tuple[bytes, bytes]]:
    return {"server": curve.keypair(), "client": curve.keypair()}


def _libzmq_server(ctx, kind: int, secret: bytes):  # type: ignore[no-untyped-def]
    s = ctx.socket(kind)
    s.curve_server = True
    s.curve_secretkey = secret
    s.rcvtimeo = s.sndtimeo = 5000
    s.linger = 0
    s.bind("tcp://127.0.0.1:*")
    port = int(s.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
    return s, port


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    return sock


def _listener() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(5)
    return server, server.getsockname()[1]


def test_zlab_client_against_libzmq_router(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    spub, ssec = keys["server"]
    cpub, csec = keys["client"]
    router, port = _libzmq_server(ctx, zmq.ROUTER, ssec)
    mech = CurveClient(cpub, csec, spub)
    wire = CurveWire(_connect(port), mech)
    try:
        wire.handshake({"Socket-Type": b"DEALER", "Identity": b"zlab-curve"})
        assert mech.peer_metadata["Socket-Type"] == b"ROUTER"
        wire.send([b"hello", b"", b"w" * 300])
        msg = router.recv_multipart(copy=False)
        assert [f.bytes for f in msg] == [b"zlab-curve", b"hello", b"", b"w" * 300]
        assert msg[1].get("Socket-Type") == "DEALER"
        big = bytes(range(256)) * 4096  # 1 MiB
        router.send_multipart([b"zlab-curve", b"back", big])
        router.send_multipart([b"zlab-curve", b"single"])
        assert wire.recv() == [b"back", big]
        assert wire.recv() == [b"single"]
        # libzmq sends each MESSAGE in a plain message frame (no COMMAND, no MORE on the outer frame)
        data_frames = [flags for flags, body in wire.frames if body[:8] == b"\x07MESSAGE"]
        assert data_frames and all(flags & ~FLAG_LONG == 0 for flags in data_frames)
    finally:
        wire.close()


def test_zlab_client_against_libzmq_rep_large_and_empty(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    spub, ssec = keys["server"]
    cpub, csec = keys["client"]
    rep, port = _libzmq_server(ctx, zmq.REP, ssec)
    wire = CurveWire(_connect(port), CurveClient(cpub, csec, spub))
    try:
        wire.handshake({"Socket-Type": b"REQ", "Identity": b""})
        for payload in (b"", b"x", bytes(1 << 20)):
            wire.send_sealed([b"", payload])  # REQ envelope: empty delimiter
            assert rep.recv() == payload
            rep.send(payload[::-1])
            assert wire.recv() == [b"", payload[::-1]]
    finally:
        wire.close()


def test_libzmq_client_against_zlab_server(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    spub, ssec = keys["server"]
    cpub, csec = keys["client"]
    listener, port = _listener()
    dealer = ctx.socket(zmq.DEALER)
    dealer.curve_serverkey = spub
    dealer.curve_publickey = cpub
    dealer.curve_secretkey = csec
    dealer.routing_id = b"libzmq-dealer"
    dealer.rcvtimeo = dealer.sndtimeo = 5000
    dealer.linger = 0
    try:
        dealer.connect(f"tcp://127.0.0.1:{port}")
        sock, _ = listener.accept()
        sock.settimeout(5)
        mech = CurveServer(ssec)
        wire = CurveWire(sock, mech)
        wire.handshake({"Socket-Type": b"ROUTER", "Identity": b""})
        assert mech.client_key == cpub
        assert mech.peer_metadata["Socket-Type"] == b"DEALER"
        assert mech.peer_metadata["Identity"] == b"libzmq-dealer"
        dealer.send_multipart([b"hi", b"there"])
        assert wire.recv() == [b"hi", b"there"]
        big = b"\x5a" * (1 << 20)
        wire.send([b"reply", big])
        assert dealer.recv_multipart() == [b"reply", big]
        wire.close()
    finally:
        listener.close()


def test_commands_inside_message_use_flag_bit_1(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    """libzmq's SUBSCRIBE and PING travel inside MESSAGE with flags bit 1; so do ours (PONG back)."""
    spub, ssec = keys["server"]
    cpub, csec = keys["client"]
    listener, port = _listener()
    sub = ctx.socket(zmq.SUB)
    sub.curve_serverkey = spub
    sub.curve_publickey = cpub
    sub.curve_secretkey = csec
    sub.heartbeat_ivl = 50
    sub.rcvtimeo = 5000
    sub.linger = 0
    sub.subscribe(b"news")
    try:
        sub.connect(f"tcp://127.0.0.1:{port}")
        sock, _ = listener.accept()
        sock.settimeout(5)
        wire = CurveWire(sock, CurveServer(ssec))
        wire.handshake({"Socket-Type": b"PUB"})
        wire.wait_command(b"\x04PING")
        assert wire.wait_command(b"\x09SUBSCRIBE") == b"\x09SUBSCRIBEnews"
        wire.send([b"news", b"item"])
        assert sub.recv_multipart() == [b"news", b"item"]
        # a PING of ours inside MESSAGE: libzmq answers with a PONG inside MESSAGE, context echoed
        wire.send_command_inside(b"PING", b"\x00\x0ahello")
        assert wire.wait_command(b"\x04PONG") == b"\x04PONGhello"
        outer = {flags for flags, body in wire.frames if body[:8] == b"\x07MESSAGE"}
        assert not any(flags & FLAG_COMMAND for flags in outer)
        wire.close()
    finally:
        listener.close()


def test_wrong_server_key_zlab_client(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    """libzmq cannot open our HELLO (boxed to the wrong key) and drops the connection: no WELCOME."""
    _, ssec = keys["server"]
    cpub, csec = keys["client"]
    wrong, _ = curve.keypair()
    _router, port = _libzmq_server(ctx, zmq.ROUTER, ssec)
    wire = CurveWire(_connect(port), CurveClient(cpub, csec, wrong))
    try:
        with pytest.raises(PeerClosed):
            wire.handshake({"Socket-Type": b"DEALER"})
        assert not wire.mech.done
    finally:
        wire.close()


def test_wrong_server_key_libzmq_client(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    """A libzmq client boxing HELLO to another key: our server cannot open it (ProtocolError)."""
    _, ssec = keys["server"]
    cpub, csec = keys["client"]
    wrong, _ = curve.keypair()
    listener, port = _listener()
    dealer = ctx.socket(zmq.DEALER)
    dealer.curve_serverkey = wrong
    dealer.curve_publickey = cpub
    dealer.curve_secretkey = csec
    dealer.linger = 0
    try:
        dealer.connect(f"tcp://127.0.0.1:{port}")
        sock, _ = listener.accept()
        sock.settimeout(5)
        wire = CurveWire(sock, CurveServer(ssec))
        with pytest.raises(ProtocolError, match="HELLO"):
            wire.handshake({"Socket-Type": b"ROUTER"})
        wire.close()
    finally:
        listener.close()


def test_libzmq_zap_refusal_reaches_zlab_client_as_error(ctx, keys) -> None:  # type: ignore[no-untyped-def]
    """libzmq's ZAP says 400: it sends ERROR "400" after our INITIATE, which we raise as a refusal."""
    spub, ssec = keys["server"]
    cpub, csec = keys["client"]
    handler = ctx.socket(zmq.REP)
    handler.bind("inproc://zeromq.zap.01")
    handler.rcvtimeo = 5000
    _router, port = _libzmq_server(ctx, zmq.ROUTER, ssec)
    wire = CurveWire(_connect(port), CurveClient(cpub, csec, spub))
    try:

        def answer() -> None:
            req = handler.recv_multipart()
            assert req[5] == b"CURVE" and req[6] == cpub
            handler.send_multipart([b"1.0", req[1], b"400", b"No access", b"", b""])

        t = threading.Thread(target=answer)
        t.start()
        with pytest.raises(HandshakeRefused, match="400"):
            wire.handshake({"Socket-Type": b"DEALER"})
        t.join(5)
    finally:
        wire.close()
        handler.close(0)
