"""REQ, REP, DEALER and ROUTER (RFC 28): state machines, envelopes, routing, load balancing, fair queuing."""

from __future__ import annotations

import pytest

from tests.core.support import Lib, send_when_routable, wait_until

# ------------------------------------------------------------------------------------------------ REQ


def test_req_send_twice_is_efsm(lib: Lib, transport: str) -> None:
    rep, req = lib.pair("REP", "REQ", transport)
    req.send(b"one")
    with pytest.raises(lib.mod.ZMQError) as info:
        req.send(b"two")
    assert info.value.errno == lib.EFSM
    # the first request still goes through, and the state machine carries on
    assert rep.recv() == b"one"
    rep.send(b"answer")
    assert req.recv() == b"answer"
    req.send(b"three")
    assert rep.recv() == b"three"


def test_req_recv_before_send_is_efsm(lib: Lib) -> None:
    req = lib.socket("REQ")
    with pytest.raises(lib.mod.ZMQError) as info:
        req.recv()
    assert info.value.errno == lib.EFSM


def test_req_delimiter_visible_to_router(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    req = lib.socket("REQ", routing_id=b"client")  # ROUTING_ID applies to connections made after it
    req.connect(ep)
    req.send_multipart([b"a", b"b"])
    assert router.recv_multipart() == [b"client", b"", b"a", b"b"]
    router.send_multipart([b"client", b"", b"reply", b"2"])
    assert req.recv_multipart() == [b"reply", b"2"]


@pytest.mark.timeout(20)
def test_req_accepts_reply_only_from_peer_asked(lib: Lib, transport: str) -> None:
    """REQ connected to two ROUTERs: a "reply" from the one not asked is dropped, the real one is taken."""
    routers = [lib.socket("ROUTER", router_mandatory=1) for _ in range(2)]
    eps = [lib.bind(r, transport) for r in routers]
    req = lib.socket("REQ", routing_id=b"R")
    for ep in eps:
        req.connect(ep)
    req.send(b"question")
    # which router was asked?
    asked = wait_until(
        lambda: next((r for r in routers if r.poll(10, lib.POLLIN)), None), what="the request to arrive"
    )
    other = routers[1 - routers.index(asked)]
    assert asked.recv_multipart() == [b"R", b"", b"question"]
    # the other router pushes an unsolicited, well-formed reply; wait until it sits in REQ's queue
    send_when_routable(lib, other, [b"R", b"", b"impostor"])
    assert req.poll(5000, lib.POLLIN) & lib.POLLIN
    asked.send_multipart([b"R", b"", b"genuine"])
    assert req.recv() == b"genuine"


def test_req_round_robin_over_reps(lib: Lib, transport: str) -> None:
    reps = [lib.socket("REP") for _ in range(3)]
    eps = [lib.bind(r, transport) for r in reps]
    req = lib.socket("REQ")
    for ep in eps:
        req.connect(ep)
    for i in range(6):
        req.send(b"%d" % i)
        assert reps[i % 3].recv() == b"%d" % i
        reps[i % 3].send(b"r%d" % i)
        assert req.recv() == b"r%d" % i


# ------------------------------------------------------------------------------------------------ REP


def test_rep_send_before_recv_is_efsm(lib: Lib) -> None:
    rep = lib.socket("REP")
    with pytest.raises(lib.mod.ZMQError) as info:
        rep.send(b"x")
    assert info.value.errno == lib.EFSM


def test_rep_recv_twice_is_efsm(lib: Lib, transport: str) -> None:
    rep, req = lib.pair("REP", "REQ", transport)
    req.send(b"q")
    assert rep.recv() == b"q"
    with pytest.raises(lib.mod.ZMQError) as info:
        rep.recv()
    assert info.value.errno == lib.EFSM
    rep.send(b"a")
    assert req.recv() == b"a"


def test_rep_restores_multi_hop_envelope(lib: Lib, transport: str) -> None:
    """DEALER -> REP with a two-hop envelope: REP sees only the body and puts the envelope back."""
    rep, dealer = lib.pair("REP", "DEALER", transport)
    dealer.send_multipart([b"hop1", b"hop2", b"", b"body", b"more"])
    assert rep.recv_multipart() == [b"body", b"more"]
    rep.send_multipart([b"reply", b"parts"])
    assert dealer.recv_multipart() == [b"hop1", b"hop2", b"", b"reply", b"parts"]


def test_rep_envelope_through_router_dealer_chain(lib: Lib, transport: str) -> None:
    """REQ -> ROUTER | (hand-written proxy) | DEALER -> REP, with two clients: each gets its own reply."""
    frontend = lib.socket("ROUTER")
    fe_ep = lib.bind(frontend, transport)
    backend = lib.socket("DEALER")
    be_ep = lib.bind(backend, transport)
    rep = lib.socket("REP")
    rep.connect(be_ep)
    clients = [lib.socket("REQ", routing_id=b"client-%d" % i) for i in range(2)]
    for c in clients:
        c.connect(fe_ep)
    for i, c in enumerate(clients):
        c.send(b"request %d" % i)
    for _ in clients:
        msg = frontend.recv_multipart()
        assert msg[0] in (b"client-0", b"client-1") and msg[1] == b""
        backend.send_multipart(msg)
        body = rep.recv()
        assert body == b"request " + msg[0][-1:]
        rep.send(b"reply to " + body)
        back = backend.recv_multipart()
        assert back == [msg[0], b"", b"reply to " + body]
        frontend.send_multipart(back)
    for i, c in enumerate(clients):
        assert c.recv() == b"reply to request %d" % i


# ------------------------------------------------------------------------------------------------ DEALER


@pytest.mark.parametrize("peers", [2, 3])
def test_dealer_round_robin_order(lib: Lib, transport: str, peers: int) -> None:
    routers = [lib.socket("ROUTER") for _ in range(peers)]
    eps = [lib.bind(r, transport) for r in routers]
    dealer = lib.socket("DEALER", routing_id=b"D")
    for ep in eps:
        dealer.connect(ep)
    n = 4 * peers
    for i in range(n):
        dealer.send(b"%d" % i)
    for k, r in enumerate(routers):
        got = [r.recv_multipart() for _ in range(n // peers)]
        assert got == [[b"D", b"%d" % i] for i in range(k, n, peers)]


def test_dealer_fair_queue_input_inproc(lib: Lib) -> None:
    """Three peers each queue several messages before the DEALER reads: it takes them in turn (libzmq's
    fair queue is a round robin over the pipes that have a message), and each peer's order is kept."""
    dealer = lib.socket("DEALER")
    ep = lib.bind(dealer, "inproc")
    peers = [lib.socket("DEALER") for _ in range(3)]
    for p in peers:
        p.connect(ep)
    for k, p in enumerate(peers):
        for i in range(4):
            p.send(b"%d:%d" % (k, i))
    got = [dealer.recv() for _ in range(12)]
    first_round = {m.split(b":")[0] for m in got[:3]}
    assert first_round == {b"0", b"1", b"2"}, got
    for k in range(3):
        assert [m for m in got if m.startswith(b"%d:" % k)] == [b"%d:%d" % (k, i) for i in range(4)]


def test_dealer_fair_queue_input(lib: Lib, transport: str) -> None:
    """Several peers sending at once: everything arrives, each peer's messages in order."""
    dealer = lib.socket("DEALER")
    ep = lib.bind(dealer, transport)
    peers = [lib.socket("DEALER") for _ in range(3)]
    for p in peers:
        p.connect(ep)
    for i in range(50):
        for k, p in enumerate(peers):
            p.send_multipart([b"%d" % k, b"%d" % i])
    got = [dealer.recv_multipart() for _ in range(150)]
    for k in range(3):
        assert [m[1] for m in got if m[0] == b"%d" % k] == [b"%d" % i for i in range(50)]


# ------------------------------------------------------------------------------------------------ ROUTER


def test_router_identity_frame_from_peer_routing_id(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    dealer = lib.socket("DEALER", routing_id=b"named-peer")
    dealer.connect(ep)
    dealer.send_multipart([b"x", b"y"])
    assert router.recv_multipart() == [b"named-peer", b"x", b"y"]
    router.send_multipart([b"named-peer", b"back"])
    assert dealer.recv_multipart() == [b"back"]


def test_router_generated_ids(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    dealers = [lib.socket("DEALER") for _ in range(3)]
    ids = []
    for i, d in enumerate(dealers):
        d.connect(ep)
        d.send(b"%d" % i)
        rid, body = router.recv_multipart()
        assert body == b"%d" % i
        assert len(rid) == 5 and rid[0] == 0, rid
        ids.append(rid)
    assert len(set(ids)) == 3
    # each generated id routes back to its own peer
    for i, rid in enumerate(ids):
        router.send_multipart([rid, b"to %d" % i])
    for i, d in enumerate(dealers):
        assert d.recv() == b"to %d" % i


def test_router_routes_on_first_frame(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    a = lib.socket("DEALER", routing_id=b"A")
    b = lib.socket("DEALER", routing_id=b"B")
    for d in (a, b):
        d.connect(ep)
        d.send(b"hello")
        router.recv_multipart()
    router.send(b"B", lib.SNDMORE)
    router.send(b"for b", lib.SNDMORE)
    router.send(b"part 2")
    router.send_multipart([b"A", b"for a"])
    assert a.recv_multipart() == [b"for a"]
    assert b.recv_multipart() == [b"for b", b"part 2"]


def test_router_unknown_id_dropped_silently(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    dealer = lib.socket("DEALER", routing_id=b"known")
    dealer.connect(ep)
    dealer.send(b"hi")
    router.recv_multipart()
    router.send_multipart([b"nobody", b"lost"])  # no error
    router.send_multipart([b"known", b"kept"])
    assert dealer.recv() == b"kept"
    assert dealer.poll(100, lib.POLLIN) == 0


def test_router_mandatory_unknown_id_is_ehostunreach(lib: Lib) -> None:
    router = lib.socket("ROUTER", router_mandatory=1)
    with pytest.raises(lib.mod.ZMQError) as info:
        router.send_multipart([b"nobody", b"x"])
    assert info.value.errno == lib.EHOSTUNREACH
    # frame by frame: the error comes on the first frame
    with pytest.raises(lib.mod.ZMQError) as info:
        router.send(b"nobody", lib.SNDMORE)
        router.send(b"x")
    assert info.value.errno == lib.EHOSTUNREACH


def test_router_to_router_by_routing_id(lib: Lib, transport: str) -> None:
    server = lib.socket("ROUTER", routing_id=b"server", router_mandatory=1)
    ep = lib.bind(server, transport)
    client = lib.socket("ROUTER", routing_id=b"client", router_mandatory=1)
    client.connect(ep)
    send_when_routable(lib, client, [b"server", b"ping"])
    assert server.recv_multipart() == [b"client", b"ping"]
    server.send_multipart([b"client", b"pong"])
    assert client.recv_multipart() == [b"server", b"pong"]
