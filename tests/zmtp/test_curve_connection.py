"""CURVE driven by a Connection: two zlab Connections, a Connection against libzmq over plain TCP, and hostile
bytes (replays, reordering, clear frames, wrong-size HELLO) fed to a server Connection, with Hypothesis."""

from __future__ import annotations

import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zlab.constants import SocketType as T
from zlab.errors import HandshakeRefused, ProtocolError
from zlab.zmtp import Connection, HandshakeDone, PeerError, Ping, Pong, Subscribe, ZapReply, ZapRequest, curve
from zlab.zmtp.curve import CurveClient, CurveServer
from zlab.zmtp.frames import command_frame

from ._util import greeting, pump

SERVER = curve.keypair()
CLIENT = curve.keypair()


def client_conn(socket_type: int = T.DEALER, server_key: bytes = SERVER[0], **kw: object) -> Connection:
    return Connection(socket_type, mechanism=CurveClient(CLIENT[0], CLIENT[1], server_key), **kw)  # type: ignore[arg-type]


def server_conn(socket_type: int = T.ROUTER, zap: bool = False, **kw: object) -> Connection:
    return Connection(socket_type, mechanism=CurveServer(SERVER[1], zap=zap), **kw)  # type: ignore[arg-type]


def connected(**kw: object) -> tuple[Connection, Connection]:
    c = client_conn(routing_id=b"cli", **kw)
    s = server_conn(**kw)
    pump(c, s)
    assert c.handshake_done and s.handshake_done
    return c, s


def test_greeting_says_curve_and_as_server() -> None:
    c, s = client_conn(), server_conn()
    gc, gs = c.data_to_send(), s.data_to_send()
    assert gc[12:17] == b"CURVE" and gc[32] == 0
    assert gs[12:17] == b"CURVE" and gs[32] == 1


def test_handshake_and_traffic_between_connections() -> None:
    c, s = connected()
    (done,) = [e for e in s.events if isinstance(e, HandshakeDone)]
    assert done.peer_socket_type == T.DEALER and done.peer_routing_id == b"cli"
    wire = c.encode([b"hello", b"", b"z" * 70000])
    assert b"hello" not in wire and wire.count(b"\x07MESSAGE") == 3
    assert s.receive_data(wire) == [[b"hello", b"", b"z" * 70000]]
    back = s.encode([b"reply"])
    got = []
    for i in range(len(back)):  # one octet at a time
        got += c.receive_data(back[i : i + 1])
    assert got == [b"reply"]


def test_pings_and_subscriptions_inside_messages() -> None:
    c = client_conn(T.SUB)
    s = server_conn(T.PUB)
    c.subscribe(b"news")  # held until the handshake ends, then sent inside a MESSAGE
    pump(c, s)
    assert Subscribe(b"news") in s.events
    c.ping(10, b"ctx")
    out = c.data_to_send()
    assert b"PING" not in out and out[0] == 0  # a plain frame around the MESSAGE, as libzmq sends it
    s.receive_data(out)
    assert Ping(10, b"ctx") in s.events
    c.receive_data(s.data_to_send())
    assert Pong(b"ctx") in c.events


def test_wrong_server_key_fails_the_handshake() -> None:
    c = client_conn(server_key=curve.keypair()[0])
    s = server_conn()
    with pytest.raises(ProtocolError, match="HELLO"):
        pump(c, s)
    assert s.closed and not c.handshake_done


def test_zap_through_the_connection() -> None:
    c = client_conn()
    s = server_conn(zap=True)
    pump(c, s)
    assert [e for e in s.events if isinstance(e, ZapRequest)] == [ZapRequest(b"CURVE", (CLIENT[0],))]
    assert not s.handshake_done
    s.zap_reply(ZapReply("200", user_id=b"alice"))
    pump(c, s)
    assert c.handshake_done and s.handshake_done


def test_zap_refusal_sends_error_in_clear_and_the_client_reports_it() -> None:
    c = client_conn()
    s = server_conn(zap=True)
    pump(c, s)
    with pytest.raises(HandshakeRefused):
        s.zap_reply(ZapReply("400", "denied"))
    error = s.data_to_send()
    assert error == command_frame(b"ERROR", b"\x03400")
    with pytest.raises(HandshakeRefused, match="400"):
        c.receive_data(error)
    assert PeerError("400") in c.events


def test_replayed_and_reordered_message_frames() -> None:
    c, s = connected()
    first, second = c.encode([b"1"]), c.encode([b"2"])
    assert s.receive_data(first) == [b"1"]
    with pytest.raises(ProtocolError, match="nonce"):
        s.receive_data(first)
    c, s = connected()
    first, second = c.encode([b"1"]), c.encode([b"2"])
    assert s.receive_data(second) == [b"2"]
    with pytest.raises(ProtocolError, match="nonce"):
        s.receive_data(first)


