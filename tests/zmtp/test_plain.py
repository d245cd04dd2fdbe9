"""PLAIN (RFC 24), sans-I/O: the handshake byte by byte, ZAP verdicts, malformed and out-of-order commands,
a Hypothesis fuzz of the server and client handshakes, and Connections over TCP against libzmq's PLAIN."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.zmtp._util import pump
from zlab.constants import SocketType as T
from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import (
    Connection,
    HandshakeDone,
    PeerError,
    PlainClient,
    PlainServer,
    Refused,
    ZapReply,
    ZapRequest,
)
from zlab.zmtp.commands import encode_metadata
from zlab.zmtp.frames import command_frame
from zlab.zmtp.plain import decode_hello, encode_hello

# Greetings as libzmq sends them for PLAIN: as-server 1 on the server (our choice too), 0 on the client.
CLIENT_GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x01PLAIN" + bytes(15) + b"\x00" + bytes(31)
SERVER_GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x01PLAIN" + bytes(15) + b"\x01" + bytes(31)
REQ_META = b"\x0bSocket-Type\x00\x00\x00\x03REQ\x08Identity\x00\x00\x00\x00"
REP_META = b"\x0bSocket-Type\x00\x00\x00\x03REP"


def client() -> Connection:
    return Connection(T.REQ, mechanism=PlainClient(b"admin", b"secret"))


def server(zap: bool = True) -> Connection:
    return Connection(T.REP, mechanism=PlainServer(zap=zap))


def test_hello_encoding() -> None:
    assert encode_hello(b"admin", b"secret") == b"\x05admin\x06secret"
    assert decode_hello(b"\x05admin\x06secret") == (b"admin", b"secret")
    assert decode_hello(b"\x00\x00") == (b"", b"")
    with pytest.raises(ValueError):
        encode_hello(b"u" * 256, b"")


@pytest.mark.parametrize("data", [b"", b"\x05adm", b"\x05admin", b"\x01a\x02b", b"\x01a\x00extra", b"\x00"])
def test_malformed_hello_is_a_protocol_error(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        decode_hello(data)


def test_client_handshake_byte_by_byte() -> None:
    c = client()
    assert c.data_to_send() == CLIENT_GREETING
    c.receive_data(SERVER_GREETING)
    assert c.data_to_send() == b"\x04\x13\x05HELLO\x05admin\x06secret"
    c.receive_data(b"\x04\x08\x07WELCOME")
    assert c.data_to_send() == b"\x04" + bytes((1 + 8 + len(REQ_META),)) + b"\x08INITIATE" + REQ_META
    assert not c.handshake_done
    c.receive_data(b"\x04" + bytes((1 + 5 + len(REP_META),)) + b"\x05READY" + REP_META)
    assert c.handshake_done and c.peer_socket_type == T.REP
    assert isinstance(c.events.popleft(), HandshakeDone)
    assert c.receive_data(b"\x00\x02hi") == [b"hi"]


def test_server_handshake_byte_by_byte_with_zap() -> None:
    s = server()
    assert s.data_to_send() == SERVER_GREETING
    s.receive_data(CLIENT_GREETING + b"\x04\x13\x05HELLO\x05admin\x06secret")
    assert s.data_to_send() == b""
    assert list(s.events) == [ZapRequest(b"PLAIN", (b"admin", b"secret"))]
    s.events.clear()
    s.zap_reply(ZapReply("200", "OK", b"admin"))
    assert s.data_to_send() == b"\x04\x08\x07WELCOME"
    s.receive_data(b"\x04" + bytes((1 + 8 + len(REQ_META),)) + b"\x08INITIATE" + REQ_META)
    assert s.data_to_send() == b"\x04" + bytes((1 + 5 + len(REP_META),)) + b"\x05READY" + REP_META
    assert s.handshake_done and s.peer_socket_type == T.REQ


def test_server_without_zap_welcomes_anyone() -> None:
    c, s = client(), server(zap=False)
    pump(c, s)
    assert c.handshake_done and s.handshake_done


def test_client_and_server_pumped_with_zap_one_octet_at_a_time() -> None:
    c, s = client(), server()
    pump(c, s, bytewise=True)
    assert not c.handshake_done
    assert s.events.popleft() == ZapRequest(b"PLAIN", (b"admin", b"secret"))
    s.zap_reply(ZapReply("200"))
    pump(c, s, bytewise=True)
    assert c.handshake_done and s.handshake_done
    assert s.receive_data(c.encode([b"req", b"body"])) == [[b"req", b"body"]]


@pytest.mark.parametrize("status", ["400", "500"])
def test_refused_credentials_send_error_and_the_client_reports_it(status: str) -> None:
    c, s = client(), server()
    pump(c, s)
    with pytest.raises(Refused) as info:
        s.zap_reply(ZapReply(status, "nope"))
    assert info.value.status == status
    out = s.data_to_send()
    assert out == command_frame(b"ERROR", bytes((3,)) + status.encode())
    with pytest.raises(HandshakeRefused):
        c.receive_data(out)
    assert PeerError(status) in c.events


def test_zap_300_refuses_without_error() -> None:
    c, s = client(), server()
    pump(c, s)
    with pytest.raises(Refused):
        s.zap_reply(ZapReply("300"))
    assert s.data_to_send() == b""


@pytest.mark.parametrize(
    "commands",
    [
        [(b"INITIATE", REQ_META)],  # INITIATE before HELLO
        [(b"HELLO", b"\x00\x00"), (b"HELLO", b"\x00\x00")],  # HELLO twice (no ZAP: WELCOME was sent)
        [(b"READY", REQ_META)],
        [(b"WELCOME", b"")],
        [(b"HELLO", b"\x00\x00"), (b"INITIATE", b"\x05bad")],  # metadata overruns the command
    ],
)
def test_server_rejects_out_of_order_or_malformed_commands(commands: list[tuple[bytes, bytes]]) -> None:
    s = server(zap=False)
    data = CLIENT_GREETING + b"".join(command_frame(n, d) for n, d in commands)
    with pytest.raises(ProtocolError):
        s.receive_data(data)


@pytest.mark.parametrize(
    "commands",
    [
        [(b"READY", REP_META)],  # READY before WELCOME
        [(b"WELCOME", b"x")],  # WELCOME with a body
        [(b"WELCOME", b""), (b"WELCOME", b"")],
        [(b"HELLO", b"\x00\x00")],
    ],
)
def test_client_rejects_out_of_order_or_malformed_commands(commands: list[tuple[bytes, bytes]]) -> None:
    c = client()
    with pytest.raises(ProtocolError):
        c.receive_data(SERVER_GREETING + b"".join(command_frame(n, d) for n, d in commands))


def test_server_refuses_an_incompatible_socket_type_in_initiate() -> None:
    s = server(zap=False)
    meta = encode_metadata({"Socket-Type": b"PUB"})
    with pytest.raises(HandshakeRefused):
        s.receive_data(
            CLIENT_GREETING + command_frame(b"HELLO", b"\x00\x00") + command_frame(b"INITIATE", meta)
        )
    assert s.data_to_send().endswith(command_frame(b"ERROR", b"\x13Invalid socket type"))


def test_a_null_peer_is_refused_by_mechanism() -> None:
    null_greeting = b"\xff" + bytes(8) + b"\x7f\x03\x01NULL" + bytes(16 + 32)
    with pytest.raises(HandshakeRefused, match="mechanism"):
        server().receive_data(null_greeting)


def _fuzz(conn: Connection, greeting: bytes, chunks: list[bytes]) -> None:
    conn.receive_data(greeting)
    try:
        for chunk in chunks:
            conn.receive_data(chunk)
            while conn.events:
                if isinstance(conn.events.popleft(), ZapRequest):
                    conn.zap_reply(ZapReply("200"))
    except ProtocolError:
        assert conn.closed


_valid = [
    command_frame(b"HELLO", b"\x05admin\x06secret"),
    command_frame(b"WELCOME"),
    command_frame(b"INITIATE", REQ_META),
    command_frame(b"READY", REP_META),
    command_frame(b"ERROR", b"\x03400"),
]
_chunks = st.lists(st.one_of(st.binary(max_size=80), st.sampled_from(_valid)), max_size=8)


@settings(max_examples=300)
@given(_chunks)
def test_fuzz_plain_server_handshake(chunks: list[bytes]) -> None:
    _fuzz(server(), CLIENT_GREETING, chunks)


@settings(max_examples=300)
@given(_chunks)
def test_fuzz_plain_client_handshake(chunks: list[bytes]) -> None:
    _fuzz(client(), SERVER_GREETING, chunks)


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_fuzz_plain_any_bytes_after_the_greeting(data: bytes) -> None:
    for conn, greeting in ((server(), CLIENT_GREETING), (client(), SERVER_GREETING)):
        _fuzz(conn, greeting, [data])


# ------------------------------------------------------------------ against libzmq over TCP

zmq = pytest.importorskip("zmq")


@pytest.fixture
def zctx():  # type: ignore[no-untyped-def]
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def _pump(sock: socket.socket, conn: Connection, until) -> list:  # type: ignore[no-untyped-def]
    got: list = []
    out = conn.data_to_send()
    if out:
        sock.sendall(out)
    while not until():
        data = sock.recv(65536)
        if not data:
            break
        got += conn.receive_data(data)
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
    return got


@pytest.mark.interop
@pytest.mark.timeout(15)
@pytest.mark.parametrize(("password", "ok"), [(b"secret", True), (b"wrong", False)])
def test_plain_client_connection_against_libzmq_server(zctx, password: bytes, ok: bool) -> None:  # type: ignore[no-untyped-def]
    from zmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(zctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    rep = zctx.socket(zmq.REP)
    rep.plain_server = True
    rep.rcvtimeo = 5000
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn = Connection(T.REQ, mechanism=PlainClient(b"admin", password))
    try:
        if ok:
            _pump(sock, conn, lambda: conn.handshake_done)
            sock.sendall(conn.encode([b"", b"hello"]))
            assert rep.recv() == b"hello"
            rep.send(b"world")
            got: list = []
            while not got:
                got += conn.receive_data(sock.recv(65536))
            assert got == [[b"", b"world"]]
        else:
            with pytest.raises(ProtocolError):  # libzmq 4.3.5 sends a malformed ERROR ("^RROR") here
                _pump(sock, conn, lambda: conn.handshake_done)
            assert not conn.handshake_done
    finally:
        sock.close()
        auth.stop()


@pytest.mark.interop
@pytest.mark.timeout(15)
@pytest.mark.parametrize(("password", "ok"), [(b"secret", True), (b"wrong", False)])
def test_plain_server_connection_against_libzmq_client(zctx, password: bytes, ok: bool) -> None:  # type: ignore[no-untyped-def]
    req = zctx.socket(zmq.REQ)
    req.plain_username = b"admin"
    req.plain_password = password
    req.rcvtimeo = 5000
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    try:
        req.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        sock, _ = listener.accept()
        sock.settimeout(5)
        conn = Connection(T.REP, mechanism=PlainServer())
        _pump(sock, conn, lambda: bool(conn.events))
        assert conn.events.popleft() == ZapRequest(b"PLAIN", (b"admin", password))
        if ok:
            conn.zap_reply(ZapReply("200", "OK", b"admin"))
            _pump(sock, conn, lambda: conn.handshake_done)
            req.send(b"ping")
            got: list = []
            while not got:
                got += conn.receive_data(sock.recv(65536))
            assert got == [[b"", b"ping"]]
            sock.sendall(conn.encode([b"", b"pong"]))
            assert req.recv() == b"pong"
        else:
            with pytest.raises(Refused):
                conn.zap_reply(ZapReply("400", "bad password"))
            sock.sendall(conn.data_to_send())  # ERROR "400"
            assert sock.recv(65536) == b""  # libzmq's client gave up on this connection
        sock.close()
    finally:
        listener.close()
