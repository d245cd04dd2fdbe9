"""The ZAP handler's policy: who may connect, by address, PLAIN password and CURVE key.

Owns: ``Authenticator`` (pyzmq's ``zmq.auth.Authenticator`` shape: ``start``/``stop``, ``allow``/``deny``
by address, ``configure_plain``, ``configure_curve``, ``configure_curve_callback``, ``curve_user_id``,
``handle_zap_message``). Rules: layer L3; the public socket API only (a REP socket bound at
``inproc://zeromq.zap.01``). Policy, as libzmq users expect it from pyzmq: with no address rule every
address passes to the mechanism's check; ``allow`` makes a whitelist, ``deny`` a blacklist (not both);
NULL connections from a passing address are accepted; PLAIN needs a matching password for the
domain (``"*"`` when the socket set no ZAP_DOMAIN); CURVE needs CURVE_ALLOW_ANY, a known public key
(certificate folder) or a callback's yes. Refusals answer 400, malformed requests 400 too.
CURVE keys are compared as Z85 text, which needs ``zlab.utils.z85`` (from the CURVE work).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import zlab

from .certs import load_certificates

CURVE_ALLOW_ANY = "*"
"""``configure_curve(location=CURVE_ALLOW_ANY)``: any client key is accepted."""
ZAP_ENDPOINT = "inproc://zeromq.zap.01"
ZAP_VERSION = b"1.0"
ANY_DOMAIN = "*"


def z85_encode(key: bytes) -> bytes:
    """A 32-octet CURVE key as its 40 Z85 characters (RFC 32)."""
    try:
        from zlab.utils import z85  # provided by the CURVE work
    except ImportError as exc:  # pragma: no cover - depends on which branches are merged
        raise NotImplementedError("CURVE key checks need zlab.utils.z85") from exc
    return z85.encode(key)


class Authenticator:
    """A ZAP handler: answer each request on ``zap_socket`` with ``handle_zap_message``.

    This class does not run by itself: call ``handle_zap_message(zap_socket.recv_multipart())`` in
    your own loop, or use ``zlab.auth.thread.ThreadAuthenticator``. Until a policy is configured,
    NULL connections are accepted, and PLAIN and CURVE connections refused.
    """

    def __init__(self, context: zlab.Context | None = None, encoding: str = "utf-8", log: Any = None) -> None:
        self.context = context if context is not None else zlab.Context.instance()
        self.encoding = encoding
        self.log = log if log is not None else logging.getLogger("zlab.auth")
        self.zap_socket: zlab.Socket | None = None
        self.allow_any = False
        self._allowed: set[str] = set()
        self._denied: set[str] = set()
        #: PLAIN passwords: {domain: {username: password}}
        self.passwords: dict[str, dict[str, str]] = {}
        #: CURVE public keys (Z85, as bytes) from certificate folders: {domain: {key: True}}
        self.certs: dict[str, dict[bytes, Any]] = {}
        #: CURVE callbacks: {domain: object with callback(domain, z85_key) -> bool}
        self.credentials_providers: dict[str, Any] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Bind the ZAP socket (a REP at ``inproc://zeromq.zap.01``) in the context."""
        sock = self.context.socket(zlab.REP, socket_class=zlab.Socket)
        sock.linger = 1
        sock.bind(ZAP_ENDPOINT)
        self.zap_socket = sock
        self.log.debug("ZAP handler started")

    def stop(self) -> None:
        """Close the ZAP socket: connections that need ZAP are no longer answered."""
        if self.zap_socket is not None:
            self.zap_socket.close()
        self.zap_socket = None

    # -- policy ------------------------------------------------------------------------------
    def allow(self, *addresses: str) -> None:
        """Accept connections only from these addresses (and any allowed before). Not with deny()."""
        if self._denied:
            raise ValueError("use allow or deny, not both")
        self._allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        """Refuse connections from these addresses; others go on. Not with allow()."""
        if self._allowed:
            raise ValueError("use allow or deny, not both")
        self._denied.update(addresses)

    def configure_plain(self, domain: str = ANY_DOMAIN, passwords: dict[str, str] | None = None) -> None:
        """PLAIN: accept these username/password pairs for ``domain`` (``"*"``: no ZAP_DOMAIN)."""
        if passwords:
            self.passwords[domain] = dict(passwords)

    def configure_curve(self, domain: str = ANY_DOMAIN, location: str | os.PathLike = ".") -> None:
        """CURVE: accept the public keys of the certificates in folder ``location`` for ``domain``,
        or any key with ``location=CURVE_ALLOW_ANY``. Call again after the folder changed."""
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        try:
            self.certs[domain] = load_certificates(location)
        except OSError as exc:
            self.log.error("cannot load CURVE certificates from %s: %s", location, exc)

    def configure_curve_callback(self, domain: str = ANY_DOMAIN, credentials_provider: Any = None) -> None:
        """CURVE: ask ``credentials_provider.callback(domain, z85_key)`` about each client key."""
        self.allow_any = False
        if credentials_provider is not None:
            self.credentials_providers[domain] = credentials_provider

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The User-Id of an accepted CURVE client: its key in Z85 (override to map keys to names)."""
        return z85_encode(client_public_key).decode("ascii")

    def configure_gssapi(self, domain: str = ANY_DOMAIN, location: str | None = None) -> None:
        """GSSAPI is not supported by zlab; accepted for API compatibility (nothing to configure)."""

    # -- requests ----------------------------------------------------------------------------
    def handle_zap_message(self, msg: list[bytes]) -> None:
        """Answer one ZAP request (its frames after the REP envelope) on ``zap_socket``."""
        if len(msg) < 6:
            self.log.error("ZAP request with too few frames: %r", msg)
            if len(msg) >= 2:
                self._reply(msg[1], b"400", b"Not enough frames")
            return
        version, request_id, domain_raw, address_raw, _identity, mechanism = msg[:6]
        credentials = msg[6:]
        if version != ZAP_VERSION:
            self._reply(request_id, b"400", b"Invalid version")
            return
        domain = domain_raw.decode(self.encoding, "replace") or ANY_DOMAIN
        address = address_raw.decode(self.encoding, "replace")
        ok, text, user = self._decide(domain, address, mechanism, credentials)
        if ok:
            self._reply(request_id, b"200", b"OK", user.encode(self.encoding, "replace"))
        else:
            self.log.debug("ZAP refused %s %s: %s", mechanism, address, text)
            self._reply(request_id, b"400", text)

    def _decide(
        self, domain: str, address: str, mechanism: bytes, credentials: list[bytes]
    ) -> tuple[bool, bytes, str]:
        """(accepted?, status text, user id) for one request."""
        if self._allowed:
            if address not in self._allowed:
                return False, b"Address not allowed", ""
        elif self._denied and address in self._denied:
            return False, b"Address denied", ""
        if mechanism == b"NULL":
            return True, b"OK", "anonymous"
        if mechanism == b"PLAIN":
            if len(credentials) != 2:
                return False, b"Invalid credentials", ""
            username, password = (c.decode(self.encoding, "replace") for c in credentials)
            ok, text = self._check_plain(domain, username, password)
            return ok, text, username
        if mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                return False, b"Invalid credentials", ""
            ok, text = self._check_curve(domain, credentials[0])
            return ok, text, self.curve_user_id(credentials[0]) if ok else ""
        return False, b"Unsupported mechanism", ""

    def _check_plain(self, domain: str, username: str, password: str) -> tuple[bool, bytes]:
        if not self.passwords:
            return False, b"No passwords defined"
        table = self.passwords.get(domain)
        if table is None:
            return False, b"Invalid domain"
        if username not in table:
            return False, b"Invalid username"
        if table[username] != password:
            return False, b"Invalid password"
        return True, b"OK"

    def _check_curve(self, domain: str, key: bytes) -> tuple[bool, bytes]:
        if self.allow_any:
            return True, b"OK"
        if self.credentials_providers:
            provider = self.credentials_providers.get(domain)
            if provider is None:
                return False, b"Unknown domain"
            return (True, b"OK") if provider.callback(domain, z85_encode(key)) else (False, b"Unknown key")
        known = self.certs.get(domain)
        if known is None:
            return False, b"Unknown domain"
        return (True, b"OK") if known.get(z85_encode(key)) else (False, b"Unknown key")

    def _reply(self, request_id: bytes, status: bytes, text: bytes, user_id: bytes = b"") -> None:
        if self.zap_socket is None:
            return
        self.zap_socket.send_multipart([ZAP_VERSION, request_id, status, text, user_id, b""])


__all__ = ["CURVE_ALLOW_ANY", "Authenticator"]
