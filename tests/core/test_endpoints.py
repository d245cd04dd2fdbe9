"""Endpoints: parsing errors, bind/connect order, unbind/disconnect, LAST_ENDPOINT, random ports."""

from __future__ import annotations

import errno
import socket

import pytest

from tests.core.support import Lib, bind_retrying, last_endpoint, ping_until_received, wait_until


@pytest.mark.parametrize("op", ["bind", "connect"])
@pytest.mark.parametrize("addr", ["foo://bar", "zmtp://127.0.0.1:5555"])
def test_unknown_transport(lib: Lib, op: str, addr: str) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(lib.mod.ZMQError) as info:
        getattr(s, op)(addr)
    assert info.value.errno == lib.EPROTONOSUPPORT


MALFORMED = [
    "tcp://127.0.0.1",  # no port
    "tcp://127.0.0.1:abc",  # port not a number
    "tcp://",  # nothing
    "127.0.0.1:5555",  # no transport
    "inproc://",  # empty name
    "ipc://",  # empty path
]


@pytest.mark.parametrize("op", ["bind", "connect"])
@pytest.mark.parametrize("addr", MALFORMED)
def test_malformed_address_is_einval(lib: Lib, op: str, addr: str) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(lib.mod.ZMQError) as info:
        getattr(s, op)(addr)
    assert info.value.errno == lib.EINVAL


def test_connect_to_wildcard_port_is_einval(lib: Lib) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(lib.mod.ZMQError) as info:
        s.connect("tcp://127.0.0.1:-1")
    assert info.value.errno == lib.EINVAL


def test_connect_to_unresolved_host_is_not_an_error(lib: Lib) -> None:
    """libzmq resolves a connect() host name in the background (and retries): a name that does not
    resolve (yet) is no error at connect time, as with any peer that is not there yet."""
    s = lib.socket("PUSH")
    s.connect("tcp://no-such-host.invalid:5555")


def test_bind_same_tcp_port_twice(lib: Lib) -> None:
    a = lib.socket("PULL")
    ep = lib.bind(a, "tcp")
    b = lib.socket("PULL")
    with pytest.raises(lib.mod.ZMQError) as info:
        b.bind(ep)
    assert info.value.errno == lib.EADDRINUSE
    with pytest.raises(lib.mod.ZMQError) as info:
        a.bind(ep)  # the same socket too
    assert info.value.errno == lib.EADDRINUSE


def test_bind_same_inproc_name_twice(lib: Lib) -> None:
    a, b = lib.socket("PULL"), lib.socket("PULL")
    ep = lib.bind(a, "inproc")
    with pytest.raises(lib.mod.ZMQError) as info:
        b.bind(ep)
    assert info.value.errno == lib.EADDRINUSE


def test_connect_before_bind_inproc(lib: Lib) -> None:
    ep = lib.endpoint("inproc")
    push = lib.socket("PUSH")
    push.connect(ep)
    push.send(b"early", lib.NOBLOCK)  # queued for the peer to come
    pull = lib.socket("PULL")
    pull.bind(ep)
    assert pull.recv() == b"early"
    push.send(b"later")
    assert pull.recv() == b"later"


def _free_tcp_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.timeout(20)
def test_connect_before_bind_stream(lib: Lib, stream_transport: str) -> None:
    ep = _free_tcp_endpoint() if stream_transport == "tcp" else lib.endpoint("ipc")
    push = lib.socket("PUSH", reconnect_ivl=20)
    push.connect(ep)
    for i in range(3):
        push.send(b"%d" % i)  # queued while nobody listens
    pull = lib.socket("PULL")
    pull.bind(ep)
    assert [pull.recv() for _ in range(3)] == [b"0", b"1", b"2"]


def test_multiple_endpoints_on_one_socket(lib: Lib) -> None:
    pull = lib.socket("PULL")
    eps = [lib.bind(pull, t) for t in ("inproc", "ipc", "tcp")]
    pushes = []
    for ep in eps:
        p = lib.socket("PUSH")
        p.connect(ep)
        p.send(ep.encode())
        pushes.append(p)
    assert sorted(pull.recv() for _ in eps) == sorted(ep.encode() for ep in eps)


