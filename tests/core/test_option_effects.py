"""What the options zlab takes do, each shown against libzmq as the reference (every test runs for
``zmq`` first, then ``zlab``): PROBE_ROUTER, REQ_CORRELATE/REQ_RELAXED, CONFLATE, XPUB_MANUAL,
XPUB_WELCOME_MSG, XPUB_VERBOSER, INVERT_MATCHING, ROUTER_HANDOVER, CONNECT_ROUTING_ID, the tcp options
on the OS socket, CONNECT_TIMEOUT, ZAP_ENFORCE_DOMAIN, METADATA, and the endpoint forms (interface
names, IPv6, a source address, abstract and too-long ipc paths). The audit table is in
``test_option_audit``.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import sys
import time
from typing import Any

import pytest

from tests.core.support import Lib, first_arrives, last_endpoint, read_conflated, wait_until

pytestmark = pytest.mark.timeout(30)


def _recv_or_none(sock: Any, ms: int) -> Any:
    return sock.recv_multipart() if sock.poll(ms) else None


# -- ROUTER, DEALER, REQ ------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["DEALER", "ROUTER", "REQ"])
def test_probe_router(lib: Lib, transport: str, type_name: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    peer = lib.socket(type_name, probe_router=1, routing_id=b"P")
    peer.connect(ep)
    assert router.recv_multipart() == [b"P", b""]  # the probe: an empty message, unasked


def test_probe_from_idle_bound_socket(lib: Lib, transport: str) -> None:
    """The probe of a bound DEALER. libzmq sends it only once the DEALER is used after the peer
    connected (the accepted pipe joins the socket when the socket processes its commands); zlab
    sends it as soon as the peer is attached (decided: deferring it would put a check on DEALER's
    and ROUTER's send and recv fast paths, and a peer can tell only while the DEALER is in no call;
    see tests/interop test_probe_from_bound_dealer)."""
    dealer = lib.socket("DEALER", probe_router=1, routing_id=b"D")
    router = lib.socket("ROUTER")
    router.connect(lib.bind(dealer, transport))
    early = router.poll(300)
    if lib.is_zlab:
        assert early
    else:
        assert not early, "libzmq changed: an idle bound DEALER probes now"
    dealer.getsockopt(lib.EVENTS)
    assert router.recv_multipart() == [b"D", b""]


def test_req_correlate_relaxed(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    req = lib.socket("REQ", req_correlate=1, req_relaxed=1, routing_id=b"Q")
    req.connect(ep)
    req.send(b"a")
    first = router.recv_multipart()
    assert first[0] == b"Q" and len(first[1]) == 4 and first[2:] == [b"", b"a"]
    req.send(b"b")  # REQ_RELAXED: a new request before the reply
    second = router.recv_multipart()
    assert second[2:] == [b"", b"b"]
    assert int.from_bytes(second[1], sys.byteorder) == (int.from_bytes(first[1], sys.byteorder) + 1) % 2**32
    router.send_multipart([*first[:3], b"stale"])  # the old request's id: dropped
    router.send_multipart([b"Q", b"\xff\xff\xff\xff" if second[1] != b"\xff" * 4 else b"\0" * 4, b"", b"bad"])
    router.send_multipart([*second[:3], b"fresh"])
    assert req.recv() == b"fresh"


def test_router_handover(lib: Lib, stream_transport: str) -> None:
    router = lib.socket("ROUTER", router_handover=1)
    ep = lib.bind(router, stream_transport)
    old = lib.socket("DEALER", routing_id=b"X", reconnect_ivl=-1)
    old.connect(ep)
    old.send(b"1")
    assert router.recv_multipart() == [b"X", b"1"]
    new = lib.socket("DEALER", routing_id=b"X")
    new.connect(ep)
    new.send(b"2")
    assert router.recv_multipart() == [b"X", b"2"]
    router.send_multipart([b"X", b"to-new"])
    assert new.recv() == b"to-new"
    assert not old.poll(200)  # the old peer lost the id (libzmq drops its connection)


@pytest.mark.parametrize("transport_name", ["inproc", "ipc", "tcp"])
def test_connect_routing_id(lib: Lib, transport_name: str) -> None:
    """A connecting ROUTER names its peer with CONNECT_ROUTING_ID and may send to it at once."""
    a = lib.socket("ROUTER", routing_id=b"A")
    b = lib.socket("ROUTER", routing_id=b"B", router_mandatory=1)
    b.setsockopt(lib.CONNECT_ROUTING_ID, b"peer")
    if transport_name == "inproc":  # connect before bind: the name is there already
        ep = lib.endpoint("inproc")
        b.connect(ep)
        b.send_multipart([b"peer", b"early"])
        a.bind(ep)
    else:
        ep = lib.bind(a, transport_name)
        b.connect(ep)
        b.send_multipart([b"peer", b"early"])
    assert a.recv_multipart() == [b"B", b"early"]
    a.send_multipart([b"B", b"back"])
    assert b.recv_multipart() == [b"peer", b"back"]


def test_routing_id_zero_on_the_wire(lib: Lib, transport: str) -> None:
    router = lib.socket("ROUTER")
    ep = lib.bind(router, transport)
    dealer = lib.socket("DEALER", routing_id=b"\x00abc")
    dealer.connect(ep)
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"\x00abc", b"hi"]


# -- CONFLATE ----------------------------------------------------------------------------------


@pytest.mark.parametrize("pull_binds", [True, False])
def test_conflate_pull(lib: Lib, transport: str, pull_binds: bool) -> None:
    if transport == "inproc" and pull_binds:
        pytest.skip("libzmq: over inproc only the connecting socket's CONFLATE counts (zlab does the same)")
    pull = lib.socket("PULL", conflate=1)
    push = lib.socket("PUSH")
    if pull_binds:
        push.connect(lib.bind(pull, transport))
    else:
        pull.connect(lib.bind(push, transport))
    first_arrives(lib, push, pull)  # connected
    n = 500
    for i in range(n):
        push.send(b"%d" % i)
    got = read_conflated(lib, push, pull, n)
    assert len(got) < n / 2, "CONFLATE keeps only the newest message"
    assert got == sorted(got)


def test_conflate_sub(lib: Lib, transport: str) -> None:
    sub = lib.socket("SUB", conflate=1)
    pub = lib.socket("PUB")
    sub.connect(lib.bind(pub, transport))
    sub.subscribe(b"")
    wait_until(lambda: (pub.send(b"hello"), sub.poll(20))[1], what="the subscription")
    while sub.poll(50):
        sub.recv()
    n = 500
    for i in range(n):
        pub.send(b"%d" % i)
    got = read_conflated(lib, pub, sub, n)
    assert len(got) < n / 2
    assert got == sorted(got)


def _flood(sender: Any, receiver: Any, n: int, size: int = 100_000) -> list[int]:
    """Send ``n`` numbered messages of ``size`` octets without blocking (a conflating sender never
    blocks), then read until the last one arrives; returns the numbers received."""
    pad = b"x" * size
    for i in range(n):
        sender.send(b"%d " % i + pad, 1)  # NOBLOCK: Again here would mean the sender blocked
    got: list[int] = []
    while not got or got[-1] != n - 1:
        got.append(int(receiver.recv().split(b" ", 1)[0]))
    return got


@pytest.mark.parametrize("sender_binds", [True, False])
@pytest.mark.parametrize("kinds", [("PUSH", "PULL"), ("DEALER", "DEALER")], ids=["push", "dealer"])
def test_conflate_sender(lib: Lib, transport: str, kinds: tuple[str, str], sender_binds: bool) -> None:
    """CONFLATE on the sending side: the receiver (not conflating, RCVHWM 1, not reading) is slow;
    the sender never blocks and keeps only the newest message per peer, so the receiver gets what
    was already on its way (the kernel's buffers), then the newest."""
    if transport == "inproc" and sender_binds:
        pytest.skip("libzmq: over inproc only the connecting socket's CONFLATE counts (zlab does the same)")
    sender = lib.socket(kinds[0], conflate=1)
    receiver = lib.socket(kinds[1], rcvhwm=1)
    if sender_binds:
        receiver.connect(lib.bind(sender, transport))
    else:
        sender.connect(lib.bind(receiver, transport))
    sender.send(b"first")
    assert receiver.recv() == b"first"  # connected
    n = 400
    got = _flood(sender, receiver, n)
    assert len(got) < n / 2, "CONFLATE keeps only the newest message"
    assert got == sorted(got) and len(set(got)) == len(got)
    if transport == "inproc":
        assert got == [n - 1]  # no kernel buffer in between: only the newest


@pytest.mark.parametrize("transport_name", ["inproc", "ipc"])
def test_conflate_sender_before_connect(lib: Lib, transport_name: str) -> None:
    """Messages sent before the peer is there: only the newest waits for it. Over inproc, libzmq
    4.3.5 does not wake the binder for the message that waited (it shows up only with the next
    send, which replaces it): a lost wake-up, not a rule; zlab delivers it."""
    push = lib.socket("PUSH", conflate=1)
    ep = lib.endpoint(transport_name)
    push.connect(ep)
    for i in range(5):
        push.send(b"%d" % i, 1)
    pull = lib.socket("PULL")
    lib.bind(pull, ep)
    if transport_name == "ipc" or lib.is_zlab:
        assert pull.recv() == b"4"
    assert not pull.poll(100)
    push.send(b"after")
    assert pull.recv() == b"after"


def test_conflate_inproc_binder_ignored(lib: Lib) -> None:
    """Over inproc the connecter's CONFLATE decides for both ends (libzmq): a bound conflating PUSH
    with a non-conflating PULL blocks at the HWM like any PUSH."""
    push = lib.socket("PUSH", conflate=1, sndhwm=2)
    pull = lib.socket("PULL", rcvhwm=2)
    pull.connect(lib.bind(push, "inproc"))
    sent = 0
    with pytest.raises(lib.mod.Again):
        while sent < 100:
            push.send(b"%d" % sent, 1)
            sent += 1
    assert 2 <= sent < 100
    assert pull.recv() == b"0"


def test_conflate_pub(lib: Lib, stream_transport: str) -> None:
    """A conflating PUB keeps only the newest message per subscriber (over inproc the SUB, the
    connecter, decides)."""
    pub = lib.socket("PUB", conflate=1)
    sub = lib.socket("SUB", rcvhwm=1)
    sub.connect(lib.bind(pub, stream_transport))
    sub.subscribe(b"")
    wait_until(lambda: (pub.send(b"-1 hello"), sub.poll(20))[1], what="the subscription")
    while sub.poll(50):
        sub.recv()
    n = 400
    got = _flood(pub, sub, n)
    assert len(got) < n / 2
    assert got == sorted(got)


def test_conflate_pub_subscriptions(lib: Lib, stream_transport: str) -> None:
    """A conflating PUB and a subscriber with several topics. libzmq 4.3.5 conflates the
    subscriptions too (its pipe from the connection conflates both ways): only the topic subscribed
    last reliably survives. zlab keeps a publisher's subscriptions whole (conflating them is of no
    use to anyone, and a subscriber cannot tell "dropped" from "not yet arrived"), so it delivers
    every topic; both deliver the last one."""
    pub = lib.socket("PUB", conflate=1)
    sub = lib.socket("SUB")
    sub.connect(lib.bind(pub, stream_transport))
    for topic in (b"A", b"B", b"C", b"D"):
        sub.subscribe(topic)
    wait_until(lambda: (pub.send(b"D-sync"), sub.poll(20))[1], what="the subscriptions")
    while sub.poll(50):
        sub.recv()
    for topic in (b"A", b"B", b"C", b"D"):
        pub.send(topic + b"1")
        time.sleep(0.02)  # one at a time, so that the sender's conflation does not merge them
    got = set()
    while sub.poll(200):
        got.add(sub.recv())
    assert b"D1" in got
    if lib.is_zlab:
        assert got == {b"A1", b"B1", b"C1", b"D1"}


# -- XPUB and matching -----------------------------------------------------------------------------


def test_xpub_manual(lib: Lib, transport: str) -> None:
    xpub = lib.socket("XPUB", xpub_manual=1)
    ep = lib.bind(xpub, transport)
    sub = lib.socket("SUB")
    sub.connect(ep)
    sub.subscribe(b"A")
    assert xpub.recv() == b"\x01A"  # reported, not applied
    xpub.send(b"A0")
    xpub.setsockopt(lib.SUBSCRIBE, b"A")  # applied to the peer that asked
    xpub.send(b"A1")
    assert sub.recv() == b"A1"
    xpub.setsockopt(lib.UNSUBSCRIBE, b"A")
    xpub.send(b"A2")
    xpub.setsockopt(lib.SUBSCRIBE, b"A")
    xpub.send(b"A3")
    assert sub.recv() == b"A3"
    sub.unsubscribe(b"A")
    assert xpub.recv() == b"\x00A"


def test_xpub_manual_last_value(lib: Lib, transport: str) -> None:
    """XPUB_MANUAL_LAST_VALUE (a last-value cache): the first send after a subscription reaches only
    the subscriber that sent it; the next ones reach everyone subscribed."""
    xpub = lib.socket("XPUB")
    xpub.setsockopt(lib.XPUB_MANUAL_LAST_VALUE, 1)
    ep = lib.bind(xpub, transport)
    subs = [lib.socket("SUB"), lib.socket("SUB")]
    for sub in subs:
        sub.connect(ep)
        sub.subscribe(b"A")
        assert xpub.recv() == b"\x01A"
        xpub.setsockopt(lib.SUBSCRIBE, b"A")  # applied to the peer that asked
        xpub.send(b"A-cached")  # the cache answers the newcomer only
        assert sub.recv() == b"A-cached"
    assert not subs[0].poll(100)  # the second cached answer was not for the first subscriber
    xpub.send(b"A-live")
    assert [sub.recv() for sub in subs] == [b"A-live", b"A-live"]


def test_xpub_subscribe_needs_manual(lib: Lib) -> None:
    xpub = lib.socket("XPUB")
    with pytest.raises(lib.mod.ZMQError) as info:
        xpub.setsockopt(lib.SUBSCRIBE, b"A")
    assert info.value.errno == lib.EINVAL


def test_xpub_welcome_msg(lib: Lib, transport: str) -> None:
    xpub = lib.socket("XPUB")
    xpub.setsockopt(lib.XPUB_WELCOME_MSG, b"W-hello")
    ep = lib.bind(xpub, transport)
    sub = lib.socket("SUB")
    sub.subscribe(b"W")
    sub.connect(ep)
    assert xpub.recv() == b"\x01W"  # libzmq sends the welcome once the XPUB itself is used
    assert sub.recv() == b"W-hello"


@pytest.mark.parametrize("xpub_binds", [True, False])
def test_xpub_welcome_msg_timing(lib: Lib, transport: str, xpub_binds: bool) -> None:
    """When the welcome goes: libzmq joins a new peer's pipe to a socket only when the socket processes
    its commands. A connecting XPUB does that in connect(), so its subscriber is welcomed at once; a
    bound XPUB does it at its next send, recv, poll, EVENTS, bind or connect, so while it sits idle
    a new subscriber waits for its welcome. zlab matches both (a peer can tell)."""
    xpub = lib.socket("XPUB")
    xpub.setsockopt(lib.XPUB_WELCOME_MSG, b"W-hello")
    sub = lib.socket("SUB")
    sub.subscribe(b"W")
    if xpub_binds:
        sub.connect(lib.bind(xpub, transport))
        assert not sub.poll(300), "welcomed while the XPUB sat idle"
        xpub.getsockopt(lib.EVENTS)  # the XPUB is used: the welcome goes
    else:
        xpub.connect(lib.bind(sub, transport))
    assert sub.recv() == b"W-hello"
    assert xpub.recv() == b"\x01W"


@pytest.mark.parametrize(("verboser", "expected_cancels"), [(0, 1), (1, 2)])
def test_xpub_verboser(lib: Lib, transport: str, verboser: int, expected_cancels: int) -> None:
    """XPUB_VERBOSE passes every subscribe; XPUB_VERBOSER every unsubscribe too."""
    opt = "xpub_verboser" if verboser else "xpub_verbose"
    xpub = lib.socket("XPUB", **{opt: 1})
    ep = lib.bind(xpub, transport)
    subs = [lib.socket("SUB") for _ in range(2)]
    for s in subs:
        s.connect(ep)
        s.subscribe(b"T")
        assert xpub.recv() == b"\x01T"
    for s in subs:
        s.unsubscribe(b"T")
    cancels = []
    while xpub.poll(300):
        cancels.append(xpub.recv())
    assert cancels == [b"\x00T"] * expected_cancels


def test_invert_matching(lib: Lib, transport: str) -> None:
    pub = lib.socket("PUB", invert_matching=1)
    ep = lib.bind(pub, transport)
    sub = lib.socket("SUB", invert_matching=1)
    sub.connect(ep)
    sub.subscribe(b"A")
    wait_until(lambda: (pub.send(b"Bsync"), sub.poll(20))[1], what="the subscription")
    while sub.poll(50):
        sub.recv()
    pub.send(b"A1")
    pub.send(b"B1")
    assert sub.recv() == b"B1"  # what matches no subscription


# -- tcp options on the OS socket --------------------------------------------------------------


def _os_socket_to(port: int) -> socket.socket:
    """A duplicate of this process's connected tcp socket whose peer is ``port`` (via /proc)."""
    psutil = pytest.importorskip("psutil")

    def find() -> Any:
        for c in psutil.Process().net_connections(kind="tcp"):
            if c.raddr and c.raddr.port == port and c.fd >= 0:
                return c.fd
        return None

    fd = wait_until(find, what=f"a connection to port {port}")
    return socket.socket(fileno=os.dup(fd))


def test_tcp_socket_options(lib: Lib) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, "tcp")
    push = lib.socket(
        "PUSH",
        tcp_keepalive=1,
        tcp_keepalive_cnt=3,
        tcp_keepalive_idle=45,
        tcp_keepalive_intvl=7,
        tcp_maxrt=2500,
        tos=0x20,
        bindtodevice=b"lo",
    )
    push.connect(ep)
    push.send(b"x")
    assert pull.recv() == b"x"
    with _os_socket_to(int(ep.rsplit(":", 1)[1])) as s:
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 3
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 45
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 7
        assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 2500
        assert s.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 0x20
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, 16).rstrip(b"\0") == b"lo"
    assert push.getsockopt(lib.TOS) == 0x20


