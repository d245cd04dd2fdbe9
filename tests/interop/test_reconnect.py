"""Reconnect across implementations: a connecter exchanges with a bound peer, the bound socket is closed, a new
socket of the same implementation binds the same endpoint (same tcp port, same ipc path), and the connecter's
messages reach the new one.

``B-zmq_C-zlab`` is the case of the issue (zlab reconnects to a replaced libzmq peer); ``B-zlab_C-zmq`` checks
that a closed zlab socket gives its endpoint back and a new zlab socket takes it; ``B-zmq_C-zmq`` is the control.

Synchronisation is by probing: the connecter sends numbered probes (SNDTIMEO short, so a send blocked for lack of
a peer is retried), the new binder polls for each with a short timeout, all under one deadline. Probes written
into the dead connection before the connecter noticed are lost; every probe after the first one the new binder
sees must arrive, in order.
"""

from __future__ import annotations

import errno
import os
import socket
import time

import pytest

from tests.interop.impls import IO_TIMEOUT_MS
from tests.interop.scenario import (
    BINDER_ID,
    CONNECTER_ID,
    HAS_ROUTING_ID,
    PATTERNS,
    SMALL_PAYLOADS,
    End,
    check_frames,
    mirror,
    run_pairing,
)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPL_PAIRS = [
    pytest.param(("zmq", "zmq"), id="B-zmq_C-zmq", marks=pytest.mark.control),
    pytest.param(("zmq", "zlab"), id="B-zmq_C-zlab"),
    pytest.param(("zlab", "zmq"), id="B-zlab_C-zmq"),
]
# (binder type, connecter type)
RECONNECT_PAIRINGS = [("PULL", "PUSH"), ("ROUTER", "DEALER"), ("REP", "DEALER"), ("PAIR", "PAIR")]
SYNC_DEADLINE_S = 10.0
PROBE_SNDTIMEO_MS = 200
PROBE_POLL_MS = 50


def _new_binder(impl, type_: str):
    opts = {}
    if type_ in HAS_ROUTING_ID:
        opts["routing_id"] = BINDER_ID
    if type_ == "ROUTER":
        opts["router_mandatory"] = 1
    return impl.socket(type_, **opts)


def _bind_again(impl, sock, endpoint: str) -> None:
    """Bind to an endpoint a closed socket held; the old listener may take a moment to go away."""
    deadline = time.monotonic() + 5.0
    while True:
        try:
            sock.bind(endpoint)
            return
        except impl.mod.ZMQError as exc:
            if exc.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
        time.sleep(0.01)


def _probe_until_received(conn: End, binder: End) -> None:
    """Send numbered probes until the new binder receives one, then drain the rest (and their replies)."""
    reply = PATTERNS[frozenset({conn.type, binder.type})].reply
    conn.sock.setsockopt(conn.impl.const("SNDTIMEO"), PROBE_SNDTIMEO_MS)
    deadline = time.monotonic() + SYNC_DEADLINE_S
    sent = 0
    first = None
    poll_in = binder.impl.const("POLLIN")
    while first is None:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no probe reached the new {binder!r} within {SYNC_DEADLINE_S} s ({sent} sent)"
            )
        try:
            conn.send([b"probe", b"%d" % sent])
            sent += 1
        except conn.impl.mod.Again:
            pass  # no peer yet: the connecter blocks, as PUSH/DEALER/PAIR should
        if binder.sock.poll(PROBE_POLL_MS, poll_in):
            msg = binder.recv()
            assert msg[0] == b"probe", msg
            first = int(msg[1])
    conn.sock.setsockopt(conn.impl.const("SNDTIMEO"), IO_TIMEOUT_MS)
    expected = list(range(first, sent))
    for n in expected:
        if n != first:
            check_frames(binder.recv(), [b"probe", b"%d" % n], f"probe {n} (first seen {first}, sent {sent})")
        if reply:
            binder.send(mirror([b"probe", b"%d" % n]))
    if reply:
        for n in expected:
            check_frames(conn.recv(), mirror([b"probe", b"%d" % n]), f"reply to probe {n}")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("pairing", RECONNECT_PAIRINGS, ids=lambda p: "-".join(p))