def test_unbind_then_enoent(lib: Lib, transport: str) -> None:
    s = lib.socket("PULL")
    ep = lib.bind(s, transport)
    s.unbind(ep)
    with pytest.raises(lib.mod.ZMQError) as info:
        s.unbind(ep)
    assert info.value.errno == errno.ENOENT


def test_unbind_never_bound_is_enoent(lib: Lib) -> None:
    s = lib.socket("PULL")
    with pytest.raises(lib.mod.ZMQError) as info:
        s.unbind("tcp://127.0.0.1:5999")
    assert info.value.errno == errno.ENOENT


def test_unbind_frees_the_endpoint(lib: Lib, transport: str) -> None:
    a = lib.socket("PULL")
    ep = lib.bind(a, transport)
    a.unbind(ep)
    b = lib.socket("PULL")
    bind_retrying(lib, b, ep)  # free again (released asynchronously)
    push = lib.socket("PUSH")
    push.connect(ep)
    push.send(b"to b")
    assert b.recv() == b"to b"


@pytest.mark.timeout(20)
def test_disconnect_then_enoent(lib: Lib, transport: str) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, transport)
    push = lib.socket("PUSH")
    push.connect(ep)
    ping_until_received(lib, push, pull)
    push.disconnect(ep)
    # no peer any more (libzmq tears the pipe down asynchronously: wait for POLLOUT to go)
    wait_until(lambda: not push.poll(0, lib.POLLOUT), what="the pipe to go")
    with pytest.raises(lib.mod.Again):
        push.send(b"x", lib.NOBLOCK)
    with pytest.raises(lib.mod.ZMQError) as info:
        push.disconnect(ep)
    assert info.value.errno == errno.ENOENT


def test_disconnect_picks_the_endpoint(lib: Lib, transport: str) -> None:
    pulls = [lib.socket("PULL") for _ in range(2)]
    eps = [lib.bind(p, transport) for p in pulls]
    push = lib.socket("PUSH")
    for ep in eps:
        push.connect(ep)
    push.disconnect(eps[0])
    for i in range(4):
        push.send(b"%d" % i)
    assert [pulls[1].recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]
    assert pulls[0].poll(100, lib.POLLIN) == 0


def test_last_endpoint_ipc_and_inproc(lib: Lib) -> None:
    s = lib.socket("PULL")
    ipc = lib.endpoint("ipc")
    s.bind(ipc)
    assert last_endpoint(s) == ipc
    inproc = lib.endpoint("inproc")
    s.bind(inproc)
    assert last_endpoint(s) == inproc


def test_bind_to_random_port(lib: Lib) -> None:
    s = lib.socket("PULL")
    port = s.bind_to_random_port("tcp://127.0.0.1")
    assert isinstance(port, int) and 0 < port < 65536
    assert last_endpoint(s) == f"tcp://127.0.0.1:{port}"
    t = lib.socket("PULL")
    port2 = t.bind_to_random_port("tcp://127.0.0.1", min_port=40000, max_port=41000)
    assert 40000 <= port2 < 41000
    push = lib.socket("PUSH")
    push.connect(f"tcp://127.0.0.1:{port2}")
    push.send(b"x")
    assert t.recv() == b"x"


def test_incompatible_peer_gets_nothing(lib: Lib, stream_transport: str) -> None:
    """PUSH to a REP: the ZMTP handshake refuses the pair, nothing is delivered. (Over inproc libzmq does
    not check socket types at all, so that case is not specified.)"""
    rep = lib.socket("REP")
    ep = lib.bind(rep, stream_transport)
    push = lib.socket("PUSH")
    try:
        push.connect(ep)
        push.send(b"x", lib.NOBLOCK)
    except lib.mod.ZMQError:
        pass
    assert rep.poll(200, lib.POLLIN) == 0
