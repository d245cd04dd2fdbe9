"""Helpers for the proxy and device tests: a proxy running in a thread, stopped cleanly at teardown.

A ``ProxyRunner`` runs ``proxy`` or ``proxy_steerable`` in a thread over sockets it makes in the test's
context: a ``Lib`` of the core suite or an ``Impl`` of the interop suite (anything with ``name``,
``mod``, ``ctx``, ``sockets`` and ``bind``). Those sockets have LINGER 0, no timeouts, and are not in
``lib.sockets``: once the proxy runs, only its thread touches them. The runner records what the call
returned or raised. ``stop()`` ends it the way an application does: the test's sockets are closed, the
context is terminated (in a helper thread, bounded), and the proxy's thread, on ContextTerminated,
closes the sockets it was given (libzmq's term waits for that; zlab's term closes them itself).

``serve_requests`` and ``check_topics_forwarded`` drive the traffic of a queue and of a forwarder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from tests.core.support import SYNC_S, TEARDOWN_TIMEOUT_S

LINGER = 17


class ProxyRunner:
    """``lib.mod.proxy`` (or ``proxy_steerable``) over sockets it makes, in a background thread."""

    def __init__(self, lib: Any) -> None:
        self.lib = lib
        self.owned: list[Any] = []
        self.thread: threading.Thread | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.stopped = False

    def socket(self, type_name: str, *binds: str, **options: Any) -> tuple[Any, list[str]]:
        """A socket for the proxy, bound to each endpoint given (a transport for a ``Lib``); returns it and
        where to connect."""
        lib = self.lib
        s = lib.ctx.socket(getattr(lib.mod, type_name))
        s.setsockopt(LINGER, 0)
        for key, value in options.items():
            s.setsockopt(getattr(lib.mod, key.upper()), value)
        self.owned.append(s)
        return s, [lib.bind(s, b) for b in binds]

    def start(self, fn: Callable[..., Any], *args: Any) -> ProxyRunner:
        def run() -> None:
            try:
                self.result = fn(*args)
            except BaseException as exc:
                self.error = exc
            finally:
                terminated = isinstance(self.error, self.lib.mod.ContextTerminated)
                if not (terminated and self.lib.name == "zlab"):  # zlab's term closes its sockets itself
                    for s in self.owned:
                        if not s.closed:
                            s.close(linger=0)

        self.thread = threading.Thread(target=run, name=f"proxy-{self.lib.name}", daemon=True)
        self.thread.start()
        return self

    def join(self, timeout: float = SYNC_S) -> None:
        """Wait for the proxy to return (after TERMINATE, or a stop())."""
        assert self.thread is not None
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the proxy did not end"

    def stop(self) -> None:
        """Close the test's sockets, terminate the context, wait for the proxy's thread to end."""
        if self.stopped:
            return
        self.stopped = True
        terminate(self.lib)
        if self.thread is not None:
            self.join(TEARDOWN_TIMEOUT_S)


def terminate(lib: Any) -> None:
    """Close the test's own sockets and terminate its context (bounded, in a helper thread): what ends a
    proxy or a device running in the background."""
    for s in lib.sockets:
        if not s.closed:
            s.close(linger=0)
    errors: list[BaseException] = []

    def term() -> None:
        try:
            lib.ctx.term()
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=term, daemon=True)
    t.start()
    t.join(TEARDOWN_TIMEOUT_S)
    assert not t.is_alive(), "the context did not terminate"
    if errors:
        raise errors[0]


def serve_requests(mod: Any, clients: list[Any], workers: list[Any], rounds: int) -> set[bytes]:
    """Each REQ client asks ``rounds`` questions, one at a time, of REP workers behind a proxy; each
    worker answers with its name and the question. Every answer must be to the question its client
    asked. Returns the names of the workers that answered. ``mod`` is the peers' library."""
    poller = mod.Poller()
    for s in (*clients, *workers):
        poller.register(s, mod.POLLIN)
    asked = [0] * len(clients)

    def question(i: int) -> list[bytes]:
        return [b"client-%d" % i, b"question-%d" % asked[i]]

    for i, c in enumerate(clients):
        c.send_multipart(question(i))
    answered: set[bytes] = set()
    left = len(clients) * rounds
    while left:
        ready = dict(poller.poll(SYNC_S * 1000))
        assert ready, f"no progress within {SYNC_S} s ({left} answers missing)"
        for k, w in enumerate(workers):
            if w in ready:
                w.send_multipart([b"worker-%d" % k, *w.recv_multipart()])
        for i, c in enumerate(clients):
            if c in ready:
                name, *rest = c.recv_multipart()
                assert rest == question(i), (i, rest)
                answered.add(name)
                left -= 1
                asked[i] += 1
                if asked[i] < rounds:
                    c.send_multipart(question(i))
    return answered


def check_topics_forwarded(pub: Any, subs: dict[bytes, Any]) -> None:
    """``subs`` maps a topic to a SUB subscribed to it, behind a forwarder that ``pub`` publishes into.
    Publishes probes until each subscription has reached the publisher, then checks each subscriber
    gets exactly the messages whose first frame starts with its topic, in order."""
    for topic, sub in subs.items():
        for _ in range(int(SYNC_S * 1000 / 20)):
            pub.send_multipart([topic, b"probe"])
            if sub.poll(20):
                break
        else:
            raise AssertionError(f"the subscription to {topic!r} never reached the publisher")
        while sub.poll(50):
            assert sub.recv_multipart() == [topic, b"probe"]
    sent = [[b"A", b"1"], [b"B", b"2"], [b"C", b"3"], [b"AB", b"4"], [b"B", b"5"], [b"A", b"6"]]
    for msg in sent:
        pub.send_multipart(msg)
    for topic, sub in subs.items():
        expected = [m for m in sent if m[0].startswith(topic)]
        assert [sub.recv_multipart() for _ in expected] == expected
