"""zlab.auth: the Authenticator's policy request by request (address allow/deny, PLAIN passwords per
domain, CURVE: allow-any, certificate folders written by pyzmq, callbacks), certificate files, and the
ThreadAuthenticator answering real ZAP requests from a zlab server socket."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import zlab
from zlab.auth import CURVE_ALLOW_ANY, Authenticator, load_certificate, load_certificates
from zlab.auth.thread import ThreadAuthenticator

pytestmark = pytest.mark.timeout(20)
zmq = pytest.importorskip("zmq")
from zmq.utils import z85 as zmq_z85  # noqa: E402


class Replies:
    """Stands in for the ZAP socket: records the replies sent."""

    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []

    def send_multipart(self, frames: list[bytes]) -> None:
        self.sent.append(frames)


@pytest.fixture
def auth() -> Any:
    a = Authenticator(context=None)
    a.zap_socket = Replies()  # type: ignore[assignment]
    return a


def ask(
    auth: Authenticator,
    mechanism: bytes,
    *credentials: bytes,
    address: bytes = b"127.0.0.1",
    domain: bytes = b"",
) -> tuple[bytes, bytes, bytes]:
    auth.handle_zap_message([b"1.0", b"7", domain, address, b"", mechanism, *credentials])
    reply = auth.zap_socket.sent.pop()  # type: ignore[union-attr]
    assert reply[:2] == [b"1.0", b"7"] and reply[5] == b""
    return reply[2], reply[3], reply[4]


def test_null_is_accepted_unless_the_address_is_refused(auth: Authenticator) -> None:
    assert ask(auth, b"NULL") == (b"200", b"OK", b"anonymous")
    auth.deny("10.0.0.1")
    assert ask(auth, b"NULL", address=b"10.0.0.1")[0] == b"400"
    assert ask(auth, b"NULL")[0] == b"200"
    with pytest.raises(ValueError):
        auth.allow("127.0.0.1")


def test_allow_is_a_whitelist(auth: Authenticator) -> None:
    auth.allow("127.0.0.1")
    assert ask(auth, b"NULL")[0] == b"200"
    assert ask(auth, b"NULL", address=b"10.0.0.1")[:2] == (b"400", b"Address not allowed")
    with pytest.raises(ValueError):
        auth.deny("10.0.0.2")


def test_plain_passwords_per_domain(auth: Authenticator) -> None:
    assert ask(auth, b"PLAIN", b"admin", b"secret")[:2] == (b"400", b"No passwords defined")
    auth.configure_plain("*", {"admin": "secret"})
    auth.configure_plain("global", {"bob": "pw"})
    assert ask(auth, b"PLAIN", b"admin", b"secret") == (b"200", b"OK", b"admin")
    assert ask(auth, b"PLAIN", b"admin", b"wrong")[:2] == (b"400", b"Invalid password")
    assert ask(auth, b"PLAIN", b"eve", b"secret")[:2] == (b"400", b"Invalid username")
    assert ask(auth, b"PLAIN", b"bob", b"pw", domain=b"global")[0] == b"200"
    assert ask(auth, b"PLAIN", b"admin", b"secret", domain=b"other")[:2] == (b"400", b"Invalid domain")
    assert ask(auth, b"PLAIN", b"admin")[:2] == (b"400", b"Invalid credentials")
    auth.deny("127.0.0.1")
    assert ask(auth, b"PLAIN", b"admin", b"secret")[0] == b"400"  # the address check comes first


def test_malformed_requests(auth: Authenticator) -> None:
    auth.handle_zap_message([b"1.0", b"9", b""])
    assert auth.zap_socket.sent.pop()[2] == b"400"  # type: ignore[union-attr]
    auth.handle_zap_message([b"2.0", b"9", b"", b"127.0.0.1", b"", b"NULL"])
    assert auth.zap_socket.sent.pop()[2:4] == [b"400", b"Invalid version"]  # type: ignore[union-attr]
    auth.handle_zap_message([b"1.0"])
    assert auth.zap_socket.sent == []  # type: ignore[union-attr]
    assert ask(auth, b"GSSAPI", b"x")[0] == b"400"


@pytest.fixture
def with_z85(monkeypatch: pytest.MonkeyPatch) -> None:
    """CURVE checks compare Z85 text; until zlab.utils.z85 is merged here, libzmq's codec stands in."""
    import zlab.auth.base as base

    monkeypatch.setattr(base, "z85_encode", zmq_z85.encode)


