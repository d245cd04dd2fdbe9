"""Monitor events of binding, connecting, reconnecting, peers leaving and closing: each scenario runs with
libzmq (through pyzmq) and with zlab, and both must give the same sequence of events and values.

What libzmq 4.3.5 does here, and zlab with it: a tcp dial is always CONNECT_DELAYED (EINPROGRESS) before
CONNECTED, an ipc dial connects at once; a dial that fails reports CLOSED for its OS socket, then
CONNECT_RETRIED; HANDSHAKE_SUCCEEDED has value 0; a socket's own close() reports CLOSED for each listener
and MONITOR_STOPPED, never DISCONNECTED for its connections.

Differences on purpose: libzmq adds a random jitter of up to RECONNECT_IVL to CONNECT_RETRIED's value (the
delay before the next dial); zlab waits exactly the interval (with its backoff), so the value is the
interval itself. The tests accept both: interval <= value < 2 * interval.
"""

from __future__ import annotations

import errno

import pytest

from tests.core.support import Lib, last_endpoint
from tests.monitor.support import Watch, free_port_below_ephemeral, names, without_retries

IVL = 50  # RECONNECT_IVL for the dialling sockets (ms)


def _endpoint(lib: Lib, transport: str) -> str:
    """A concrete endpoint nobody is bound to yet (a fixed port for tcp, so it can be dialled before bind)."""
    if transport == "tcp":
        return f"tcp://127.0.0.1:{free_port_below_ephemeral()}"
    return lib.endpoint("ipc")


def test_bind_then_close(lib: Lib, stream_transport: str) -> None:
    s = lib.socket("PULL")
    w = Watch(lib, s)
    ep = lib.bind(s, stream_transport)
    (listening,) = w.take(1)
    assert listening.name == "LISTENING" and listening.endpoint == ep
    assert listening.value > 0  # the listening descriptor
    s.close()
    closed, stopped = w.take(2)
    assert closed == ("CLOSED", listening.value, ep)
    assert stopped == ("MONITOR_STOPPED", 0, "")
    assert w.quiet() == []


def test_bind_to_a_taken_address(lib: Lib) -> None:
    first = lib.socket("PULL")
    ep = lib.bind(first, "tcp")
    s = lib.socket("PULL")
    w = Watch(lib, s)
    with pytest.raises(lib.mod.ZMQError) as info:
        s.bind(ep)
    assert info.value.errno == errno.EADDRINUSE
    closed, failed = w.take(2)
    # libzmq closes the OS socket it made (naming no endpoint), then names the address without "tcp://"
    assert closed.name == "CLOSED" and closed.endpoint == ""
    assert failed == ("BIND_FAILED", errno.EADDRINUSE, ep[len("tcp://") :])
    s.close()
    assert names(w.take(1)) == ["MONITOR_STOPPED"]


def test_ipc_bind_failure(lib: Lib) -> None:
    s = lib.socket("PULL")
    w = Watch(lib, s)
    ep = f"ipc://{lib.ipc_dir}/no-such-dir/x"
    with pytest.raises(lib.mod.ZMQError):
        s.bind(ep)
    closed, failed = w.take(2)
    assert closed.name == "CLOSED" and closed.endpoint == ep  # for ipc libzmq names the endpoint here
    assert failed == ("BIND_FAILED", errno.ENOENT, ep[len("ipc://") :])


def test_connect_before_bind(lib: Lib, stream_transport: str) -> None:
    ep = _endpoint(lib, stream_transport)
    c = lib.socket("PUSH", reconnect_ivl=IVL)
    wc = Watch(lib, c)
    c.connect(ep)
    cycle = (
        ("CONNECT_DELAYED", "CLOSED", "CONNECT_RETRIED")
        if stream_transport == "tcp"
        else ("CLOSED", "CONNECT_RETRIED")
    )
    first = wc.take(2 * len(cycle))  # two failed dials
    assert names(first) == list(cycle) * 2
    for ev in first:
        assert ev.endpoint == ep
        if ev.name == "CONNECT_DELAYED":
            assert ev.value == errno.EINPROGRESS
        if ev.name == "CONNECT_RETRIED":
            assert IVL <= ev.value < 2 * IVL
    s = lib.socket("PULL")
    ws = Watch(lib, s)
    s.bind(ep)
    rest = without_retries(wc.until("HANDSHAKE_SUCCEEDED"), cycle)
    tail = ["CONNECTED", "HANDSHAKE_SUCCEEDED"]
    if stream_transport == "tcp":
        tail.insert(0, "CONNECT_DELAYED")
    assert names(rest) == tail
    connected = rest[-2]
    assert connected.value > 0 and connected.endpoint == ep
    assert rest[-1] == ("HANDSHAKE_SUCCEEDED", 0, ep)
    server = ws.until("HANDSHAKE_SUCCEEDED")
    assert names(server) == ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED"]
    assert all(e.endpoint == ep for e in server)
    assert server[1].value > 0 and server[2].value == 0


