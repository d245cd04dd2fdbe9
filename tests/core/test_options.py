"""Socket options: defaults, get/set round trips, attribute style, validation, and the behaviour of a few."""

from __future__ import annotations

import pytest

from tests.core.support import Lib, last_endpoint

# libzmq 4.3 defaults (validated by the zmq run of this test)
DEFAULTS = {
    "LINGER": -1,
    "SNDHWM": 1000,
    "RCVHWM": 1000,
    "SNDTIMEO": -1,
    "RCVTIMEO": -1,
    "RECONNECT_IVL": 100,
    "RECONNECT_IVL_MAX": 0,
    "MAXMSGSIZE": -1,
    "IMMEDIATE": 0,
    "ROUTING_ID": b"",
    "RCVMORE": 0,
    "LAST_ENDPOINT": b"",
}

ROUND_TRIPS = [
    ("LINGER", [0, 250, -1]),
    ("SNDHWM", [0, 5, 100000]),
    ("RCVHWM", [0, 7]),
    ("SNDTIMEO", [0, 1500, -1]),
    ("RCVTIMEO", [0, 1500, -1]),
    ("RECONNECT_IVL", [10, -1]),
    ("RECONNECT_IVL_MAX", [0, 5000]),
    ("MAXMSGSIZE", [1024, -1]),
    ("IMMEDIATE", [1, 0]),
    ("ROUTING_ID", [b"id", b"x" * 255, bytes([1, 2, 0, 3])]),
]


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_defaults(lib: Lib, name: str) -> None:
    s = lib.socket("DEALER", linger=None, rcvtimeo=None, sndtimeo=None)
    assert s.getsockopt(getattr(lib.mod, name)) == DEFAULTS[name]


@pytest.mark.parametrize("type_name", ["PAIR", "PUSH", "PULL", "REQ", "REP", "DEALER", "ROUTER"])
def test_type(lib: Lib, type_name: str) -> None:
    s = lib.socket(type_name)
    assert s.getsockopt(lib.TYPE) == getattr(lib.mod, type_name)
    assert s.type == getattr(lib.mod, type_name)


def test_type_is_read_only(lib: Lib) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(lib.mod.ZMQError) as info:
        s.setsockopt(lib.TYPE, lib.PUSH)
    assert info.value.errno == lib.EINVAL


@pytest.mark.parametrize(("name", "values"), ROUND_TRIPS, ids=[n for n, _ in ROUND_TRIPS])
def test_set_get_round_trip(lib: Lib, name: str, values: list) -> None:
    s = lib.socket("DEALER")
    opt = getattr(lib.mod, name)
    for v in values:
        s.setsockopt(opt, v)
        assert s.getsockopt(opt) == v
        # attribute style reads the same value
        assert getattr(s, name.lower()) == v


def test_attribute_style(lib: Lib) -> None:
    s = lib.socket("ROUTER")
    s.linger = 0
    s.rcvtimeo = 1234
    s.sndhwm = 42
    s.reconnect_ivl = 20
    assert s.getsockopt(lib.LINGER) == 0
    assert s.rcvtimeo == 1234
    assert s.getsockopt(lib.SNDHWM) == 42
    assert s.reconnect_ivl == 20
    s.router_mandatory = 1  # write-only in libzmq: setting it is what counts
    s.immediate = 1
    assert s.immediate == 1


def test_identity_is_routing_id(lib: Lib) -> None:
    s = lib.socket("DEALER")
    assert lib.IDENTITY == lib.ROUTING_ID
    s.identity = b"who"
    assert s.routing_id == b"who"
    s.setsockopt(lib.ROUTING_ID, b"me")
    assert s.getsockopt(lib.IDENTITY) == b"me"


def test_string_option_helpers(lib: Lib) -> None:
    s = lib.socket("DEALER")
    s.setsockopt_string(lib.ROUTING_ID, "named")
    assert s.getsockopt_string(lib.ROUTING_ID) == "named"
    assert s.getsockopt(lib.ROUTING_ID) == b"named"


def test_unknown_attribute(lib: Lib) -> None:
    s = lib.socket("PAIR")
    with pytest.raises(AttributeError):
        _ = s.no_such_option
    with pytest.raises(AttributeError):
        s.no_such_option = 1


INVALID = [
    ("LINGER", -2),
    ("SNDHWM", -1),
    ("RCVHWM", -1),
    ("SNDTIMEO", -2),
    ("RCVTIMEO", -2),
    ("RECONNECT_IVL", -2),
    ("RECONNECT_IVL_MAX", -1),
    ("IMMEDIATE", 2),
    ("IMMEDIATE", -1),
    ("ROUTER_MANDATORY", -1),
    ("ROUTING_ID", b""),
    ("ROUTING_ID", b"x" * 256),
]


