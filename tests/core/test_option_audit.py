"""The option audit: every option name zlab exports either does what libzmq does or is refused.

For every option and every socket type, ``test_option_matrix`` asks libzmq (pyzmq 27.3 / libzmq 4.3.5)
and zlab whether it can be set and whether it can be read: zlab must answer as libzmq does, or refuse
with EINVAL and a message that says "not implemented" (``zlab.options.NOT_IMPLEMENTED`` and
``NOT_IMPLEMENTED_FOR`` hold the reasons). Setting an option zlab takes is never a silent no-op: the
table says which test shows its effect against libzmq as the reference.

| option | zlab | shown by |
|---|---|---|
| TYPE, RCVMORE, EVENTS, FD, LAST_ENDPOINT, MECHANISM, THREAD_SAFE | read-only, as libzmq | test_options, test_api |
| LINGER, SNDHWM, RCVHWM, HWM, SNDTIMEO, RCVTIMEO | implemented | test_options, test_hwm, test_lifecycle |
| ROUTING_ID (may start with 0x00, as libzmq 4.3.5) | implemented | test_options, test_routing_id_zero_on_the_wire |
| CONNECT_ROUTING_ID (ROUTER; tcp, ipc, inproc) | implemented; REP refused (not a ROUTER in zlab) | test_connect_routing_id |
| RECONNECT_IVL, RECONNECT_IVL_MAX, HANDSHAKE_IVL | implemented | test_reconnect, test_lifecycle |
| CONNECT_TIMEOUT | implemented | test_connect_timeout |
| MAXMSGSIZE, IMMEDIATE, BACKLOG, SNDBUF, RCVBUF | implemented | test_options, hostile tests |
| ROUTER_MANDATORY (write-only, as libzmq) | implemented; REP refused | test_options |
| ROUTER_HANDOVER | implemented (the old peer is dropped, as libzmq); REP refused | test_router_handover |
| PROBE_ROUTER | implemented (REQ, DEALER, ROUTER); REP refused | test_probe_router |
| REQ_CORRELATE, REQ_RELAXED | implemented | test_req_correlate_relaxed |
| CONFLATE | PULL, SUB: implemented; PUSH, PUB, DEALER (sending side) refused; others: ignored, as libzmq ignores them there | test_conflate |
| INVERT_MATCHING | PUB, XPUB, SUB, XSUB implemented; others ignored as in libzmq | test_invert_matching |
| XPUB_VERBOSE, XPUB_VERBOSER, XPUB_NODROP, XPUB_MANUAL, XPUB_WELCOME_MSG | implemented | test_pubsub, test_xpub_* |
| SUBSCRIBE / UNSUBSCRIBE on XPUB (XPUB_MANUAL) | implemented | test_xpub_manual |
| TCP_KEEPALIVE, _CNT, _IDLE, _INTVL, TCP_MAXRT, TOS, BINDTODEVICE | implemented (set on the OS socket) | test_tcp_socket_options |
| IPV6, IPV4ONLY | implemented (the same flag) | test_ipv6_endpoints, test_option_matrix |
| HEARTBEAT_IVL, _TTL, _TIMEOUT | implemented | test_heartbeat_engine, interop heartbeats |
| PLAIN_*, CURVE_*, ZAP_DOMAIN, MECHANISM | implemented | test_security, test_auth |
| ZAP_ENFORCE_DOMAIN | implemented (no handler: the handshake fails) | test_zap_enforce_domain |
| METADATA | implemented (READY properties) | test_metadata |
| AFFINITY, LOOPBACK_FASTPATH | stored and read back; no effect, as in libzmq here (one I/O thread; Windows only) | test_option_matrix |
| RATE, RECOVERY_IVL, MULTICAST_* | refused: no pgm/epgm/norm transports | test_option_matrix |
| SOCKS_*, USE_FD, TCP_ACCEPT_FILTER, IPC_FILTER_*, RECONNECT_STOP | refused: not implemented | test_option_matrix |
| ROUTER_RAW, STREAM_NOTIFY | refused: raw TCP peers are not offered | test_option_matrix |
| XPUB_MANUAL_LAST_VALUE, ONLY_FIRST_SUBSCRIBE, TOPICS_COUNT | refused: not implemented | test_option_matrix |
| HELLO_MSG, DISCONNECT_MSG, HICCUP_MSG, ROUTER_NOTIFY, *_BATCH_SIZE, PRIORITY, BUSY_POLL, XSUB_VERBOSE_UNSUBSCRIBE | refused, as by pyzmq's libzmq build (draft API) | test_option_matrix |
| GSSAPI_*, VMCI_*, NORM_*, WSS_* | refused, as by pyzmq's libzmq build | test_option_matrix |
"""

from __future__ import annotations

from typing import Any

import pytest

zmq = pytest.importorskip("zmq")
import zlab  # noqa: E402
from zlab.options import NOT_IMPLEMENTED, NOT_IMPLEMENTED_FOR  # noqa: E402

