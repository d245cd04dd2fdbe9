"""One implementation's context and sockets behind a common face: ``zmq`` (libzmq through pyzmq) or ``zlab``.

zlab is imported lazily (``load_impl``), so tests that use it skip, not error, while it does not exist.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import pytest

TEARDOWN_TIMEOUT_S = 10.0
# Every socket gets this RCVTIMEO and SNDTIMEO, so a failure is an error, never a hang.
IO_TIMEOUT_MS = 5000


def load_impl(name: str) -> ModuleType:
    """The module for an implementation name; skips the test while it does not exist (yet).

    Only a missing package (or, before the core landed, a package without ``Context``) skips: a zlab that
    exists but fails to import is an error, never a silent skip.
    """
    if name == "zmq":
        return pytest.importorskip("zmq")
    try:
        mod = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        pytest.skip(f"{name} is not importable")
    if not hasattr(mod, "Context"):
        pytest.skip(f"{name}.Context does not exist yet (core not landed)")
    return mod


class Impl:
    """A context of one implementation and the sockets made from it, closed with linger 0 at teardown.

    ``impl.socket("ROUTER", router_mandatory=1)`` creates a socket of the type named, sets RCVTIMEO, SNDTIMEO
    and LINGER, then each keyword option (the constant of the same name, upper-cased, from the module).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.mod = load_impl(name)
        self.ctx = self.mod.Context()
        self.sockets: list[Any] = []

    def const(self, name: str) -> int:
        return getattr(self.mod, name.upper())

    def socket(self, type_name: str, **options: Any) -> Any:
        s = self.ctx.socket(self.const(type_name))
        self.sockets.append(s)
        opts: dict[str, Any] = {"linger": 0, "rcvtimeo": IO_TIMEOUT_MS, "sndtimeo": IO_TIMEOUT_MS}
        opts.update(options)
        for key, value in opts.items():
            s.setsockopt(self.const(key), value)
        return s

    def last_endpoint(self, sock: Any) -> str:
        ep = sock.getsockopt(self.const("LAST_ENDPOINT"))
        if isinstance(ep, bytes):
            ep = ep.decode()
        return ep.rstrip("\x00")

    def bind(self, sock: Any, endpoint: str) -> str:
        """Bind and return the real endpoint (the port filled in for ``tcp://127.0.0.1:*``)."""
        sock.bind(endpoint)
        if endpoint.startswith("tcp://") and endpoint.endswith(":*"):
            return self.last_endpoint(sock)
        return endpoint

    def close(self, sock: Any) -> None:
        if not getattr(sock, "closed", False):
            sock.close(linger=0)

    def teardown(self) -> None:
        errors: list[BaseException] = []

        def work() -> None:
            try:
                for s in self.sockets:
                    try:
                        self.close(s)
                    except Exception as exc:
                        errors.append(exc)
                self.ctx.term()
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=work, name=f"teardown-{self.name}", daemon=True)
        t.start()
        t.join(TEARDOWN_TIMEOUT_S)
        if t.is_alive():
            raise RuntimeError(f"{self.name} context did not terminate within {TEARDOWN_TIMEOUT_S} s")
        if errors:
            raise errors[0]


def teardown_all(items: Iterable[Any]) -> None:
    """Tear down every item (anything with ``teardown()``), in the order given, even when one fails; then
    raise the first failure."""
    errors: list[BaseException] = []
    for item in items:
        try:
            item.teardown()
        except BaseException as exc:
            errors.append(exc)
    if errors:
        raise errors[0]