def test_connect_timeout(lib: Lib) -> None:
    """A connect the peer never answers is given up after CONNECT_TIMEOUT (and retried)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):  # fill the accept queue: further SYNs are dropped, connects stay in progress
            f = socket.socket()
            f.setblocking(False)
            f.connect_ex(("127.0.0.1", port))
            fillers.append(f)
        push = lib.socket("PUSH", connect_timeout=100, reconnect_ivl=50)
        monitor = push.get_monitor_socket()
        lib.sockets.append(monitor)
        push.connect(f"tcp://127.0.0.1:{port}")
        retried = wait_until(
            lambda: _event(lib, monitor) == lib.EVENT_CONNECT_RETRIED, timeout=5, what="CONNECT_RETRIED"
        )
        assert retried
    finally:
        for f in fillers:
            f.close()
        listener.close()


def _event(lib: Lib, monitor: Any) -> int | None:
    if not monitor.poll(50):
        return None
    frames = monitor.recv_multipart()
    return struct.unpack("=H", frames[0][:2])[0]


def test_zap_enforce_domain(lib: Lib) -> None:
    """With a ZAP domain and no handler, NULL lets peers in; ZAP_ENFORCE_DOMAIN makes it refuse them."""
    results = []
    for enforce in (0, 1):
        pull = lib.socket("PULL", zap_domain=b"d", zap_enforce_domain=enforce)
        ep = lib.bind(pull, "tcp")
        push = lib.socket("PUSH")
        push.connect(ep)
        push.send(b"x")
        results.append(pull.poll(1000 if enforce else 5000))
    assert results[0] and not results[1]


def test_metadata(lib: Lib, transport: str) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, transport if transport != "inproc" else "ipc")
    push = lib.socket("PUSH")
    push.setsockopt(lib.METADATA, b"X-color:blue")
    push.connect(ep)
    push.send(b"x")
    frame = pull.recv(copy=False)
    assert frame.get("X-color") == "blue"


# -- endpoints ---------------------------------------------------------------------------------


def test_interface_name(lib: Lib) -> None:
    pull = lib.socket("PULL")
    pull.bind("tcp://lo:*")
    ep = last_endpoint(pull)
    assert ep.startswith("tcp://127.0.0.1:")
    push = lib.socket("PUSH")
    push.connect(ep)
    push.send(b"x")
    assert pull.recv() == b"x"


def test_unknown_interface(lib: Lib) -> None:
    with pytest.raises(lib.mod.ZMQError) as info:
        lib.socket("PULL").bind("tcp://nosuchif0:*")
    assert info.value.errno == errno.ENODEV


def test_ipv6_endpoints(lib: Lib) -> None:
    if not socket.has_ipv6 or not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("no IPv6 on this machine")
    with pytest.raises(lib.mod.ZMQError) as info:
        lib.socket("PULL").bind("tcp://[::1]:*")  # needs the IPV6 option
    assert info.value.errno == errno.ENODEV
    pull = lib.socket("PULL", ipv6=1)
    assert pull.getsockopt(lib.IPV4ONLY) == 0
    pull.bind("tcp://*:*")
    ep = last_endpoint(pull)
    assert ep.startswith("tcp://[::]:")
    port = ep.rsplit(":", 1)[1]
    for dest, opts in ((f"tcp://[::1]:{port}", {"ipv6": 1}), (f"tcp://127.0.0.1:{port}", {})):  # dual stack
        push = lib.socket("PUSH", **opts)
        push.connect(dest)
        push.send(b"x")
        assert pull.recv() == b"x"


def test_source_address(lib: Lib) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, "tcp")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    src_port = probe.getsockname()[1]
    probe.close()
    push = lib.socket("PUSH")
    push.connect(f"tcp://127.0.0.1:{src_port};{ep[len('tcp://') :]}")
    push.send(b"x")
    frame = pull.recv(copy=False)
    assert frame.bytes == b"x"
    with _os_socket_to(int(ep.rsplit(":", 1)[1])) as s:
        assert s.getsockname()[1] == src_port


def test_ipc_abstract(lib: Lib) -> None:
    name = f"ipc://@zlab-audit-{os.getpid()}-{time.monotonic_ns()}"
    pull = lib.socket("PULL")
    pull.bind(name)
    push = lib.socket("PUSH")
    push.connect(name)
    push.send(b"x")
    assert pull.recv() == b"x"


@pytest.mark.parametrize("path", ["/tmp/" + "x" * 120, "@" + "y" * 120])
def test_ipc_path_too_long(lib: Lib, path: str) -> None:
    assert len(path) > lib.IPC_PATH_MAX_LEN
    for call in ("bind", "connect"):
        with pytest.raises(lib.mod.ZMQError) as info:
            getattr(lib.socket("PULL"), call)(f"ipc://{path}")
        assert info.value.errno == errno.ENAMETOOLONG


# -- RECONNECT_STOP ----------------------------------------------------------------------------------


def _events_until(lib: Lib, monitor: Any, last: int, timeout: float = 5.0) -> list[int]:
    """Monitor events up to and including ``last``."""
    seen: list[int] = []
    wait_until(
        lambda: (ev := _event(lib, monitor)) is not None and (seen.append(ev) or ev == last),
        timeout=timeout,
        what=f"event {last}",
    )
    return seen


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_reconnect_stop_conn_refused(lib: Lib) -> None:
    """RECONNECT_STOP_CONN_REFUSED: a refused tcp connect gives the endpoint up (libzmq: CLOSED and no
    CONNECT_RETRIED; the pipe goes, so a DEALER with no other peer cannot send); a peer bound there
    later is never reached."""
    dealer = lib.socket("DEALER", reconnect_ivl=20)
    dealer.setsockopt(lib.RECONNECT_STOP, lib.RECONNECT_STOP_CONN_REFUSED)
    assert dealer.getsockopt(lib.RECONNECT_STOP) == lib.RECONNECT_STOP_CONN_REFUSED
    monitor = dealer.get_monitor_socket()
    lib.sockets.append(monitor)
    ep = f"tcp://127.0.0.1:{_free_port()}"
    dealer.connect(ep)
    _events_until(lib, monitor, lib.EVENT_CLOSED)
    router = lib.socket("ROUTER")
    router.bind(ep)
    assert _event(lib, monitor) is None and _event(lib, monitor) is None  # no CONNECT_RETRIED
    with pytest.raises(lib.mod.Again):
        dealer.send(b"x", lib.NOBLOCK)
    assert not router.poll(100)


def test_reconnect_stop_conn_refused_not_ipc(lib: Lib) -> None:
    """libzmq applies RECONNECT_STOP_CONN_REFUSED to tcp only: an ipc connect goes on retrying."""
    dealer = lib.socket("DEALER", reconnect_ivl=20)
    dealer.setsockopt(lib.RECONNECT_STOP, lib.RECONNECT_STOP_CONN_REFUSED)
    monitor = dealer.get_monitor_socket()
    lib.sockets.append(monitor)
    ep = lib.endpoint("ipc")
    dealer.connect(ep)
    _events_until(lib, monitor, lib.EVENT_CONNECT_RETRIED)
    router = lib.socket("ROUTER")
    router.bind(ep)
    dealer.send(b"x")
    assert router.recv_multipart()[1:] == [b"x"]


@pytest.mark.parametrize("stop", [True, False])
def test_reconnect_stop_handshake_failed(lib: Lib, stop: bool) -> None:
    """RECONNECT_STOP_HANDSHAKE_FAILED: after a handshake that failed (here the peer hangs up before
    its greeting) no more attempts; without it the socket keeps trying."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.05)
    accepted = 0

    def accept_all() -> None:
        nonlocal accepted
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        accepted += 1
        conn.close()

    try:
        dealer = lib.socket("DEALER", reconnect_ivl=20)
        if stop:
            dealer.setsockopt(lib.RECONNECT_STOP, lib.RECONNECT_STOP_HANDSHAKE_FAILED)
        monitor = dealer.get_monitor_socket()
        lib.sockets.append(monitor)
        dealer.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        wait_until(lambda: (accept_all(), accepted)[1] >= 1, what="the first connection")
        seen = _events_until(lib, monitor, lib.EVENT_DISCONNECTED)
        assert lib.EVENT_HANDSHAKE_FAILED_NO_DETAIL in seen
        if stop:
            for _ in range(6):  # 300 ms (each waits 50 ms for a connection): many reconnect intervals
                accept_all()
            assert accepted == 1
            assert _event(lib, monitor) is None
        else:
            wait_until(lambda: (accept_all(), accepted)[1] >= 2, what="a second attempt")
    finally:
        listener.close()


