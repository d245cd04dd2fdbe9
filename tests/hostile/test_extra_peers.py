"""Peers that should not be there, or are gone:

* a second peer connecting to a bound PAIR (RFC 31: one peer) is not served and does not disturb the first;
* a ROUTER with ROUTER_MANDATORY notices that a peer went away (EHOSTUNREACH) rather than queueing for it.

The bound socket's implementation is the parameter (``zmq`` is the control); peers are libzmq.
"""

from __future__ import annotations

import errno
import shutil
import tempfile
import time

import pytest

from tests.hostile.support import Ctx

pytestmark = pytest.mark.timeout(30)


def _bind(c: Ctx, sock, transport: str, ipc_dir: str) -> str:
    sock.bind("tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{ipc_dir}/s")
    ep = sock.getsockopt(c.mod.LAST_ENDPOINT)
    return (ep.decode() if isinstance(ep, bytes) else ep).rstrip("\x00")


@pytest.fixture
def short_tmp():
    """A short directory for ipc paths (sun_path holds 107 bytes)."""
    d = tempfile.mkdtemp(prefix="zlh", dir="/tmp")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_pair_ignores_a_second_peer(impl, libzmq, transport, short_tmp):
    pair = impl.socket("PAIR")
    ep = _bind(impl, pair, transport, short_tmp)
    first = libzmq.socket("PAIR")
    first.connect(ep)
    first.send(b"one")
    assert pair.recv() == b"one"
    pair.send(b"two")
    assert first.recv() == b"two"
    intruder = libzmq.socket("PAIR", sndtimeo=0, rcvtimeo=50)
    intruder.connect(ep)
    try:
        intruder.send(b"intruder")  # queued at connect time (or refused at once): never delivered
    except libzmq.mod.Again:
        pass
    for i in range(20):
        first.send(b"m%d" % i)
        assert pair.recv() == b"m%d" % i, "the PAIR delivered a message from a second peer"
        pair.send(b"r%d" % i)
        assert first.recv() == b"r%d" % i, "a reply went to the second peer"
    with pytest.raises(libzmq.mod.Again):
        intruder.recv()
    assert not pair.poll(50), "something from the second peer was queued"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_router_mandatory_notices_a_peer_that_left(impl, libzmq, transport, short_tmp):
    router = impl.socket("ROUTER", router_mandatory=1)
    ep = _bind(impl, router, transport, short_tmp)
    dealer = libzmq.socket("DEALER", routing_id=b"leaver")
    dealer.connect(ep)
    dealer.send(b"hello")
    assert [bytes(f) for f in router.recv_multipart()] == [b"leaver", b"hello"]
    dealer.close(linger=0)
    deadline = time.monotonic() + 5
    sent_after_close = 0
    while True:
        try:
            router.send_multipart([b"leaver", b"are you there?"])
            sent_after_close += 1
        except impl.mod.ZMQError as exc:
            assert exc.errno == errno.EHOSTUNREACH, exc
            break
        assert time.monotonic() < deadline, (
            f"the ROUTER still routes to a peer that closed ({sent_after_close} sends accepted in 5 s)"
        )
        time.sleep(0.01)
