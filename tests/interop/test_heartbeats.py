"""Heartbeats (HEARTBEAT_IVL, HEARTBEAT_TTL, HEARTBEAT_TIMEOUT) on the wire, against raw peers and libzmq.

* A peer that completes the handshake and then goes silent is dropped after IVL + TIMEOUT; the connecting
  side dials again (the raw listener sees a new connection). Any traffic counts as life, on either read
  path of zlab (the reactor's and a blocked ``recv()``'s own reads), not only PONGs.
* zlab heartbeating against libzmq, libzmq heartbeating (with a TTL) against zlab, in both roles: PINGs are
  answered, nothing is dropped over many intervals, messages still flow.
* zlab's TTL is honoured by libzmq: a frozen (SIGSTOPped) zlab process is dropped by a libzmq peer that has
  no heartbeat options of its own; with TTL 0 it is not.
* A PING TTL from a raw peer that then goes silent makes the receiver drop the connection.

Each scenario runs with libzmq in the role under test too (``control``), which validates the test itself.
Observed through raw sockets and libzmq's monitor (not zlab's); synchronised by polling with deadlines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.core.support import wait_until
from tests.hostile import zmtp_raw as R
from tests.interop.scenario import check_frames

pytestmark = [pytest.mark.interop, pytest.mark.timeout(30)]

IMPLS = [pytest.param("zmq", marks=pytest.mark.control), "zlab"]
ROOT = Path(__file__).resolve().parents[2]

IVL_MS = 50
#: generous timeouts where the peer is healthy: a PONG may be late on a loaded 2-core machine
PATIENT = {"heartbeat_ivl": IVL_MS, "heartbeat_timeout": 400}
#: idle time watched for unwanted drops: many intervals, more than twice the patient timeout
WATCH_S = 0.8


def _ping_ttls(data: bytes) -> list[bytes]:
    """The TTL fields of the PING commands in ``data`` (complete frames)."""
    frames, _rest = R.parse_frames(data)
    return [f.command_data[:2] for f in frames if f.is_command and f.command_name == b"PING"]


def _closed_now(peer: R.RawPeer) -> bool:
    """Whether the remote end has closed (EOF or reset); keeps what it sent in ``peer.received``."""
    peer.sock.settimeout(0)
    try:
        while True:
            chunk = peer.sock.recv(65536)
            if not chunk:
                return True
            peer.received += chunk
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _first_disconnect(monitor, zmq, seconds: float) -> float | None:
    """Seconds until libzmq's monitor reports DISCONNECTED, or None if it doesn't within ``seconds``."""
    from zmq.utils.monitor import recv_monitor_message

    t0 = time.monotonic()
    deadline = t0 + seconds
    while (left := deadline - time.monotonic()) > 0:
        if not monitor.poll(max(1, int(left * 1000))):
            break
        if recv_monitor_message(monitor)["event"] == zmq.EVENT_DISCONNECTED:
            return time.monotonic() - t0
    return None


@pytest.mark.parametrize("impl_name", IMPLS)
def test_heartbeat_options_as_libzmq_keeps_them(impl_name, make_impl):
    impl = make_impl(impl_name)
    s = impl.socket("DEALER")
    assert s.getsockopt(impl.const("HEARTBEAT_IVL")) == 0
    assert s.getsockopt(impl.const("HEARTBEAT_TTL")) == 0
    assert s.getsockopt(impl.const("HEARTBEAT_TIMEOUT")) == -1
    for ms, kept in ((50, 0), (250, 200), (6_553_599, 6_553_500)):
        s.setsockopt(impl.const("HEARTBEAT_TTL"), ms)
        assert s.getsockopt(impl.const("HEARTBEAT_TTL")) == kept, ms
    with pytest.raises(impl.mod.ZMQError):
        s.setsockopt(impl.const("HEARTBEAT_TTL"), 6_553_600)


# ----------------------------------------------------------------------------------- silent peers


@pytest.mark.parametrize("impl_name", IMPLS)
def test_silent_peer_is_dropped_and_redialled(impl_name, make_impl):
    """The heartbeating side connects; the raw peer handshakes and never answers: dropped, then redialled."""
    impl = make_impl(impl_name)
    listener = R.RawListener()
    try:
        dealer = impl.socket("DEALER", heartbeat_ivl=IVL_MS, heartbeat_ttl=550, reconnect_ivl=20)
        dealer.connect(listener.endpoint)
        peer = listener.accept()
        t0 = time.monotonic()
        peer.handshake(b"ROUTER")
        closed = peer.wait_closed(5.0)
        took = time.monotonic() - t0
        assert closed.how in ("eof", "reset"), f"{impl_name} kept a peer that never answers ({closed.how})"
        # the first PING goes after IVL, the drop after TIMEOUT (= IVL) more of silence
        assert took >= 2 * IVL_MS / 1000 - 0.005, f"dropped after {took * 1000:.0f} ms, before IVL + TIMEOUT"
        # libzmq's PING: TTL in deciseconds, rounded down (550 ms -> 5), no context
        assert _ping_ttls(closed.received)[:1] == [b"\x00\x05"], closed.received
        peer.close()
        again = listener.accept(5.0)
        try:
            greeting, _props = again.handshake(b"ROUTER")  # libzmq sends its greeting in stages
            assert greeting.signature_ok
        finally:
            again.close()
    finally:
        listener.close()


def test_heartbeat_drop_reported_to_the_monitor_hook(make_impl):
    """zlab only (its monitor API is not used here): the drop is a DISCONNECTED on the socket's link, then
    the connecter retries and connects again."""
    impl = make_impl("zlab")
    Event = impl.mod.Event
    listener = R.RawListener()
    events: list[int] = []
    try:
        dealer = impl.socket("DEALER", heartbeat_ivl=IVL_MS, reconnect_ivl=20)
        dealer.link.monitor = lambda event, endpoint, value: events.append(event)
        dealer.connect(listener.endpoint)
        peer = listener.accept()
        peer.handshake(b"ROUTER")
        assert peer.wait_closed(5.0).how in ("eof", "reset")
        peer.close()
        again = listener.accept(5.0)
        again.handshake(b"ROUTER")
        wait_until(lambda: events.count(Event.HANDSHAKE_SUCCEEDED) == 2, 5.0, "the second handshake")
        seen = [e for e in events if e != Event.CONNECT_DELAYED]
        assert seen == [
            Event.CONNECTED,
            Event.HANDSHAKE_SUCCEEDED,
            Event.DISCONNECTED,
            Event.CONNECT_RETRIED,
            Event.CONNECTED,
            Event.HANDSHAKE_SUCCEEDED,
        ], seen
        again.close()
    finally:
        listener.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("impl_name", IMPLS)
def test_silent_peer_is_dropped_by_the_binder(impl_name, transport, make_impl, new_endpoint):
    impl = make_impl(impl_name)
    router = impl.socket("ROUTER", heartbeat_ivl=IVL_MS, heartbeat_timeout=2 * IVL_MS)
    ep = impl.bind(router, new_endpoint(transport))
    peer = R.RawPeer.to_endpoint(ep)
    try:
        t0 = time.monotonic()
        peer.handshake(b"DEALER", identity=b"mute")
        closed = peer.wait_closed(5.0)
        took = time.monotonic() - t0
        assert closed.how in ("eof", "reset"), f"{impl_name} kept a peer that never answers ({closed.how})"
        assert took >= 3 * IVL_MS / 1000 - 0.005, f"dropped after {took * 1000:.0f} ms, before IVL + TIMEOUT"
        assert _ping_ttls(closed.received)[:1] == [b"\x00\x00"]
    finally:
        peer.close()


@pytest.mark.parametrize("reader", ["reactor", "blocked-recv"])
@pytest.mark.parametrize("impl_name", IMPLS)
def test_any_traffic_counts_as_life(impl_name, reader, make_impl):
    """The raw peer never PONGs but sends a message every 20 ms: not dropped while it does, whichever
    thread reads (``blocked-recv``: a recv() waiting on zlab's only connection reads it itself); dropped
    once it stops."""
    impl = make_impl(impl_name)
    listener = R.RawListener()
    got: list[bytes] = []
    stop = threading.Event()
    recv_thread = None
    try:
        pull = impl.socket("PULL", heartbeat_ivl=IVL_MS, heartbeat_timeout=3 * IVL_MS, rcvtimeo=100)
        pull.connect(listener.endpoint)
        peer = listener.accept()
        peer.handshake(b"PUSH")
        if reader == "blocked-recv":

            def receive() -> None:
                while not stop.is_set():
                    try:
                        got.append(pull.recv())
                    except impl.mod.Again:
                        pass

            recv_thread = threading.Thread(target=receive, daemon=True)
            recv_thread.start()
        n = 0
        until = time.monotonic() + 20 * IVL_MS / 1000  # 20 intervals, ~7 timeouts
        while time.monotonic() < until:
            peer.send(R.message([b"%d" % n]))
            n += 1
            assert not _closed_now(peer), f"{impl_name} dropped a peer that kept sending (after {n} messages)"
            time.sleep(0.02)  # the traffic being tested, not a synchronisation
        assert _ping_ttls(peer.received), "no PING was sent while the peer talked"
        t0 = time.monotonic()
        closed = peer.wait_closed(5.0)
        assert closed.how in ("eof", "reset"), f"{impl_name} kept a peer that went silent"
        assert time.monotonic() - t0 <= 4.0
        stop.set()
        if recv_thread is not None:
            recv_thread.join(5.0)
            assert not recv_thread.is_alive()
            assert got[:3] == [b"0", b"1", b"2"], got[:3]
        peer.close()
    finally:
        stop.set()
        if recv_thread is not None:
            recv_thread.join(5.0)
        listener.close()


def test_paused_reads_are_not_silence(make_impl):
    """zlab's application doesn't read, its inbound queue fills and its reads pause: the peer's traffic
    waits in the kernel, so zlab's heartbeat timeout must not drop it. A deliberate difference: libzmq's
    timer keeps running while its input is stopped, and it drops this peer (and what it had queued;
    seen with libzmq 4.3.5), so there is no libzmq control here."""
    libzmq = make_impl("zmq")
    impl_name = "zlab"
    impl = make_impl(impl_name)
    pull = impl.socket("PULL", rcvhwm=10, rcvbuf=65536, heartbeat_ivl=IVL_MS, heartbeat_timeout=2 * IVL_MS)
    ep = impl.bind(pull, "tcp://127.0.0.1:*")
    push = libzmq.socket("PUSH", sndhwm=10, sndbuf=65536, sndtimeo=0)
    monitor = push.get_monitor_socket(libzmq.mod.EVENT_DISCONNECTED)
    try:
        push.connect(ep)
        push.send(b"0")
        assert pull.recv() == b"0"  # connected
        sent = 0
        body = b"x" * 65536
        # fill zlab's queue, both kernel buffers and libzmq's queue: until no send is possible for 200 ms
        while push.poll(200, libzmq.mod.POLLOUT):
            push.send(body)
            sent += 1
        lost = _first_disconnect(monitor, libzmq.mod, 20 * IVL_MS / 1000)  # 20 intervals unread
        assert lost is None, f"{impl_name} dropped a peer whose messages it had not read ({lost:.2f} s)"
        for i in range(sent):
            assert pull.recv() == body, f"message {i} of {sent}"
    finally:
        monitor.close(linger=0)


# ------------------------------------------------------------------------------- healthy peers


def _pair(zlab_side, libzmq_side, zlab_binds: bool, zlab_opts: dict, libzmq_opts: dict):
    """A DEALER of one side and a ROUTER of the other, connected and past a first exchange; libzmq's
    socket has a DISCONNECTED monitor. Returns (dealer, router, monitor)."""
    zmq = libzmq_side.mod
    if zlab_binds:
        router = zlab_side.socket("ROUTER", router_mandatory=1, **zlab_opts)
        ep = zlab_side.bind(router, "tcp://127.0.0.1:*")
        dealer = libzmq_side.socket("DEALER", routing_id=b"d", **libzmq_opts)
        monitor = dealer.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        dealer.connect(ep)
    else:
        router = libzmq_side.socket("ROUTER", router_mandatory=1, **libzmq_opts)
        monitor = router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        ep = libzmq_side.bind(router, "tcp://127.0.0.1:*")
        dealer = zlab_side.socket("DEALER", routing_id=b"d", **zlab_opts)
        dealer.connect(ep)
    dealer.send(b"hello")
    check_frames(router.recv_multipart(), [b"d", b"hello"])
    router.send_multipart([b"d", b"welcome"])
    check_frames(dealer.recv_multipart(), [b"welcome"])
    return dealer, router, monitor


def _stays_up(dealer, router, monitor, zmq, what: str) -> None:
    try:
        lost = _first_disconnect(monitor, zmq, WATCH_S)
        assert lost is None, f"{what}: the connection dropped after {lost:.2f} s of heartbeats"
        for i in range(3):
            router.send_multipart([b"d", b"still", b"%d" % i])
            check_frames(dealer.recv_multipart(), [b"still", b"%d" % i])
            dealer.send_multipart([b"here", b"%d" % i])
            check_frames(router.recv_multipart(), [b"d", b"here", b"%d" % i])
    finally:
        monitor.close(linger=0)


@pytest.mark.parametrize("pinger", IMPLS)
@pytest.mark.parametrize("pinger_binds", [True, False], ids=["pinger-binds", "pinger-connects"])
def test_heartbeats_answered_by_libzmq(pinger, pinger_binds, make_impl):
    """The pinger (zlab; libzmq as control) heartbeats with a TTL; libzmq PONGs; over ~20 intervals of
    idleness the pinger never drops the connection (libzmq would see it go), and messages still flow."""
    libzmq = make_impl("zmq")
    side = make_impl(pinger)
    opts = dict(PATIENT, heartbeat_ttl=1000)
    dealer, router, monitor = _pair(side, libzmq, pinger_binds, opts, {})
    _stays_up(dealer, router, monitor, libzmq.mod, f"{pinger} pinging libzmq")


@pytest.mark.parametrize("pinged", IMPLS)
@pytest.mark.parametrize("pinged_binds", [True, False], ids=["pinged-binds", "pinged-connects"])
@pytest.mark.parametrize("pinged_heartbeats", [False, True], ids=["pinged-quiet", "both-ping"])
def test_libzmq_heartbeats_with_ttl_are_answered(pinged, pinged_binds, pinged_heartbeats, make_impl):
    """libzmq pings every 50 ms with TTL 300 ms: the pinged side answers (or libzmq drops it after its
    timeout) and honours each TTL without dropping a peer that keeps pinging."""
    libzmq = make_impl("zmq")
    side = make_impl(pinged)
    libzmq_opts = dict(PATIENT, heartbeat_ttl=300)
    opts = dict(PATIENT, heartbeat_ttl=300) if pinged_heartbeats else {}
    dealer, router, monitor = _pair(side, libzmq, pinged_binds, opts, libzmq_opts)
    _stays_up(dealer, router, monitor, libzmq.mod, f"libzmq pinging {pinged}")


# ------------------------------------------------------------------------------------ TTL honoured

_FROZEN_CHILD = """
import importlib, sys
mod = importlib.import_module(sys.argv[1])
ctx = mod.Context()
s = ctx.socket(mod.DEALER)
for name, value in (("LINGER", 0), ("ROUTING_ID", b"child"), ("HEARTBEAT_IVL", 50),
                    ("HEARTBEAT_TTL", int(sys.argv[3])), ("HEARTBEAT_TIMEOUT", 0)):
    s.setsockopt(getattr(mod, name), value)
s.connect(sys.argv[2])
s.send(b"up")
sys.stdin.read()  # until the test closes our stdin (or kills us)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="needs SIGSTOP to freeze a peer")
@pytest.mark.parametrize("ttl_ms", [300, 0], ids=["ttl-300ms", "no-ttl"])
@pytest.mark.parametrize("pinger", IMPLS)
def test_libzmq_honours_the_pingers_ttl(pinger, ttl_ms, make_impl):
    """A pinger process (zlab; libzmq as control) pings a libzmq ROUTER that has no heartbeat options,
    with TTL 300 ms; frozen with SIGSTOP it goes silent, and libzmq drops it within about the TTL. With
    TTL 0 libzmq has no reason to, and keeps it."""
    libzmq = make_impl("zmq")
    zmq = libzmq.mod
    router = libzmq.socket("ROUTER")
    monitor = router.get_monitor_socket(zmq.EVENT_DISCONNECTED)
    ep = libzmq.bind(router, "tcp://127.0.0.1:*")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen(
        [sys.executable, "-c", _FROZEN_CHILD, pinger, ep, str(ttl_ms)], stdin=subprocess.PIPE, env=env
    )
    try:
        router.setsockopt(zmq.RCVTIMEO, 15000)  # the child imports its library first
        check_frames(router.recv_multipart(), [b"child", b"up"])
        # alive and pinging: its TTL is re-armed by every PING, nothing drops
        lost = _first_disconnect(monitor, zmq, 0.5)
        assert lost is None, f"libzmq dropped a live {pinger} peer after {lost:.2f} s"
        os.kill(child.pid, signal.SIGSTOP)
        lost = _first_disconnect(monitor, zmq, 3.0 if ttl_ms else 1.0)
        if ttl_ms:
            assert lost is not None, f"libzmq kept a frozen {pinger} peer whose PINGs carry TTL {ttl_ms} ms"
            assert lost >= 0.15, f"dropped {lost:.2f} s after the freeze, well before the TTL"
        else:
            assert lost is None, f"libzmq dropped a frozen peer without a TTL after {lost:.2f} s"
    finally:
        monitor.close(linger=0)
        child.kill()  # SIGKILL works on a stopped process
        child.wait(10)
        if child.stdin is not None:
            child.stdin.close()


@pytest.mark.parametrize("ttl_ds", [2, 0], ids=["ttl-200ms", "no-ttl"])
@pytest.mark.parametrize("receiver_binds", [True, False], ids=["receiver-binds", "receiver-connects"])
@pytest.mark.parametrize("impl_name", IMPLS)
def test_ping_ttl_from_a_silent_peer(impl_name, receiver_binds, ttl_ds, make_impl):
    """A raw peer sends one PING with TTL 200 ms (and a context), reads the PONG, then goes silent: the
    receiver (no heartbeat options of its own) drops it within about the TTL, and redials if it
    connected. With TTL 0 it keeps the connection."""
    impl = make_impl(impl_name)
    listener = None
    if receiver_binds:
        sock = impl.socket("ROUTER")
        ep = impl.bind(sock, "tcp://127.0.0.1:*")
        peer = R.RawPeer.to_endpoint(ep)
        peer.handshake(b"DEALER", identity=b"raw")
    else:
        listener = R.RawListener()
        sock = impl.socket("DEALER", reconnect_ivl=20)
        sock.connect(listener.endpoint)
        peer = listener.accept()
        peer.handshake(b"ROUTER")
    try:
        peer.send(R.command(b"PING", bytes([0, ttl_ds]) + b"ctx"))
        t0 = time.monotonic()
        pong = peer.read_frame()
        assert pong.is_command and pong.command_name == b"PONG" and pong.command_data == b"ctx", pong
        closed = peer.wait_closed(3.0 if ttl_ds else 0.8)
        took = time.monotonic() - t0
        if not ttl_ds:
            assert closed.how == "timeout", f"{impl_name} dropped a peer that sent no TTL ({closed.how})"
            return
        assert closed.how in ("eof", "reset"), f"{impl_name} ignored the TTL of a silent peer"
        assert took >= ttl_ds / 10 - 0.02, f"dropped after {took * 1000:.0f} ms, before the TTL"
        if listener is not None:
            again = listener.accept(5.0)
            try:
                greeting, _props = again.handshake(b"ROUTER")  # libzmq sends its greeting in stages
                assert greeting.signature_ok
            finally:
                again.close()
    finally:
        peer.close()
        if listener is not None:
            listener.close()
