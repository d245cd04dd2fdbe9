"""Constants with pyzmq's names and libzmq's numeric values.

Owns: socket types, send/recv flags, poll events, socket options, monitor events,
security mechanisms and the errno values zlab raises. Layer L0: imports nothing from zlab.
Values match libzmq so that options and errors read the same in zlab and pyzmq code.
"""

from __future__ import annotations

import errno as _errno
from enum import IntEnum


class SocketType(IntEnum):
    """Socket types (``zlab.PUSH`` ...)."""

    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11


class Flag(IntEnum):
    """Send and receive flags."""

    DONTWAIT = 1
    NOBLOCK = 1
    SNDMORE = 2


class PollEvent(IntEnum):
    """Poll event bits, as returned by ``EVENTS`` and ``Poller.poll``."""

    POLLIN = 1
    POLLOUT = 2
    POLLERR = 4
    POLLPRI = 8


class SocketOption(IntEnum):
    """Socket option numbers (``setsockopt`` / ``getsockopt``), every name pyzmq knows. Which ones zlab
    implements, and why the others are refused, is in ``zlab.options`` (``NOT_IMPLEMENTED``)."""

    HWM = 1  # sets SNDHWM and RCVHWM together (pyzmq)
    AFFINITY = 4
    ROUTING_ID = 5
    IDENTITY = 5
    SUBSCRIBE = 6
    UNSUBSCRIBE = 7
    RATE = 8
    RECOVERY_IVL = 9
    SNDBUF = 11
    RCVBUF = 12
    RCVMORE = 13
    FD = 14
    EVENTS = 15
    TYPE = 16
    LINGER = 17
    RECONNECT_IVL = 18
    BACKLOG = 19
    RECONNECT_IVL_MAX = 21
    MAXMSGSIZE = 22
    SNDHWM = 23
    RCVHWM = 24
    MULTICAST_HOPS = 25
    RCVTIMEO = 27
    SNDTIMEO = 28
    IPV4ONLY = 31
    LAST_ENDPOINT = 32
    ROUTER_MANDATORY = 33
    FAIL_UNROUTABLE = 33
    ROUTER_BEHAVIOR = 33
    TCP_KEEPALIVE = 34
    TCP_KEEPALIVE_CNT = 35
    TCP_KEEPALIVE_IDLE = 36
    TCP_KEEPALIVE_INTVL = 37
    TCP_ACCEPT_FILTER = 38
    IMMEDIATE = 39
    DELAY_ATTACH_ON_CONNECT = 39
    XPUB_VERBOSE = 40
    ROUTER_RAW = 41
    IPV6 = 42
    MECHANISM = 43
    PLAIN_SERVER = 44
    PLAIN_USERNAME = 45
    PLAIN_PASSWORD = 46
    CURVE_SERVER = 47
    CURVE_PUBLICKEY = 48
    CURVE_SECRETKEY = 49
    CURVE_SERVERKEY = 50
    PROBE_ROUTER = 51
    REQ_CORRELATE = 52
    REQ_RELAXED = 53
    CONFLATE = 54
    ZAP_DOMAIN = 55
    ROUTER_HANDOVER = 56
    TOS = 57
    IPC_FILTER_PID = 58
    IPC_FILTER_UID = 59
    IPC_FILTER_GID = 60
    CONNECT_ROUTING_ID = 61
    CONNECT_RID = 61
    GSSAPI_SERVER = 62
    GSSAPI_PRINCIPAL = 63
    GSSAPI_SERVICE_PRINCIPAL = 64
    GSSAPI_PLAINTEXT = 65
    HANDSHAKE_IVL = 66
    SOCKS_PROXY = 68
    XPUB_NODROP = 69
    BLOCKY = 70
    XPUB_MANUAL = 71
    XPUB_WELCOME_MSG = 72
    STREAM_NOTIFY = 73
    INVERT_MATCHING = 74
    HEARTBEAT_IVL = 75
    HEARTBEAT_TTL = 76
    HEARTBEAT_TIMEOUT = 77
    XPUB_VERBOSER = 78
    CONNECT_TIMEOUT = 79
    TCP_MAXRT = 80
    THREAD_SAFE = 81
    MULTICAST_MAXTPDU = 84
    VMCI_BUFFER_SIZE = 85
    VMCI_BUFFER_MIN_SIZE = 86
    VMCI_BUFFER_MAX_SIZE = 87
    VMCI_CONNECT_TIMEOUT = 88
    USE_FD = 89
    GSSAPI_PRINCIPAL_NAMETYPE = 90
    GSSAPI_SERVICE_PRINCIPAL_NAMETYPE = 91
    BINDTODEVICE = 92
    ZAP_ENFORCE_DOMAIN = 93
    LOOPBACK_FASTPATH = 94
    METADATA = 95
    MULTICAST_LOOP = 96
    ROUTER_NOTIFY = 97
    XPUB_MANUAL_LAST_VALUE = 98
    SOCKS_USERNAME = 99
    SOCKS_PASSWORD = 100
    IN_BATCH_SIZE = 101
    OUT_BATCH_SIZE = 102
    WSS_KEY_PEM = 103
    WSS_CERT_PEM = 104
    WSS_TRUST_PEM = 105
    WSS_HOSTNAME = 106
    WSS_TRUST_SYSTEM = 107
    ONLY_FIRST_SUBSCRIBE = 108
    RECONNECT_STOP = 109
    HELLO_MSG = 110
    DISCONNECT_MSG = 111
    PRIORITY = 112
    BUSY_POLL = 113
    HICCUP_MSG = 114
    XSUB_VERBOSE_UNSUBSCRIBE = 115
    TOPICS_COUNT = 116
    NORM_MODE = 117
    NORM_UNICAST_NACK = 118
    NORM_BUFFER_SIZE = 119
    NORM_SEGMENT_SIZE = 120
    NORM_BLOCK_SIZE = 121
    NORM_NUM_PARITY = 122
    NORM_NUM_AUTOPARITY = 123
    NORM_PUSH = 124


