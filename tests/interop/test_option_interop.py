"""Options that show on the wire, between zlab and libzmq (through pyzmq), each side binding: PROBE_ROUTER,
REQ_CORRELATE with REQ_RELAXED, CONNECT_ROUTING_ID, XPUB_MANUAL, XPUB_WELCOME_MSG, INVERT_MATCHING,
CONFLATE, METADATA and routing ids starting with 0x00; and a READY after the handshake, which libzmq
4.3.5 ignores (the message after it is delivered), as zlab does.

Parameter ids read ``<binder impl>-<connecter impl>``; ``zmq-zmq`` (marked ``control``) validates each
scenario against libzmq alone.
"""

from __future__ import annotations

import socket
import struct
import sys
import time
from typing import Any

import pytest

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

PAIRS = [
    pytest.param(("zmq", "zmq"), id="zmq-zmq", marks=pytest.mark.control),
    pytest.param(("zlab", "zmq"), id="zlab-zmq"),
    pytest.param(("zmq", "zlab"), id="zmq-zlab"),
]


@pytest.fixture(params=PAIRS)
def impls(request: pytest.FixtureRequest, make_impl: Any) -> tuple[Any, Any]:
    """(the binder's Impl, the connecter's Impl)."""
    b, c = request.param
    return make_impl(b), make_impl(c)


@pytest.fixture(params=["tcp", "ipc"])
def endpoint(request: pytest.FixtureRequest, new_endpoint: Any) -> str:
    return new_endpoint(request.param)


def _pair(impls: tuple[Any, Any], endpoint: str, bind_type: str, connect_type: str, bopts: dict, copts: dict):
    binder, connecter = impls
    b = binder.socket(bind_type, **bopts)
    ep = binder.bind(b, endpoint)
    c = connecter.socket(connect_type, **copts)
    return b, c, ep


def test_probe_router(impls: tuple[Any, Any], endpoint: str) -> None:
    """The connecting DEALER probes (a bound libzmq DEALER's probe does not reach a connecting ROUTER,
    so that direction is no reference)."""
    router, dealer, ep = _pair(
        impls, endpoint, "ROUTER", "DEALER", {}, {"probe_router": 1, "routing_id": b"D"}
    )
    dealer.connect(ep)
    assert router.recv_multipart() == [b"D", b""]


def test_probe_from_router(impls: tuple[Any, Any], endpoint: str) -> None:
    """A connecting ROUTER with PROBE_ROUTER probes the bound ROUTER too."""
    a, b, ep = _pair(impls, endpoint, "ROUTER", "ROUTER", {}, {"probe_router": 1, "routing_id": b"R"})
    b.connect(ep)
    assert a.recv_multipart() == [b"R", b""]


@pytest.mark.parametrize("router_binds", [True, False])
def test_req_correlate(impls: tuple[Any, Any], endpoint: str, router_binds: bool) -> None:
    ropts: dict = {}
    qopts = {"req_correlate": 1, "req_relaxed": 1, "routing_id": b"Q"}
    if router_binds:
        router, req, ep = _pair(impls, endpoint, "ROUTER", "REQ", ropts, qopts)
        req.connect(ep)
    else:
        req, router, ep = _pair(impls, endpoint, "REQ", "ROUTER", qopts, ropts)
        router.connect(ep)
    req.send(b"a")
    first = router.recv_multipart()
    req.send(b"b")
    second = router.recv_multipart()
    assert first[2:] == [b"", b"a"] and second[2:] == [b"", b"b"]
    assert int.from_bytes(second[1], sys.byteorder) == (int.from_bytes(first[1], sys.byteorder) + 1) % 2**32
    router.send_multipart([*first[:3], b"stale"])
    router.send_multipart([*second[:3], b"fresh"])
    assert req.recv() == b"fresh"


def test_connect_routing_id(impls: tuple[Any, Any], endpoint: str) -> None:
    a, b, ep = _pair(impls, endpoint, "ROUTER", "ROUTER", {"routing_id": b"A"}, {"routing_id": b"B"})
    b.setsockopt(impls[1].const("CONNECT_ROUTING_ID"), b"peer")
    b.connect(ep)
    b.send_multipart([b"peer", b"early"])
    assert a.recv_multipart() == [b"B", b"early"]
    a.send_multipart([b"B", b"back"])
    assert b.recv_multipart() == [b"peer", b"back"]


