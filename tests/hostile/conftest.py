"""Fixtures for the hostile-peer suite: a bound target socket (PULL or ROUTER, zlab or libzmq) with two
well-behaved peers, and a memory watch.

The target's implementation is a parameter: ``zmq`` (libzmq through pyzmq) runs now and validates the raw
byte helpers and the scenario; ``zlab`` skips until ``zlab.Context`` exists. The well-behaved peers are a
pyzmq socket and a socket of the target's own implementation.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

from tests.hostile.support import IMPL_PARAMS, PEER_TYPE, Ctx, MemoryWatch, Peer, Target
from tests.interop.impls import load_impl, teardown_all


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "control: the libzmq-only baseline of a test (validates the test itself)"
    )


TARGETS = [
    pytest.param(("zmq", "PULL"), id="zmq-PULL", marks=pytest.mark.control),
    pytest.param(("zmq", "ROUTER"), id="zmq-ROUTER", marks=pytest.mark.control),
    pytest.param(("zlab", "PULL"), id="zlab-PULL"),
    pytest.param(("zlab", "ROUTER"), id="zlab-ROUTER"),
]


@pytest.fixture(params=TARGETS)
def make_target(request) -> Iterator[Any]:
    """``make_target(maxmsgsize=None)`` -> a :class:`Target` bound on ``tcp://127.0.0.1:*``, peers connected."""
    impl, kind = request.param
    mod = load_impl(impl)
    zmq = load_impl("zmq")
    contexts: list[Ctx] = []
    dirs: list[str] = []

    def make(maxmsgsize: int | None = None, transport: str = "tcp") -> Target:
        tctx = Ctx(mod)
        contexts.append(tctx)
        opts: dict[str, Any] = {}
        if maxmsgsize is not None:
            opts["maxmsgsize"] = maxmsgsize
        if kind == "ROUTER":
            opts["router_mandatory"] = 1
        sock = tctx.socket(kind, **opts)
        if transport == "tcp":
            sock.bind("tcp://127.0.0.1:*")
        else:
            ipc_dir = tempfile.mkdtemp(prefix="zlh", dir="/tmp")
            dirs.append(ipc_dir)
            sock.bind(f"ipc://{ipc_dir}/t")
        ep = sock.getsockopt(mod.LAST_ENDPOINT)
        ep = (ep.decode() if isinstance(ep, bytes) else ep).rstrip("\x00")
        peers = []
        zctx = Ctx(zmq) if mod is not zmq else tctx
        if zctx is not tctx:
            contexts.append(zctx)
        for name, pctx in ((b"good-zmq", zctx), (b"good-" + impl.encode() + b"-2", tctx)):
            popts = {"routing_id": name} if kind == "ROUTER" else {}
            ps = pctx.socket(PEER_TYPE[kind], **popts)
            ps.connect(ep)
            peers.append(Peer(name, pctx.mod, ps))
        return Target(impl, kind, mod, sock, ep, peers)

    yield make
    try:
        teardown_all(reversed(contexts))
    finally:
        for d in dirs:
            shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def memory_watch() -> Any:
    """``with memory_watch() as mem: ...`` then ``mem.check(limit, what)``."""

    class _Watch:
        def __enter__(self) -> MemoryWatch:
            self.mem = MemoryWatch()
            self.started = not tracemalloc.is_tracing()
            if self.started:
                tracemalloc.start()
            tracemalloc.reset_peak()
            self.base_traced = tracemalloc.get_traced_memory()[0]
            self.base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            return self.mem

        def __exit__(self, *exc: object) -> None:
            self.mem.traced_peak = tracemalloc.get_traced_memory()[1] - self.base_traced
            self.mem.rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.base_rss
            if self.started:
                tracemalloc.stop()

    return _Watch


@pytest.fixture(params=IMPL_PARAMS)
def impl(request) -> Iterator[Ctx]:
    """A context of the implementation under test (libzmq as the control, then zlab), torn down after."""
    c = Ctx(load_impl(request.param))
    c.name = request.param
    yield c
    c.teardown()


@pytest.fixture
def libzmq() -> Iterator[Ctx]:
    """A libzmq (pyzmq) context: the well-behaved peer of the attack tests."""
    c = Ctx(load_impl("zmq"))
    yield c
    c.teardown()
