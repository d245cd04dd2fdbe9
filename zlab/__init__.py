"""zlab: a pure-Python ZeroMQ-style messaging library with a pyzmq-shaped API.

    import zlab
    ctx = zlab.Context()
    req = ctx.socket(zlab.REQ)
    req.connect("tcp://127.0.0.1:5555")
    req.send(b"hello"); print(req.recv())

The facade (layer L3): ``Context``, ``Socket``, ``Poller``, ``select``, ``Frame``, the constants
and errors with pyzmq's names. It speaks ZMTP 3.1 on tcp and ipc, so libzmq peers interoperate.
"""

from __future__ import annotations

from zlab import constants as _constants
from zlab.constants import *  # noqa: F403  (pyzmq-style flat namespace: zlab.PUSH, zlab.NOBLOCK ...)
from zlab.constants import Errno, Event, Flag, PollEvent, SocketOption, SocketType
from zlab.context import Context
from zlab.errors import (
    Again,
    ContextTerminated,
    NotDone,
    ProtocolError,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    strerror,
)
from zlab.frame import Frame, Message, MessageTracker
from zlab.poll import Poller, select, zmq_poll
from zlab.proxy import device, proxy, proxy_steerable
from zlab.socket import Socket
from zlab.utils.stopwatch import Stopwatch
from zlab.zmtp import curve as _curve
from zlab.zmtp import z85 as _z85

__version__ = "0.1.0"
#: the ZMTP version zlab speaks, reported like libzmq's version
ZMTP_VERSION = (3, 1)


def zmq_version() -> str:
    """The version of the messaging library: zlab's own."""
    return __version__


def zmq_version_info() -> tuple[int, int, int]:
    """``zmq_version()`` as a tuple."""
    major, minor, patch = (int(x) for x in __version__.split("."))
    return major, minor, patch


pyzmq_version = zmq_version


def has(capability: str) -> bool:
    """Whether zlab offers ``capability`` ("ipc", "curve", ...), as ``zmq.has``."""
    return capability == "ipc" or (capability == "curve" and _curve.available())


def curve_keypair() -> tuple[bytes, bytes]:
    """A new CURVE key pair as Z85 text (40 octets each): ``(public, secret)``, as ``zmq.curve_keypair``."""
    public, secret = _curve.keypair()
    return _z85.encode(public), _z85.encode(secret)


def curve_public(secret_key: bytes | str) -> bytes:
    """The Z85 public key of a Z85 (40 characters) secret key, as ``zmq.curve_public``."""
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("ascii")
    if len(secret_key) != 40:
        raise ValueError("curve_public takes a 40-character Z85 secret key")
    return _z85.encode(_curve.public_key(_z85.decode(secret_key)))


__all__ = [
    "Again",
    "Context",
    "ContextTerminated",
    "Errno",
    "Event",
    "Flag",
    "Frame",
    "Message",
    "MessageTracker",
    "NotDone",
    "PollEvent",
    "Poller",
    "ProtocolError",
    "Socket",
    "SocketOption",
    "SocketType",
    "Stopwatch",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMTP_VERSION",
    "curve_keypair",
    "curve_public",
    "device",
    "has",
    "proxy",
    "proxy_steerable",
    "pyzmq_version",
    "select",
    "strerror",
    "zmq_poll",
    "zmq_version",
    "zmq_version_info",
    *_constants._EXPORTED,
]
