"""PUB/SUB and XPUB/XSUB between zlab and libzmq (through pyzmq), both roles, tcp and ipc; and with a
ZMTP 3.0 peer played by a raw socket (subscriptions travel as messages 0x01/0x00 + topic there).

Parameter ids read ``P-<publisher impl>_S-<subscriber impl>``; ``P-zmq_S-zmq`` (marked ``control``)
validates each scenario against libzmq alone.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.hostile import zmtp_raw as R
from tests.hostile.zmtp_raw import RawListener, RawPeer

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPL_PAIRS = [
    pytest.param(("zmq", "zmq"), id="P-zmq_S-zmq", marks=pytest.mark.control),
    pytest.param(("zlab", "zmq"), id="P-zlab_S-zmq"),
    pytest.param(("zmq", "zlab"), id="P-zmq_S-zlab"),
]
SYNC_S = 10.0


@pytest.fixture(params=IMPL_PAIRS)
def impls(request, make_impl):
    """(publisher Impl, subscriber Impl)."""
    p, s = request.param
    return make_impl(p), make_impl(s)


def sync(pub: Any, sub: Any, topic: bytes) -> None:
    """Publish ``topic`` probes until the subscriber gets one, then drain the probes."""
    deadline = time.monotonic() + SYNC_S
    n = 0
    while not sub.poll(20):
        assert time.monotonic() < deadline, f"subscription {topic!r} never reached the publisher"
        pub.send(topic + b"\x00probe%d" % n)
        n += 1
    while sub.poll(50):
        assert b"\x00probe" in sub.recv_multipart()[0]


def drain(sock: Any, quiet_ms: int = 100) -> list[list[bytes]]:
    out = []
    while sock.poll(quiet_ms):
        out.append(sock.recv_multipart())
    return out


def ends(impls, new_endpoint, transport: str, pub_type: str, sub_type: str, pub_binds: bool):
    p_impl, s_impl = impls
    pub = p_impl.socket(pub_type)
    sub = s_impl.socket(sub_type)
    binder, connecter = (pub, sub) if pub_binds else (sub, pub)
    b_impl = p_impl if pub_binds else s_impl
    connecter.connect(b_impl.bind(binder, new_endpoint(transport)))
    return pub, sub


@pytest.mark.parametrize("pub_binds", [True, False], ids=["pub-binds", "sub-binds"])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_filters_and_unsubscribe(impls, new_endpoint, transport, pub_binds):
    pub, sub = ends(impls, new_endpoint, transport, "PUB", "SUB", pub_binds)
    sub.subscribe(b"alpha")
    sub.subscribe(b"be")
    sync(pub, sub, b"be")
    pub.send(b"alphabet")
    pub.send(b"beta")
    pub.send(b"gamma")
    pub.send_multipart([b"alpha", b"", b"x" * 300])
    assert drain(sub) == [[b"alphabet"], [b"beta"], [b"alpha", b"", b"x" * 300]]
    sub.unsubscribe(b"alpha")
    sub.subscribe(b"marker")
    sync(pub, sub, b"marker")
    pub.send(b"alpha-again")
    pub.send(b"beta-again")
    assert drain(sub) == [[b"beta-again"]]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_counted_subscriptions(impls, new_endpoint, transport):
    pub, sub = ends(impls, new_endpoint, transport, "PUB", "SUB", True)
    sub.subscribe(b"A")
    sub.subscribe(b"A")
    sync(pub, sub, b"A")
    sub.unsubscribe(b"A")
    sub.subscribe(b"M")
    sync(pub, sub, b"M")
    pub.send(b"A-still")
    assert drain(sub) == [[b"A-still"]]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_xpub_sees_subscriptions_from_the_other_implementation(impls, new_endpoint, transport):
    xpub, sub = ends(impls, new_endpoint, transport, "XPUB", "SUB", True)
    sub.subscribe(b"T")
    assert xpub.recv() == b"\x01T"
    xpub.send(b"T-data")
    assert sub.recv() == b"T-data"
    sub.unsubscribe(b"T")
    assert xpub.recv() == b"\x00T"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_xsub_sends_subscriptions_to_the_other_implementation(impls, new_endpoint, transport):
    pub, xsub = ends(impls, new_endpoint, transport, "XPUB", "XSUB", True)
    xsub.send(b"\x01K")
    assert pub.recv() == b"\x01K"
    pub.send(b"K1")
    pub.send(b"L1")
    assert drain(xsub) == [[b"K1"]]
    xsub.send(b"\x00K")
    assert pub.recv() == b"\x00K"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_resubscribed_after_the_publisher_is_replaced(impls, new_endpoint, transport):
    p_impl, s_impl = impls
    pub = p_impl.socket("PUB")
    ep = p_impl.bind(pub, new_endpoint(transport))
    sub = s_impl.socket("SUB", reconnect_ivl=20)
    sub.connect(ep)
    sub.subscribe(b"keep")
    sync(pub, sub, b"keep")
    p_impl.close(pub)
    deadline = time.monotonic() + SYNC_S
    while True:  # the port/path is released asynchronously
        pub2 = p_impl.socket("PUB")
        try:
            pub2.bind(ep)
            break
        except p_impl.mod.ZMQError:
            p_impl.close(pub2)
            assert time.monotonic() < deadline
            time.sleep(0.01)
    sync(pub2, sub, b"keep")
    pub2.send(b"drop")
    pub2.send(b"keep-1")
    assert drain(sub) == [[b"keep-1"]]


# ----------------------------------------------------------------------------- a ZMTP 3.0 peer, raw


@pytest.fixture
def zlab_impl(make_impl):
    return make_impl("zlab")


def test_publisher_takes_subscription_messages_from_a_30_subscriber(zlab_impl):
    pub = zlab_impl.socket("PUB")
    ep = zlab_impl.bind(pub, "tcp://127.0.0.1:*")
    raw = RawPeer.to_endpoint(ep)
    try:
        _greeting, props = raw.handshake(b"SUB", minor=0)
        assert props[b"Socket-Type"] == b"PUB"
        raw.send(R.message([b"\x01news"]))  # a 3.0 subscription is a message
        deadline = time.monotonic() + SYNC_S
        n = 0
        while True:
            pub.send(b"news%d" % n)
            pub.send(b"other")
            f = raw.read_frame(timeout=0.05) if _ready(raw) else None
            if f is not None:
                assert f.body.startswith(b"news") and not f.is_command
                break
            n += 1
            assert time.monotonic() < deadline
        raw.send(R.message([b"\x00news"]))  # cancel, the 3.0 way
        raw.send(R.message([b"\x01mark"]))
        got = []
        deadline = time.monotonic() + SYNC_S
        while b"mark" not in got:
            pub.send(b"news-late")
            pub.send(b"mark")
            while _ready(raw):
                got.append(raw.read_frame().body)
            assert time.monotonic() < deadline
        assert got[got.index(b"mark") + 1 :].count(b"news-late") <= 1  # in flight when the cancel landed
    finally:
        raw.close()


def _ready(raw: RawPeer) -> bool:
    """Whether a frame is already buffered or readable within 50 ms."""
    if R.parse_frames(raw.received)[0]:
        return True
    raw.sock.settimeout(0.05)
    try:
        chunk = raw.sock.recv(65536)
    except TimeoutError:
        return False
    raw.received += chunk
    return bool(R.parse_frames(raw.received)[0])


def test_subscriber_sends_subscription_messages_to_a_30_publisher(zlab_impl):
    listener = RawListener()
    try:
        sub = zlab_impl.socket("SUB")
        sub.subscribe(b"early")  # before the connection: sent after the handshake
        sub.connect(listener.endpoint)
        raw = listener.accept()
        try:
            raw.send(R.greeting(minor=0) + R.ready(b"PUB"))
            g = raw.read_greeting()
            assert (g.major, g.minor) == (3, 1)
            ready = raw.read_frame()
            assert ready.command_name == b"READY"
            f = raw.read_frame()
            assert not f.is_command and f.body == b"\x01early"  # a message, not a SUBSCRIBE command
            sub.subscribe(b"late")
            assert raw.read_frame().body == b"\x01late"
            sub.unsubscribe(b"early")
            assert raw.read_frame().body == b"\x00early"
            raw.send(R.message([b"late-news"]) + R.message([b"early-news"]) + R.message([b"late", b"2"]))
            assert sub.recv_multipart() == [b"late-news"]
            assert sub.recv_multipart() == [b"late", b"2"]  # early-news was filtered out by the SUB
        finally:
            raw.close()
    finally:
        listener.close()


def test_subscriber_sends_commands_to_a_31_publisher(zlab_impl):
    listener = RawListener()
    try:
        sub = zlab_impl.socket("SUB")
        sub.subscribe(b"x")
        sub.connect(listener.endpoint)
        raw = listener.accept()
        try:
            raw.send(R.greeting(minor=1) + R.ready(b"PUB"))
            raw.read_greeting()
            assert raw.read_frame().command_name == b"READY"
            f = raw.read_frame()
            assert f.is_command and f.command_name == b"SUBSCRIBE" and f.command_data == b"x"
            sub.unsubscribe(b"x")
            f = raw.read_frame()
            assert f.is_command and f.command_name == b"CANCEL" and f.command_data == b"x"
        finally:
            raw.close()
    finally:
        listener.close()
