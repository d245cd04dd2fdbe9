"""``proxy`` and ``proxy_steerable``: each test runs against libzmq (pyzmq's, the reference) and zlab.

The proxy runs in a thread over sockets of the test's context; the test's own sockets are clients,
workers and controllers. Every test ends the proxy (TERMINATE, or terminating the context) and
checks that it ended.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.core.proxy_support import ProxyRunner, check_topics_forwarded, serve_requests
from tests.core.support import SYNC_S, Lib


@pytest.fixture
def runner(lib: Lib) -> Iterator[ProxyRunner]:
    r = ProxyRunner(lib)
    try:
        yield r
    finally:
        r.stop()


def command(ctl: Any, cmd: bytes) -> list[bytes]:
    """Send a command to a proxy's REP control socket; its reply."""
    ctl.send(cmd)
    return ctl.recv_multipart()


def statistics(ctl: Any) -> list[int]:
    frames = command(ctl, b"STATISTICS")
    assert len(frames) == 8 and all(len(f) == 8 for f in frames), frames
    return [int.from_bytes(f, sys.byteorder) for f in frames]


# ------------------------------------------------------------------------------------------------ queue


def test_queue_between_req_clients_and_rep_workers(lib: Lib, runner: ProxyRunner, transport: str) -> None:
    """ROUTER | proxy | DEALER between three REQ clients and two REP workers: every answer reaches the
    client that asked."""
    fe, (fe_ep,) = runner.socket("ROUTER", transport)
    be, (be_ep,) = runner.socket("DEALER", transport)
    runner.start(lib.mod.proxy, fe, be)
    workers = [lib.socket("REP") for _ in range(2)]
    for w in workers:
        w.connect(be_ep)
    clients = [lib.socket("REQ") for _ in range(3)]
    for c in clients:
        c.connect(fe_ep)
    assert serve_requests(lib.mod, clients, workers, rounds=20)
    runner.stop()
    assert isinstance(runner.error, lib.mod.ContextTerminated), runner.error


def test_one_socket_as_frontend_and_backend(lib: Lib, runner: ProxyRunner) -> None:
    """A ROUTER proxied to itself sends every message back where it came from: an echo service."""
    router, (ep,) = runner.socket("ROUTER", "inproc")
    runner.start(lib.mod.proxy, router, router)
    dealers = [lib.socket("DEALER") for _ in range(2)]
    for d in dealers:
        d.connect(ep)
    for i, d in enumerate(dealers):
        d.send_multipart([b"echo", b"%d" % i])
    for i, d in enumerate(dealers):
        assert d.recv_multipart() == [b"echo", b"%d" % i]


# ------------------------------------------------------------------------------------------------ streamer


def test_streamer_keeps_messages_whole_and_in_order(lib: Lib, runner: ProxyRunner, transport: str) -> None:
    """PULL | proxy | PUSH: one way only (PUSH cannot receive), multipart messages whole and in order."""
    fe, (fe_ep,) = runner.socket("PULL", transport)
    be, (be_ep,) = runner.socket("PUSH", transport)
    runner.start(lib.mod.proxy, fe, be)
    producer = lib.socket("PUSH")
    producer.connect(fe_ep)
    consumer = lib.socket("PULL")
    consumer.connect(be_ep)
    n = 2000
    for i in range(n):
        producer.send_multipart([b"%d" % i, b"x" * (i % 50)] if i % 3 else [b"%d" % i])
    for i in range(n):
        assert consumer.recv_multipart() == ([b"%d" % i, b"x" * (i % 50)] if i % 3 else [b"%d" % i])


def test_streamer_holds_at_hwm_and_loses_nothing(lib: Lib, runner: ProxyRunner, transport: str) -> None:
    """With a consumer that does not read, the queues fill up back to the producer, whose sends then
    time out (the proxy stopped reading rather than dropping); every message it did send then arrives,
    in order."""
    hwm = {"sndhwm": 10, "rcvhwm": 10}
    fe, (fe_ep,) = runner.socket("PULL", transport, **hwm)
    be, (be_ep,) = runner.socket("PUSH", transport, **hwm)
    runner.start(lib.mod.proxy, fe, be)
    consumer = lib.socket("PULL", **hwm)
    consumer.connect(be_ep)
    producer = lib.socket("PUSH", **hwm)
    producer.connect(fe_ep)
    producer.send(b"first")  # waits for the connection
    assert consumer.recv() == b"first"
    producer.setsockopt(lib.SNDTIMEO, 300)  # a send blocked this long: the pipeline is full
    body = b"y" * 4096
    sent = 0
    while sent < 50_000:  # far more than the queues and kernel buffers hold
        try:
            producer.send_multipart([b"%d" % sent, body])
        except lib.mod.Again:
            break
        sent += 1
    else:
        pytest.fail("the producer was never held back: the proxy drops at HWM")
    for i in range(sent):
        assert consumer.recv_multipart() == [b"%d" % i, body]
    assert consumer.poll(0) == 0


