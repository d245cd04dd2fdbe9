"""A zlab socket monitored while it talks to libzmq peers, in both directions, over tcp and ipc: the events
must be the ones a libzmq socket gives in the same place (the same scenario run with a libzmq socket
monitored, against the same libzmq peer)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.core.support import Lib
from tests.monitor.support import Ev, Watch, names

IVL = 50


@pytest.fixture
def libs(short_ipc_dir: str) -> Iterator[dict[str, Lib]]:
    made = {name: Lib(name, short_ipc_dir) for name in ("zmq", "zlab")}
    try:
        yield made
    finally:
        for lib in made.values():
            lib.teardown()


def _bound_side(mon: Lib, peer: Lib, transport: str) -> list[Ev]:
    """``mon`` binds (monitored), ``peer`` connects, sends, and goes away; then ``mon`` closes."""
    s = mon.socket("PULL")
    w = Watch(mon, s)
    ep = mon.bind(s, transport)
    c = peer.socket("PUSH")
    c.connect(ep)
    c.send(b"hello")
    assert s.recv() == b"hello"
    events = w.until("HANDSHAKE_SUCCEEDED")
    c.close()
    events += w.until("DISCONNECTED")
    s.close()
    events += w.until("MONITOR_STOPPED")
    assert all(e.endpoint == ep for e in events[:-1])
    return events


def _connecting_side(mon: Lib, peer: Lib, transport: str) -> list[Ev]:
    """``peer`` binds, ``mon`` connects (monitored) and sends; ``peer`` goes away; then ``mon`` closes."""
    s = peer.socket("PULL")
    ep = peer.bind(s, transport)
    c = mon.socket("PUSH", reconnect_ivl=IVL)
    w = Watch(mon, c)
    c.connect(ep)
    c.send(b"hello")
    assert s.recv() == b"hello"
    events = w.until("HANDSHAKE_SUCCEEDED")
    s.close()
    events += w.until("CONNECT_RETRIED")
    c.close()
    events += [e for e in w.until("MONITOR_STOPPED") if e.name == "MONITOR_STOPPED"]  # retries elided
    assert all(e.endpoint == ep for e in events[:-1])
    return events


def _shape(events: list[Ev]) -> list[tuple[str, str]]:
    """Names, and what kind of value each has (descriptors and errnos differ from run to run)."""
    out = []
    for e in events:
        kind = (
            "zero" if e.value == 0 else "fd" if e.name in {"LISTENING", "ACCEPTED", "CONNECTED"} else "value"
        )
        out.append((e.name, kind))
    return out


@pytest.mark.parametrize("scenario", [_bound_side, _connecting_side], ids=["zlab-binds", "zlab-connects"])
def test_zlab_monitored_against_libzmq(libs: dict[str, Lib], stream_transport: str, scenario) -> None:
    reference = scenario(libs["zmq"], libs["zmq"], stream_transport)
    got = scenario(libs["zlab"], libs["zmq"], stream_transport)
    assert names(got) == names(reference)
    assert _shape(got) == _shape(reference)
    # descriptors: DISCONNECTED and CLOSED name the connection and listener the earlier events named
    for events in (got, reference):
        fds = {e.name: e.value for e in events}
        if "ACCEPTED" in fds:
            assert fds["DISCONNECTED"] == fds["ACCEPTED"] and fds["CLOSED"] == fds["LISTENING"]
        if "CONNECTED" in fds:
            assert fds["DISCONNECTED"] == fds["CONNECTED"]