@pytest.mark.parametrize(("name", "value"), INVALID, ids=[f"{n}={v!r:.12}" for n, v in INVALID])
def test_invalid_value_is_einval(lib: Lib, name: str, value: object) -> None:
    s = lib.socket("ROUTER")
    opt = getattr(lib.mod, name)
    before = s.getsockopt(opt) if name != "ROUTER_MANDATORY" else None
    with pytest.raises(lib.mod.ZMQError) as info:
        s.setsockopt(opt, value)
    assert info.value.errno == lib.EINVAL
    if before is not None:
        assert s.getsockopt(opt) == before  # unchanged


def test_wrong_python_type_is_type_error(lib: Lib) -> None:
    s = lib.socket("DEALER")
    with pytest.raises(TypeError):
        s.setsockopt(lib.LINGER, "0")
    with pytest.raises(TypeError):
        s.setsockopt(lib.ROUTING_ID, "text")


def test_router_mandatory_nonzero_is_true(lib: Lib) -> None:
    """libzmq takes any non-negative int as a boolean for ROUTER_MANDATORY."""
    s = lib.socket("ROUTER")
    s.setsockopt(lib.ROUTER_MANDATORY, 2)
    with pytest.raises(lib.mod.ZMQError) as info:
        s.send_multipart([b"nobody", b"x"])
    assert info.value.errno == lib.EHOSTUNREACH


def test_routing_id_starting_with_zero(lib: Lib) -> None:
    """libzmq 4.3.5 takes a routing id whose first octet is 0 (its docs reserve them, it does not
    enforce it), and so does zlab: a program that names itself so works the same on both."""
    s = lib.socket("DEALER")
    s.setsockopt(lib.ROUTING_ID, b"\x00abc")
    assert s.getsockopt(lib.ROUTING_ID) == b"\x00abc"


def test_last_endpoint_is_bytes_with_real_port(lib: Lib) -> None:
    s = lib.socket("PULL")
    s.bind("tcp://127.0.0.1:*")
    ep = s.getsockopt(lib.LAST_ENDPOINT)
    assert isinstance(ep, bytes)
    host, port = ep.decode().rsplit(":", 1)
    assert host == "tcp://127.0.0.1"
    assert 0 < int(port) < 65536
    assert s.last_endpoint == ep


def test_events(lib: Lib, transport: str) -> None:
    pull, push = lib.pair("PULL", "PUSH", transport)
    assert pull.getsockopt(lib.EVENTS) & lib.POLLIN == 0
    assert push.getsockopt(lib.EVENTS) & lib.POLLOUT  # the connect-side pipe exists at once
    assert push.events & lib.POLLIN == 0
    push.send(b"x")
    assert pull.poll(5000, lib.POLLIN)
    assert pull.getsockopt(lib.EVENTS) & lib.POLLIN
    pull.recv()
    assert pull.events & lib.POLLIN == 0


def test_events_req_rep_state(lib: Lib, transport: str) -> None:
    rep, req = lib.pair("REP", "REQ", transport)
    assert req.events == lib.POLLOUT
    req.send(b"q")
    assert req.events & lib.POLLOUT == 0  # must receive first
    assert rep.poll(5000, lib.POLLIN)
    assert rep.events == lib.POLLIN
    rep.recv()
    assert rep.events == lib.POLLOUT
    rep.send(b"a")
    assert req.poll(5000, lib.POLLIN)
    assert req.events == lib.POLLIN


def test_immediate_without_connection_blocks(lib: Lib, stream_transport: str) -> None:
    """IMMEDIATE=1: no queue for a connection that is not up; IMMEDIATE=0 (default) queues at once."""
    nowhere = lib.endpoint(stream_transport).replace("127.0.0.1:*", "127.0.0.1:1")
    eager = lib.socket("PUSH")
    eager.connect(nowhere)
    eager.send(b"queued", lib.NOBLOCK)  # accepted into the connect-side queue
    strict = lib.socket("PUSH", immediate=1)
    strict.connect(nowhere)
    with pytest.raises(lib.mod.Again):
        strict.send(b"x", lib.NOBLOCK)


def test_immediate_sends_once_connected(lib: Lib, transport: str) -> None:
    pull = lib.socket("PULL")
    ep = lib.bind(pull, transport)
    push = lib.socket("PUSH", immediate=1)
    push.connect(ep)
    assert push.poll(5000, lib.POLLOUT) & lib.POLLOUT
    push.send(b"x")
    assert pull.recv() == b"x"


def test_last_endpoint_after_connect(lib: Lib) -> None:
    pull = lib.socket("PULL")
    pull.bind("tcp://127.0.0.1:*")
    ep = last_endpoint(pull)
    push = lib.socket("PUSH")
    push.connect(ep)
    assert last_endpoint(push) == ep


def test_hwm_sets_both(lib: Lib) -> None:
    """pyzmq's HWM: a convenience that sets SNDHWM and RCVHWM together."""
    s = lib.socket("DEALER")
    s.hwm = 7
    assert (s.sndhwm, s.rcvhwm) == (7, 7)
    assert s.hwm == 7