def test_forwarder_xsub_xpub(lib: Lib, runner: ProxyRunner, transport: str) -> None:
    """PUB -> XSUB | proxy | XPUB -> SUBs: subscriptions travel up through the proxy to the publisher,
    and each subscriber gets exactly the messages that match its topic."""
    xsub, (xsub_ep,) = runner.socket("XSUB", transport)
    xpub, (xpub_ep,) = runner.socket("XPUB", transport)
    runner.start(lib.mod.proxy, xsub, xpub)
    pub = lib.socket("PUB")
    pub.connect(xsub_ep)
    subs = {}
    for topic in (b"A", b"B"):
        sub = subs[topic] = lib.socket("SUB")
        sub.setsockopt(lib.SUBSCRIBE, topic)
        sub.connect(xpub_ep)
    check_topics_forwarded(pub, subs)


def test_capture_gets_a_copy_of_each_message_both_ways(lib: Lib, runner: ProxyRunner) -> None:
    fe, (fe_ep,) = runner.socket("ROUTER", "inproc")
    be, (be_ep,) = runner.socket("DEALER", "inproc")
    cap, (cap_ep,) = runner.socket("PUSH", "inproc")
    tap = lib.socket("PULL")
    tap.connect(cap_ep)
    runner.start(lib.mod.proxy, fe, be, cap)
    worker = lib.socket("REP")
    worker.connect(be_ep)
    client = lib.socket("REQ", routing_id=b"C1")
    client.connect(fe_ep)
    client.send_multipart([b"ask", b"more"])
    assert worker.recv_multipart() == [b"ask", b"more"]
    worker.send(b"answer")
    assert client.recv() == b"answer"
    assert tap.recv_multipart() == [b"C1", b"", b"ask", b"more"]
    assert tap.recv_multipart() == [b"C1", b"", b"answer"]


def test_proxy_ends_on_context_term(lib: Lib, runner: ProxyRunner) -> None:
    """A proxy blocked waiting for traffic raises ContextTerminated when its context is terminated."""
    fe, (fe_ep,) = runner.socket("ROUTER", "tcp")
    be, _ = runner.socket("DEALER", "inproc")
    runner.start(lib.mod.proxy, fe, be)
    client = lib.socket("DEALER")
    client.connect(fe_ep)
    client.send(b"nobody answers")
    runner.stop()
    assert isinstance(runner.error, lib.mod.ContextTerminated), runner.error


# ------------------------------------------------------------------------------------------------ steerable


def steered_queue(lib: Lib, runner: ProxyRunner) -> tuple[Any, Any, Any]:
    """A steerable ROUTER | DEALER proxy with a REP control socket; returns (client, worker, controller)."""
    fe, (fe_ep,) = runner.socket("ROUTER", "inproc")
    be, (be_ep,) = runner.socket("DEALER", "inproc")
    ctl, (ctl_ep,) = runner.socket("REP", "inproc")
    runner.start(lib.mod.proxy_steerable, fe, be, None, ctl)
    worker = lib.socket("REP")
    worker.connect(be_ep)
    client = lib.socket("REQ", routing_id=b"C1")
    client.connect(fe_ep)
    controller = lib.socket("REQ")
    controller.connect(ctl_ep)
    return client, worker, controller


def test_steerable_statistics_and_terminate(lib: Lib, runner: ProxyRunner) -> None:
    """STATISTICS: eight uint64 frames, frames (not messages) and bytes, frontend in/out then backend
    in/out; TERMINATE: an empty reply and the proxy returns 0."""
    client, worker, controller = steered_queue(lib, runner)
    assert statistics(controller) == [0] * 8
    client.send(b"hello")  # through the ROUTER: [b"C1", b"", b"hello"], 3 frames, 7 bytes
    assert worker.recv() == b"hello"
    worker.send_multipart([b"wor", b"ld!"])  # back: [b"C1", b"", b"wor", b"ld!"], 4 frames, 8 bytes
    assert client.recv_multipart() == [b"wor", b"ld!"]
    assert statistics(controller) == [3, 7, 4, 8, 4, 8, 3, 7]
    assert command(controller, b"TERMINATE") == [b""]
    runner.join()
    assert runner.error is None and runner.result == 0


