"""Background devices (``<lib>.devices``): ThreadProxy, ThreadProxySteerable, ThreadDevice, each test run
against pyzmq's (the reference) and zlab's. A device makes its sockets in its own thread from the
socket types and the binds, connects and options recorded before ``start()``."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

import pytest

from tests.core.proxy_support import serve_requests, terminate
from tests.core.support import SYNC_S, Lib, send_when_routable


def devices_of(lib: Lib) -> ModuleType:
    return importlib.import_module(f"{lib.name}.devices")


def on_test_context(lib: Lib, dev: Any) -> Any:
    """Make ``dev`` use the test's context (inproc needs it, and the test terminates it) and LINGER 0."""
    dev.context_factory = lambda: lib.ctx
    for side in ("in", "out", "mon", "ctrl"):
        setter = getattr(dev, f"setsockopt_{side}", None)
        if setter is not None:
            setter(lib.LINGER, 0)
    return dev


def bind(lib: Lib, dev: Any, side: str, transport: str) -> str:
    """Have the device bind its ``side`` socket on ``transport``; where to connect to it."""
    if transport == "tcp":
        port = getattr(dev, f"bind_{side}_to_random_port")("tcp://127.0.0.1")
        return f"tcp://127.0.0.1:{port}"
    ep = lib.endpoint(transport)
    getattr(dev, f"bind_{side}")(ep)
    return ep


def stop(lib: Lib, dev: Any) -> None:
    """End the device by terminating its context; it must be gone soon after."""
    terminate(lib)
    dev.join(SYNC_S)
    assert not dev.launcher.is_alive(), "the device did not end with its context"


def test_thread_proxy_queue_with_monitor(lib: Lib, transport: str) -> None:
    devices = devices_of(lib)
    dev = on_test_context(lib, devices.ThreadProxy(lib.ROUTER, lib.DEALER, lib.PUSH))
    fe_ep = bind(lib, dev, "in", transport)
    be_ep = bind(lib, dev, "out", transport)
    mon_ep = bind(lib, dev, "mon", transport)
    assert dev.daemon
    dev.start()
    try:
        assert dev.launcher.daemon
        tap = lib.socket("PULL")
        tap.connect(mon_ep)
        workers = [lib.socket("REP") for _ in range(2)]
        for w in workers:
            w.connect(be_ep)
        clients = [lib.socket("REQ", routing_id=b"C%d" % i) for i in range(3)]
        for c in clients:
            c.connect(fe_ep)
        assert serve_requests(lib.mod, clients, workers, rounds=5)
        copies = [tap.recv_multipart() for _ in range(2 * 3 * 5)]  # each request and each reply
        assert sorted(m[0] for m in copies) == sorted([b"C0", b"C1", b"C2"] * 10)
        asked = [m for m in copies if m[2].startswith(b"client-")]
        assert len(asked) == 15 and all(m[1] == b"" and m[0][1:] == m[2][-1:] for m in asked)
    finally:
        stop(lib, dev)


def test_thread_proxy_steerable(lib: Lib) -> None:
    devices = devices_of(lib)
    dev = on_test_context(lib, devices.ThreadProxySteerable(lib.PULL, lib.PUSH, lib.PUSH, lib.REP))
    fe_ep = bind(lib, dev, "in", "inproc")
    be_ep = bind(lib, dev, "out", "ipc")
    mon_ep = bind(lib, dev, "mon", "inproc")
    ctl_ep = bind(lib, dev, "ctrl", "tcp")
    dev.start()
    try:
        producer = lib.socket("PUSH")
        producer.connect(fe_ep)
        consumer = lib.socket("PULL")
        consumer.connect(be_ep)
        tap = lib.socket("PULL")
        tap.connect(mon_ep)
        controller = lib.socket("REQ")
        controller.connect(ctl_ep)
        for i in range(10):
            producer.send_multipart([b"part", b"%d" % i])
        for i in range(10):
            assert consumer.recv_multipart() == [b"part", b"%d" % i]
            assert tap.recv_multipart() == [b"part", b"%d" % i]
        controller.send(b"STATISTICS")
        stats = [int.from_bytes(f, sys.byteorder) for f in controller.recv_multipart()]
        assert stats == [20, 50, 0, 0, 0, 0, 20, 50]
        controller.send(b"TERMINATE")
        assert controller.recv() == b""
        dev.join(SYNC_S)
        assert not dev.launcher.is_alive(), "TERMINATE did not end the device"
    finally:
        stop(lib, dev)


