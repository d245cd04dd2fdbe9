"""STREAM sockets against plain OS sockets: raw bytes, ``[routing id, data]`` framing, STREAM_NOTIFY.

Each test runs for libzmq (the reference) and zlab, over tcp and ipc. Where libzmq 4.3.5 and zlab
differ on purpose (``[id, b""]`` closes the OS connection at once in zlab; libzmq only forgets the
peer and resets the connection when the peer next writes), the test asserts what both do and then
zlab's stronger behaviour.
"""

from __future__ import annotations

import errno
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.support import Lib

pytestmark = pytest.mark.timeout(30)


def _os_address(endpoint: str) -> tuple[int, Any]:
    transport, _, rest = endpoint.partition("://")
    if transport == "tcp":
        host, _, port = rest.rpartition(":")
        return socket.AF_INET, (host, int(port))
    return socket.AF_UNIX, rest


@pytest.fixture
def os_sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for s in made:
        s.close()


def _dial(endpoint: str, made: list[socket.socket]) -> socket.socket:
    family, address = _os_address(endpoint)
    s = socket.socket(family, socket.SOCK_STREAM)
    made.append(s)
    s.settimeout(5)
    s.connect(address)
    return s


def _listen(transport: str, lib: Lib, made: list[socket.socket]) -> tuple[socket.socket, str]:
    if transport == "tcp":
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.bind(("127.0.0.1", 0))
        endpoint = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    else:
        endpoint = lib.endpoint("ipc")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(endpoint.partition("://")[2])
    made.append(srv)
    srv.settimeout(5)
    srv.listen()
    return srv, endpoint


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    return data


def _recv_data(stream: Any, rid: bytes, n: int) -> bytes:
    """Raw bytes may arrive in several reads: join them up to ``n`` octets."""
    data = b""
    while len(data) < n:
        got_id, chunk = stream.recv_multipart()
        assert got_id == rid and chunk, (got_id, chunk)
        data += chunk
    return data


def test_server_notifies_routes_and_sees_the_peer_go(lib: Lib, stream_transport: str, os_sockets) -> None:
    stream = lib.socket("STREAM")
    ep = lib.bind(stream, stream_transport)
    client = _dial(ep, os_sockets)
    rid, empty = stream.recv_multipart()  # the connect notification
    assert empty == b"" and rid[:1] == b"\x00" and len(rid) == 5
    client.sendall(b"hello")
    assert _recv_data(stream, rid, 5) == b"hello"
    stream.send_multipart([rid, b"world"])
    assert _recv_exactly(client, 5) == b"world"
    stream.send(rid, lib.SNDMORE)  # the same, frame by frame
    stream.send(b"again")
    assert _recv_exactly(client, 5) == b"again"
    client.sendall(b"bye")
    client.close()
    assert _recv_data(stream, rid, 3) == b"bye"
    assert stream.recv_multipart() == [rid, b""]  # the disconnect notification
    if lib.is_zlab:  # zlab has forgotten the peer by then (libzmq does so a little later)
        with pytest.raises(lib.mod.ZMQError) as exc:
            stream.send_multipart([rid, b"late"])
        assert exc.value.errno == lib.EHOSTUNREACH


def test_each_peer_has_its_own_routing_id(lib: Lib, os_sockets) -> None:
    stream = lib.socket("STREAM")
    ep = lib.bind(stream, "tcp")
    a = _dial(ep, os_sockets)
    rid_a, _ = stream.recv_multipart()
    b = _dial(ep, os_sockets)
    rid_b, _ = stream.recv_multipart()
    assert rid_a != rid_b
    stream.send_multipart([rid_b, b"to b"])
    stream.send_multipart([rid_a, b"to a"])
    assert _recv_exactly(a, 4) == b"to a"
    assert _recv_exactly(b, 4) == b"to b"


