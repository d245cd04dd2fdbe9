"""Poller (sockets and plain file descriptors together), select, Socket.poll."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from tests.core.support import Lib


def test_poller_pollin_pollout(lib: Lib, transport: str) -> None:
    pull, push = lib.pair("PULL", "PUSH", transport)
    poller = lib.mod.Poller()
    poller.register(pull, lib.POLLIN)
    poller.register(push, lib.POLLIN | lib.POLLOUT)
    assert dict(poller.poll(0)) == {push: lib.POLLOUT}  # a PUSH is never readable
    push.send(b"x")
    poller.unregister(push)
    assert dict(poller.poll(5000)) == {pull: lib.POLLIN}
    pull.recv()
    assert poller.poll(0) == []
    poller.register(pull, 0)  # flags 0 unregisters
    assert poller.sockets == []


def test_poll_timeout_zero_returns_at_once(lib: Lib) -> None:
    pull = lib.socket("PULL")
    pull.bind(lib.endpoint("inproc"))
    poller = lib.mod.Poller()
    poller.register(pull, lib.POLLIN)
    start = time.monotonic()
    assert poller.poll(0) == []
    assert time.monotonic() - start < 0.5


def test_poll_timeout_in_milliseconds(lib: Lib) -> None:
    pull = lib.socket("PULL")
    pull.bind(lib.endpoint("inproc"))
    poller = lib.mod.Poller()
    poller.register(pull, lib.POLLIN)
    start = time.monotonic()
    assert poller.poll(150) == []
    elapsed = time.monotonic() - start
    assert 0.1 <= elapsed < 5.0, elapsed  # milliseconds, not seconds


def test_poller_with_os_pipe_and_socket(lib: Lib) -> None:
    pull, push = lib.pair("PULL", "PUSH", "inproc")
    r, w = os.pipe()
    try:
        poller = lib.mod.Poller()
        poller.register(pull, lib.POLLIN)
        poller.register(r, lib.POLLIN)
        poller.register(w, lib.POLLOUT)
        assert dict(poller.poll(0)) == {w: lib.POLLOUT}
        os.write(w, b"!")
        ready = dict(poller.poll(1000))
        assert ready.get(r) == lib.POLLIN
        push.send(b"m")
        ready = dict(poller.poll(1000))
        assert ready.get(pull) == lib.POLLIN and ready.get(r) == lib.POLLIN
        os.read(r, 1)
        pull.recv()
        poller.unregister(w)
        assert poller.poll(0) == []
    finally:
        os.close(r)
        os.close(w)


@pytest.mark.timeout(20)
def test_poller_wakes_on_fd_while_waiting(lib: Lib) -> None:
    """A poll blocked on a zlab socket and a Python socket wakes when the Python socket gets data."""
    import threading

    pull = lib.socket("PULL")
    pull.bind(lib.endpoint("inproc"))
    a, b = socket.socketpair()
    try:
        poller = lib.mod.Poller()
        poller.register(pull, lib.POLLIN)
        poller.register(a, lib.POLLIN)  # an object with fileno()
        timer = threading.Timer(0.1, b.send, (b"wake",))
        timer.start()
        start = time.monotonic()
        ready = dict(poller.poll(10000))
        timer.join()
        # pyzmq reports an object registered by its fileno() as the fd number; accept either form
        assert {k if isinstance(k, int) else k.fileno(): v for k, v in ready.items()} == {
            a.fileno(): lib.POLLIN
        }
        assert time.monotonic() - start < 5.0
    finally:
        a.close()
        b.close()


@pytest.mark.timeout(20)
def test_poller_wakes_on_socket_while_waiting_with_fds(lib: Lib, transport: str) -> None:
    import threading

    pull, push = lib.pair("PULL", "PUSH", transport)
    r, w = os.pipe()
    try:
        poller = lib.mod.Poller()
        poller.register(pull, lib.POLLIN)
        poller.register(r, lib.POLLIN)
        timer = threading.Timer(0.1, push.send, (b"wake",))
        timer.start()
        ready = dict(poller.poll(10000))
        timer.join()
        assert ready == {pull: lib.POLLIN}
        assert pull.recv() == b"wake"
    finally:
        os.close(r)
        os.close(w)


def test_select(lib: Lib) -> None:
    pull, push = lib.pair("PULL", "PUSH", "inproc")
    r, w = os.pipe()
    try:
        rl, wl, xl = lib.mod.select([pull, r], [push], [], 0)
        assert (rl, wl, xl) == ([], [push], [])
        push.send(b"x")
        os.write(w, b"x")
        rl, wl, xl = lib.mod.select([pull, r], [], [], 1.0)  # seconds, as select.select
        assert set(rl) == {pull, r}
        start = time.monotonic()
        pull.recv()
        os.read(r, 1)
        assert lib.mod.select([pull, r], [], [], 0.1) == ([], [], [])
        assert 0.05 <= time.monotonic() - start < 5.0
    finally:
        os.close(r)
        os.close(w)


def test_socket_poll(lib: Lib, transport: str) -> None:
    pull, push = lib.pair("PULL", "PUSH", transport)
    assert pull.poll(0) == 0
    assert push.poll(0, lib.POLLOUT) == lib.POLLOUT
    push.send(b"x")
    assert pull.poll(5000) == lib.POLLIN
    assert pull.poll(5000, lib.POLLIN | lib.POLLOUT) == lib.POLLIN  # a PULL is never writable
    pull.recv()
    assert pull.poll(10) == 0


def test_poll_multipart_readiness(lib: Lib) -> None:
    """POLLIN stays up while the rest of a multipart message waits to be read."""
    pull, push = lib.pair("PULL", "PUSH", "inproc")
    push.send_multipart([b"1", b"2"])
    assert pull.poll(1000) == lib.POLLIN
    pull.recv()
    assert pull.poll(0) == lib.POLLIN
    pull.recv()
    assert pull.poll(0) == 0


@pytest.mark.timeout(20)
def test_poll_raises_when_the_context_terminates(lib: Lib) -> None:
    """A thread blocked in poll() wakes with ContextTerminated when another terminates the context."""
    ctx = lib.context()
    pull = ctx.socket(lib.PULL)
    pull.setsockopt(lib.LINGER, 0)
    pull.bind(lib.endpoint("inproc"))
    outcome: list[BaseException] = []
    polling = threading.Event()

    def poller() -> None:
        p = lib.mod.Poller()
        p.register(pull, lib.POLLIN)
        polling.set()
        try:
            p.poll(10000)
        except BaseException as exc:
            outcome.append(exc)
        pull.close()

    t = threading.Thread(target=poller, daemon=True)
    t.start()
    polling.wait(5)
    ctx.term()  # returns once the poller has closed its socket
    t.join(5)
    assert not t.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], lib.mod.ContextTerminated)


@pytest.mark.timeout(20)
def test_pollout_wakes_when_an_inproc_peer_drains(lib: Lib) -> None:
    """A sender that waits for room with poll(POLLOUT), never failing a send, is woken by the drain."""
    pull = lib.socket("PULL", rcvhwm=2)
    ep = lib.bind(pull, "inproc")
    push = lib.socket("PUSH", sndhwm=2)
    push.connect(ep)
    sent = 0
    while push.poll(0, lib.POLLOUT):
        push.send(b"%d" % sent)
        sent += 1
        assert sent < 100
    drained = threading.Event()

    def drain() -> None:
        for _ in range(sent):
            pull.recv()
        drained.set()

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    assert push.poll(5000, lib.POLLOUT) == lib.POLLOUT
    t.join(5)
    assert drained.is_set()