def _connected(lib: Lib, transport: str) -> tuple:
    s = lib.socket("PULL")
    ws = Watch(lib, s)
    ep = lib.bind(s, transport)
    c = lib.socket("PUSH", reconnect_ivl=IVL)
    wc = Watch(lib, c)
    c.connect(ep)
    server = ws.until("HANDSHAKE_SUCCEEDED")
    client = wc.until("HANDSHAKE_SUCCEEDED")
    return s, ws, server, c, wc, client, ep


def test_client_goes_away(lib: Lib, stream_transport: str) -> None:
    _s, ws, server, c, wc, _client, ep = _connected(lib, stream_transport)
    accepted = server[-2]
    assert accepted.name == "ACCEPTED"
    c.close()
    assert wc.take(1)[0] == ("MONITOR_STOPPED", 0, "")  # its own close: no DISCONNECTED
    assert wc.quiet() == []
    assert ws.take(1) == [("DISCONNECTED", accepted.value, ep)]


def test_server_goes_away(lib: Lib, stream_transport: str) -> None:
    s, ws, server, c, wc, client, ep = _connected(lib, stream_transport)
    connected = client[-2]
    assert connected.name == "CONNECTED"
    listening = server[0]
    s.close()
    assert ws.take(2) == [("CLOSED", listening.value, ep), ("MONITOR_STOPPED", 0, "")]
    disconnected, retried = wc.take(2)
    assert disconnected == ("DISCONNECTED", connected.value, ep)
    assert retried.name == "CONNECT_RETRIED" and IVL <= retried.value < 2 * IVL
    c.close()
    rest = wc.until("MONITOR_STOPPED")
    assert set(names(rest)) <= {"CONNECT_DELAYED", "CLOSED", "CONNECT_RETRIED", "MONITOR_STOPPED"}


def test_unbind_reports_closed(lib: Lib, stream_transport: str) -> None:
    s = lib.socket("PULL")
    w = Watch(lib, s)
    ep = lib.bind(s, stream_transport)
    (listening,) = w.take(1)
    s.unbind(ep)
    assert w.take(1) == [("CLOSED", listening.value, ep)]


def test_event_filter(lib: Lib, stream_transport: str) -> None:
    s = lib.socket("PULL")
    ws = Watch(lib, s, lib.EVENT_ACCEPTED | lib.EVENT_DISCONNECTED)
    ep = lib.bind(s, stream_transport)
    c = lib.socket("PUSH")
    wc = Watch(lib, c, lib.EVENT_HANDSHAKE_SUCCEEDED | lib.EVENT_MONITOR_STOPPED)
    c.connect(ep)
    assert names(wc.take(1)) == ["HANDSHAKE_SUCCEEDED"]
    assert names(ws.take(1)) == ["ACCEPTED"]
    c.close()
    assert names(wc.take(1)) == ["MONITOR_STOPPED"]
    assert names(ws.take(1)) == ["DISCONNECTED"]
    s.close()  # neither CLOSED nor MONITOR_STOPPED was asked for
    assert ws.quiet() == [] and wc.quiet() == []


def test_disable_monitor(lib: Lib) -> None:
    s = lib.socket("PULL")
    w = Watch(lib, s)
    s.disable_monitor()
    assert w.take(1)[0] == ("MONITOR_STOPPED", 0, "")
    lib.bind(s, "tcp")
    assert w.quiet() == []


def test_monitor_replaced_and_stopped(lib: Lib) -> None:
    s = lib.socket("PULL")
    w = Watch(lib, s)
    s.monitor("inproc://monitor-again", lib.EVENT_ALL)  # a new monitor stops the old one
    assert w.take(1)[0] == ("MONITOR_STOPPED", 0, "")
    second = lib.socket("PAIR")
    second.connect("inproc://monitor-again")
    ep = lib.bind(s, "tcp")
    w2 = Watch(lib, None, pair=second)
    (listening,) = w2.take(1)
    assert listening.name == "LISTENING" and listening.endpoint == ep
    s.monitor(None)
    assert names(w2.take(1)) == ["MONITOR_STOPPED"]
    s.monitor(None)  # not monitored: nothing
    assert w2.quiet() == [] and w.quiet() == []


def test_monitor_endpoint_must_be_inproc(lib: Lib) -> None:
    s = lib.socket("PULL")
    with pytest.raises(lib.mod.ZMQError) as info:
        s.monitor("tcp://127.0.0.1:5555", lib.EVENT_ALL)
    assert info.value.errno == errno.EPROTONOSUPPORT


def test_get_monitor_socket_returns_the_same_socket(lib: Lib) -> None:
    s = lib.socket("PULL")
    m = s.get_monitor_socket()
    lib.sockets.append(m)
    assert s.get_monitor_socket() is m
    ep = lib.bind(s, "tcp")
    assert last_endpoint(s) == ep


def test_inproc_has_no_connection_events(lib: Lib) -> None:
    s = lib.socket("PULL")
    ws = Watch(lib, s)
    ep = lib.bind(s, "inproc")
    c = lib.socket("PUSH")
    wc = Watch(lib, c)
    c.connect(ep)
    c.send(b"x")
    assert s.recv() == b"x"
    c.close()
    s.close()
    assert names(wc.take(1)) == names(ws.take(1)) == ["MONITOR_STOPPED"]
    assert wc.quiet() == [] and ws.quiet() == []