def test_reconnect_stop_after_disconnect(lib: Lib, stream_transport: str) -> None:
    """RECONNECT_STOP_AFTER_DISCONNECT: no reconnect after disconnect(). libzmq needs the flag to
    close a race in its connecter; zlab's disconnect() stops the endpoint's dialling in any case."""
    router = lib.socket("ROUTER")
    monitor = router.get_monitor_socket()
    lib.sockets.append(monitor)
    ep = lib.bind(router, stream_transport)
    dealer = lib.socket("DEALER", reconnect_ivl=20)
    dealer.setsockopt(lib.RECONNECT_STOP, lib.RECONNECT_STOP_AFTER_DISCONNECT)
    dealer.connect(ep)
    dealer.send(b"x")
    assert router.recv_multipart()[1:] == [b"x"]
    dealer.disconnect(ep)
    seen: list[int] = []

    def disconnected() -> bool:
        dealer.poll(0)  # libzmq closes the connection once the DEALER processes its commands
        ev = _event(lib, monitor)
        if ev is not None:
            seen.append(ev)
        return ev == lib.EVENT_DISCONNECTED

    wait_until(disconnected, what="DISCONNECTED")
    assert seen.count(lib.EVENT_ACCEPTED) <= 1  # (the monitor may have reported it before)
    later = []
    for _ in range(6):  # 300 ms: many reconnect intervals
        dealer.poll(0)
        later.append(_event(lib, monitor))
    assert lib.EVENT_ACCEPTED not in later