@pytest.mark.parametrize("xpub_binds", [True])
def test_xpub_manual_and_welcome(impls: tuple[Any, Any], endpoint: str, xpub_binds: bool) -> None:
    """The bound XPUB (with libzmq's SUB bound and its XPUB connecting, the scenario fails libzmq-only)."""
    xopts = {"xpub_manual": 1, "xpub_welcome_msg": b"W!"}
    if xpub_binds:
        xpub, sub, ep = _pair(impls, endpoint, "XPUB", "SUB", xopts, {})
        sub.subscribe(b"W")
        sub.subscribe(b"A")
        sub.connect(ep)
    else:
        sub, xpub, ep = _pair(impls, endpoint, "SUB", "XPUB", {}, xopts)
        sub.subscribe(b"W")
        sub.subscribe(b"A")
        xpub.connect(ep)
    first = xpub.recv()  # libzmq's SUB sends its subscriptions in its trie's order, zlab's as made
    assert sub.recv() == b"W!"
    assert {first, xpub.recv()} == {b"\x01W", b"\x01A"}
    xpub.send(b"A0")  # not subscribed yet: the XPUB decides
    xpub.setsockopt(impls[0 if xpub_binds else 1].const("SUBSCRIBE"), b"A")
    xpub.send(b"A1")
    assert sub.recv() == b"A1"


@pytest.mark.parametrize("pub_binds", [True, False])
def test_invert_matching(impls: tuple[Any, Any], endpoint: str, pub_binds: bool) -> None:
    if pub_binds:
        pub, sub, ep = _pair(impls, endpoint, "PUB", "SUB", {"invert_matching": 1}, {"invert_matching": 1})
        sub.connect(ep)
    else:
        sub, pub, ep = _pair(impls, endpoint, "SUB", "PUB", {"invert_matching": 1}, {"invert_matching": 1})
        pub.connect(ep)
    sub.subscribe(b"A")
    deadline = time.monotonic() + 10
    while not sub.poll(20):  # until the subscription is in
        assert time.monotonic() < deadline
        pub.send(b"Bsync")
    while sub.poll(50):
        sub.recv()
    pub.send(b"A1")
    pub.send(b"B1")
    assert sub.recv() == b"B1"


def test_conflate(impls: tuple[Any, Any], endpoint: str) -> None:
    push, pull, ep = _pair(impls, endpoint, "PUSH", "PULL", {}, {"conflate": 1})
    pull.connect(ep)
    push.send(b"first")
    assert pull.recv() == b"first"
    n = 500
    for i in range(n):
        push.send(b"%d" % i)
    got = []
    while not got or got[-1] != b"%d" % (n - 1):
        got.append(pull.recv())
    assert len(got) < n / 2


def test_metadata_and_zero_routing_id(impls: tuple[Any, Any], endpoint: str) -> None:
    router, dealer, ep = _pair(impls, endpoint, "ROUTER", "DEALER", {}, {"routing_id": b"\x00id"})
    dealer.setsockopt(impls[1].const("METADATA"), b"X-color:blue")
    dealer.connect(ep)
    dealer.send(b"hi")
    rid = router.recv(copy=False)
    body = router.recv(copy=False)
    assert (rid.bytes, body.bytes) == (b"\x00id", b"hi")
    assert body.get("X-color") == "blue"


# -- a READY after the handshake ---------------------------------------------------------------


def _command(name: bytes, data: bytes) -> bytes:
    body = bytes([len(name)]) + name + data
    return bytes([0x04, len(body)]) + body


def _ready(socket_type: bytes) -> bytes:
    return _command(b"READY", b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) + socket_type)


@pytest.mark.parametrize("name", ["zmq", "zlab"])
def test_ready_after_handshake_is_ignored(make_impl: Any, name: str) -> None:
    """libzmq 4.3.5 ignores a second READY (and unknown commands) after the handshake and delivers what
    follows; zlab does the same, so a peer sees one behaviour."""
    impl = make_impl(name)
    pull = impl.socket("PULL")
    ep = impl.bind(pull, "tcp://127.0.0.1:*")
    host, port = ep[len("tcp://") :].rsplit(":", 1)
    greeting = b"\xff" + bytes(8) + b"\x7f\x03\x01" + b"NULL".ljust(20, b"\0") + bytes(32)
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(greeting + _ready(b"PUSH"))
        raw.settimeout(5)
        got = b""
        while len(got) < 64 + 2 or len(got) < 64 + 2 + got[65]:  # the peer's greeting and READY
            chunk = raw.recv(4096)
            assert chunk
            got += chunk
        raw.sendall(b"\x00\x03one" + _ready(b"PUSH") + _command(b"FOO", b"x") + b"\x00\x03two")
        assert pull.recv() == b"one"
        assert pull.recv() == b"two"
