# zlab.bench.security -- the security mechanism of a cell: credentials, socket options, the ZAP handler.
"""What a cell's ``mechanism`` (null, plain, curve) means for its peers' sockets.

Owns: :class:`Security` (a cell's mechanism and its credentials: CURVE key pairs made once per cell run
by the coordinator and handed to every peer; the PLAIN user name and password), the socket options of
each side (server on the binding peer, client on the connecting ones, named as in pyzmq so zlab and
pyzmq are configured by the same code), and the ZAP handler PLAIN needs: the implementation's own
``ThreadAuthenticator`` in the binding peer's context, allowing the cell's credentials (libzmq 4.3.5,
and zlab as it, refuse a PLAIN client when no ZAP handler answers). CURVE runs without a ZAP handler:
any client that knows the server's public key is let in, as in libzmq.

Rules: imports nothing heavy at module level (worker processes unpickle :class:`Security`); keys are
made with PyNaCl (a zlab runtime dependency), not by either implementation under test, and passed raw
(32 octets), which both accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PLAIN_USERNAME = "bench"
PLAIN_PASSWORD = "bench-password"


@dataclass(frozen=True)
class Security:
    """A cell's mechanism and the credentials both sides need (empty for ``null``)."""

    mechanism: str = "null"
    server_public: bytes = b""
    server_secret: bytes = b""
    client_public: bytes = b""
    client_secret: bytes = b""
    username: str = PLAIN_USERNAME
    password: str = PLAIN_PASSWORD

    def server_options(self) -> dict[str, Any]:
        """Options (pyzmq names) of the binding peer's socket: the mechanism's server side."""
        if self.mechanism == "plain":
            return {"PLAIN_SERVER": 1}
        if self.mechanism == "curve":
            return {"CURVE_SERVER": 1, "CURVE_SECRETKEY": self.server_secret}
        return {}

    def client_options(self) -> dict[str, Any]:
        """Options (pyzmq names) of a connecting peer's socket: the mechanism's client side."""
        if self.mechanism == "plain":
            return {"PLAIN_USERNAME": self.username.encode(), "PLAIN_PASSWORD": self.password.encode()}
        if self.mechanism == "curve":
            return {
                "CURVE_SERVERKEY": self.server_public,
                "CURVE_PUBLICKEY": self.client_public,
                "CURVE_SECRETKEY": self.client_secret,
            }
        return {}

    @property
    def needs_zap(self) -> bool:
        """Whether the server side needs a ZAP handler to let the client in (PLAIN)."""
        return self.mechanism == "plain"


def make_security(mechanism: str) -> Security:
    """The credentials of one cell run: fresh CURVE key pairs (server and client) for ``curve``."""
    if mechanism != "curve":
        return Security(mechanism)
    from nacl.public import PrivateKey

    server, client = PrivateKey.generate(), PrivateKey.generate()
    return Security(
        "curve",
        server_public=bytes(server.public_key),
        server_secret=bytes(server),
        client_public=bytes(client.public_key),
        client_secret=bytes(client),
    )


def apply_options(module: Any, sock: Any, options: dict[str, Any]) -> None:
    """Set ``options`` (pyzmq names) on ``sock`` of the pyzmq-shaped ``module``, before bind or connect."""
    for name, value in options.items():
        sock.setsockopt(getattr(module, name), value)


def start_authenticator(impl: str, ctx: Any, security: Security) -> Any:
    """The implementation's own ThreadAuthenticator in ``ctx``, started and allowing the PLAIN credentials.

    Stop it (``.stop()``) before the context is terminated.
    """
    if impl == "pyzmq":
        from zmq.auth.thread import ThreadAuthenticator
    else:
        from zlab.auth.thread import ThreadAuthenticator  # type: ignore[assignment]  # pyzmq's shape
    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.configure_plain(domain="*", passwords={security.username: security.password})
    return auth
