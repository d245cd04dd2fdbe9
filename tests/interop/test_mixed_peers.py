"""One socket, peers of both implementations at once: a ROUTER routes replies to a libzmq DEALER and a zlab
DEALER by routing id; a PULL fair-queues from a libzmq PUSH and a zlab PUSH; a PUSH load-balances over a libzmq
PULL and a zlab PULL. The bound socket's implementation is the parameter (zmq is the control)."""

from __future__ import annotations

import pytest

from tests.interop.scenario import check_frames

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

BOUND = [pytest.param("zmq", id="bound-zmq"), pytest.param("zlab", id="bound-zlab")]


@pytest.fixture(params=BOUND)
def three(request, make_impl):
    """(bound impl, libzmq impl, zlab impl); the two peers' impls are always one of each."""
    bound = make_impl(request.param)
    return bound, make_impl("zmq"), make_impl("zlab")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_router_routes_to_mixed_dealers(three, transport, new_endpoint):
    bound, zmq_impl, zlab_impl = three
    router = bound.socket("ROUTER", router_mandatory=1)
    ep = bound.bind(router, new_endpoint(transport))
    dealers = {}
    for impl in (zmq_impl, zlab_impl):
        rid = f"dealer-{impl.name}".encode()
        d = impl.socket("DEALER", routing_id=rid)
        d.connect(ep)
        dealers[rid] = d
    for rnd in range(3):
        for rid, d in dealers.items():
            d.send_multipart([b"req", b"%d" % rnd, rid])
        seen = set()
        for _ in dealers:
            msg = [bytes(f) for f in router.recv_multipart()]
            assert msg[0] == msg[3] and msg[1:3] == [b"req", b"%d" % rnd], msg
            seen.add(msg[0])
        assert seen == set(dealers)
        for rid in dealers:
            router.send_multipart([rid, b"rep", rid, b"x" * 256])
        for rid, d in dealers.items():
            check_frames(d.recv_multipart(), [b"rep", rid, b"x" * 256], f"reply to {rid!r}")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_pull_fair_queues_mixed_pushers(three, transport, new_endpoint):
    bound, zmq_impl, zlab_impl = three
    pull = bound.socket("PULL")
    ep = bound.bind(pull, new_endpoint(transport))
    pushers = []
    for impl in (zmq_impl, zlab_impl):
        p = impl.socket("PUSH")
        p.connect(ep)
        pushers.append((impl.name.encode(), p))
    n = 200
    for i in range(n):
        for name, p in pushers:
            p.send_multipart([name, b"%d" % i])
    got: dict[bytes, list[int]] = {name: [] for name, _ in pushers}
    for _ in range(n * len(pushers)):
        name, i = (bytes(f) for f in pull.recv_multipart())
        got[name].append(int(i))
    for name, seq in got.items():
        assert seq == list(range(n)), f"messages from {name!r} lost, duplicated or reordered"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_push_round_robins_to_mixed_pullers(three, transport, new_endpoint):
    bound, zmq_impl, zlab_impl = three
    push = bound.socket("PUSH")
    ep = bound.bind(push, new_endpoint(transport))
    pullers = []
    for impl in (zmq_impl, zlab_impl):
        p = impl.socket("PULL")
        p.connect(ep)
        pullers.append(p)
    # Round-robin only covers connected peers: wait until each puller has received a message.
    # A lone message may go to the first peer connected; keep sending numbered warm-up messages until both
    # pullers have one, bounded by the pullers' RCVTIMEO through poll.
    warm = 0
    have = [False, False]
    got: list[list[int]] = [[], []]
    while not all(have):
        assert warm < 500, "the PUSH never reached both pullers"
        push.send(b"%d" % warm)
        warm += 1
        for k, p in enumerate(pullers):
            while p.poll(20):
                got[k].append(int(p.recv()))
                have[k] = True
    n = 400
    for i in range(warm, warm + n):
        push.send(b"%d" % i)
    total = sum(len(g) for g in got)
    while total < warm + n:
        progressed = False
        for k, p in enumerate(pullers):
            while p.poll(50):
                got[k].append(int(p.recv()))
                total += 1
                progressed = True
        assert progressed, f"messages lost: {total} of {warm + n} arrived"
    assert sorted(got[0] + got[1]) == list(range(warm + n))
    assert all(g == sorted(g) for g in got), "per-peer order broken"
    after = [len([x for x in g if x >= warm]) for g in got]
    assert min(after) >= n // 2 - 5, f"not round-robin after both connected: {after}"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_router_with_many_dealers(three, transport, new_endpoint):
    """20 DEALERs (alternately libzmq and zlab), 30 round trips each, interleaved."""
    bound, zmq_impl, zlab_impl = three
    router = bound.socket("ROUTER", router_mandatory=1)
    ep = bound.bind(router, new_endpoint(transport))
    dealers = {}
    for k in range(20):
        impl = (zmq_impl, zlab_impl)[k % 2]
        rid = b"d%02d-" % k + impl.name.encode()
        d = impl.socket("DEALER", routing_id=rid)
        d.connect(ep)
        dealers[rid] = d
    for rnd in range(30):
        for rid, d in dealers.items():
            d.send_multipart([rid, b"%d" % rnd])
        pending = set(dealers)
        while pending:
            rid, echo, n = (bytes(f) for f in router.recv_multipart())
            assert rid == echo and n == b"%d" % rnd and rid in pending, (rid, echo, n, rnd)
            pending.discard(rid)
            router.send_multipart([rid, b"ok", n])
        for rid, d in dealers.items():
            check_frames(d.recv_multipart(), [b"ok", b"%d" % rnd], f"round {rnd} reply to {rid!r}")