# -- ROUTER options on REP (libzmq's REP is a ROUTER underneath) ----------------------------------


@pytest.mark.parametrize("rep_binds", [True, False])
def test_rep_probe_router(lib: Lib, transport: str, rep_binds: bool) -> None:
    rep = lib.socket("REP", probe_router=1)
    dealer = lib.socket("DEALER")
    if rep_binds:
        dealer.connect(lib.bind(rep, transport))
    else:
        rep.connect(lib.bind(dealer, transport))
    # a bound libzmq socket probes once it is used (test_probe_from_idle_bound_socket)
    wait_until(lambda: (rep.poll(0), dealer.poll(20))[1], what="the probe")
    assert dealer.recv_multipart() == [b""]
    dealer.send_multipart([b"", b"q"])
    assert rep.recv() == b"q"
    rep.send(b"r")
    assert dealer.recv_multipart() == [b"", b"r"]


@pytest.mark.parametrize("handover", [False, True])
def test_rep_routing_ids(lib: Lib, stream_transport: str, handover: bool) -> None:
    """A second requester with a routing id already taken: ignored, or (ROUTER_HANDOVER) it takes
    the id over, as with libzmq's REP."""
    rep = lib.socket("REP", router_handover=int(handover))
    ep = lib.bind(rep, stream_transport)
    a = lib.socket("DEALER", routing_id=b"X")
    a.connect(ep)
    a.send_multipart([b"", b"from-a"])
    assert rep.recv() == b"from-a"
    rep.send(b"to-a")
    assert a.recv_multipart() == [b"", b"to-a"]
    b = lib.socket("DEALER", routing_id=b"X")
    b.connect(ep)
    b.send_multipart([b"", b"from-b"])
    if not handover:
        assert not rep.poll(300)
        return
    assert rep.recv() == b"from-b"
    rep.send(b"to-b")
    assert b.recv_multipart() == [b"", b"to-b"]
    assert not a.poll(100)


