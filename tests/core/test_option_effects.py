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

from tests.core.support import Lib, last_endpoint, wait_until

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
    push.send(b"first")
    assert pull.recv() == b"first"  # connected
    n = 500
    for i in range(n):
        push.send(b"%d" % i)
    got = []
    while not got or got[-1] != b"%d" % (n - 1):
        got.append(pull.recv())
    assert len(got) < n / 2, "CONFLATE keeps only the newest message"
    assert [int(x) for x in got] == sorted(int(x) for x in got)


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
    got = []
    while not got or got[-1] != b"%d" % (n - 1):
        got.append(sub.recv())
    assert len(got) < n / 2


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
