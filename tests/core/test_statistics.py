"""``Socket.statistics()``: per-peer counters that say where every message went (zlab only: no
ZeroMQ implementation offers them, so there is no reference to compare with)."""

from __future__ import annotations

import pytest

from tests.core.support import Lib, bind_retrying, wait_until

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def zl(short_ipc_dir: str):
    impl = Lib("zlab", short_ipc_dir)
    try:
        yield impl
    finally:
        impl.teardown()


def only(rows: list[dict]) -> dict:
    assert len(rows) == 1, rows
    return rows[0]


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_counts_in_and_out(zl: Lib, transport: str) -> None:
    pull, push = zl.pair("PULL", "PUSH", transport)
    for i in range(100):
        push.send_multipart([b"k%d" % i, b"v" * 100])
    for _ in range(100):
        pull.recv_multipart()
    # the sender's books close a moment after the kernel took the bytes (the writing thread may not
    # have the interpreter back yet when the receiver already has them): wait for queue_out to settle
    wait_until(lambda: only(push.statistics())["queue_out"] == 0, what="the sender's queue to empty")
    out = only(push.statistics())
    inn = only(pull.statistics())
    assert out["msgs_out"] == 100 and inn["msgs_in"] == 100
    assert out["peer_type"] == "PULL" and inn["peer_type"] == "PUSH"
    assert out["connected"] and inn["connected"]
    assert out["queue_out"] == 0 and inn["queue_in"] == 0
    if transport == "inproc":  # no encoding, and the depth is not sampled on the inproc send path
        assert out["zmtp_version"] is None and out["bytes_out"] is None
    else:
        assert out["zmtp_version"] == inn["zmtp_version"] == "3.1"
        wire = 100 * (2 + 3 + 2 + 100)  # two short frames per message
        assert out["bytes_out"] >= wire and inn["bytes_in"] >= wire  # plus greeting and READY


def test_pub_drops_for_a_slow_subscriber_are_counted(zl: Lib) -> None:
    pub = zl.socket("PUB", sndhwm=5)
    ep = zl.bind(pub, "inproc")
    slow = zl.socket("SUB", rcvhwm=5)
    fast = zl.socket("SUB", rcvhwm=5)
    for s in (slow, fast):
        s.connect(ep)
        s.subscribe(b"")
    for s in (slow, fast):  # inproc subscriptions arrive with the connect; the publisher applies them on send
        pub.send(b"hello")
        s.recv()
    fast.recv()
    n = 200
    for i in range(n):
        pub.send(b"%d" % i)
        assert fast.recv() == b"%d" % i
    stats = pub.statistics()
    assert len(stats) == 2
    by_peer = sorted(stats, key=lambda r: r["dropped_hwm"])
    fast_row, slow_row = by_peer
    assert fast_row["dropped_hwm"] == 0
    assert slow_row["dropped_hwm"] > 0
    assert slow_row["msgs_out"] + slow_row["dropped_hwm"] == n + 2  # each message went or was dropped


def test_sub_counts_filtered_messages(zl: Lib) -> None:
    """A publisher that sends what was not asked for (a raw one here): the SUB drops and counts it."""
    from tests.hostile import zmtp_raw as R

    listener = R.RawListener()
    try:
        sub = zl.socket("SUB")
        sub.subscribe(b"want")
        sub.connect(listener.endpoint)
        raw = listener.accept()
        try:
            raw.send(R.greeting() + R.ready(b"PUB"))
            raw.send(R.message([b"nope"]) + R.message([b"want", b"2"]) + R.message([b"nah"]))
            assert sub.recv_multipart() == [b"want", b"2"]
            # messages are filtered as the application reads (or polls): poll until "nah" is dropped too
            wait_until(
                lambda: sub.poll(10, zl.POLLIN) == 0 and only(sub.statistics())["dropped_filtered"] == 2,
                what="both drops counted",
            )
            assert only(sub.statistics())["msgs_in"] == 3
        finally:
            raw.close()
    finally:
        listener.close()


def test_router_unroutable_is_a_socket_level_drop(zl: Lib) -> None:
    router = zl.socket("ROUTER")
    zl.bind(router, "tcp")
    router.send_multipart([b"nobody", b"x"])
    stats = router.statistics()
    assert list(stats) == [] and stats.dropped == {"unroutable": 1}


def test_reconnects_and_departed_peers(zl: Lib) -> None:
    pull = zl.socket("PULL")
    ep = zl.bind(pull, "tcp")
    push = zl.socket("PUSH", reconnect_ivl=20)
    push.connect(ep)
    push.send(b"one")
    assert pull.recv() == b"one"
    pull.close(linger=0)
    # a message sent before the push sees the departure goes to the dead connection and is lost
    wait_until(lambda: not only(push.statistics())["connected"], what="the push to see the pull go")
    pull2 = zl.socket("PULL")
    bind_retrying(zl, pull2, ep)
    push.send(b"two")
    assert pull2.recv() == b"two"
    row = only(push.statistics())
    assert row["reconnects"] == 1 and row["msgs_out"] == 2
    push.close(linger=0)
    wait_until(lambda: not pull2.statistics()[0]["connected"], what="the departure to be seen")
    gone = only(pull2.statistics())
    assert gone["msgs_in"] == 1 and not gone["connected"]


def test_statistics_frame(zl: Lib) -> None:
    pd = pytest.importorskip("pandas")
    from zlab.utils.statistics import COLUMNS, statistics_frame

    router = zl.socket("ROUTER")
    ep = zl.bind(router, "ipc")
    dealers = []
    for i in range(3):
        d = zl.socket("DEALER", routing_id=b"d%d" % i)
        d.connect(ep)
        d.send(b"hi")
        dealers.append(d)
    for _ in range(3):
        router.recv_multipart()
    router.send_multipart([b"ghost", b"x"])
    frame = statistics_frame(router)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == COLUMNS
    assert sorted(frame["routing_id"]) == [b"d0".hex(), b"d1".hex(), b"d2".hex()]
    assert frame["msgs_in"].sum() == 3
    assert frame.attrs["dropped"] == {"unroutable": 1} and frame.attrs["socket_type"] == "ROUTER"
    assert router.statistics().to_frame().shape == frame.shape


def test_statistics_against_libzmq(zl: Lib, short_ipc_dir: str) -> None:
    zmq = Lib("zmq", short_ipc_dir)
    try:
        pub = zmq.socket("PUB")
        ep = zmq.bind(pub, "tcp")
        sub = zl.socket("SUB")
        sub.connect(ep)
        sub.subscribe(b"")
        wait_until(lambda: pub.send(b"x") or sub.poll(10, zl.POLLIN), what="subscription")
        row = only(sub.statistics())
        assert row["zmtp_version"] == "3.1" and row["peer_type"] == "PUB" and row["msgs_in"] >= 1
    finally:
        zmq.teardown()