def test_empty_frame_closes_that_peer_only(lib: Lib, os_sockets) -> None:
    stream = lib.socket("STREAM", rcvtimeo=200)
    ep = lib.bind(stream, "tcp")
    a = _dial(ep, os_sockets)
    rid_a, _ = stream.recv_multipart()
    b = _dial(ep, os_sockets)
    rid_b, _ = stream.recv_multipart()
    stream.send_multipart([rid_a, b"last"])
    stream.send_multipart([rid_a, b""])
    assert _recv_exactly(a, 4) == b"last"
    with pytest.raises(lib.mod.ZMQError) as exc:  # forgotten at once
        stream.send_multipart([rid_a, b"more"])
    assert exc.value.errno == lib.EHOSTUNREACH
    with pytest.raises(lib.mod.Again):  # no notification for a close the program asked for
        stream.recv_multipart()
    stream.send_multipart([rid_b, b"still here"])
    assert _recv_exactly(b, 10) == b"still here"
    if lib.is_zlab:  # zlab closes the connection now (libzmq 4.3.5 waits for the peer to write)
        assert a.recv(16) == b""


def test_unknown_routing_id_is_host_unreachable(lib: Lib) -> None:
    stream = lib.socket("STREAM")
    lib.bind(stream, "tcp")
    with pytest.raises(lib.mod.ZMQError) as exc:
        stream.send_multipart([b"\x00nope", b"data"])
    assert exc.value.errno == lib.EHOSTUNREACH


def test_client_connects_to_a_plain_server(lib: Lib, stream_transport: str, os_sockets) -> None:
    srv, ep = _listen(stream_transport, lib, os_sockets)
    stream = lib.socket("STREAM")
    stream.connect(ep)
    conn, _ = srv.accept()
    os_sockets.append(conn)
    conn.settimeout(5)
    rid, empty = stream.recv_multipart()
    assert empty == b""
    stream.send_multipart([rid, b"GET / HTTP/1.0\r\n\r\n"])
    assert _recv_exactly(conn, 18) == b"GET / HTTP/1.0\r\n\r\n"
    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
    assert _recv_data(stream, rid, 19) == b"HTTP/1.0 200 OK\r\n\r\n"
    conn.close()
    assert stream.recv_multipart() == [rid, b""]


def test_stream_notify_off(lib: Lib, os_sockets) -> None:
    stream = lib.socket("STREAM", stream_notify=0, rcvtimeo=200)
    ep = lib.bind(stream, "tcp")
    client = _dial(ep, os_sockets)
    client.sendall(b"q")
    _rid, data = stream.recv_multipart()  # no connect notification first
    assert data == b"q"
    client.close()
    with pytest.raises(lib.mod.Again):  # nor a disconnect one
        stream.recv_multipart()
    with pytest.raises(lib.mod.ZMQError) as exc:  # STREAM_NOTIFY is write-only in libzmq
        stream.getsockopt(lib.STREAM_NOTIFY)
    assert exc.value.errno == lib.EINVAL


def test_stream_speaks_raw_bytes_to_a_zmtp_peer(lib: Lib) -> None:
    """A ZMTP peer's greeting reaches a STREAM socket as plain data (how libzmq behaves too)."""
    stream = lib.socket("STREAM")
    ep = lib.bind(stream, "tcp")
    dealer = lib.socket("DEALER")
    dealer.connect(ep)
    rid, empty = stream.recv_multipart()
    assert empty == b""
    got_id, data = stream.recv_multipart()
    assert got_id == rid and data[:1] == b"\xff" and data[9:10] == b"\x7f"  # the signature


def test_zlab_refuses_inproc_and_lone_frames(ctx) -> None:
    import zlab

    stream = ctx.socket(zlab.SocketType.STREAM)
    with pytest.raises(zlab.ZMQError) as exc:
        stream.bind("inproc://raw")
    assert exc.value.errno == zlab.Errno.ENOCOMPATPROTO
    with pytest.raises(zlab.ZMQError) as exc:
        stream.send(b"an id and no data")
    assert exc.value.errno == zlab.Errno.EINVAL
    stream.close(linger=0)


