"""PLAIN and ZAP between zlab and libzmq (through pyzmq) on real sockets: REQ/REP, DEALER/ROUTER and PUB/SUB
over tcp and ipc, zlab as PLAIN server (with ``zlab.auth``) and as PLAIN client (against libzmq's own
``zmq.auth.thread.ThreadAuthenticator``), good and bad passwords; User-Id reaches received frames; a refused
peer gets HANDSHAKE_FAILED_AUTH on the server's side and never a message through.

Every test also runs with pyzmq on both sides (``S-zmq_C-zmq``, marked ``control``). Parameter ids read
``S-<PLAIN server impl>_C-<PLAIN client impl>``. Synchronisation is on monitor events and polls.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.interop.impls import Impl
from tests.interop.scenario import SMALL_PAYLOADS, End, run_pairing
from tests.interop.security_support import (
    IMPL_PAIRS,
    WAIT_S,
    AuthEvents,
    check_pub_sub_auth,
    send_to_be_refused,
    start_authenticator,
)

zmq = pytest.importorskip("zmq")

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

TRANSPORTS = ["tcp", "ipc"]
PASSWORDS = {"admin": "secret"}
SERVER_ID = b"server-id"
CLIENT_ID = b"client-id"


def start_plain_authenticator(impl: Impl) -> Any:
    """The implementation's own thread-backed authenticator, started, with PASSWORDS for every domain."""
    auth = start_authenticator(impl)
    auth.configure_plain(domain="*", passwords=PASSWORDS)
    return auth


@pytest.fixture(params=IMPL_PAIRS)
def impls(request, make_impl) -> tuple[Impl, Impl]:  # type: ignore[no-untyped-def]
    """(PLAIN server Impl, PLAIN client Impl)."""
    s, c = request.param
    return make_impl(s), make_impl(c)


def server_socket(impl: Impl, type_: str, **opts: Any) -> Any:
    if type_ in ("ROUTER", "DEALER", "REQ"):
        opts.setdefault("routing_id", SERVER_ID)
    if type_ == "ROUTER":
        opts.setdefault("router_mandatory", 1)
    return impl.socket(type_, plain_server=1, **opts)


def client_socket(impl: Impl, type_: str, password: str, **opts: Any) -> Any:
    if type_ in ("ROUTER", "DEALER", "REQ"):
        opts.setdefault("routing_id", CLIENT_ID)
    return impl.socket(type_, plain_username=b"admin", plain_password=password.encode(), **opts)


def plain_ends(impls: tuple[Impl, Impl], server_type: str, client_type: str, endpoint: str, password: str):  # type: ignore[no-untyped-def]
    simpl, cimpl = impls
    start_plain_authenticator(simpl)
    ssock = server_socket(simpl, server_type)
    real = simpl.bind(ssock, endpoint)
    csock = client_socket(cimpl, client_type, password)
    csock.connect(real)
    server = End(simpl, ssock, server_type, client_type, CLIENT_ID if client_type != "REP" else None)
    client = End(cimpl, csock, client_type, server_type, SERVER_ID)
    return server, client


PAIRINGS = [("REP", "REQ"), ("ROUTER", "DEALER")]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "-".join(p))
def test_plain_good_password(impls, transport, pairing, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """The client is let in: messages both ways, and the server's frames carry User-Id and Socket-Type."""
    server, client = plain_ends(impls, *pairing, new_endpoint(transport), "secret")
    run_pairing(server, client, SMALL_PAYLOADS[:4])
    client.send([b"who am i"])
    frames = server.sock.recv_multipart(copy=False)
    assert bytes(frames[-1]) == b"who am i"
    assert frames[-1].get("User-Id") == "admin"
    assert frames[-1].get("Socket-Type") == pairing[1]
    assert server.sock.getsockopt(server.impl.const("MECHANISM")) == server.impl.const("PLAIN")
    assert client.sock.getsockopt(client.impl.const("MECHANISM")) == client.impl.const("PLAIN")


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pairing", PAIRINGS, ids=lambda p: "-".join(p))
def test_plain_bad_password_never_gets_through(impls, transport, pairing, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """Refused with HANDSHAKE_FAILED_AUTH 400 on the server; nothing delivered. (A client told ERROR gives up
    on the endpoint, as libzmq's does; one that got libzmq's malformed ERROR tries again, refused again.)"""
    server, client = plain_ends(impls, *pairing, new_endpoint(transport), "wrong")
    events = AuthEvents(server.impl, server.sock)
    send_to_be_refused(client.impl, client.sock, *client.envelope(), b"let me in")
    assert events.wait(1)[0] == 400
    assert server.sock.poll(0) == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("password", ["secret", "wrong"])
def test_plain_pub_sub(impls, transport, password, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """PUB as PLAIN server, SUB as client: the subscriber gets its topic only if its password is right."""
    simpl, cimpl = impls
    start_plain_authenticator(simpl)
    pub = server_socket(simpl, "PUB")
    real = simpl.bind(pub, new_endpoint(transport))
    events = AuthEvents(simpl, pub)
    sub = client_socket(cimpl, "SUB", password)
    check_pub_sub_auth(pub, sub, cimpl, real, events, password == "secret", noise=True)


def test_zlab_plain_server_without_handler_fails_like_libzmq(make_impl, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """libzmq 4.3.5: a PLAIN server with nobody at inproc://zeromq.zap.01 fails every handshake."""
    simpl, cimpl = make_impl("zlab"), make_impl("zmq")
    rep = server_socket(simpl, "REP")
    real = simpl.bind(rep, new_endpoint("tcp"))
    failed = threading.Event()
    no_detail = simpl.mod.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    rep.link.monitor = lambda ev, ep, value: failed.set() if ev == no_detail else None
    req = client_socket(cimpl, "REQ", "secret")
    req.connect(real)
    req.send(b"hello")
    assert failed.wait(WAIT_S)
    assert rep.poll(0) == 0


@pytest.mark.parametrize("server", ["zmq", "zlab"])
@pytest.mark.parametrize("client", ["zmq", "zlab"])
def test_null_with_zap_domain_and_denied_address(make_impl, new_endpoint, server, client) -> None:  # type: ignore[no-untyped-def]
    """NULL + ZAP_DOMAIN asks the handler (as libzmq does); a denied address is refused (400); allowed
    ones get User-Id "anonymous" from the authenticator."""
    simpl, cimpl = make_impl(server), make_impl(client)
    auth = start_plain_authenticator(simpl)
    rep = simpl.socket("REP", zap_domain=b"global")
    real = simpl.bind(rep, new_endpoint("tcp"))
    req = cimpl.socket("REQ")
    req.connect(real)
    req.send(b"one")
    msg = rep.recv(copy=False)
    assert bytes(msg) == b"one" and msg.get("User-Id") == "anonymous"
    rep.send(b"ok")
    assert req.recv() == b"ok"

    auth.deny("127.0.0.1")
    events = AuthEvents(simpl, rep)
    req2 = cimpl.socket("REQ")
    req2.connect(real)
    send_to_be_refused(cimpl, req2, b"two")
    assert events.wait(1)[0] == 400
    assert rep.poll(0) == 0
