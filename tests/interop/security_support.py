"""Helpers shared by the security tests (PLAIN, ZAP, CURVE) in ``tests/interop`` and ``tests/monitor``.

Works with either face of an implementation, ``tests.interop.impls.Impl`` or ``tests.core.support.Lib``:
both have ``name``, ``mod``, ``ctx`` and a ``sockets`` list closed at teardown. pyzmq is imported lazily,
so importing this module never skips anything.
"""

from __future__ import annotations

import importlib
import threading
import time
from typing import Any

import pytest

# Parameter ids read ``S-<server impl>_C-<client impl>``; pyzmq on both sides is the control.
IMPL_PAIRS = [
    pytest.param(("zmq", "zmq"), id="S-zmq_C-zmq", marks=pytest.mark.control),
    pytest.param(("zlab", "zmq"), id="S-zlab_C-zmq"),
    pytest.param(("zmq", "zlab"), id="S-zmq_C-zlab"),
    pytest.param(("zlab", "zlab"), id="S-zlab_C-zlab"),
]
WAIT_S = 10.0


class AuthStopper:
    """Lets an Impl's or a Lib's teardown stop an authenticator as if it were a socket."""

    closed = False

    def __init__(self, auth: Any) -> None:
        self.auth = auth

    def close(self, linger: int = 0) -> None:
        if not self.closed:
            self.closed = True
            self.auth.stop()


def start_authenticator(impl: Any, *, skip_if_missing: bool = False) -> Any:
    """The implementation's own ``ThreadAuthenticator`` on ``impl.ctx``, started, and stopped at teardown
    before the context terminates. With ``skip_if_missing``, an implementation without ``auth.thread``
    skips the test."""
    try:
        thread = importlib.import_module(f"{impl.name}.auth.thread")
    except ImportError:
        if not skip_if_missing:
            raise
        pytest.skip(f"{impl.name} has no auth.thread")
    auth = thread.ThreadAuthenticator(impl.ctx)
    auth.start()
    impl.sockets.insert(0, AuthStopper(auth))  # stopped before the context terminates
    return auth


class AuthEvents:
    """Counts a socket's HANDSHAKE_FAILED_AUTH monitor events (pyzmq: a monitor socket; zlab: the link's
    monitor hook, until zlab's monitor sockets land)."""

    def __init__(self, impl: Any, sock: Any) -> None:
        self.impl = impl
        self.values: list[Any] = []
        self._cond = threading.Condition()
        if impl.name == "zmq":
            self.mon = sock.get_monitor_socket(impl.mod.EVENT_HANDSHAKE_FAILED_AUTH)
            impl.sockets.append(self.mon)
        else:
            self.mon = None
            auth_event = impl.mod.EVENT_HANDSHAKE_FAILED_AUTH
            previous = sock.link.monitor

            def hook(event: int, endpoint: str, value: object) -> None:
                if previous is not None:
                    previous(event, endpoint, value)
                if event == auth_event:
                    with self._cond:
                        self.values.append(value)
                        self._cond.notify_all()

            sock.link.monitor = hook

    def wait(self, count: int) -> list[Any]:
        deadline = time.monotonic() + WAIT_S
        if self.mon is not None:
            from zmq.utils.monitor import recv_monitor_message

            while len(self.values) < count:
                left = deadline - time.monotonic()
                assert left > 0 and self.mon.poll(int(left * 1000)), f"only {self.values} auth failures"
                self.values.append(recv_monitor_message(self.mon)["value"])
            return self.values
        with self._cond:
            while len(self.values) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"only {self.values} auth failures"
                self._cond.wait(left)
            return list(self.values)


def send_to_be_refused(impl: Any, sock: Any, *frames: bytes) -> None:
    """Send ``frames`` from a client whose handshake the server refuses, without waiting. A client told
    ERROR gives up the endpoint (libzmq's and zlab's alike): once the refusal has reached it there is
    nowhere to queue, and ``Again`` is expected (seen with one CPU busy: a blocking send timed out). What
    such a test checks is the server: a 400 auth failure, nothing delivered."""
    try:
        sock.send_multipart(list(frames), impl.mod.NOBLOCK)
    except impl.mod.Again:
        pass


def check_pub_sub_auth(
    pub: Any,
    sub: Any,
    sub_impl: Any,
    endpoint: str,
    events: AuthEvents,
    allowed: bool,
    *,
    noise: bool = False,
) -> None:
    """``sub`` (of ``sub_impl``) subscribes to b"news" and connects to ``endpoint``, where ``pub`` is bound.
    Allowed: ``pub`` publishes until the subscription has arrived (the poll paces it; with ``noise`` a
    b"sport" message goes out before each b"news" one) and the subscriber gets exactly the news. Denied: the
    server reports an auth failure (400) in ``events`` and nothing published reaches the subscriber."""
    sub.setsockopt(sub_impl.const("SUBSCRIBE"), b"news")
    sub.connect(endpoint)
    poller = sub_impl.mod.Poller()
    poller.register(sub, sub_impl.const("POLLIN"))
    if allowed:
        for _ in range(500):
            if noise:
                pub.send_multipart([b"sport", b"no"])
            pub.send_multipart([b"news", b"yes"])
            if poller.poll(10):
                break
        assert [bytes(f) for f in sub.recv_multipart()] == [b"news", b"yes"]
    else:
        assert events.wait(1)[0] == 400
        pub.send_multipart([b"news", b"secret stuff"])
        assert poller.poll(50) == []
