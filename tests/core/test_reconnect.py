"""Reconnect, same implementation on both ends: the binder goes away, a new one binds the same endpoint,
and the connecter's traffic reaches it. (tests/interop covers a libzmq binder with a zlab connecter.)

No REQ/REP case: a request written into the old connection before the connecter noticed it close is lost
(libzmq too), and REQ never resends it, so such a test could only be made deterministic with probes.
"""

from __future__ import annotations

import pytest

from tests.core.support import Lib, bind_retrying, ping_until_received, send_when_routable


@pytest.mark.timeout(30)
def test_push_reaches_a_new_binder(lib: Lib, stream_transport: str) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, stream_transport)
    push = lib.socket("PUSH", reconnect_ivl=20, reconnect_ivl_max=100)
    push.connect(ep)
    ping_until_received(lib, push, pull)
    for generation in range(2):
        pull.close(linger=0)
        pull = lib.socket("PULL")
        bind_retrying(lib, pull, ep)
        ping_until_received(lib, push, pull)  # the connecter found the new binder
        for i in range(100):
            push.send(b"%d:%d" % (generation, i))
        assert [pull.recv() for _ in range(100)] == [b"%d:%d" % (generation, i) for i in range(100)]


@pytest.mark.timeout(30)
def test_dealer_keeps_its_routing_id_across_reconnect(lib: Lib, stream_transport: str) -> None:
    router = lib.socket("ROUTER", router_mandatory=1)
    ep = lib.bind(router, stream_transport)
    dealer = lib.socket("DEALER", routing_id=b"dealer-1", reconnect_ivl=20)
    dealer.connect(ep)
    dealer.send(b"hello")
    assert router.recv_multipart() == [b"dealer-1", b"hello"]
    router.close(linger=0)
    router = lib.socket("ROUTER", router_mandatory=1)
    bind_retrying(lib, router, ep)
    send_when_routable(lib, router, [b"dealer-1", b"welcome back"])
    assert dealer.recv() == b"welcome back"
    dealer.send(b"thanks")
    assert router.recv_multipart() == [b"dealer-1", b"thanks"]
