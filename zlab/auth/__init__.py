"""``zlab.auth``: ZAP authentication (RFC 27) shaped like pyzmq's ``zmq.auth``.

Owns nothing itself: ``Authenticator`` (base.py), certificate files (certs.py) and the thread-backed
``ThreadAuthenticator`` (thread.py). Layer L3: it uses the public socket API only.

    auth = ThreadAuthenticator(ctx)
    auth.start()
    auth.allow("127.0.0.1")
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    ...
    auth.stop()
"""

from __future__ import annotations

from .base import CURVE_ALLOW_ANY, Authenticator
from .certs import create_certificates, load_certificate, load_certificates

__all__ = [
    "CURVE_ALLOW_ANY",
    "Authenticator",
    "create_certificates",
    "load_certificate",
    "load_certificates",
]