def test_curve_allow_any_folder_and_callback(auth: Authenticator, with_z85: None, tmp_path: Path) -> None:
    from zmq.auth import create_certificates

    good_pub, _ = create_certificates(str(tmp_path), "good")
    other = tmp_path / "elsewhere"
    other.mkdir()
    bad_pub, _ = create_certificates(str(other), "bad")
    good_key = zmq_z85.decode(load_certificate(good_pub)[0])
    bad_key = zmq_z85.decode(load_certificate(bad_pub)[0])

    assert ask(auth, b"CURVE", good_key)[0] == b"400"  # nothing configured
    auth.configure_curve("*", CURVE_ALLOW_ANY)
    code, _, user = ask(auth, b"CURVE", bad_key)
    assert code == b"200" and user == zmq_z85.encode(bad_key)
    auth.configure_curve("*", str(tmp_path))
    assert ask(auth, b"CURVE", good_key)[0] == b"200"
    assert ask(auth, b"CURVE", bad_key)[:2] == (b"400", b"Unknown key")
    assert ask(auth, b"CURVE", good_key, domain=b"x")[:2] == (b"400", b"Unknown domain")
    assert ask(auth, b"CURVE", b"short")[:2] == (b"400", b"Invalid credentials")

    seen: list[tuple[str, bytes]] = []

    class Provider:
        def callback(self, domain: str, key: bytes) -> bool:
            seen.append((domain, key))
            return key == zmq_z85.encode(bad_key)

    auth.configure_curve_callback("*", Provider())
    assert ask(auth, b"CURVE", bad_key)[0] == b"200"
    assert ask(auth, b"CURVE", good_key)[0] == b"400"
    assert seen == [("*", zmq_z85.encode(bad_key)), ("*", zmq_z85.encode(good_key))]


def test_certificates_as_pyzmq_writes_them(tmp_path: Path) -> None:
    from zmq.auth import create_certificates

    pub_file, secret_file = create_certificates(str(tmp_path), "server", metadata={"name": "srv"})
    public, secret = load_certificate(secret_file)
    assert len(public) == 40 and secret is not None and len(secret) == 40
    assert load_certificate(pub_file) == (public, None)
    assert load_certificates(tmp_path) == {public: True}  # only *.key, not *.key_secret
    assert zmq.auth.load_certificate(secret_file) == (public, secret)
    (tmp_path / "empty.key").write_text("curve\n")
    with pytest.raises(ValueError):
        load_certificates(tmp_path)
    with pytest.raises(OSError):
        load_certificates(tmp_path / "missing")
    with pytest.raises(OSError):
        load_certificate(tmp_path / "missing.key")


@pytest.mark.skipif(not hasattr(zlab, "curve_keypair"), reason="needs zlab.curve_keypair (CURVE)")
def test_create_certificates_reads_back_in_pyzmq(tmp_path: Path) -> None:  # pragma: no cover
    from zlab.auth import create_certificates

    pub_file, secret_file = create_certificates(tmp_path, "me")
    public, secret = zmq.auth.load_certificate(secret_file)
    assert load_certificate(pub_file) == (public, None) and secret is not None


def test_thread_authenticator_answers_a_zlab_server() -> None:
    ctx = zlab.Context()
    auth = ThreadAuthenticator(ctx)
    try:
        auth.start()
        assert auth.is_alive()
        auth.configure_plain("*", {"admin": "secret"})
        rep = ctx.socket(zlab.REP)
        rep.plain_server = 1
        rep.rcvtimeo = 5000
        rep.bind("tcp://127.0.0.1:*")
        req = ctx.socket(zlab.REQ)
        req.plain_username = b"admin"
        req.plain_password = b"secret"
        req.connect(rep.last_endpoint.decode())
        req.send(b"hi")
        frame = rep.recv(copy=False)
        assert frame.bytes == b"hi" and frame.get("User-Id") == "admin"
        assert frame.get("Peer-Address") == "127.0.0.1"
        with pytest.raises(zlab.ZMQError):
            frame.get("No-Such-Property")
    finally:
        auth.stop()
        assert not auth.is_alive()
        ctx.destroy(linger=0)


def test_thread_authenticator_stops_promptly() -> None:
    ctx = zlab.Context()
    try:
        auth = ThreadAuthenticator(ctx)
        auth.start()
        done = threading.Event()
        threading.Thread(target=lambda: (auth.stop(), done.set()), daemon=True).start()
        assert done.wait(5)
        auth.start()  # the ZAP endpoint is free again
        auth.stop()
    finally:
        ctx.destroy(linger=0)


def test_thread_authenticator_in_an_asyncio_context() -> None:
    """As pyzmq's: the authenticator's own sockets are blocking ones even in a zlab.asyncio.Context, so
    its thread answers ZAP for the context's asyncio sockets (a PLAIN server there lets the client in)."""
    import asyncio

    import zlab.asyncio

    async def main() -> bytes:
        ctx = zlab.asyncio.Context()
        auth = ThreadAuthenticator(ctx)
        try:
            auth.start()
            auth.configure_plain("*", {"admin": "secret"})
            assert type(auth.zap_socket) is zlab.Socket
            rep = ctx.socket(zlab.REP, plain_server=1)
            rep.bind("tcp://127.0.0.1:*")
            req = ctx.socket(zlab.REQ, plain_username=b"admin", plain_password=b"secret")
            req.connect(rep.last_endpoint.decode())
            await req.send(b"hi")
            return await asyncio.wait_for(rep.recv(), 5)
        finally:
            auth.stop()
            ctx.destroy(linger=0)

    assert asyncio.run(main()) == b"hi"


def test_context_socket_class_as_in_pyzmq() -> None:
    import zlab.asyncio

    ctx = zlab.asyncio.Context()
    try:
        assert type(ctx.socket(zlab.PAIR)) is zlab.asyncio.Socket
        sock = ctx.socket(zlab.PAIR, socket_class=zlab.Socket, linger=0)
        assert type(sock) is zlab.Socket and sock.linger == 0
    finally:
        ctx.destroy(linger=0)
