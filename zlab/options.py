"""Socket options: their kinds, defaults and validation.

Owns: ``Options`` (the values one socket carries, read by its routing core and its transports)
and ``OPTION_SPECS`` (how each option number is validated and converted).

Rules: layer L1, imports only L0 (and the Z85 codec of zlab.zmtp, for CURVE keys). Values are stored
in libzmq's units (milliseconds, messages, bytes); readers convert. A bad value raises
``ZMQError(EINVAL)`` naming the option.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from zlab.constants import Errno, SecurityMechanism, SocketOption
from zlab.errors import ZMQError
from zlab.zmtp import z85

INT_MAX = 2**31 - 1


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """How one option is stored: attribute name, kind ("int", "bool", "bytes") and lower bound."""

    attr: str
    kind: str
    minimum: int = 0
    readonly: bool = False
    maxlen: int = 255
    strict: bool = False  # a bool option that takes only 0 or 1 (others take any int >= 0)


_O = SocketOption
OPTION_SPECS: dict[int, OptionSpec] = {
    _O.TYPE: OptionSpec("type", "int", readonly=True),
    _O.LINGER: OptionSpec("linger", "int", minimum=-1),
    _O.SNDHWM: OptionSpec("sndhwm", "int"),
    _O.RCVHWM: OptionSpec("rcvhwm", "int"),
    _O.SNDTIMEO: OptionSpec("sndtimeo", "int", minimum=-1),
    _O.RCVTIMEO: OptionSpec("rcvtimeo", "int", minimum=-1),
    _O.ROUTING_ID: OptionSpec("routing_id", "bytes"),
    _O.CONNECT_ROUTING_ID: OptionSpec("connect_routing_id", "bytes"),
    _O.RECONNECT_IVL: OptionSpec("reconnect_ivl", "int", minimum=-1),
    _O.RECONNECT_IVL_MAX: OptionSpec("reconnect_ivl_max", "int"),
    _O.MAXMSGSIZE: OptionSpec("maxmsgsize", "int", minimum=-1),
    _O.ROUTER_MANDATORY: OptionSpec("router_mandatory", "bool"),
    _O.ROUTER_HANDOVER: OptionSpec("router_handover", "bool"),
    _O.IMMEDIATE: OptionSpec("immediate", "bool", strict=True),
    _O.BACKLOG: OptionSpec("backlog", "int"),
    _O.SNDBUF: OptionSpec("sndbuf", "int", minimum=-1),
    _O.RCVBUF: OptionSpec("rcvbuf", "int", minimum=-1),
    _O.HANDSHAKE_IVL: OptionSpec("handshake_ivl", "int"),
    _O.CONNECT_TIMEOUT: OptionSpec("connect_timeout", "int"),
    _O.TCP_KEEPALIVE: OptionSpec("tcp_keepalive", "int", minimum=-1),
    _O.IPV6: OptionSpec("ipv6", "bool"),
    _O.PROBE_ROUTER: OptionSpec("probe_router", "bool"),
    _O.REQ_RELAXED: OptionSpec("req_relaxed", "bool"),
    _O.REQ_CORRELATE: OptionSpec("req_correlate", "bool"),
    _O.AFFINITY: OptionSpec("affinity", "int"),
    _O.HEARTBEAT_IVL: OptionSpec("heartbeat_ivl", "int"),
    _O.HEARTBEAT_TTL: OptionSpec("heartbeat_ttl", "int"),
    _O.HEARTBEAT_TIMEOUT: OptionSpec("heartbeat_timeout", "int", minimum=-1),
    _O.MECHANISM: OptionSpec("mechanism", "int", readonly=True),
    _O.XPUB_VERBOSE: OptionSpec("xpub_verbose", "bool"),
    _O.XPUB_NODROP: OptionSpec("xpub_nodrop", "bool"),
    _O.PLAIN_SERVER: OptionSpec("plain_server", "bool"),
    _O.PLAIN_USERNAME: OptionSpec("plain_username", "bytes"),
    _O.PLAIN_PASSWORD: OptionSpec("plain_password", "bytes"),
    _O.ZAP_DOMAIN: OptionSpec("zap_domain", "bytes"),
    _O.CURVE_SERVER: OptionSpec("curve_server", "bool", strict=True),
    _O.CURVE_PUBLICKEY: OptionSpec("curve_publickey", "bytes", maxlen=41),
    _O.CURVE_SECRETKEY: OptionSpec("curve_secretkey", "bytes", maxlen=41),
    _O.CURVE_SERVERKEY: OptionSpec("curve_serverkey", "bytes", maxlen=41),
    _O.STREAM_NOTIFY: OptionSpec("stream_notify", "bool", strict=True),
}

#: bytes options libzmq refuses empty (EINVAL)
_NOT_EMPTY = frozenset({"plain_username", "plain_password", "zap_domain"})

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
#: options libzmq lets a program set but not read (EINVAL)
_WRITE_ONLY = frozenset({*_CURVE_KEYS, "stream_notify"})


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
    ipv6: bool = False
    probe_router: bool = False
    req_relaxed: bool = False
    req_correlate: bool = False
    affinity: int = 0
    heartbeat_ivl: int = 0
    heartbeat_ttl: int = 0
    heartbeat_timeout: int = -1
    mechanism: int = 0
    xpub_verbose: bool = False
    xpub_nodrop: bool = False
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
    #: STREAM: an empty message from each peer when it connects and when it goes (write-only, as libzmq)
    stream_notify: bool = True
    extra: dict[int, object] = field(default_factory=dict)

    def set(self, option: int, value: object) -> None:
        """Validate and store ``value`` for ``option``; EINVAL on a bad value or unknown option."""
        spec = OPTION_SPECS.get(option)
        if spec is None or spec.readonly:
            raise ZMQError(Errno.EINVAL, f"option {_name(option)} cannot be set on this socket")
        if spec.kind == "bytes":
            if isinstance(value, str):
                raise TypeError(f"{_name(option)} takes bytes, not str")
            try:
                data = bytes(value)  # type: ignore[arg-type]
            except TypeError:
                raise TypeError(f"{_name(option)} takes bytes, not {type(value).__name__}") from None
            if not data and spec.attr in _NOT_EMPTY:
                raise ZMQError(Errno.EINVAL, f"invalid {_name(option)}: 1-255 octets")
            if len(data) > spec.maxlen or (spec.attr == "routing_id" and (not data or data[:1] == b"\x00")):
                raise ZMQError(Errno.EINVAL, f"invalid {_name(option)}: 1-255 octets, not starting with 0")
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
            setattr(self, spec.attr, bool(ivalue))
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
        spec = OPTION_SPECS.get(option)
        if spec is None or spec.attr in _WRITE_ONLY:  # pyzmq cannot read CURVE keys back either
            raise ZMQError(Errno.EINVAL, f"option {_name(option)} cannot be read on this socket")
        value = getattr(self, spec.attr)
        return int(value) if isinstance(value, bool) else value

    @staticmethod
    def seconds(ms: int) -> float | None:
        """Milliseconds (-1 = forever) as a timeout in seconds (None = forever)."""
        return None if ms < 0 else ms / 1000.0


def _name(option: int) -> str:
    try:
        return SocketOption(option).name
    except ValueError:
        return str(option)


def _heartbeat_ttl(ms: int) -> int:
    """HEARTBEAT_TTL as libzmq keeps it: whole deciseconds (read back rounded down), at most 6553.5 s."""
    if ms // 100 > 0xFFFF:
        raise ZMQError(Errno.EINVAL, f"invalid value {ms!r} for HEARTBEAT_TTL: at most 6553599 ms")
    return ms // 100 * 100
