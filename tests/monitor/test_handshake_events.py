"""Handshake failures as monitor events, libzmq (pyzmq) and zlab side by side: a raw peer (the hostile
suite's byte builders) or a peer of the wrong socket type meets a monitored socket.

libzmq 4.3.5 reports a protocol violation during the handshake as HANDSHAKE_FAILED_PROTOCOL with its
``ZMQ_PROTOCOL_ERROR_*`` code, a connection lost or timed out during the handshake as
HANDSHAKE_FAILED_NO_DETAIL (value: an errno), an ERROR command carrying a ZAP status as
HANDSHAKE_FAILED_AUTH (value: the status); then DISCONNECTED. zlab does the same, with these differences,
on purpose:

- a peer of an incompatible socket type (or a READY without one): libzmq reports only DISCONNECTED; zlab
  reports HANDSHAKE_FAILED_PROTOCOL with PROTOCOL_ERROR_ZMTP_INVALID_METADATA first (a refused peer is a
  protocol error worth seeing, DESIGN.md "Hostile or broken peers").
- after an ERROR command libzmq leaves the connection open (the peer is expected to close it); zlab closes
  it at once, so DISCONNECTED follows.
- NO_DETAIL's value is whatever errno libzmq had at hand (ECONNRESET, EPIPE, EAGAIN for a timeout); zlab
  gives ECONNRESET for a lost connection and EAGAIN for a timeout.
- zlab refuses greetings libzmq accepts (ZMTP 1.0/2.0 peers, as-server with NULL, malformed READY
  metadata) with HANDSHAKE_FAILED_PROTOCOL; not compared here.
"""

from __future__ import annotations

import errno
from typing import Any

import pytest

from tests.core.support import Lib
from tests.hostile.zmtp_raw import RawListener, RawPeer, command, frame, greeting
from tests.monitor.support import Ev, Watch, names
from zlab.constants import ProtocolErrorCode as Code

HFP = "HANDSHAKE_FAILED_PROTOCOL"

# (id, bytes the raw peer sends, events after ACCEPTED: libzmq's, zlab's (None: the same))
CASES: list[tuple[str, bytes, list[tuple[str, Any]], list[tuple[str, Any]] | None]] = [
    (
        "mechanism-mismatch",
        greeting(b"PLAIN"),
        [(HFP, Code.ZMTP_MECHANISM_MISMATCH), ("DISCONNECTED", None)],
        None,
    ),
    (
        "command-before-ready",
        greeting() + command(b"PING", b"\x00\x00"),
        [(HFP, Code.ZMTP_UNEXPECTED_COMMAND), ("DISCONNECTED", None)],
        None,
    ),
    (
        "message-before-ready",
        greeting() + frame(b"hello"),
        [(HFP, Code.ZMTP_UNEXPECTED_COMMAND), ("DISCONNECTED", None)],
        None,
    ),
    (
        "malformed-error",
        greeting() + command(b"ERROR", b"\x09bad"),
        [(HFP, Code.ZMTP_MALFORMED_COMMAND_ERROR), ("DISCONNECTED", None)],
        None,
    ),
    (
        "zap-status-error",
        greeting() + command(b"ERROR", b"\x03400"),
        [("HANDSHAKE_FAILED_AUTH", 400)],
        [("HANDSHAKE_FAILED_AUTH", 400), ("DISCONNECTED", None)],
    ),
    ("error-text", greeting() + command(b"ERROR", b"\x03bad"), [], [("DISCONNECTED", None)]),
    (
        "ready-without-socket-type",
        greeting() + command(b"READY", b""),
        [("HANDSHAKE_SUCCEEDED", 0)],  # libzmq takes a READY without Socket-Type
        [(HFP, Code.ZMTP_INVALID_METADATA), ("DISCONNECTED", None)],
    ),
]


def _check(got: list[Ev], want: list[tuple[str, Any]], accepted: Ev) -> None:
    assert names(got) == [n for n, _ in want], got
    for ev, (_name, value) in zip(got, want, strict=True):
        assert ev.endpoint == accepted.endpoint
        if ev.name == "DISCONNECTED":
            assert ev.value == accepted.value  # the connection's descriptor
        elif value is not None:
            assert ev.value == value, f"{ev.name}: {ev.value:#x} != {value:#x}"


def _bound(lib: Lib, transport: str, **options: Any) -> tuple[Any, Watch, str]:
    s = lib.socket("PULL", **options)
    w = Watch(lib, s)
    ep = lib.bind(s, transport)
    assert names(w.take(1)) == ["LISTENING"]
    return s, w, ep


