"""Helpers shared by the zmtp tests: wiring two Connections together and crafting raw peer bytes."""

from __future__ import annotations

from zlab.constants import SocketType
from zlab.zmtp import Connection
from zlab.zmtp.commands import encode_metadata
from zlab.zmtp.frames import command_frame


def greeting(major: int = 3, minor: int = 1, mechanism: bytes = b"NULL", padding: bytes = bytes(8)) -> bytes:
    """A peer greeting with chosen version, mechanism and padding."""
    return b"\xff" + padding + b"\x7f" + bytes((major, minor)) + mechanism.ljust(20, b"\0") + bytes(32)


def ready(socket_type: bytes, **props: bytes) -> bytes:
    """A READY command frame with Socket-Type and extra properties (underscores become dashes)."""
    meta = {"Socket-Type": socket_type} | {k.replace("_", "-"): v for k, v in props.items()}
    return command_frame(b"READY", encode_metadata(meta))


def pump(a: Connection, b: Connection, *, bytewise: bool = False) -> tuple[list, list]:
    """Exchange protocol output between a and b until both are quiet; return (messages at a, messages at b)."""
    got_a: list = []
    got_b: list = []
    for _ in range(10):
        out_a, out_b = a.data_to_send(), b.data_to_send()
        if not out_a and not out_b:
            break
        for data, conn, got in ((out_a, b, got_b), (out_b, a, got_a)):
            if bytewise:
                for i in range(len(data)):
                    got += conn.receive_data(data[i : i + 1])
            elif data:
                got += conn.receive_data(data)
    return got_a, got_b


def connected_pair(
    a_type: int = SocketType.DEALER, b_type: int = SocketType.ROUTER, **kw: object
) -> tuple[Connection, Connection]:
    """Two Connections with the handshake done."""
    a = Connection(a_type, **kw)  # type: ignore[arg-type]
    b = Connection(b_type, **kw)  # type: ignore[arg-type]
    pump(a, b)
    assert a.handshake_done and b.handshake_done
    a.events.clear()
    b.events.clear()
    return a, b


def established(socket_type: int = SocketType.PULL, peer: bytes = b"PUSH", **kw: object) -> Connection:
    """A Connection that has completed the handshake with a raw peer (nothing left to send)."""
    c = Connection(socket_type, **kw)  # type: ignore[arg-type]
    c.receive_data(greeting() + ready(peer))
    assert c.handshake_done
    c.data_to_send()
    c.events.clear()
    return c