@pytest.mark.parametrize("device_type", ["STREAMER", "QUEUE"])
def test_thread_device(lib: Lib, stream_transport: str, device_type: str) -> None:
    devices = devices_of(lib)
    dev = on_test_context(lib, devices.ThreadDevice(getattr(lib, device_type), lib.PULL, lib.PUSH))
    fe_ep = bind(lib, dev, "in", stream_transport)
    be_ep = bind(lib, dev, "out", stream_transport)
    dev.start()
    try:
        producer = lib.socket("PUSH")
        producer.connect(fe_ep)
        consumer = lib.socket("PULL")
        consumer.connect(be_ep)
        for i in range(100):
            producer.send(b"%d" % i)
        assert [consumer.recv() for _ in range(100)] == [b"%d" % i for i in range(100)]
    finally:
        stop(lib, dev)


def test_device_connects_and_sets_options_before_binding(lib: Lib) -> None:
    """A device can connect out to a service that is already bound; options are set first."""
    devices = devices_of(lib)
    sink = lib.socket("PULL")
    sink_ep = lib.bind(sink, "tcp")
    dev = on_test_context(lib, devices.ThreadDevice(lib.QUEUE, lib.DEALER, lib.PUSH))
    dev.setsockopt_in(lib.ROUTING_ID, b"the-device")
    fe_ep = bind(lib, dev, "in", "inproc")
    dev.connect_out(sink_ep)
    dev.start()
    try:
        router = lib.socket("ROUTER", router_mandatory=1)
        router.connect(fe_ep)
        send_when_routable(lib, router, [b"the-device", b"by name"])  # routable by the ROUTING_ID set
        assert sink.recv() == b"by name"
    finally:
        stop(lib, dev)


def test_thread_proxy_with_the_default_monitor_type(lib: Lib) -> None:
    """``ThreadProxy(in, out)`` makes a PUB monitor socket; unbound, it copies to nobody."""
    devices = devices_of(lib)
    dev = on_test_context(lib, devices.ThreadProxy(lib.PULL, lib.PUSH))
    assert dev.mon_type == lib.PUB
    fe_ep = bind(lib, dev, "in", "inproc")
    be_ep = bind(lib, dev, "out", "inproc")
    dev.start()
    try:
        producer = lib.socket("PUSH")
        producer.connect(fe_ep)
        consumer = lib.socket("PULL")
        consumer.connect(be_ep)
        producer.send(b"no one watches")
        assert consumer.recv() == b"no one watches"
    finally:
        stop(lib, dev)


def test_thread_monitored_queue_between_two_routers(lib: Lib, transport: str) -> None:
    """ROUTER | monitored queue | ROUTER: a client names its worker in the second frame (the ids are
    swapped on the way through, both ways), and the monitor sees each message after the swap, behind an
    "in" or "out" frame."""
    devices = devices_of(lib)
    dev = on_test_context(
        lib, devices.ThreadMonitoredQueue(lib.ROUTER, lib.ROUTER, lib.PUSH, b"from-in", b"from-out")
    )
    fe_ep = bind(lib, dev, "in", transport)
    be_ep = bind(lib, dev, "out", transport)
    mon_ep = bind(lib, dev, "mon", transport)
    dev.start()
    try:
        tap = lib.socket("PULL")
        tap.connect(mon_ep)
        worker = lib.socket("DEALER", routing_id=b"W")
        worker.connect(be_ep)
        client = lib.socket("DEALER", routing_id=b"C")
        client.connect(fe_ep)
        for _ in range(int(SYNC_S * 1000 / 20)):  # until the worker is connected to the queue's ROUTER
            client.send_multipart([b"W", b"ping"])
            if worker.poll(20):
                break
        else:
            pytest.fail("the worker never got a message")
        while worker.poll(50):
            assert worker.recv_multipart() == [b"C", b"ping"]
        while tap.poll(50):
            assert tap.recv_multipart() == [b"from-in", b"W", b"C", b"ping"]
        client.send_multipart([b"W", b"question"])
        assert worker.recv_multipart() == [b"C", b"question"]
        worker.send_multipart([b"C", b"answer"])
        assert client.recv_multipart() == [b"W", b"answer"]
        assert tap.recv_multipart() == [b"from-in", b"W", b"C", b"question"]
        assert tap.recv_multipart() == [b"from-out", b"C", b"W", b"answer"]
    finally:
        stop(lib, dev)
