"""CURVE with authenticators on both sides: zlab's ``zlab.auth`` (certificate folder as pyzmq writes it,
CURVE_ALLOW_ANY, a callback) behind a zlab CURVE server, libzmq's own authenticator behind a libzmq one;
allowed and denied client keys, over tcp and ipc. The denied client gets HANDSHAKE_FAILED_AUTH on the
server's side and never a message through; the allowed one's frames carry its Z85 key as User-Id.

Runs once CURVE is in zlab (``zlab.curve_keypair``); skipped before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.interop.impls import Impl
from tests.interop.security_support import IMPL_PAIRS, AuthEvents, send_to_be_refused, start_authenticator

zmq = pytest.importorskip("zmq")
from zmq.auth import create_certificates, load_certificate  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]


@pytest.fixture(params=IMPL_PAIRS)
def impls(request, make_impl) -> tuple[Impl, Impl]:  # type: ignore[no-untyped-def]
    """(CURVE server Impl, CURVE client Impl); skipped while zlab has no CURVE."""
    s, c = request.param
    simpl, cimpl = make_impl(s), make_impl(c)
    for impl in (simpl, cimpl):
        if impl.name == "zlab" and not hasattr(impl.mod, "curve_keypair"):
            pytest.skip("zlab has no CURVE yet")
    return simpl, cimpl


@pytest.fixture
def certs(tmp_path: Path) -> dict[str, Any]:
    """Certificates as pyzmq writes them: the server's, an allowed client's (in the folder) and another."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    out: dict[str, Any] = {"folder": str(allowed)}
    for name, where in (("server", tmp_path), ("good", allowed), ("bad", tmp_path)):
        _pub, secret_file = create_certificates(str(where), name)
        out[name] = load_certificate(secret_file)
    return out


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("client", ["good", "bad"])
def test_curve_certificate_folder(impls, certs, client, transport, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    simpl, cimpl = impls
    start_authenticator(simpl).configure_curve(domain="*", location=certs["folder"])
    server_public, server_secret = certs["server"]
    rep = simpl.socket("REP", curve_server=1, curve_secretkey=server_secret)
    real = simpl.bind(rep, new_endpoint(transport))
    events = AuthEvents(simpl, rep)
    public, secret = certs[client]
    req = cimpl.socket("REQ", curve_serverkey=server_public, curve_publickey=public, curve_secretkey=secret)
    req.connect(real)
    if client == "good":
        req.send(b"hello")
        frame = rep.recv(copy=False)
        assert bytes(frame) == b"hello" and frame.get("User-Id") == public.decode()
        rep.send(b"welcome")
        assert req.recv() == b"welcome"
    else:
        send_to_be_refused(cimpl, req, b"hello")
        assert events.wait(1)[0] == 400
        assert rep.poll(0) == 0


def test_zlab_authenticator_allow_any_and_callback(make_impl, certs, new_endpoint) -> None:  # type: ignore[no-untyped-def]
    simpl, cimpl = make_impl("zlab"), make_impl("zmq")
    if not hasattr(simpl.mod, "curve_keypair"):
        pytest.skip("zlab has no CURVE yet")
    auth = start_authenticator(simpl)
    auth.configure_curve(domain="*", location="*")  # CURVE_ALLOW_ANY
    server_public, server_secret = certs["server"]
    rep = simpl.socket("REP", curve_server=1, curve_secretkey=server_secret)
    real = simpl.bind(rep, new_endpoint("tcp"))
    events = AuthEvents(simpl, rep)

    def client(name: str) -> Any:
        public, secret = certs[name]
        req = cimpl.socket(
            "REQ", curve_serverkey=server_public, curve_publickey=public, curve_secretkey=secret
        )
        req.connect(real)
        return req

    req = client("bad")  # anyone may come in
    req.send(b"any")
    assert rep.recv() == b"any"
    rep.send(b"ok")
    assert req.recv() == b"ok"

    class OnlyGood:
        def callback(self, domain: str, key: bytes) -> bool:
            return key == certs["good"][0]

    auth.configure_curve_callback(domain="*", credentials_provider=OnlyGood())
    good = client("good")
    good.send(b"good")
    assert rep.recv() == b"good"
    rep.send(b"ok")
    bad = client("bad")
    send_to_be_refused(cimpl, bad, b"bad")
    assert events.wait(1)[0] == 400
    assert rep.poll(0) == 0