pytestmark = pytest.mark.timeout(60)

TYPES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB"]
#: options handled by the facade or pyzmq itself, not by setsockopt's table
FACADE = {"HWM", "FD", "EVENTS", "RCVMORE", "LAST_ENDPOINT"}
#: options whose value libzmq checks on its own terms (the value tried is chosen per option)
BYTES_VALUES = {
    "METADATA": b"X-audit:1",
    "BINDTODEVICE": b"lo",
    "CURVE_PUBLICKEY": b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
    "CURVE_SECRETKEY": b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6",
    "CURVE_SERVERKEY": b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7",
}
OPTION_NAMES = sorted(
    {m.name for m in zlab.SocketOption if m.name not in FACADE} & {m.name for m in zmq.constants.SocketOption}
)


def _value(mod: Any, name: str, current: Any) -> Any:
    if name in BYTES_VALUES:
        return BYTES_VALUES[name]
    if isinstance(current, bytes) or name in (
        "SUBSCRIBE",
        "UNSUBSCRIBE",
        "CONNECT_ROUTING_ID",
        "XPUB_WELCOME_MSG",
        "TCP_ACCEPT_FILTER",
        "HELLO_MSG",
        "DISCONNECT_MSG",
        "HICCUP_MSG",
        "GSSAPI_PRINCIPAL",
        "GSSAPI_SERVICE_PRINCIPAL",
        "WSS_KEY_PEM",
        "WSS_CERT_PEM",
        "WSS_TRUST_PEM",
        "WSS_HOSTNAME",
        "SOCKS_PROXY",
        "SOCKS_USERNAME",
        "SOCKS_PASSWORD",
        "ZAP_DOMAIN",
        "PLAIN_USERNAME",
        "PLAIN_PASSWORD",
        "ROUTING_ID",
    ):
        return b"abc"
    return 1


def _probe(mod: Any, ctx: Any, type_name: str, name: str) -> tuple[str, str, str]:
    """(read, write, message): "r"/"-" and "w"/"-" as the implementation answered, and its refusal text."""
    sock = ctx.socket(getattr(mod, type_name))
    option = getattr(mod, name)
    message = ""
    try:
        try:
            current = sock.getsockopt(option)
            read = "r"
        except mod.ZMQError as exc:
            assert exc.errno == mod.EINVAL, (name, type_name, exc)
            current, read, message = None, "-", str(exc)
        try:
            sock.setsockopt(option, _value(mod, name, current))
            write = "w"
        except mod.ZMQError as exc:
            assert exc.errno == mod.EINVAL, (name, type_name, exc)
            write, message = "-", str(exc)
        return read, write, message
    finally:
        sock.close(0)


@pytest.fixture(scope="module")
def contexts() -> Any:
    zctx, lctx = zmq.Context(), zlab.Context()
    yield zctx, lctx
    zctx.term()
    lctx.term()


@pytest.mark.parametrize("name", OPTION_NAMES)
def test_option_matrix(contexts: Any, name: str) -> None:
    """Per socket type: zlab reads and writes ``name`` exactly where libzmq does, or refuses it with
    EINVAL saying it is not implemented (and why); never accepted and ignored."""
    zctx, lctx = contexts
    option = int(getattr(zlab, name))
    differences = []
    for type_name in TYPES:
        ref_r, ref_w, _ = _probe(zmq, zctx, type_name, name)
        r, w, message = _probe(zlab, lctx, type_name, name)
        refused = option in NOT_IMPLEMENTED or (option, int(getattr(zlab, type_name))) in NOT_IMPLEMENTED_FOR
        if refused:
            assert (r, w) == ("-", "-"), (
                f"{name} on {type_name}: zlab lists it as not implemented, yet takes it"
            )
            assert "not implemented" in message, message
            continue
        if (r, w) != (ref_r, ref_w):
            differences.append(f"{type_name}: libzmq {ref_r}{ref_w}, zlab {r}{w} ({message})")
    assert not differences, f"{name}: " + "; ".join(differences)


def test_not_implemented_message(contexts: Any) -> None:
    _, lctx = contexts
    s = lctx.socket(zlab.PUB)
    try:
        with pytest.raises(zlab.ZMQError) as info:
            s.setsockopt(zlab.RATE, 100)
        assert info.value.errno == zlab.EINVAL
        assert "RATE is not implemented in zlab" in str(info.value)
        with pytest.raises(zlab.ZMQError) as info:
            s.setsockopt(zlab.CONFLATE, 1)
        assert "not implemented in zlab on PUB sockets" in str(info.value)
    finally:
        s.close(0)


def test_every_exported_option_is_known() -> None:
    """Every option name pyzmq exports is a zlab name with libzmq's number (so none falls through)."""
    missing = [m.name for m in zmq.constants.SocketOption if getattr(zlab, m.name, None) != int(m)]
    assert not missing
    assert zlab.IPC_PATH_MAX_LEN == zmq.IPC_PATH_MAX_LEN