def test_rep_connect_routing_id(lib: Lib, stream_transport: str) -> None:
    """CONNECT_ROUTING_ID on a REP names the bound peer: a requester with that id arriving
    through the REP's own bind is refused (the id is taken), as with libzmq."""
    dealer = lib.socket("DEALER")
    rep = lib.socket("REP")
    rep.setsockopt(lib.CONNECT_ROUTING_ID, b"X")
    rep.connect(lib.bind(dealer, stream_transport))
    dealer.send_multipart([b"", b"q"])
    assert rep.recv() == b"q"
    rep.send(b"r")
    assert dealer.recv_multipart() == [b"", b"r"]
    other = lib.socket("DEALER", routing_id=b"X")
    other.connect(lib.bind(rep, stream_transport))
    other.send_multipart([b"", b"from-other"])
    assert not rep.poll(300)


def test_rep_router_mandatory(lib: Lib, stream_transport: str) -> None:
    """ROUTER_MANDATORY on a REP. A requester gone: the reply is dropped without an error (libzmq
    too). A requester whose queue is full: zlab waits SNDTIMEO, then raises Again and keeps the reply
    to send again; libzmq 4.3.5 aborts the process there (assertion in rep.cpp:64), so that part runs
    for zlab only."""
    rep = lib.socket("REP", router_mandatory=1, sndhwm=1, sndtimeo=100)
    ep = lib.bind(rep, stream_transport)
    gone = lib.socket("DEALER")
    gone.connect(ep)
    gone.send_multipart([b"", b"q"])
    assert rep.recv() == b"q"
    gone.close(linger=0)
    rep.send(b"lost")  # no error
    if not lib.is_zlab:
        return
    slow = lib.socket("DEALER", rcvhwm=1)
    slow.connect(ep)
    for i in range(2000):
        slow.send_multipart([b"", b"%d" % i])
    with pytest.raises(lib.mod.Again):
        for _ in range(2000):
            rep.recv()
            rep.send(b"x" * 100_000)
    with pytest.raises(lib.mod.ZMQError):  # EFSM: the reply is still to be sent
        rep.recv()
    while slow.poll(200):
        slow.recv_multipart()
        try:
            rep.send(b"kept")
            break
        except lib.mod.Again:
            continue
    else:
        pytest.fail("the kept reply never went")
