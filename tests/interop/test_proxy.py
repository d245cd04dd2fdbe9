"""A proxy of one implementation between peers of another: zlab's proxy between libzmq clients and
workers (and zlab's), with libzmq's proxy between the same peers as the control."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.core.proxy_support import ProxyRunner, check_topics_forwarded, serve_requests

pytestmark = pytest.mark.interop

PROXIES = [pytest.param("zmq", marks=pytest.mark.control), "zlab"]


@pytest.fixture
def running(make_impl: Callable[[str], Any]) -> Iterator[Callable[[str], ProxyRunner]]:
    """``running("zlab")`` -> a ProxyRunner on a fresh context of that implementation, stopped at teardown."""
    made: list[ProxyRunner] = []

    def make(name: str) -> ProxyRunner:
        made.append(ProxyRunner(make_impl(name)))
        return made[-1]

    yield make
    for r in made:
        r.stop()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("peers", ["zmq", "zlab"])
@pytest.mark.parametrize("proxy", PROXIES)
def test_queue_between_req_clients_and_rep_workers(
    running: Any, make_impl: Any, new_endpoint: Any, proxy: str, peers: str, transport: str
) -> None:
    """Four REQ clients, three REP workers, a ROUTER | DEALER proxy: every answer reaches its asker."""
    runner = running(proxy)
    fe, (fe_ep,) = runner.socket("ROUTER", new_endpoint(transport))
    be, (be_ep,) = runner.socket("DEALER", new_endpoint(transport))
    runner.start(runner.lib.mod.proxy, fe, be)
    side = make_impl(peers)
    workers = [side.socket("REP") for _ in range(3)]
    for w in workers:
        w.connect(be_ep)
    clients = [side.socket("REQ") for _ in range(4)]
    for c in clients:
        c.connect(fe_ep)
    assert serve_requests(side.mod, clients, workers, rounds=10)
    runner.stop()
    assert isinstance(runner.error, runner.lib.mod.ContextTerminated), runner.error


@pytest.mark.parametrize("proxy", PROXIES)
def test_streamer_with_capture_and_control(
    running: Any, make_impl: Any, new_endpoint: Any, proxy: str
) -> None:
    """libzmq PUSH -> PULL | steerable proxy | PUSH -> libzmq PULL, a libzmq PULL on the capture and a libzmq
    REQ on the control socket: messages whole and in order, copies in order, STATISTICS counted, TERMINATE."""
    runner = running(proxy)
    fe, (fe_ep,) = runner.socket("PULL", new_endpoint("tcp"))
    be, (be_ep,) = runner.socket("PUSH", new_endpoint("ipc"))
    cap, (cap_ep,) = runner.socket("PUSH", new_endpoint("tcp"))
    ctl, (ctl_ep,) = runner.socket("REP", new_endpoint("tcp"))
    runner.start(runner.lib.mod.proxy_steerable, fe, be, cap, ctl)
    z = make_impl("zmq")
    producer, consumer, tap, controller = (z.socket(t) for t in ("PUSH", "PULL", "PULL", "REQ"))
    producer.connect(fe_ep)
    consumer.connect(be_ep)
    tap.connect(cap_ep)
    controller.connect(ctl_ep)
    n = 500
    for i in range(n):
        producer.send_multipart([b"%03d" % i, b"z" * (i % 7)])
    for i in range(n):
        assert consumer.recv_multipart() == [b"%03d" % i, b"z" * (i % 7)]
        assert tap.recv_multipart() == [b"%03d" % i, b"z" * (i % 7)]
    controller.send(b"STATISTICS")
    stats = [int.from_bytes(f, sys.byteorder) for f in controller.recv_multipart()]
    size = 3 * n + sum(i % 7 for i in range(n))
    assert stats == [2 * n, size, 0, 0, 0, 0, 2 * n, size]
    controller.send(b"TERMINATE")
    assert controller.recv() == b""
    runner.join()
    assert runner.error is None and runner.result == 0


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("proxy", PROXIES)
def test_forwarder_between_libzmq_pub_and_subs(
    running: Any, make_impl: Any, new_endpoint: Any, proxy: str, transport: str
) -> None:
    """libzmq PUB -> XSUB | proxy | XPUB -> libzmq SUBs: subscriptions up, matching messages down."""
    runner = running(proxy)
    xsub, (xsub_ep,) = runner.socket("XSUB", new_endpoint(transport))
    xpub, (xpub_ep,) = runner.socket("XPUB", new_endpoint(transport))
    runner.start(runner.lib.mod.proxy, xsub, xpub)
    z = make_impl("zmq")
    pub = z.socket("PUB")
    pub.connect(xsub_ep)
    subs = {}
    for topic in (b"A", b"B"):
        subs[topic] = z.socket("SUB", subscribe=topic)
        subs[topic].connect(xpub_ep)
    check_topics_forwarded(pub, subs)
