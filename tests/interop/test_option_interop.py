"""Options that show on the wire, between zlab and libzmq (through pyzmq), each side binding: PROBE_ROUTER
(on REP too), REQ_CORRELATE with REQ_RELAXED, CONNECT_ROUTING_ID, XPUB_MANUAL, XPUB_WELCOME_MSG,
INVERT_MATCHING, CONFLATE (receiving and sending side, CURVE too), METADATA and routing ids starting
with 0x00; and a READY after the handshake, which libzmq 4.3.5 ignores (the message after it is
delivered), as zlab does.

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

from tests.core.support import first_arrives, read_conflated

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
    """The connecting DEALER probes."""
    router, dealer, ep = _pair(
        impls, endpoint, "ROUTER", "DEALER", {}, {"probe_router": 1, "routing_id": b"D"}
    )
    dealer.connect(ep)
    assert router.recv_multipart() == [b"D", b""]


def test_probe_from_bound_dealer(impls: tuple[Any, Any], endpoint: str) -> None:
    """A bound DEALER's probe reaches a connecting ROUTER. libzmq sends it when the accepted peer's
    pipe joins the DEALER, which happens only at the DEALER's next call that processes its commands
    (send, recv, poll, EVENTS...): an idle bound libzmq DEALER never probes. That is a quirk of its
    threading, not a rule: zlab probes as soon as the peer is attached. (Deferring it would need a
    check on DEALER's and ROUTER's send and recv, which zlab composes without a call layer for
    speed; a peer can only tell while the bound DEALER is in no call at all.) So the bound DEALER
    here is used (polled) until the probe arrives."""
    dealer, router, ep = _pair(
        impls, endpoint, "DEALER", "ROUTER", {"probe_router": 1, "routing_id": b"D"}, {}
    )
    router.connect(ep)
    deadline = time.monotonic() + 10
    while not router.poll(20):
        assert time.monotonic() < deadline, "no probe"
        dealer.poll(0)  # libzmq: the accepted connection joins the DEALER now
    assert router.recv_multipart() == [b"D", b""]


def test_probe_from_router(impls: tuple[Any, Any], endpoint: str) -> None:
    """A connecting ROUTER with PROBE_ROUTER probes the bound ROUTER too."""
    a, b, ep = _pair(impls, endpoint, "ROUTER", "ROUTER", {}, {"probe_router": 1, "routing_id": b"R"})
    b.connect(ep)
    assert a.recv_multipart() == [b"R", b""]


@pytest.mark.parametrize("rep_binds", [True, False])
def test_rep_probe_router(impls: tuple[Any, Any], endpoint: str, rep_binds: bool) -> None:
    """PROBE_ROUTER on a REP (libzmq's REP is a ROUTER underneath) reaches the DEALER across
    implementations (a bound REP is used until it does: libzmq probes at its next call)."""
    ropts = {"probe_router": 1}
    if rep_binds:
        rep, dealer, ep = _pair(impls, endpoint, "REP", "DEALER", ropts, {"routing_id": b"X"})
        dealer.connect(ep)
    else:
        dealer, rep, ep = _pair(impls, endpoint, "DEALER", "REP", {"routing_id": b"X"}, ropts)
        rep.connect(ep)
    deadline = time.monotonic() + 10
    while not dealer.poll(20):
        assert time.monotonic() < deadline, "no probe"
        rep.poll(0)
    assert dealer.recv_multipart() == [b""]
    dealer.send_multipart([b"", b"q"])
    assert rep.recv() == b"q"
    rep.send(b"r")
    assert dealer.recv_multipart() == [b"", b"r"]


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


@pytest.mark.parametrize("xpub_binds", [True, False])
def test_xpub_manual_and_welcome(impls: tuple[Any, Any], endpoint: str, xpub_binds: bool) -> None:
    """XPUB_MANUAL with a welcome message, each side binding. libzmq joins an accepted peer's pipe
    to the bound socket only when that socket is next used (a call that processes its commands):
    the bound side must be used first. A bound XPUB welcomes its subscriber once it is used (zlab
    matches: test_xpub_welcome_msg_timing); a bound libzmq SUB sends its subscriptions once it is
    used (here: blocked in recv for the welcome). zlab's bound SUB sends them at once: a peer can
    only tell while the SUB sits in no call at all, and waiting there would only make programs hang."""
    xopts = {"xpub_manual": 1, "xpub_welcome_msg": b"W!"}
    if xpub_binds:
        xpub, sub, ep = _pair(impls, endpoint, "XPUB", "SUB", xopts, {})
        sub.subscribe(b"W")
        sub.subscribe(b"A")
        sub.connect(ep)
        first = xpub.recv()  # libzmq's SUB sends its subscriptions in its trie's order, zlab's as made
        assert sub.recv() == b"W!"
    else:
        sub, xpub, ep = _pair(impls, endpoint, "SUB", "XPUB", {}, xopts)
        sub.subscribe(b"W")
        sub.subscribe(b"A")
        xpub.connect(ep)  # the welcome is queued now, as libzmq does in connect()
        assert sub.recv() == b"W!"
        first = xpub.recv()
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
    first_arrives(impls[1], push, pull)  # (a conflating libzmq PULL may miss a wake-up: see there)
    n = 500
    for i in range(n):
        push.send(b"%d" % i)
    got = read_conflated(impls[1], push, pull, n)
    assert len(got) < n / 2
    assert got == sorted(got)


@pytest.mark.parametrize("sender_binds", [True, False])
def test_conflate_sender(impls: tuple[Any, Any], endpoint: str, sender_binds: bool) -> None:
    """A conflating PUSH and a slow PULL (RCVHWM 1, not reading) across implementations: the PUSH
    never blocks, the PULL gets what was on its way and then the newest, in order."""
    if sender_binds:
        push, pull, ep = _pair(impls, endpoint, "PUSH", "PULL", {"conflate": 1}, {"rcvhwm": 1})
        pull.connect(ep)
    else:
        pull, push, ep = _pair(impls, endpoint, "PULL", "PUSH", {"rcvhwm": 1}, {"conflate": 1})
        push.connect(ep)
    push.send(b"first")
    assert pull.recv() == b"first"
    n, pad = 400, b"x" * 100_000
    for i in range(n):
        push.send(b"%d " % i + pad, 1)  # NOBLOCK: a conflating sender never blocks
    got: list[int] = []
    while not got or got[-1] != n - 1:
        got.append(int(pull.recv().split(b" ", 1)[0]))
    assert len(got) < n / 2
    assert got == sorted(got) and len(set(got)) == len(got)


def test_conflate_sender_multipart(make_impl: Any, endpoint: str) -> None:
    """A conflating zlab PUSH keeps multipart messages whole (the newest whole message), towards a
    libzmq PULL. libzmq's own conflating sender is no reference here: CONFLATE "does not support
    multi-part messages" (zmq_setsockopt(3)), and it conflates frame by frame (a PULL gets lone last
    frames, sometimes a frame glued to another message's)."""
    lz = make_impl("zmq")
    pull = lz.socket("PULL", rcvhwm=1)
    ep = lz.bind(pull, endpoint)
    push = make_impl("zlab").socket("PUSH", conflate=1)
    push.connect(ep)
    push.send_multipart([b"first", b"!"])
    assert pull.recv_multipart() == [b"first", b"!"]
    n, pad = 300, b"x" * 100_000
    for i in range(n):
        push.send_multipart([b"%d" % i, pad, b"end"], 1)
    got: list[int] = []
    while not got or got[-1] != n - 1:
        msg = pull.recv_multipart()
        assert len(msg) == 3 and msg[1:] == [pad, b"end"]
        got.append(int(msg[0]))
    assert len(got) < n / 2 and got == sorted(got)


def test_conflate_sender_curve(make_impl: Any, endpoint: str) -> None:
    """The same over CURVE (zlab's conflating pipe that encrypts as it writes), towards libzmq."""
    from zlab.zmtp import curve

    if not curve.available():
        pytest.skip("CURVE needs PyNaCl")
    lz, zl = make_impl("zmq"), make_impl("zlab")
    server_public, server_secret = lz.mod.curve_keypair()
    client_public, client_secret = lz.mod.curve_keypair()
    pull = lz.socket("PULL", rcvhwm=1, curve_server=1, curve_secretkey=server_secret)
    push = zl.socket(
        "PUSH",
        conflate=1,
        curve_serverkey=server_public,
        curve_publickey=client_public,
        curve_secretkey=client_secret,
    )
    if endpoint.startswith("ipc://"):  # connect first: what is sent before the handshake waits
        push.connect(endpoint)
        for i in range(3):
            push.send(b"early%d" % i)
        lz.bind(pull, endpoint)
        assert pull.recv() == b"early2"  # only the newest
    else:
        push.connect(lz.bind(pull, endpoint))
        push.send(b"early")
        assert pull.recv() == b"early"
    n, pad = 300, b"x" * 100_000
    for i in range(n):
        push.send(b"%d " % i + pad, 1)
    got: list[int] = []
    while not got or got[-1] != n - 1:
        got.append(int(pull.recv().split(b" ", 1)[0]))
    assert len(got) < n / 2 and got == sorted(got)


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
