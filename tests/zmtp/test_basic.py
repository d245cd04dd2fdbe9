"""Basic behaviour of Connection: handshake between two instances, messages both ways, PING/PONG."""

from __future__ import annotations

from tests.zmtp._util import connected_pair, pump
from zlab.constants import SocketType as T
from zlab.zmtp import Connection, HandshakeDone, Ping, Pong


def test_handshake_and_messages() -> None:
    a = Connection(T.DEALER, routing_id=b"me")
    b = Connection(T.ROUTER)
    pump(a, b)
    assert a.handshake_done and b.handshake_done
    assert b.peer_routing_id == b"me" and b.peer_socket_type == T.DEALER and b.peer_minor == 1
    assert a.events.popleft() == HandshakeDone(T.ROUTER, b"", 1, {"Socket-Type": b"ROUTER", "Identity": b""})
    assert b.receive_data(a.encode([b"x", b"y" * 300]) + a.encode([b"z"])) == [[b"x", b"y" * 300], b"z"]
    assert a.receive_data(b.encode([b"reply"])) == [b"reply"]


def test_ping_pong() -> None:
    a, b = connected_pair()
    a.ping(5, b"ctx")
    assert b.receive_data(a.data_to_send()) == []
    assert b.events.popleft() == Ping(5, b"ctx")
    assert a.receive_data(b.data_to_send()) == []
    assert a.events.popleft() == Pong(b"ctx")