@pytest.mark.parametrize(("data", "want_zmq", "want_zlab"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_raw_peer_fails_handshake(
    lib: Lib, stream_transport: str, data: bytes, want_zmq: list, want_zlab: list | None
) -> None:
    want = want_zmq if not lib.is_zlab or want_zlab is None else want_zlab
    _s, w, ep = _bound(lib, stream_transport)
    peer = RawPeer.to_endpoint(ep)
    try:
        peer.send(data)
        (accepted,) = w.take(1)
        assert accepted.name == "ACCEPTED"
        got = [w.next() for _ in want]
        _check(got, want, accepted)
        assert w.quiet() == []
    finally:
        peer.close()


def test_peer_closes_during_handshake(lib: Lib, stream_transport: str) -> None:
    _s, w, ep = _bound(lib, stream_transport)
    peer = RawPeer.to_endpoint(ep)
    peer.send(greeting())
    peer.read_exact(10)  # the socket is there and handshaking
    peer.close()
    accepted, failed, disconnected = w.take(3)
    assert names([accepted, failed, disconnected]) == [
        "ACCEPTED",
        "HANDSHAKE_FAILED_NO_DETAIL",
        "DISCONNECTED",
    ]
    assert failed.value > 0  # an errno (ECONNRESET from both here)
    assert disconnected.value == accepted.value


def test_handshake_timeout(lib: Lib, stream_transport: str) -> None:
    _s, w, ep = _bound(lib, stream_transport, handshake_ivl=100)
    peer = RawPeer.to_endpoint(ep)
    try:
        peer.send(greeting()[:10])  # and nothing more
        accepted, failed, disconnected = w.take(3)
        assert names([accepted, failed, disconnected]) == [
            "ACCEPTED",
            "HANDSHAKE_FAILED_NO_DETAIL",
            "DISCONNECTED",
        ]
        if lib.is_zlab:
            assert failed.value == errno.EAGAIN  # the value libzmq happens to report too
    finally:
        peer.close()


def test_wrong_socket_type(lib: Lib, stream_transport: str) -> None:
    _s, ws, ep = _bound(lib, stream_transport)
    c = lib.socket("PULL", reconnect_ivl=-1)  # PULL to PULL: refused by both ends
    wc = Watch(lib, c)
    c.connect(ep)
    server = ws.until("DISCONNECTED")
    client = wc.until("DISCONNECTED")
    # libzmq reports no handshake failure for the refusal itself (see the top), zlab HANDSHAKE_FAILED_PROTOCOL.
    # Either end may also see the other close (even reset) before it read the READY: then it reports
    # HANDSHAKE_FAILED_NO_DETAIL instead, in both implementations.
    refusal = {HFP: Code.ZMTP_INVALID_METADATA} if lib.is_zlab else {}
    dial = ["CONNECT_DELAYED"] if stream_transport == "tcp" else []
    for got, start in ((server, ["ACCEPTED"]), (client, [*dial, "CONNECTED"])):
        middle = got[len(start) : -1]
        assert names(got[: len(start)]) == start and got[-1].name == "DISCONNECTED", got
        assert len(middle) <= 1, got
        for ev in middle:
            assert ev.name in {*refusal, "HANDSHAKE_FAILED_NO_DETAIL"}, got
            if ev.name == HFP:
                assert ev.value == refusal[HFP]
        if lib.is_zlab and not middle:
            raise AssertionError(f"zlab reported no handshake failure: {got}")
    assert wc.quiet() == []  # RECONNECT_IVL -1: no retry


def test_connecting_side_mechanism_mismatch(lib: Lib) -> None:
    listener = RawListener()
    try:
        c = lib.socket("PULL", reconnect_ivl=-1)
        w = Watch(lib, c)
        c.connect(listener.endpoint)
        peer = listener.accept()
        try:
            peer.send(greeting(b"PLAIN"))
            got = w.until("DISCONNECTED")
        finally:
            peer.close()
        assert names(got) == ["CONNECT_DELAYED", "CONNECTED", HFP, "DISCONNECTED"]
        assert got[2].value == Code.ZMTP_MECHANISM_MISMATCH
        assert all(e.endpoint == listener.endpoint for e in got)
    finally:
        listener.close()


def test_connecting_side_zap_failure(lib: Lib) -> None:
    """A server refusing us with a ZAP status: HANDSHAKE_FAILED_AUTH with it."""
    listener = RawListener()
    try:
        c = lib.socket("PULL", reconnect_ivl=-1)
        w = Watch(lib, c)
        c.connect(listener.endpoint)
        peer = listener.accept()
        try:
            peer.send(greeting() + command(b"ERROR", b"\x03500"))
            got = w.until("HANDSHAKE_FAILED_AUTH")
        finally:
            peer.close()
        assert names(got) == ["CONNECT_DELAYED", "CONNECTED", "HANDSHAKE_FAILED_AUTH"]
        assert got[-1].value == 500
    finally:
        listener.close()