@pytest.mark.parametrize("impl_names", IMPL_PAIRS)
def test_reconnect_to_replaced_binder(impl_names, pairing, transport, make_impl, new_endpoint):
    bimpl, cimpl = make_impl(impl_names[0]), make_impl(impl_names[1])
    btype, ctype = pairing
    first = _new_binder(bimpl, btype)
    endpoint = bimpl.bind(first, new_endpoint(transport))

    copts = {"reconnect_ivl": 50}
    if ctype in HAS_ROUTING_ID:
        copts["routing_id"] = CONNECTER_ID
    csock = cimpl.socket(ctype, **copts)
    csock.connect(endpoint)
    conn = End(cimpl, csock, ctype, btype, BINDER_ID)

    run_pairing(End(bimpl, first, btype, ctype, CONNECTER_ID), conn, SMALL_PAYLOADS[:2])

    bimpl.close(first)
    second = _new_binder(bimpl, btype)
    _bind_again(bimpl, second, endpoint)
    binder = End(bimpl, second, btype, ctype, CONNECTER_ID)

    _probe_until_received(conn, binder)
    run_pairing(binder, conn, SMALL_PAYLOADS)


def _free_tcp_endpoint() -> str:
    """An endpoint on a port that was free a moment ago (the kernel's pick for a throwaway socket)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("pairing", [("PULL", "PUSH"), ("ROUTER", "DEALER")], ids=lambda p: "-".join(p))
@pytest.mark.parametrize("impl_names", IMPL_PAIRS)
def test_connect_before_bind(impl_names, pairing, transport, make_impl, new_endpoint):
    """The connecter dials an endpoint nobody listens on yet, retrying every RECONNECT_IVL; then it is bound."""
    bimpl, cimpl = make_impl(impl_names[0]), make_impl(impl_names[1])
    btype, ctype = pairing
    endpoint = _free_tcp_endpoint() if transport == "tcp" else new_endpoint("ipc")
    copts = {"reconnect_ivl": 50}
    if ctype in HAS_ROUTING_ID:
        copts["routing_id"] = CONNECTER_ID
    csock = cimpl.socket(ctype, **copts)
    csock.connect(endpoint)
    conn = End(cimpl, csock, ctype, btype, BINDER_ID)
    bsock = _new_binder(bimpl, btype)
    _bind_again(bimpl, bsock, endpoint)
    binder = End(bimpl, bsock, btype, ctype, CONNECTER_ID)
    _probe_until_received(conn, binder)
    run_pairing(binder, conn, SMALL_PAYLOADS)


def _resync_router_after_flap(conn: End, binder: End) -> None:
    """DEALER -> ROUTER after the binder's link was cut and made again on the same sockets.

    Probes written into the old link before it was noticed dead may still be delivered, from a routing id
    that no longer routes (EHOSTUNREACH), and probes may be lost. So: probe until a reply comes back (that
    proves the new link both ways), then sync on a marker, answering or skipping stale probes on the way.
    """
    assert (conn.type, binder.type) == ("DEALER", "ROUTER")
    ehostunreach = binder.impl.const("EHOSTUNREACH")

    def answer(msg: list[bytes]) -> None:
        try:
            binder.send(mirror(msg))
        except binder.impl.mod.ZMQError as exc:
            if exc.errno != ehostunreach:
                raise  # else: it came over the dead link

    def recv_any() -> list[bytes]:
        binder.peer_id = None  # accept (and learn) whichever routing id the message comes from
        return binder.recv()

    conn.sock.setsockopt(conn.impl.const("SNDTIMEO"), PROBE_SNDTIMEO_MS)
    deadline = time.monotonic() + SYNC_DEADLINE_S
    sent = 0
    verified = False
    while not verified:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no round trip through the new link within {SYNC_DEADLINE_S} s ({sent} probes)"
            )
        try:
            conn.send([b"probe", b"%d" % sent])
            sent += 1
        except conn.impl.mod.Again:
            pass
        while binder.sock.poll(PROBE_POLL_MS, binder.impl.const("POLLIN")):
            msg = recv_any()
            assert msg[0] == b"probe", msg
            answer(msg)
        while conn.sock.poll(0, conn.impl.const("POLLIN")):
            reply = conn.recv()
            assert reply[-1] == b"eborp", reply  # a mirrored probe
            verified = True
    conn.sock.setsockopt(conn.impl.const("SNDTIMEO"), IO_TIMEOUT_MS)
    conn.send([b"marker"])
    while (msg := recv_any()) != [b"marker"]:
        assert msg[0] == b"probe", msg
        answer(msg)
    binder.send([b"marker-ack"])
    while (reply := conn.recv()) != [b"marker-ack"]:
        assert reply[-1] == b"eborp", reply  # a mirrored probe


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("impl_names", IMPL_PAIRS)
def test_unbind_then_bind_again(impl_names, transport, make_impl, new_endpoint):
    """The binder unbinds (its connections close) and binds the same endpoint again; the DEALER reconnects.

    ROUTER-DEALER only: the round trip is what tells the new link from the old one (see the resync). The
    connecter has no ROUTING_ID: a ROUTER that still holds the old connection would refuse the same id."""
    bimpl, cimpl = make_impl(impl_names[0]), make_impl(impl_names[1])
    bsock = _new_binder(bimpl, "ROUTER")
    endpoint = bimpl.bind(bsock, new_endpoint(transport))
    csock = cimpl.socket("DEALER", reconnect_ivl=50)
    csock.connect(endpoint)
    binder = End(bimpl, bsock, "ROUTER", "DEALER", None)
    conn = End(cimpl, csock, "DEALER", "ROUTER", BINDER_ID)
    run_pairing(binder, conn, SMALL_PAYLOADS[:2])
    bsock.unbind(endpoint)
    _bind_again(bimpl, bsock, endpoint)
    _resync_router_after_flap(conn, binder)
    run_pairing(binder, conn, SMALL_PAYLOADS)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("pairing", [("PULL", "PUSH"), ("ROUTER", "DEALER")], ids=lambda p: "-".join(p))
@pytest.mark.parametrize("impl_names", IMPL_PAIRS)
def test_disconnect_then_connect_again(impl_names, pairing, transport, make_impl, new_endpoint):
    """The connecter disconnects and connects again. Nothing is sent between, so no message can travel the old
    link and every probe the binder sees came over the new one.

    The connecter has no ROUTING_ID: a ROUTER that still holds the old connection would refuse the same id
    (libzmq without ROUTER_HANDOVER keeps the newcomer but ignores it)."""
    bimpl, cimpl = make_impl(impl_names[0]), make_impl(impl_names[1])
    btype, ctype = pairing
    bsock = _new_binder(bimpl, btype)
    endpoint = bimpl.bind(bsock, new_endpoint(transport))
    csock = cimpl.socket(ctype, reconnect_ivl=50)
    csock.connect(endpoint)
    binder = End(bimpl, bsock, btype, ctype, None)
    conn = End(cimpl, csock, ctype, btype, BINDER_ID)
    run_pairing(binder, conn, SMALL_PAYLOADS[:2])
    csock.disconnect(endpoint)
    csock.connect(endpoint)
    binder.peer_id = None  # a new connection: a ROUTER generates a new id
    _probe_until_received(conn, binder)
    run_pairing(binder, conn, SMALL_PAYLOADS)


@pytest.mark.parametrize("binder_impl", [pytest.param("zmq", marks=pytest.mark.control), "zlab"])
def test_ipc_unbind_bind_leaves_path_reachable(binder_impl, make_impl, new_endpoint):
    """unbind() then bind() of the same ipc path, 300 times: each time the path must exist and a libzmq peer must
    get through. (The old listener's clean-up must never remove the new listener's file.)"""
    bimpl, zmq_impl = make_impl(binder_impl), make_impl("zmq")
    endpoint = new_endpoint("ipc")
    path = endpoint[len("ipc://") :]
    router = bimpl.socket("ROUTER", router_mandatory=1)
    router.bind(endpoint)
    for i in range(300):
        router.unbind(endpoint)
        router.bind(endpoint)
        dealer = zmq_impl.socket("DEALER", routing_id=b"d%d" % i)
        dealer.connect(endpoint)
        dealer.send(b"ping %d" % i)
        try:
            got = [bytes(f) for f in router.recv_multipart()]
        except bimpl.mod.Again:
            raise AssertionError(
                f"cycle {i}: nothing arrived after unbind+bind; socket file exists: {os.path.exists(path)}"
            ) from None
        assert got == [b"d%d" % i, b"ping %d" % i]
        zmq_impl.close(dealer)
