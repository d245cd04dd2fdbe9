"""PLAIN with a ZAP handler (each implementation's own ThreadAuthenticator): a refused client is reported
as HANDSHAKE_FAILED_AUTH with the ZAP status, on both ends, by libzmq and by zlab alike."""

from __future__ import annotations

import pytest

from tests.core.support import Lib
from tests.interop.security_support import start_authenticator
from tests.monitor.support import Watch, names


def _authenticator(lib: Lib) -> None:
    auth = start_authenticator(lib, skip_if_missing=True)
    auth.configure_plain(domain="*", passwords={"admin": "secret"})


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
