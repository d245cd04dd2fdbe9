"""LINGER and heartbeats across implementations.

* Messages a socket sent just before ``close(linger)`` reach a libzmq peer once the context terminates
  (LINGER -1 and a positive LINGER); ``close(linger=0)`` with a peer that reads nothing lets ``term()`` return.
* A libzmq peer with HEARTBEAT_IVL/HEARTBEAT_TIMEOUT pings; the other side must answer (PONG) or libzmq drops
  the connection. Watched through libzmq's own monitor (zlab's monitor is not used).

The sending / pinged implementation is the parameter; ``zmq`` is the control.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.hostile import zmtp_raw as R
from tests.interop.scenario import big_body, check_frames

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPLS = [pytest.param("zmq", marks=pytest.mark.control), "zlab"]


def _term_within(impl, seconds: float) -> float:
    """Terminate ``impl``'s context in a helper thread; fail if it takes longer than ``seconds``."""
    t0 = time.monotonic()
    t = threading.Thread(target=impl.ctx.term, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"{impl.name} Context.term() still blocked after {seconds} s"
    return time.monotonic() - t0


@pytest.mark.parametrize("linger", [-1, 3000])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("connected", [False, True], ids=["right-after-connect", "after-handshake"])
@pytest.mark.parametrize("sender", IMPLS)
def test_linger_flushes_to_libzmq(sender, connected, transport, linger, make_impl, new_endpoint):
    """``right-after-connect``: messages are queued, and the socket closed, before the connection is up (what
    a short script does); libzmq keeps dialling for the LINGER period. ``after-handshake``: one message went
    through first."""
    zmq_impl = make_impl("zmq")
    simpl = make_impl(sender)
    pull = zmq_impl.socket("PULL")
    ep = zmq_impl.bind(pull, new_endpoint(transport))
    push = simpl.socket("PUSH", linger=linger)
    push.connect(ep)
    if connected:
        push.send(b"first")
        check_frames(pull.recv_multipart(), [b"first"], "message before the linger test")
    small = [b"%d" % i + b"." * 10_000 for i in range(200)]
    for m in small:
        push.send(m)
    push.send_multipart([b"big", big_body()])
    push.close(linger=linger)
    _term_within(simpl, 10.0)
    for i, m in enumerate(small):
        check_frames(pull.recv_multipart(), [m], f"message {i} sent before close(linger={linger})")
    check_frames(pull.recv_multipart(), [b"big", big_body()], "5 MiB message sent before close")


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("sender", IMPLS)
def test_linger_zero_does_not_wait_for_a_stuck_peer(sender, transport, make_impl, new_endpoint):
    zmq_impl = make_impl("zmq")
    simpl = make_impl(sender)
    pull = zmq_impl.socket("PULL", rcvhwm=1)  # never read from
    ep = zmq_impl.bind(pull, new_endpoint(transport))
    push = simpl.socket("PUSH", sndhwm=100)
    push.connect(ep)
    chunk = b"z" * (1 << 20)
    sent = 0
    try:
        for _ in range(200):  # up to 200 MiB; stops when the HWM and the kernel buffers are full
            push.send(chunk, simpl.const("NOBLOCK"))
            sent += 1
    except simpl.mod.Again:
        pass
    assert sent > 0
    push.close(linger=0)
    took = _term_within(simpl, 5.0)
    assert took < 2.0, f"term() took {took:.2f} s with LINGER 0 ({sent} MiB undeliverable)"


def _disconnects(monitor, zmq, wait_ms: int) -> list[dict]:
    """libzmq monitor events DISCONNECTED seen within ``wait_ms`` (events arrive as they happen)."""
    from zmq.utils.monitor import recv_monitor_message

    seen = []
    deadline = time.monotonic() + wait_ms / 1000
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(max(1, int(left * 1000))):
            break
        ev = recv_monitor_message(monitor)
        if ev["event"] == zmq.EVENT_DISCONNECTED:
            seen.append(ev)
    return seen


# Generous for a loaded 2-core CI machine: a PONG may be late by up to HEARTBEAT_TIMEOUT - HEARTBEAT_IVL.
HB = {"heartbeat_ivl": 100, "heartbeat_timeout": 400}
HB_WATCH_MS = 900  # idle time watched: more than twice HEARTBEAT_TIMEOUT


@pytest.mark.parametrize("transport", ["tcp"])  # heartbeats do not depend on the transport
@pytest.mark.parametrize("pinged", IMPLS)
@pytest.mark.parametrize("libzmq_role", ["connects", "binds"])
def test_libzmq_heartbeats_are_answered(pinged, libzmq_role, transport, make_impl, new_endpoint):
    """Idle for more than twice HEARTBEAT_TIMEOUT: libzmq must see PONGs, so it never drops the connection."""
    zmq_impl = make_impl("zmq")
    pimpl = make_impl(pinged)
    zmq = zmq_impl.mod
    if libzmq_role == "connects":
        router = pimpl.socket("ROUTER", router_mandatory=1)
        ep = pimpl.bind(router, new_endpoint(transport))
        dealer = zmq_impl.socket("DEALER", routing_id=b"d", **HB)
        monitor = dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        dealer.connect(ep)
    else:
        router = zmq_impl.socket("ROUTER", router_mandatory=1, **HB)
        monitor = router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        ep = zmq_impl.bind(router, new_endpoint(transport))
        dealer = pimpl.socket("DEALER", routing_id=b"d")
        dealer.connect(ep)
    try:
        dealer.send(b"hello")
        check_frames(router.recv_multipart(), [b"d", b"hello"])
        lost = _disconnects(monitor, zmq, HB_WATCH_MS)
        assert not lost, f"libzmq dropped the connection to {pinged}: its PINGs went unanswered ({lost})"
        router.send_multipart([b"d", b"still", b"here"])
        check_frames(dealer.recv_multipart(), [b"still", b"here"])
    finally:
        monitor.close(linger=0)


def test_heartbeat_check_detects_a_silent_peer(make_impl):
    """Control for the test above: a raw peer that never answers PING is dropped, and the monitor sees it."""
    zmq_impl = make_impl("zmq")
    zmq = zmq_impl.mod
    router = zmq_impl.socket("ROUTER", **HB)
    monitor = router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    ep = zmq_impl.bind(router, "tcp://127.0.0.1:*")
    p = R.RawPeer.to_endpoint(ep)
    try:
        p.handshake(b"DEALER", identity=b"mute")
        assert _disconnects(monitor, zmq, HB_WATCH_MS), "libzmq kept a peer that never PONGs"
    finally:
        p.close()
        monitor.close(linger=0)


@pytest.mark.parametrize("linger", [-1, 5000])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("sender", IMPLS)
def test_linger_covers_a_peer_that_binds_after_close(sender, transport, linger, make_impl, new_endpoint):
    """Deterministic form of ``right-after-connect``: nobody listens yet when the sender queues messages and
    closes; term() lingers (in a thread) while the sender keeps dialling; then libzmq binds and gets them all."""
    zmq_impl = make_impl("zmq")
    simpl = make_impl(sender)
    if transport == "tcp":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            endpoint = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    else:
        endpoint = new_endpoint("ipc")
    push = simpl.socket("PUSH", linger=linger, reconnect_ivl=50)
    push.connect(endpoint)
    msgs = [b"%d" % i + b"." * 1000 for i in range(100)]
    for m in msgs:
        push.send(m)
    push.close(linger=linger)
    term = threading.Thread(target=simpl.ctx.term, daemon=True)
    term.start()
    pull = zmq_impl.socket("PULL")
    pull.bind(endpoint)
    for i, m in enumerate(msgs):
        check_frames(
            pull.recv_multipart(), [m], f"message {i} queued before the peer bound (LINGER {linger})"
        )
    term.join(10)
    assert not term.is_alive(), "term() still lingering after every message was delivered"
