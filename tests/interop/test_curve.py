"""CURVE between zlab and libzmq (through pyzmq) on real sockets: REQ/REP, DEALER/ROUTER and PUB/SUB over tcp
and ipc, zlab as CURVE server and as CURVE client, right and wrong server keys, allowed and denied client
keys (each side's own authenticator: ``zlab.auth`` or pyzmq's, with certificate folders), keys given raw
or as Z85, 1 MiB messages, options as pyzmq has them.

Every test also runs with pyzmq on both sides (``S-zmq_C-zmq``, marked ``control``), which validates the
scenario itself. Parameter ids read ``S-<CURVE server impl>_C-<CURVE client impl>``. Keys come from
libzmq (``zmq.curve_keypair``), so zlab is handed keys it did not make.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.impls import Impl
from tests.interop.scenario import SMALL_PAYLOADS, End, body, run_pairing
from tests.interop.security_support import (
    IMPL_PAIRS,
    AuthEvents,
    check_pub_sub_auth,
    send_to_be_refused,
    start_authenticator,
)

zmq = pytest.importorskip("zmq")
from zmq.utils import z85  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

TRANSPORTS = ["tcp", "ipc"]
SERVER_ID = b"server-id"
CLIENT_ID = b"client-id"


@pytest.fixture(params=IMPL_PAIRS)
def impls(request, make_impl):  # type: ignore[no-untyped-def]
    """(CURVE server Impl, CURVE client Impl)."""
    s, c = request.param
    return make_impl(s), make_impl(c)


@pytest.fixture(scope="module")
def keys() -> dict[str, tuple[bytes, bytes]]:
    """Z85 key pairs made by libzmq: the server's, the client's, and one nobody serves."""
    return {name: zmq.curve_keypair() for name in ("server", "client", "other")}


def server_socket(impl: Any, type_: str, secret: bytes, **opts: Any) -> Any:
    if type_ in ("ROUTER", "DEALER", "REQ"):
        opts.setdefault("routing_id", SERVER_ID)
    if type_ == "ROUTER":
        opts.setdefault("router_mandatory", 1)
    return impl.socket(type_, curve_server=1, curve_secretkey=secret, **opts)


def client_socket(impl: Any, type_: str, keys: dict, server_public: bytes, **opts: Any) -> Any:
    public, secret = keys["client"]
    if type_ in ("ROUTER", "DEALER", "REQ"):
        opts.setdefault("routing_id", CLIENT_ID)
    if type_ == "ROUTER":
        opts.setdefault("router_mandatory", 1)
    return impl.socket(
        type_, curve_serverkey=server_public, curve_publickey=public, curve_secretkey=secret, **opts
    )


def curve_ends(impls, keys, server_type: str, client_type: str, endpoint: str) -> tuple[End, End]:  # type: ignore[no-untyped-def]
    """The CURVE server binds, the client connects (ends as in scenario.make_ends)."""
    simpl, cimpl = impls
    ssock = server_socket(simpl, server_type, keys["server"][1])
    real = simpl.bind(ssock, endpoint)
    csock = client_socket(cimpl, client_type, keys, keys["server"][0])
    csock.connect(real)
    server = End(simpl, ssock, server_type, client_type, CLIENT_ID if client_type != "REP" else None)
    client = End(cimpl, csock, client_type, server_type, SERVER_ID)
    return server, client


MIB_PAYLOADS = [("1MiB", [body(1 << 20, 9)]), ("1MiB-multipart", [b"head", body(1 << 20, 8), b""])]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pairing", [("REP", "REQ"), ("ROUTER", "DEALER")], ids=lambda p: "-".join(p))
def test_curve_request_reply(impls, keys, transport, pairing, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """Small, multipart, empty and boundary-sized messages, and 1 MiB ones, both ways, encrypted."""
    server, client = curve_ends(impls, keys, *pairing, new_endpoint(transport))
    run_pairing(server, client, SMALL_PAYLOADS + MIB_PAYLOADS)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_curve_server_that_connects(impls, keys, transport, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """The CURVE roles do not follow bind/connect: the client binds (DEALER), the server connects (ROUTER)."""
    simpl, cimpl = impls
    csock = client_socket(cimpl, "DEALER", keys, keys["server"][0])
    real = cimpl.bind(csock, new_endpoint(transport))
    ssock = server_socket(simpl, "ROUTER", keys["server"][1])
    ssock.connect(real)
    client = End(cimpl, csock, "DEALER", "ROUTER", SERVER_ID)
    server = End(simpl, ssock, "ROUTER", "DEALER", CLIENT_ID)
    run_pairing(server, client, SMALL_PAYLOADS[:3])


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_curve_pub_sub(impls, keys, transport, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """Subscriptions travel inside MESSAGE (command flag): the SUB gets only its topic."""
    simpl, cimpl = impls
    pub = server_socket(simpl, "PUB", keys["server"][1])
    real = simpl.bind(pub, new_endpoint(transport))
    sub = client_socket(cimpl, "SUB", keys, keys["server"][0])
    sub.setsockopt(cimpl.const("SUBSCRIBE"), b"news")
    sub.connect(real)
    poller = cimpl.mod.Poller()
    poller.register(sub, cimpl.const("POLLIN"))
    for _ in range(500):  # publish until the subscription has arrived (no sleeps: the poll paces it)
        pub.send_multipart([b"sport", b"no"])
        pub.send_multipart([b"news", b"yes"])
        if poller.poll(10):
            break
    assert [bytes(f) for f in sub.recv_multipart()] == [b"news", b"yes"]
    pub.send_multipart([b"news", body(1 << 20, 3)])
    while True:  # earlier copies may still be queued; the large one comes last
        msg = [bytes(f) for f in sub.recv_multipart()]
        assert msg[0] == b"news"
        if len(msg[1]) > 3:
            assert msg[1] == body(1 << 20, 3)
            break


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_wrong_server_key_gets_nothing_through(impls, keys, transport, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """A client expecting another server key never completes its handshake, and nothing it sent arrives;
    a client with the right key on the same server is served meanwhile."""
    simpl, cimpl = impls
    server_sock = server_socket(simpl, "ROUTER", keys["server"][1])
    real = simpl.bind(server_sock, new_endpoint(transport))
    wrong = client_socket(cimpl, "DEALER", keys, keys["other"][0], routing_id=b"wrong", sndtimeo=0)
    wrong.connect(real)
    wrong.send(b"from the wrong client")  # queued in the DEALER's pipe (it never gets a peer)
    right = client_socket(cimpl, "DEALER", keys, keys["server"][0], routing_id=b"right")
    right.connect(real)
    right.send(b"from the right client")
    assert [bytes(f) for f in server_sock.recv_multipart()] == [b"right", b"from the right client"]
    server_sock.send_multipart([b"right", b"answer"])
    assert right.recv() == b"answer"
    poller = simpl.mod.Poller()
    poller.register(server_sock, simpl.const("POLLIN"))
    assert poller.poll(300) == [], "a message got through from the client with the wrong server key"
    wrong_poller = cimpl.mod.Poller()
    wrong_poller.register(wrong, cimpl.const("POLLIN"))
    assert wrong_poller.poll(10) == []


def test_keys_raw_or_z85(impls, keys, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """The same keys given as 32 raw octets on one side and Z85 text on the other."""
    simpl, cimpl = impls
    raw = {name: (z85.decode(p), z85.decode(s)) for name, (p, s) in keys.items()}
    ssock = server_socket(simpl, "REP", raw["server"][1])
    real = simpl.bind(ssock, new_endpoint("tcp"))
    csock = client_socket(cimpl, "REQ", keys, raw["server"][0])  # server key raw, own keys Z85
    csock.connect(real)
    csock.send(b"ping")
    assert ssock.recv() == b"ping"
    ssock.send(b"pong")
    assert csock.recv() == b"pong"


@pytest.mark.parametrize("name", ["zmq", "zlab"])
def test_options_as_pyzmq_has_them(name, make_impl, keys) -> None:  # type: ignore[no-untyped-def]
    """Keys are taken as 32 octets, 40 Z85 characters or 41 (NUL-terminated); pyzmq cannot read them back
    (libzmq refuses its 255-octet buffer: EINVAL), and neither can zlab. Setting a CURVE option selects
    the mechanism; CURVE_SERVER=0 selects NULL again, as in libzmq."""
    impl = make_impl(name)
    public, secret = keys["server"]
    s = impl.socket("DEALER")
    assert s.getsockopt(impl.const("MECHANISM")) == 0
    s.setsockopt(impl.const("CURVE_SECRETKEY"), z85.decode(secret))
    s.setsockopt(impl.const("CURVE_PUBLICKEY"), public)
    s.setsockopt(impl.const("CURVE_SERVERKEY"), keys["other"][0] + b"\0")
    assert s.getsockopt(impl.const("MECHANISM")) == impl.const("CURVE")
    assert s.getsockopt(impl.const("CURVE_SERVER")) == 0
    for option in ("CURVE_SECRETKEY", "CURVE_PUBLICKEY", "CURVE_SERVERKEY"):
        with pytest.raises(impl.mod.ZMQError) as info:
            s.getsockopt(impl.const(option))
        assert info.value.errno == impl.const("EINVAL")
    s.setsockopt(impl.const("CURVE_SERVER"), 1)
    assert s.getsockopt(impl.const("CURVE_SERVER")) == 1
    assert s.getsockopt(impl.const("MECHANISM")) == impl.const("CURVE")
    s.setsockopt(impl.const("CURVE_SERVER"), 0)
    assert s.getsockopt(impl.const("MECHANISM")) == 0
    for bad in (b"short", b"x" * 33, b"x" * 39, b"x" * 41, b" " * 40, b"#" * 40):
        with pytest.raises(impl.mod.ZMQError) as info:
            s.setsockopt(impl.const("CURVE_PUBLICKEY"), bad)
        assert info.value.errno == impl.const("EINVAL")


# ------------------------------------------------------------------------------ ZAP: allowed and denied keys


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory, keys) -> str:  # type: ignore[no-untyped-def]
    """A folder holding the public certificate of the allowed client only (written by pyzmq)."""
    from zmq.auth import create_certificates

    folder = tmp_path_factory.mktemp("certs")
    create_certificates(str(folder), "allowed")
    return str(folder)


def _allowed_keys(cert_dir: str) -> tuple[bytes, bytes]:
    from zmq.auth import load_certificate

    public, secret = load_certificate(f"{cert_dir}/allowed.key_secret")
    assert secret is not None
    return public, secret


def start_curve_authenticator(impl: Impl, location: str) -> None:
    """The implementation's own ThreadAuthenticator, accepting the certificates in ``location``."""
    start_authenticator(impl).configure_curve(domain="*", location=location)


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("pairing", [("REP", "REQ"), ("ROUTER", "DEALER")], ids=lambda p: "-".join(p))
def test_curve_allowed_client_key(impls, keys, cert_dir, transport, pairing, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """A client whose key is in the authenticator's folder gets in; User-Id is its key in Z85."""
    simpl, cimpl = impls
    start_curve_authenticator(simpl, cert_dir)
    public, secret = _allowed_keys(cert_dir)
    ssock = server_socket(simpl, pairing[0], keys["server"][1])
    real = simpl.bind(ssock, new_endpoint(transport))
    opts: dict[str, Any] = {"routing_id": CLIENT_ID} if pairing[1] != "REP" else {}
    csock = cimpl.socket(
        pairing[1], curve_serverkey=keys["server"][0], curve_publickey=public, curve_secretkey=secret, **opts
    )
    csock.connect(real)
    server = End(simpl, ssock, pairing[0], pairing[1], CLIENT_ID if pairing[1] != "REP" else None)
    client = End(cimpl, csock, pairing[1], pairing[0], SERVER_ID)
    run_pairing(server, client, SMALL_PAYLOADS[:3])
    client.send([b"who am i"])
    frames = ssock.recv_multipart(copy=False)
    assert bytes(frames[-1]) == b"who am i"
    assert frames[-1].get("User-Id") == public.decode()
    assert frames[-1].get("Socket-Type") == pairing[1]
    if pairing[0] == "REP":
        ssock.send(b"done")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_curve_denied_client_key_never_gets_through(impls, keys, cert_dir, transport, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    """A client key not in the folder: HANDSHAKE_FAILED_AUTH (400) on the server, nothing delivered,
    and a client with an allowed key is served meanwhile."""
    simpl, cimpl = impls
    start_curve_authenticator(simpl, cert_dir)
    ssock = server_socket(simpl, "ROUTER", keys["server"][1])
    real = simpl.bind(ssock, new_endpoint(transport))
    events = AuthEvents(simpl, ssock)
    denied = client_socket(cimpl, "DEALER", keys, keys["server"][0], routing_id=b"denied", sndtimeo=0)
    denied.connect(real)
    send_to_be_refused(cimpl, denied, b"let me in")
    assert events.wait(1)[0] == 400
    public, secret = _allowed_keys(cert_dir)
    allowed = cimpl.socket(
        "DEALER",
        routing_id=b"allowed",
        curve_serverkey=keys["server"][0],
        curve_publickey=public,
        curve_secretkey=secret,
    )
    allowed.connect(real)
    allowed.send(b"hello")
    assert [bytes(f) for f in ssock.recv_multipart()] == [b"allowed", b"hello"]
    assert ssock.poll(0) == 0


@pytest.mark.parametrize("allowed", [True, False], ids=["allowed", "denied"])
def test_curve_pub_sub_with_zap(impls, keys, cert_dir, allowed, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    simpl, cimpl = impls
    start_curve_authenticator(simpl, cert_dir)
    pub = server_socket(simpl, "PUB", keys["server"][1])
    real = simpl.bind(pub, new_endpoint("tcp"))
    events = AuthEvents(simpl, pub)
    public, secret = _allowed_keys(cert_dir) if allowed else keys["client"]
    sub = cimpl.socket(
        "SUB", curve_serverkey=keys["server"][0], curve_publickey=public, curve_secretkey=secret
    )
    check_pub_sub_auth(pub, sub, cimpl, real, events, allowed)