class MessageOption(IntEnum):
    """Frame properties (``Frame.get``)."""

    MORE = 1
    SRCFD = 2
    SHARED = 3


class Event(IntEnum):
    """Socket monitor events (libzmq's bit values)."""

    CONNECTED = 1
    CONNECT_DELAYED = 2
    CONNECT_RETRIED = 4
    LISTENING = 8
    BIND_FAILED = 16
    ACCEPTED = 32
    ACCEPT_FAILED = 64
    CLOSED = 128
    CLOSE_FAILED = 256
    DISCONNECTED = 512
    MONITOR_STOPPED = 1024
    HANDSHAKE_FAILED_NO_DETAIL = 2048
    HANDSHAKE_SUCCEEDED = 4096
    HANDSHAKE_FAILED_PROTOCOL = 8192
    HANDSHAKE_FAILED_AUTH = 16384
    ALL = 0xFFFF


class ProtocolErrorCode(IntEnum):
    """Why a handshake failed: the value of a HANDSHAKE_FAILED_PROTOCOL event (libzmq's
    ``ZMQ_PROTOCOL_ERROR_*``; exported as ``zlab.PROTOCOL_ERROR_ZMTP_UNSPECIFIED`` ...)."""

    ZMTP_UNSPECIFIED = 0x10000000
    ZMTP_UNEXPECTED_COMMAND = 0x10000001
    ZMTP_INVALID_SEQUENCE = 0x10000002
    ZMTP_KEY_EXCHANGE = 0x10000003
    ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011
    ZMTP_MALFORMED_COMMAND_MESSAGE = 0x10000012
    ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013
    ZMTP_MALFORMED_COMMAND_INITIATE = 0x10000014
    ZMTP_MALFORMED_COMMAND_ERROR = 0x10000015
    ZMTP_MALFORMED_COMMAND_READY = 0x10000016
    ZMTP_MALFORMED_COMMAND_WELCOME = 0x10000017
    ZMTP_INVALID_METADATA = 0x10000018
    ZMTP_CRYPTOGRAPHIC = 0x11000001
    ZMTP_MECHANISM_MISMATCH = 0x11000002
    ZAP_UNSPECIFIED = 0x20000000
    ZAP_MALFORMED_REPLY = 0x20000001
    ZAP_BAD_REQUEST_ID = 0x20000002
    ZAP_BAD_VERSION = 0x20000003
    ZAP_INVALID_STATUS_CODE = 0x20000004
    ZAP_INVALID_METADATA = 0x20000005
    WS_UNSPECIFIED = 0x30000000


