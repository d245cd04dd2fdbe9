"""PLAIN with a ZAP handler (each implementation's own ThreadAuthenticator): a refused client is reported
as HANDSHAKE_FAILED_AUTH with the ZAP status, on both ends, by libzmq and by zlab alike."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

from tests.core.support import Lib
from tests.monitor.support import Watch, names


class _Stopper:
    """Stops an authenticator at teardown, before the context terminates (Lib closes it like a socket)."""

    closed = False

    def __init__(self, auth: Any) -> None:
        self.auth = auth

    def close(self, linger: int = 0) -> None:
        if not self.closed:
            self.closed = True
            self.auth.stop()


def _authenticator(lib: Lib) -> None:
    try:
        thread = importlib.import_module(f"{lib.name}.auth.thread")
    except ImportError:
        pytest.skip(f"{lib.name} has no auth.thread")
    auth = thread.ThreadAuthenticator(lib.ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    lib.sockets.insert(0, _Stopper(auth))


@pytest.mark.parametrize("password", ["secret", "wrong"])
def test_plain_refusal_is_an_auth_failure(lib: Lib, stream_transport: str, password: str) -> None:
    _authenticator(lib)
    s = lib.socket("PULL", plain_server=1)
    ws = Watch(lib, s)
    ep = lib.bind(s, stream_transport)
    c = lib.socket("PUSH", plain_username=b"admin", plain_password=password.encode(), reconnect_ivl=-1)
    wc = Watch(lib, c)
    c.connect(ep)
    dial = ["CONNECT_DELAYED"] if stream_transport == "tcp" else []
    if password == "secret":
        assert names(ws.until("HANDSHAKE_SUCCEEDED")) == ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED"]
        assert names(wc.until("HANDSHAKE_SUCCEEDED")) == [*dial, "CONNECTED", "HANDSHAKE_SUCCEEDED"]
        return
    server = ws.until("HANDSHAKE_FAILED_AUTH")
    client = wc.until("HANDSHAKE_FAILED_AUTH")
    assert names(server) == ["LISTENING", "ACCEPTED", "HANDSHAKE_FAILED_AUTH"]
    assert names(client) == [*dial, "CONNECTED", "HANDSHAKE_FAILED_AUTH"]
    assert server[-1].value == client[-1].value == 400
    assert server[-1].endpoint == client[-1].endpoint == ep
