"""Security options and HANDSHAKE_IVL, held to libzmq first: MECHANISM follows PLAIN_* / ZAP_DOMAIN as in
libzmq, and a peer that never finishes its handshake (silent, stuck after the greeting, or waiting on a ZAP
handler that never answers) is dropped when HANDSHAKE_IVL expires."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from tests.core.support import Lib, last_endpoint

pytestmark = pytest.mark.timeout(20)

NULL_GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x01NULL" + bytes(16 + 32)
PLAIN_GREETING = b"\xff" + bytes(8) + b"\x7f\x03\x01PLAIN" + bytes(15 + 32)
PLAIN_HELLO = b"\x04\x13\x05HELLO\x05admin\x06secret"


def test_mechanism_follows_the_security_options(lib: Lib) -> None:
    s = lib.socket("REQ")
    assert s.getsockopt(lib.MECHANISM) == lib.NULL
    s.setsockopt(lib.PLAIN_USERNAME, b"admin")
    s.setsockopt(lib.PLAIN_PASSWORD, b"secret")
    assert s.getsockopt(lib.MECHANISM) == lib.PLAIN
    assert s.getsockopt(lib.PLAIN_SERVER) == 0
    assert s.getsockopt(lib.PLAIN_USERNAME) == b"admin"
    assert s.getsockopt(lib.PLAIN_PASSWORD) == b"secret"
    r = lib.socket("REP")
    r.setsockopt(lib.PLAIN_SERVER, 1)
    assert r.getsockopt(lib.MECHANISM) == lib.PLAIN and r.getsockopt(lib.PLAIN_SERVER) == 1
    r.setsockopt(lib.ZAP_DOMAIN, b"global")
    assert r.getsockopt(lib.ZAP_DOMAIN) == b"global"
    n = lib.socket("REP")
    n.setsockopt(lib.ZAP_DOMAIN, b"global")
    assert n.getsockopt(lib.MECHANISM) == lib.NULL  # a domain alone doesn't change the mechanism


def test_mechanism_is_read_only(lib: Lib) -> None:
    s = lib.socket("REQ")
    with pytest.raises(lib.mod.ZMQError):
        s.setsockopt(lib.MECHANISM, 1)


def _raw_peer(lib: Lib, server: Any) -> socket.socket:
    host, port = last_endpoint(server).removeprefix("tcp://").rsplit(":", 1)
    raw = socket.create_connection((host, int(port)), timeout=10)
    raw.settimeout(10)
    return raw


def _read_until_closed(raw: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (raises on the 10 s timeout)."""
    got = b""
    while True:
        try:
            data = raw.recv(4096)
        except ConnectionResetError:
            return got
        if not data:
            return got
        got += data


@pytest.mark.parametrize(
    "sends", [b"", NULL_GREETING, NULL_GREETING[:11]], ids=["silent", "greeting", "partial"]
)
def test_handshake_ivl_drops_a_peer_that_never_finishes(lib: Lib, sends: bytes) -> None:
    rep = lib.socket("REP", handshake_ivl=200)
    lib.bind(rep, "tcp")
    raw = _raw_peer(lib, rep)
    try:
        raw.sendall(sends)
        got = _read_until_closed(raw)
        assert got[:1] == b"\xff"  # its greeting came, then the connection was dropped
    finally:
        raw.close()


def test_handshake_ivl_drops_a_peer_whose_zap_reply_never_comes(lib: Lib) -> None:
    """A PLAIN server waits for its ZAP handler (bound, never answering) no longer than HANDSHAKE_IVL."""
    handler = lib.socket("REP")
    handler.bind("inproc://zeromq.zap.01")
    rep = lib.socket("REP", handshake_ivl=300, plain_server=1)
    lib.bind(rep, "tcp")
    raw = _raw_peer(lib, rep)
    try:
        raw.sendall(PLAIN_GREETING + PLAIN_HELLO)
        assert handler.recv_multipart()[5:] == [b"PLAIN", b"admin", b"secret"]  # the request arrived
        got = _read_until_closed(raw)
        assert b"WELCOME" not in got
    finally:
        raw.close()


def test_security_options_as_libzmq_validates_them(lib: Lib) -> None:
    s = lib.socket("REP")
    for option in ("PLAIN_USERNAME", "PLAIN_PASSWORD", "ZAP_DOMAIN"):
        for bad in (b"", b"x" * 256):
            with pytest.raises(lib.mod.ZMQError) as info:
                s.setsockopt(getattr(lib, option), bad)
            assert info.value.errno == lib.EINVAL
        s.setsockopt(getattr(lib, option), b"x" * 255)
    s.setsockopt(lib.PLAIN_SERVER, 1)
    assert s.getsockopt(lib.MECHANISM) == lib.PLAIN
    s.setsockopt(lib.PLAIN_SERVER, 0)  # back to NULL
    assert s.getsockopt(lib.MECHANISM) == lib.NULL and s.getsockopt(lib.PLAIN_SERVER) == 0
    s.setsockopt(lib.CURVE_SERVER, 1)
    assert s.getsockopt(lib.MECHANISM) == lib.CURVE and s.getsockopt(lib.PLAIN_SERVER) == 0
    s.setsockopt(lib.PLAIN_USERNAME, b"u")  # the last mechanism set wins, as a client
    assert s.getsockopt(lib.MECHANISM) == lib.PLAIN and s.getsockopt(lib.CURVE_SERVER) == 0