def test_large_data_both_ways_with_a_slow_reader(lib: Lib, os_sockets) -> None:
    """More than the kernel buffers hold: partial writes resume, reads arrive in chunks, nothing lost."""
    size = 4 * 1024 * 1024
    payload = bytes(range(256)) * (size // 256)
    stream = lib.socket("STREAM", rcvhwm=4)  # a small inbound queue: reading pauses and resumes
    ep = lib.bind(stream, "tcp")
    client = _dial(ep, os_sockets)
    rid, _ = stream.recv_multipart()
    stream.send_multipart([rid, payload])
    assert _recv_exactly(client, size) == payload
    sender = threading.Thread(target=client.sendall, args=(payload,))
    sender.start()
    assert _recv_data(stream, rid, size) == payload
    sender.join(10)


def test_monitor_events_of_a_raw_peer(lib: Lib, stream_transport: str, os_sockets) -> None:
    """As libzmq: a raw connection never reports a handshake; when the peer goes, HANDSHAKE_FAILED_NO_DETAIL
    (EPIPE, its end of stream) comes before DISCONNECTED. A close the program asked for reports nothing."""
    from tests.monitor.support import Watch, names

    stream = lib.socket("STREAM")
    watch = Watch(lib, stream)
    ep = lib.bind(stream, stream_transport)
    client = _dial(ep, os_sockets)
    rid, _ = stream.recv_multipart()
    client.close()
    assert stream.recv_multipart() == [rid, b""]
    events = watch.until("DISCONNECTED")
    assert names(events) == ["LISTENING", "ACCEPTED", "HANDSHAKE_FAILED_NO_DETAIL", "DISCONNECTED"]
    assert events[2].value == errno.EPIPE
    assert events[3].value == events[1].value  # the same OS socket
    _dial(ep, os_sockets)
    rid, _ = stream.recv_multipart()
    assert names(watch.take(1)) == ["ACCEPTED"]
    stream.send_multipart([rid, b""])
    assert watch.quiet() == []


def test_connect_routing_id_names_the_peer(lib: Lib, os_sockets) -> None:
    srv, ep = _listen("tcp", lib, os_sockets)
    stream = lib.socket("STREAM", connect_routing_id=b"web")
    stream.connect(ep)
    conn, _ = srv.accept()
    os_sockets.append(conn)
    conn.settimeout(5)
    assert stream.recv_multipart() == [b"web", b""]
    stream.send_multipart([b"web", b"hello"])
    assert _recv_exactly(conn, 5) == b"hello"
    stream.connect(ep)  # the id was used up by the first connect: this peer gets a made-up one
    conn2, _ = srv.accept()
    os_sockets.append(conn2)
    rid, empty = stream.recv_multipart()
    assert empty == b"" and rid != b"web"


def test_zlab_refuses_a_connect_routing_id_in_use(ctx, os_sockets) -> None:
    """libzmq 4.3.5 aborts the process on this (an assertion in stream.cpp); zlab says EINVAL."""
    import zlab

    srv = socket.socket()
    os_sockets.append(srv)
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(5)
    ep = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    stream = ctx.socket(zlab.SocketType.STREAM)
    stream.rcvtimeo = 5000
    stream.connect_routing_id = b"a"
    stream.connect(ep)
    os_sockets.append(srv.accept()[0])
    assert stream.recv_multipart() == [b"a", b""]
    stream.connect_routing_id = b"a"
    with pytest.raises(zlab.ZMQError) as exc:
        stream.connect(ep)
    assert exc.value.errno == zlab.Errno.EINVAL
    stream.close(linger=0)


def test_disconnect_closes_the_connection_and_forgets_the_peer(lib: Lib, os_sockets) -> None:
    srv, ep = _listen("tcp", lib, os_sockets)
    stream = lib.socket("STREAM", rcvtimeo=200)
    stream.connect(ep)
    conn, _ = srv.accept()
    os_sockets.append(conn)
    conn.settimeout(5)
    rid, _ = stream.recv_multipart()
    stream.disconnect(ep)
    with pytest.raises(lib.mod.Again):  # nothing announced for a close the program asked for
        stream.recv_multipart()
    if lib.is_zlab:  # zlab closes the connection now (libzmq 4.3.5 leaves it open until the peer writes)
        assert conn.recv(16) == b""
        assert stream.core.pipes == []
        with pytest.raises(lib.mod.ZMQError) as exc:
            stream.send_multipart([rid, b"late"])
        assert exc.value.errno == lib.EHOSTUNREACH