class SecurityMechanism(IntEnum):
    """Values of the ``MECHANISM`` option."""

    NULL = 0
    PLAIN = 1
    CURVE = 2


class ContextOption(IntEnum):
    """Context options."""

    IO_THREADS = 1
    MAX_SOCKETS = 2
    SOCKET_LIMIT = 3


ZMQ_HAUSNUMERO = 156384712


class Errno(IntEnum):
    """Error numbers: the OS's where libzmq uses them, libzmq's own above HAUSNUMERO."""

    EAGAIN = _errno.EAGAIN
    EFAULT = _errno.EFAULT
    EINVAL = _errno.EINVAL
    ENOTSUP = _errno.ENOTSUP
    EPROTONOSUPPORT = _errno.EPROTONOSUPPORT
    ENOBUFS = _errno.ENOBUFS
    EADDRINUSE = _errno.EADDRINUSE
    EADDRNOTAVAIL = _errno.EADDRNOTAVAIL
    ECONNREFUSED = _errno.ECONNREFUSED
    ENOTSOCK = _errno.ENOTSOCK
    EMSGSIZE = _errno.EMSGSIZE
    EAFNOSUPPORT = _errno.EAFNOSUPPORT
    ENETUNREACH = _errno.ENETUNREACH
    ECONNABORTED = _errno.ECONNABORTED
    ECONNRESET = _errno.ECONNRESET
    ENOTCONN = _errno.ENOTCONN
    ETIMEDOUT = _errno.ETIMEDOUT
    EHOSTUNREACH = _errno.EHOSTUNREACH
    ENOENT = _errno.ENOENT
    ENODEV = _errno.ENODEV
    ENAMETOOLONG = _errno.ENAMETOOLONG
    EFSM = ZMQ_HAUSNUMERO + 51
    ENOCOMPATPROTO = ZMQ_HAUSNUMERO + 52
    ETERM = ZMQ_HAUSNUMERO + 53
    EMTHREAD = ZMQ_HAUSNUMERO + 54


class DeviceType(IntEnum):
    """Device types of ``zlab.device`` and ``zlab.devices`` (every one runs the same proxy)."""

    STREAMER = 1
    FORWARDER = 2
    QUEUE = 3


# Module-level names as pyzmq exposes them (zlab.PUSH, zlab.NOBLOCK, zlab.EAGAIN ...).
_EXPORTED: dict[str, int] = {}
for _enum in (
    SocketType,
    Flag,
    PollEvent,
    SocketOption,
    MessageOption,
    SecurityMechanism,
    ContextOption,
    Errno,
    DeviceType,
):
    for _name, _member in _enum.__members__.items():
        _EXPORTED[_name] = _member
for _name, _member in Event.__members__.items():
    _EXPORTED["EVENT_" + _name] = _member
for _name, _member in ProtocolErrorCode.__members__.items():
    _EXPORTED["PROTOCOL_ERROR_" + _name] = _member
globals().update(_EXPORTED)
HWM_DEFAULT = 1000
#: the longest ipc:// path the OS takes (sizeof(sockaddr_un.sun_path) - 1), as pyzmq exports it
IPC_PATH_MAX_LEN = 107
__all__ = [
    "SocketType",
    "Flag",
    "PollEvent",
    "SocketOption",
    "MessageOption",
    "Event",
    "ProtocolErrorCode",
    "SecurityMechanism",
    "ContextOption",
    "Errno",
    "DeviceType",
    "ZMQ_HAUSNUMERO",
    "IPC_PATH_MAX_LEN",
    *_EXPORTED,
]

SOCKET_TYPE_NAMES: dict[int, str] = {int(m): n for n, m in SocketType.__members__.items()}