def test_clear_frames_after_the_handshake_are_refused() -> None:
    c, s = connected()
    with pytest.raises(ProtocolError, match="MESSAGE"):
        s.receive_data(b"\x00\x05hello")
    c, s = connected()
    with pytest.raises(ProtocolError, match="MESSAGE"):
        s.receive_data(command_frame(b"PING", b"\x00\x00"))
    c, s = connected()
    with pytest.raises(ProtocolError, match="MORE"):
        s.receive_data(b"\x01" + c.encode([b"x"])[1:])


def test_max_msg_size_applies_to_the_payload() -> None:
    c, s = connected(max_msg_size=100)
    assert s.receive_data(c.encode([b"a" * 100])) == [b"a" * 100]
    with pytest.raises(ProtocolError, match="too large"):
        s.receive_data(c.encode([b"a" * 101]))
    # a frame header announcing more than the limit allows is refused before its body arrives
    c, s = connected(max_msg_size=100)
    with pytest.raises(ProtocolError, match="too large"):
        s.receive_data(b"\x02" + (1 << 40).to_bytes(8, "big"))


@pytest.mark.parametrize("size", [199, 201])
def test_hello_of_the_wrong_size_closes_the_connection(size: int) -> None:
    s = server_conn()
    s.data_to_send()
    with pytest.raises(ProtocolError, match="HELLO"):
        s.receive_data(greeting(mechanism=b"CURVE") + command_frame(b"HELLO", bytes(size - 6)))
    assert s.closed


def test_a_null_peer_is_refused() -> None:
    s = server_conn()
    with pytest.raises(HandshakeRefused, match="mechanism"):
        s.receive_data(greeting(mechanism=b"NULL"))


@settings(max_examples=300)
@given(st.binary(max_size=600))
def test_fuzz_server_connection_after_the_greeting(data: bytes) -> None:
    s = server_conn()
    s.receive_data(greeting(mechanism=b"CURVE"))
    try:
        msgs = s.receive_data(data)
    except ProtocolError:
        return
    assert msgs == []  # nothing gets through before a handshake


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=300), max_size=4), st.sampled_from([b"HELLO", b"INITIATE", b"MESSAGE"]))
def test_fuzz_server_connection_command_frames(bodies: list[bytes], name: bytes) -> None:
    s = server_conn()
    wire = greeting(mechanism=b"CURVE") + b"".join(command_frame(name, b) for b in bodies)
    try:
        assert s.receive_data(wire) == []
    except ProtocolError:
        pass


@settings(max_examples=200)
@given(st.binary(max_size=300), st.integers(0, 3))
def test_fuzz_after_the_handshake(data: bytes, flags: int) -> None:
    c, s = connected()
    framed = bytes((flags & 1,)) + bytes((min(len(data), 255),)) + data[:255]
    for wire in (data, framed, c.encode([b"ok"]) + data):
        try:
            s.receive_data(wire)
        except ProtocolError:
            c, s = connected()


# --------------------------------------------------------------------------------- against libzmq

zmq = pytest.importorskip("zmq")


@pytest.mark.interop
@pytest.mark.timeout(10)
def test_connection_against_libzmq_router() -> None:
    ctx = zmq.Context()
    try:
        router = ctx.socket(zmq.ROUTER)
        router.curve_server = True
        router.curve_secretkey = SERVER[1]
        router.rcvtimeo = router.sndtimeo = 5000
        router.bind("tcp://127.0.0.1:*")
        port = int(router.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
        conn = client_conn(routing_id=b"zc", max_msg_size=1 << 21)
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        got: list = []

        def pump_until(done) -> None:  # type: ignore[no-untyped-def]
            while not done():
                out = conn.data_to_send()
                if out:
                    sock.sendall(out)
                data = sock.recv(1 << 20)
                assert data, "libzmq closed the connection"
                got.extend(conn.receive_data(data))
            out = conn.data_to_send()
            if out:
                sock.sendall(out)

        pump_until(lambda: conn.handshake_done)
        sock.sendall(conn.encode([b"a", b"b"]))
        assert router.recv_multipart() == [b"zc", b"a", b"b"]
        big = bytes(range(256)) * 4096
        router.send_multipart([b"zc", big, b"end"])
        pump_until(lambda: bool(got))
        assert got == [[big, b"end"]]
        conn.ping(10, b"hi")
        pump_until(lambda: Pong(b"hi") in conn.events)
        sock.close()
    finally:
        ctx.destroy(linger=0)