def test_steerable_unknown_command_is_answered_and_ignored(lib: Lib, runner: ProxyRunner) -> None:
    client, worker, controller = steered_queue(lib, runner)
    assert command(controller, b"NOSUCHCOMMAND") == [b""]
    client.send(b"still working")
    assert worker.recv() == b"still working"
    assert command(controller, b"TERMINATE") == [b""]
    runner.join()


@pytest.fixture
def documented_pause(lib: Lib, request: pytest.FixtureRequest) -> None:
    if not lib.is_zlab:
        reason = "libzmq 4.3.5 swaps PAUSE and RESUME (fixed upstream after 4.3.5); zlab does as documented"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


def test_steerable_pause_and_resume(lib: Lib, runner: ProxyRunner, documented_pause: None) -> None:
    """PAUSE: nothing moves (the frontend is not even read); RESUME: what waited goes through."""
    fe, (fe_ep,) = runner.socket("PULL", "inproc")
    be, (be_ep,) = runner.socket("PUSH", "inproc")
    ctl, (ctl_ep,) = runner.socket("REP", "inproc")
    runner.start(lib.mod.proxy_steerable, fe, be, None, ctl)
    producer = lib.socket("PUSH")
    producer.connect(fe_ep)
    consumer = lib.socket("PULL", rcvtimeo=2000)
    consumer.connect(be_ep)
    controller = lib.socket("REQ")
    controller.connect(ctl_ep)
    producer.send(b"before")
    assert consumer.recv() == b"before"
    assert command(controller, b"PAUSE") == [b""]
    producer.send(b"while paused")
    assert consumer.poll(100) == 0
    assert statistics(controller)[:2] == [1, 6]  # not read from the frontend either
    assert command(controller, b"RESUME") == [b""]
    assert consumer.recv() == b"while paused"
    producer.send(b"resumed")
    assert consumer.recv() == b"resumed"
    assert statistics(controller) == [3, 25, 0, 0, 0, 0, 3, 25]
    assert command(controller, b"TERMINATE") == [b""]
    runner.join()


def test_steerable_ends_on_context_term(lib: Lib, runner: ProxyRunner) -> None:
    client, worker, _ = steered_queue(lib, runner)
    client.send(b"one")
    assert worker.recv() == b"one"
    runner.stop()
    assert isinstance(runner.error, lib.mod.ContextTerminated), runner.error


def test_steerable_without_control_is_a_plain_proxy(lib: Lib, runner: ProxyRunner) -> None:
    fe, (fe_ep,) = runner.socket("PULL", "inproc")
    be, (be_ep,) = runner.socket("PUSH", "inproc")
    runner.start(lib.mod.proxy_steerable, fe, be)
    producer = lib.socket("PUSH")
    producer.connect(fe_ep)
    consumer = lib.socket("PULL")
    consumer.connect(be_ep)
    producer.send(b"through")
    assert consumer.recv() == b"through"


# ------------------------------------------------------------------------------------------------ zlab only


def test_zlab_proxy_wants_zlab_sockets() -> None:
    zlab = pytest.importorskip("zlab")
    ctx = zlab.Context()
    try:
        s = ctx.socket(zlab.PULL)
        with pytest.raises(TypeError):
            zlab.proxy(s, object())  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            zlab.proxy_steerable(s, s, None, object())  # type: ignore[arg-type]
    finally:
        ctx.destroy(0)


def test_zlab_device_is_proxy() -> None:
    """``zlab.device(zlab.QUEUE, a, b)`` runs the proxy, as pyzmq's ``zmq.device``."""
    zlab = pytest.importorskip("zlab")
    ctx = zlab.Context()
    errors: list[BaseException] = []
    try:
        fe = ctx.socket(zlab.PULL)
        fe.bind("inproc://device-fe")
        be = ctx.socket(zlab.PUSH)
        be.bind("inproc://device-be")

        def run() -> None:
            try:
                zlab.device(zlab.STREAMER, fe, be)
            except BaseException as exc:
                errors.append(exc)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        producer = ctx.socket(zlab.PUSH, linger=0)
        producer.connect("inproc://device-fe")
        consumer = ctx.socket(zlab.PULL, linger=0)
        consumer.connect("inproc://device-be")
        producer.send(b"streamed")
        assert consumer.poll(SYNC_S * 1000) and consumer.recv() == b"streamed"
    finally:
        ctx.term()
    t.join(SYNC_S)
    assert not t.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], zlab.ContextTerminated), errors
