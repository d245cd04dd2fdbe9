"""PUSH/PULL (RFC 30) and PAIR (RFC 31)."""

from __future__ import annotations

import time

import pytest

from tests.core.support import Lib, ping_until_received

# ------------------------------------------------------------------------------------------------ PUSH


@pytest.mark.parametrize("peers", [2, 3])
def test_push_round_robin(lib: Lib, transport: str, peers: int) -> None:
    pulls = [lib.socket("PULL") for _ in range(peers)]
    eps = [lib.bind(p, transport) for p in pulls]
    push = lib.socket("PUSH")
    for ep in eps:
        push.connect(ep)
    n = 5 * peers
    for i in range(n):
        push.send(b"%d" % i)
    for k, p in enumerate(pulls):
        assert [p.recv() for _ in range(n // peers)] == [b"%d" % i for i in range(k, n, peers)]


def test_push_without_peers_noblock_is_again(lib: Lib, transport: str) -> None:
    push = lib.socket("PUSH")
    lib.bind(push, transport)  # bound, nobody connected: no pipe to send on
    with pytest.raises(lib.mod.Again):
        push.send(b"x", lib.NOBLOCK)
    with pytest.raises(lib.mod.Again):
        push.send(b"x", lib.DONTWAIT)
    lonely = lib.socket("PUSH")  # neither bound nor connected
    with pytest.raises(lib.mod.Again):
        lonely.send_multipart([b"a", b"b"], lib.NOBLOCK)


@pytest.mark.timeout(20)
def test_push_without_peers_sndtimeo(lib: Lib) -> None:
    push = lib.socket("PUSH", sndtimeo=200)
    start = time.monotonic()
    with pytest.raises(lib.mod.Again):
        push.send(b"x")
    elapsed = time.monotonic() - start
    # loose bounds: it waited, and it did not wait forever (not a performance assertion)
    assert 0.15 <= elapsed < 5.0, elapsed


def test_pull_fair_queue_inproc(lib: Lib) -> None:
    """Peers that each queued several messages are read in turn, each peer's order kept."""
    pull = lib.socket("PULL")
    ep = lib.bind(pull, "inproc")
    pushes = [lib.socket("PUSH") for _ in range(3)]
    for p in pushes:
        p.connect(ep)
    for k, p in enumerate(pushes):
        for i in range(3):
            p.send(b"%d:%d" % (k, i))
    got = [pull.recv() for _ in range(9)]
    assert [m[:1] for m in got] == [b"0", b"1", b"2"] * 3, got


def test_pull_from_several_pushes(lib: Lib, transport: str) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, transport)
    pushes = [lib.socket("PUSH") for _ in range(3)]
    for p in pushes:
        p.connect(ep)
    for i in range(40):
        for k, p in enumerate(pushes):
            p.send_multipart([b"%d" % k, b"%d" % i])
    got = [pull.recv_multipart() for _ in range(120)]
    for k in range(3):
        assert [m[1] for m in got if m[0] == b"%d" % k] == [b"%d" % i for i in range(40)]


def test_pull_cannot_send_push_cannot_recv(lib: Lib) -> None:
    push, pull = lib.socket("PUSH"), lib.socket("PULL")
    with pytest.raises(lib.mod.ZMQError) as info:
        pull.send(b"x")
    assert info.value.errno == lib.ENOTSUP
    with pytest.raises(lib.mod.ZMQError) as info:
        push.recv()
    assert info.value.errno == lib.ENOTSUP


# ------------------------------------------------------------------------------------------------ PAIR


def test_pair_round_trip(lib: Lib, transport: str) -> None:
    a, b = lib.pair("PAIR", "PAIR", transport)
    a.send(b"to b")
    assert b.recv() == b"to b"
    b.send_multipart([b"to", b"a"])
    assert a.recv_multipart() == [b"to", b"a"]


@pytest.mark.timeout(20)
def test_pair_second_connect_does_not_steal(lib: Lib, transport: str) -> None:
    binder = lib.socket("PAIR")
    ep = lib.bind(binder, transport)
    first = lib.socket("PAIR")
    first.connect(ep)
    ping_until_received(lib, first, binder)  # the first peer is attached
    intruder = lib.socket("PAIR")
    intruder.connect(ep)
    try:
        intruder.send(b"intruder", lib.NOBLOCK)  # may queue on its side, may have no pipe: never delivered
    except lib.mod.Again:
        pass
    first.send(b"first")
    assert binder.recv() == b"first"
    for i in range(5):
        binder.send(b"%d" % i)
    assert [first.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]
    assert intruder.poll(100, lib.POLLIN) == 0
    assert binder.poll(100, lib.POLLIN) == 0
