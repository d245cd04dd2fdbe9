"""Socket options: their kinds, defaults and validation.

Owns: ``Options`` (the values one socket carries, read by its routing core and its transports),
``OPTION_SPECS`` (how each option number is validated and converted, on which socket types libzmq
takes it, whether it is write-only there) and ``NOT_IMPLEMENTED`` / ``NOT_IMPLEMENTED_FOR`` (the
options zlab refuses, with the reason the EINVAL message gives). No option is accepted and ignored;
the audit table is in tests/core/test_option_audit.py.

Rules: layer L1, imports only L0 (and the Z85 codec of zlab.zmtp, for CURVE keys). Values are stored
in libzmq's units (milliseconds, messages, bytes); readers convert. A bad value raises
``ZMQError(EINVAL)`` naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zlab.constants import Errno, SecurityMechanism, SocketOption, SocketType
from zlab.errors import ZMQError
from zlab.zmtp import z85

INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """How one option is stored: attribute name, kind ("int", "bool", "bytes"), lower bound, and where
    libzmq takes it: ``types`` (None: every socket type), ``readonly`` / ``writeonly`` (the other
    direction is EINVAL in libzmq too)."""

    attr: str
    kind: str
    minimum: int = 0
    readonly: bool = False
    maxlen: int = 255
    strict: bool = False  # a bool option that takes only 0 or 1 (others take any int >= 0)
    writeonly: bool = False
    types: frozenset[int] | None = None


_T = SocketType
_ROUTERS = frozenset({_T.ROUTER, _T.REP})  # libzmq's REP is a ROUTER underneath
_PROBES = frozenset({_T.REQ, _T.REP, _T.DEALER, _T.ROUTER})
_PUBLISHERS = frozenset({_T.PUB, _T.XPUB})
_CONFLATING = frozenset({_T.PULL, _T.SUB})
_O = SocketOption
OPTION_SPECS: dict[int, OptionSpec] = {
    _O.TYPE: OptionSpec("type", "int", readonly=True),
    _O.THREAD_SAFE: OptionSpec("thread_safe", "bool", readonly=True),
    _O.LINGER: OptionSpec("linger", "int", minimum=-1),
    _O.SNDHWM: OptionSpec("sndhwm", "int"),
    _O.RCVHWM: OptionSpec("rcvhwm", "int"),
    _O.SNDTIMEO: OptionSpec("sndtimeo", "int", minimum=-1),
    _O.RCVTIMEO: OptionSpec("rcvtimeo", "int", minimum=-1),
    _O.ROUTING_ID: OptionSpec("routing_id", "bytes"),
    _O.CONNECT_ROUTING_ID: OptionSpec(
        "connect_routing_id", "bytes", writeonly=True, types=_ROUTERS | {_T.STREAM}
    ),
    _O.RECONNECT_IVL: OptionSpec("reconnect_ivl", "int", minimum=-1),
    _O.RECONNECT_IVL_MAX: OptionSpec("reconnect_ivl_max", "int"),
    _O.MAXMSGSIZE: OptionSpec("maxmsgsize", "int", minimum=-1),
    _O.ROUTER_MANDATORY: OptionSpec("router_mandatory", "bool", writeonly=True, types=_ROUTERS),
    _O.ROUTER_HANDOVER: OptionSpec("router_handover", "bool", writeonly=True, types=_ROUTERS),
    _O.IMMEDIATE: OptionSpec("immediate", "bool", strict=True),
    _O.BACKLOG: OptionSpec("backlog", "int"),
    _O.SNDBUF: OptionSpec("sndbuf", "int", minimum=-1),
    _O.RCVBUF: OptionSpec("rcvbuf", "int", minimum=-1),
    _O.HANDSHAKE_IVL: OptionSpec("handshake_ivl", "int"),
    _O.CONNECT_TIMEOUT: OptionSpec("connect_timeout", "int"),
    _O.TCP_KEEPALIVE: OptionSpec("tcp_keepalive", "int", minimum=-1),
    _O.TCP_KEEPALIVE_CNT: OptionSpec("tcp_keepalive_cnt", "int", minimum=-1),
    _O.TCP_KEEPALIVE_IDLE: OptionSpec("tcp_keepalive_idle", "int", minimum=-1),
    _O.TCP_KEEPALIVE_INTVL: OptionSpec("tcp_keepalive_intvl", "int", minimum=-1),
    _O.TCP_MAXRT: OptionSpec("tcp_maxrt", "int"),
    _O.TOS: OptionSpec("tos", "int"),
    _O.BINDTODEVICE: OptionSpec("bindtodevice", "bytes", maxlen=15),
    _O.IPV6: OptionSpec("ipv6", "bool"),
    _O.IPV4ONLY: OptionSpec("ipv6", "bool"),  # the same flag, inverted (set and get below)
    _O.PROBE_ROUTER: OptionSpec("probe_router", "bool", writeonly=True, types=_PROBES),
    _O.REQ_RELAXED: OptionSpec("req_relaxed", "bool", writeonly=True, types=frozenset({_T.REQ})),
    _O.REQ_CORRELATE: OptionSpec("req_correlate", "bool", writeonly=True, types=frozenset({_T.REQ})),
    _O.CONFLATE: OptionSpec("conflate", "bool"),
    _O.INVERT_MATCHING: OptionSpec("invert_matching", "bool"),
    _O.AFFINITY: OptionSpec("affinity", "int"),
    _O.LOOPBACK_FASTPATH: OptionSpec("loopback_fastpath", "bool"),
    _O.HEARTBEAT_IVL: OptionSpec("heartbeat_ivl", "int"),
    _O.HEARTBEAT_TTL: OptionSpec("heartbeat_ttl", "int"),
    _O.HEARTBEAT_TIMEOUT: OptionSpec("heartbeat_timeout", "int", minimum=-1),
    _O.MECHANISM: OptionSpec("mechanism", "int", readonly=True),
    _O.XPUB_VERBOSE: OptionSpec("xpub_verbose", "bool", writeonly=True, types=_PUBLISHERS),
    _O.XPUB_VERBOSER: OptionSpec("xpub_verboser", "bool", writeonly=True, types=_PUBLISHERS),
    _O.XPUB_NODROP: OptionSpec("xpub_nodrop", "bool", writeonly=True, types=_PUBLISHERS),
    _O.XPUB_MANUAL: OptionSpec("xpub_manual", "bool", writeonly=True, types=_PUBLISHERS),
    _O.XPUB_WELCOME_MSG: OptionSpec("xpub_welcome_msg", "bytes", writeonly=True, types=_PUBLISHERS),
    _O.METADATA: OptionSpec("metadata", "bytes", writeonly=True),
    _O.PLAIN_SERVER: OptionSpec("plain_server", "bool"),
    _O.PLAIN_USERNAME: OptionSpec("plain_username", "bytes"),
    _O.PLAIN_PASSWORD: OptionSpec("plain_password", "bytes"),
    _O.ZAP_DOMAIN: OptionSpec("zap_domain", "bytes"),
    _O.ZAP_ENFORCE_DOMAIN: OptionSpec("zap_enforce_domain", "bool"),
    _O.CURVE_SERVER: OptionSpec("curve_server", "bool", strict=True),
    _O.CURVE_PUBLICKEY: OptionSpec("curve_publickey", "bytes", maxlen=41),
    _O.CURVE_SECRETKEY: OptionSpec("curve_secretkey", "bytes", maxlen=41),
    _O.CURVE_SERVERKEY: OptionSpec("curve_serverkey", "bytes", maxlen=41),
}

_MULTICAST = "the multicast transports (pgm, epgm, norm) are not offered"
_NOT_IN_BUILD = "not in pyzmq's libzmq 4.3.5 build either (draft API)"
#: options zlab refuses (EINVAL), and why. libzmq takes most of them; the ones it refuses too are said so.
NOT_IMPLEMENTED: dict[int, str] = {
    _O.RATE: _MULTICAST,
    _O.RECOVERY_IVL: _MULTICAST,
    _O.MULTICAST_HOPS: _MULTICAST,
    _O.MULTICAST_MAXTPDU: _MULTICAST,
    _O.MULTICAST_LOOP: _MULTICAST,
    _O.SOCKS_PROXY: "SOCKS proxies are not offered",
    _O.SOCKS_USERNAME: "SOCKS proxies are not offered",
    _O.SOCKS_PASSWORD: "SOCKS proxies are not offered",
    _O.USE_FD: "adopting a listening file descriptor is not offered",
    _O.TCP_ACCEPT_FILTER: "deprecated in libzmq; filter with ZAP instead",
    _O.IPC_FILTER_PID: "deprecated in libzmq; filter with ZAP instead",
    _O.IPC_FILTER_UID: "deprecated in libzmq; filter with ZAP instead",
    _O.IPC_FILTER_GID: "deprecated in libzmq; filter with ZAP instead",
    _O.RECONNECT_STOP: "reconnects always go on while RECONNECT_IVL >= 0",
    _O.ROUTER_RAW: "raw TCP peers on a ROUTER are not offered",
    _O.STREAM_NOTIFY: "STREAM sockets are not offered",
    _O.XPUB_MANUAL_LAST_VALUE: "not offered; XPUB_MANUAL is",
    _O.ONLY_FIRST_SUBSCRIBE: "not offered",
    _O.TOPICS_COUNT: "not offered",
    _O.GSSAPI_SERVER: "GSSAPI is not offered (nor in pyzmq's libzmq build)",
    _O.GSSAPI_PRINCIPAL: "GSSAPI is not offered (nor in pyzmq's libzmq build)",
    _O.GSSAPI_SERVICE_PRINCIPAL: "GSSAPI is not offered (nor in pyzmq's libzmq build)",
    _O.GSSAPI_PLAINTEXT: "GSSAPI is not offered (nor in pyzmq's libzmq build)",
    _O.GSSAPI_PRINCIPAL_NAMETYPE: "GSSAPI is not offered (nor in pyzmq's libzmq build)",
    _O.GSSAPI_SERVICE_PRINCIPAL_NAMETYPE: "GSSAPI is not offered (nor in pyzmq's libzmq build)",
    _O.VMCI_BUFFER_SIZE: "VMCI is not offered (nor in pyzmq's libzmq build)",
    _O.VMCI_BUFFER_MIN_SIZE: "VMCI is not offered (nor in pyzmq's libzmq build)",
    _O.VMCI_BUFFER_MAX_SIZE: "VMCI is not offered (nor in pyzmq's libzmq build)",
    _O.VMCI_CONNECT_TIMEOUT: "VMCI is not offered (nor in pyzmq's libzmq build)",
    _O.HELLO_MSG: _NOT_IN_BUILD,
    _O.DISCONNECT_MSG: _NOT_IN_BUILD,
    _O.HICCUP_MSG: _NOT_IN_BUILD,
    _O.ROUTER_NOTIFY: _NOT_IN_BUILD,
    _O.IN_BATCH_SIZE: _NOT_IN_BUILD,
    _O.OUT_BATCH_SIZE: _NOT_IN_BUILD,
    _O.PRIORITY: _NOT_IN_BUILD,
    _O.BUSY_POLL: _NOT_IN_BUILD,
    _O.XSUB_VERBOSE_UNSUBSCRIBE: _NOT_IN_BUILD,
    _O.WSS_KEY_PEM: "WebSocket transports are not offered (nor in pyzmq's libzmq build)",
    _O.WSS_CERT_PEM: "WebSocket transports are not offered (nor in pyzmq's libzmq build)",
    _O.WSS_TRUST_PEM: "WebSocket transports are not offered (nor in pyzmq's libzmq build)",
    _O.WSS_HOSTNAME: "WebSocket transports are not offered (nor in pyzmq's libzmq build)",
    _O.WSS_TRUST_SYSTEM: "WebSocket transports are not offered (nor in pyzmq's libzmq build)",
    **{
        getattr(_O, n): "NORM is not offered (nor in pyzmq's libzmq build)"
        for n in _O.__members__
        if n.startswith("NORM_")
    },
}
#: options zlab refuses on some socket types only (libzmq takes them there), and why
NOT_IMPLEMENTED_FOR: dict[tuple[int, int], str] = {
    **{
        (opt, _T.REP): "zlab's REP is not a ROUTER underneath as libzmq's is"
        for opt in (_O.ROUTER_MANDATORY, _O.ROUTER_HANDOVER, _O.PROBE_ROUTER, _O.CONNECT_ROUTING_ID)
    },
    **{
        (_O.CONFLATE, t): "conflation on the sending side is not offered; PULL and SUB conflate"
        for t in (_T.PUSH, _T.PUB, _T.DEALER)
    },
}

#: bytes options libzmq refuses empty (EINVAL)
_NOT_EMPTY = frozenset({"plain_username", "plain_password", "zap_domain"})
#: routing ids: 1-255 octets
_IDS = frozenset({"routing_id", "connect_routing_id"})

_M = SecurityMechanism
#: security options and what setting them does to MECHANISM and the server role, as in libzmq:
#: (mechanism, as_server: True/False, or None = the option's own value)
_SECURITY: dict[int, tuple[int, bool | None]] = {
    _O.PLAIN_SERVER: (_M.PLAIN, None),
    _O.PLAIN_USERNAME: (_M.PLAIN, False),
    _O.PLAIN_PASSWORD: (_M.PLAIN, False),
    _O.CURVE_SERVER: (_M.CURVE, None),
    _O.CURVE_PUBLICKEY: (_M.CURVE, None),
    _O.CURVE_SECRETKEY: (_M.CURVE, None),
    _O.CURVE_SERVERKEY: (_M.CURVE, False),
}
_CURVE_KEYS = ("curve_publickey", "curve_secretkey", "curve_serverkey")


def _curve_key(data: bytes) -> bytes | None:
    """A CURVE key option's value as 32 raw octets (None if it is not a key), as libzmq takes it:
    32 octets as they are, 40 Z85 characters, or 41 (the Z85 text and its terminating NUL)."""
    if len(data) == 32:
        return data
    if len(data) == 41 and data[40] == 0:
        data = data[:40]
    if len(data) != 40:
        return None
    try:
        return z85.decode(data)
    except ValueError:
        return None


@dataclass(slots=True)
class Options:
    """The option values of one socket (libzmq defaults)."""

    type: int
    linger: int = -1
    sndhwm: int = 1000
    rcvhwm: int = 1000
    sndtimeo: int = -1
    rcvtimeo: int = -1
    routing_id: bytes = b""
    connect_routing_id: bytes = b""
    reconnect_ivl: int = 100
    reconnect_ivl_max: int = 0
    maxmsgsize: int = -1
    router_mandatory: bool = False
    router_handover: bool = False
    immediate: bool = False
    backlog: int = 100
    sndbuf: int = -1
    rcvbuf: int = -1
    handshake_ivl: int = 30000
    connect_timeout: int = 0
    tcp_keepalive: int = -1
    tcp_keepalive_cnt: int = -1
    tcp_keepalive_idle: int = -1
    tcp_keepalive_intvl: int = -1
    tcp_maxrt: int = 0
    tos: int = 0
    bindtodevice: bytes = b""
    ipv6: bool = False
    probe_router: bool = False
    req_relaxed: bool = False
    req_correlate: bool = False
    conflate: bool = False
    invert_matching: bool = False
    affinity: int = 0
    loopback_fastpath: bool = False
    thread_safe: bool = False
    heartbeat_ivl: int = 0
    heartbeat_ttl: int = 0
    heartbeat_timeout: int = -1
    mechanism: int = 0
    xpub_verbose: bool = False
    xpub_nodrop: bool = False
    #: XPUB_VERBOSER: unsubscribes are passed on every time too (XPUB_VERBOSE passes subscribes)
    xpub_verboser: bool = False
    xpub_manual: bool = False
    xpub_welcome_msg: bytes = b""
    #: METADATA: properties this socket adds to its READY ("X-..." names), in the order set
    metadata: dict[str, bytes] = field(default_factory=dict)
    zap_enforce_domain: bool = False
    #: the security mechanism's server role (PLAIN_SERVER or CURVE_SERVER, whichever was set last)
    as_server: bool = False
    plain_server: bool = False
    plain_username: bytes = b""
    plain_password: bytes = b""
    zap_domain: bytes = b""
    curve_server: bool = False
    #: CURVE keys as 32 raw octets (b"": not set); they cannot be read back, as in pyzmq
    curve_publickey: bytes = b""
    curve_secretkey: bytes = b""
    curve_serverkey: bytes = b""

    def set(self, option: int, value: object) -> None:
        """Validate and store ``value`` for ``option``; EINVAL on a bad value or unknown option."""
        spec = self._spec(option)
        if spec.readonly:
            raise ZMQError(Errno.EINVAL, f"option {_name(option)} is read-only")
        if spec.kind == "bytes":
            if isinstance(value, str):
                raise TypeError(f"{_name(option)} takes bytes, not str")
            try:
                data = bytes(value)  # type: ignore[call-overload]
            except TypeError:
                raise TypeError(f"{_name(option)} takes bytes, not {type(value).__name__}") from None
            if option == _O.METADATA:
                self._metadata(data)
                return
            if not data and spec.attr in _NOT_EMPTY:
                raise ZMQError(Errno.EINVAL, f"invalid {_name(option)}: 1-255 octets")
            # a routing id may start with 0x00: libzmq 4.3.5 takes it (as an option and on the wire)
            if len(data) > spec.maxlen or (not data and spec.attr in _IDS):
                low = 1 if spec.attr in _IDS else 0
                raise ZMQError(Errno.EINVAL, f"invalid {_name(option)}: {low}-{spec.maxlen} octets")
            if spec.attr in _CURVE_KEYS:
                key = _curve_key(data)
                if key is None:
                    raise ZMQError(Errno.EINVAL, f"invalid {_name(option)}: 32 octets or 40 Z85 characters")
                data = key
            setattr(self, spec.attr, data)
            if option in _SECURITY:
                self._security(option, True)
            return
        if not isinstance(value, int) or (isinstance(value, bool) and spec.kind != "bool"):
            raise TypeError(f"{_name(option)} takes an int, not {type(value).__name__}")
        ivalue = int(value)
        if ivalue < spec.minimum or ivalue > INT_MAX:
            raise ZMQError(Errno.EINVAL, f"invalid value {value!r} for {_name(option)}")
        if spec.kind == "bool":
            if spec.strict and ivalue not in (0, 1):
                raise ZMQError(Errno.EINVAL, f"invalid value {value!r} for {_name(option)}: 0 or 1")
            flag = bool(ivalue)
            if option == _O.IPV4ONLY:
                flag = not flag
            elif option in (_O.XPUB_VERBOSE, _O.XPUB_VERBOSER):  # as libzmq: VERBOSE clears VERBOSER
                self.xpub_verbose, self.xpub_verboser = flag, flag and option == _O.XPUB_VERBOSER
                return
            setattr(self, spec.attr, flag)
            if option in _SECURITY:
                self._security(option, bool(ivalue))
        elif option == _O.HEARTBEAT_TTL:
            setattr(self, spec.attr, _heartbeat_ttl(ivalue))
        else:
            setattr(self, spec.attr, ivalue)

    def _security(self, option: int, value: bool) -> None:
        """Setting a PLAIN/CURVE option selects that mechanism (and maybe the role), as in libzmq;
        PLAIN_SERVER or CURVE_SERVER set to 0 selects NULL again."""
        mechanism, as_server = _SECURITY[option]
        if option in (_O.PLAIN_SERVER, _O.CURVE_SERVER) and not value:
            mechanism = _M.NULL
        self.mechanism = int(mechanism)
        if as_server is None and option in (_O.PLAIN_SERVER, _O.CURVE_SERVER):
            as_server = value
        if as_server is not None:
            self.as_server = as_server
        self.plain_server = self.as_server and mechanism == _M.PLAIN
        self.curve_server = self.as_server and mechanism == _M.CURVE

    def get(self, option: int) -> int | bytes:
        """The stored value of ``option`` (bools as 0/1, like libzmq)."""
        spec = self._spec(option)
        if spec.writeonly or spec.attr in _CURVE_KEYS:  # pyzmq cannot read CURVE keys back either
            raise ZMQError(Errno.EINVAL, f"option {_name(option)} is write-only (as in libzmq)")
        value = getattr(self, spec.attr)
        if option == _O.IPV4ONLY:
            return int(not value)
        return int(value) if isinstance(value, bool) else value

    @property
    def conflating(self) -> bool:
        """Whether this socket's inbound pipes keep only the newest message (CONFLATE on PULL, SUB)."""
        return self.conflate and self.type in _CONFLATING

    def _spec(self, option: int) -> OptionSpec:
        """The spec of ``option`` on this socket type; EINVAL (saying why) if zlab or libzmq refuses it."""
        spec = OPTION_SPECS.get(option)
        if spec is not None and spec.types is not None and self.type not in spec.types:
            raise ZMQError(
                Errno.EINVAL, f"option {_name(option)} does not apply to {_type_name(self.type)} sockets"
            )
        reason = (
            NOT_IMPLEMENTED_FOR.get((option, self.type)) if spec is not None else NOT_IMPLEMENTED.get(option)
        )
        if reason is not None:
            where = f" on {_type_name(self.type)} sockets" if spec is not None else ""
            raise ZMQError(
                Errno.EINVAL, f"option {_name(option)} is not implemented in zlab{where}: {reason}"
            )
        if spec is None:
            raise ZMQError(Errno.EINVAL, f"unknown socket option {_name(option)}")
        return spec

    def _metadata(self, data: bytes) -> None:
        """METADATA "X-Name:value", as libzmq takes it: a name with the X- prefix, added to the READY."""
        name, sep, value = data.partition(b":")
        text = name.decode("ascii", "replace")
        if not sep or not text.lower().startswith("x-") or len(text) < 3 or not value:
            raise ZMQError(Errno.EINVAL, f"invalid METADATA {data!r}: expected b'X-Name:value'")
        self.metadata[text] = value

    @staticmethod
    def seconds(ms: int) -> float | None:
        """Milliseconds (-1 = forever) as a timeout in seconds (None = forever)."""
        return None if ms < 0 else ms / 1000.0


def _name(option: int) -> str:
    try:
        return SocketOption(option).name
    except ValueError:
        return str(option)


def _type_name(socket_type: int) -> str:
    try:
        return SocketType(socket_type).name
    except ValueError:
        return str(socket_type)


def _heartbeat_ttl(ms: int) -> int:
    """HEARTBEAT_TTL as libzmq keeps it: whole deciseconds (read back rounded down), at most 6553.5 s."""
    if ms // 100 > 0xFFFF:
        raise ZMQError(Errno.EINVAL, f"invalid value {ms!r} for HEARTBEAT_TTL: at most 6553599 ms")
    return ms // 100 * 100
