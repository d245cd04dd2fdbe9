"""Exceptions with pyzmq's names: ``ZMQError`` carrying ``.errno``, and its subclasses.

Owns: the exception hierarchy and ``strerror``. Layer L0: imports only ``zlab.constants``.
"""

from __future__ import annotations

import os

from zlab.constants import Errno, ProtocolErrorCode

_ZMQ_MESSAGES: dict[int, str] = {
    Errno.EFSM: "Operation cannot be accomplished in current state",
    Errno.ENOCOMPATPROTO: "The protocol is not compatible with the socket type",
    Errno.ETERM: "Context was terminated",
    Errno.EMTHREAD: "No thread available",
    Errno.EAGAIN: "Resource temporarily unavailable",
}


def strerror(errno: int) -> str:
    """The message for an errno value, libzmq's wording for its own values."""
    msg = _ZMQ_MESSAGES.get(errno)
    return msg if msg is not None else os.strerror(errno)


class ZMQBaseError(Exception):
    """Base of every zlab exception."""


class ZMQError(ZMQBaseError):
    """An error with an ``errno`` (compare with ``zlab.EAGAIN`` etc.)."""

    errno: int
    strerror: str

    def __init__(self, errno: int | None = None, msg: str | None = None) -> None:
        self.errno = int(errno) if errno is not None else Errno.EINVAL
        self.strerror = msg if msg is not None else strerror(self.errno)
        super().__init__(self.strerror)

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.strerror!r})"


class Again(ZMQError):
    """The operation would block (NOBLOCK, or SNDTIMEO/RCVTIMEO expired)."""

    def __init__(self, errno: int = Errno.EAGAIN, msg: str | None = None) -> None:
        super().__init__(errno, msg)


class ContextTerminated(ZMQError):
    """The context was terminated while the call was in progress."""

    def __init__(self, errno: int = Errno.ETERM, msg: str | None = None) -> None:
        super().__init__(errno, msg)


class NotDone(ZMQBaseError):
    """A tracked send has not completed."""


class ZMQBindError(ZMQBaseError):
    """``bind_to_random_port`` found no free port."""


class ProtocolError(ZMQBaseError):
    """A peer broke the ZMTP protocol; the connection it came on is closed.

    ``reason`` is a short text suitable for logs and ERROR commands; ``code`` is libzmq's
    ``ZMQ_PROTOCOL_ERROR_*`` value for it (``zlab.ProtocolErrorCode``), the value of the
    HANDSHAKE_FAILED_PROTOCOL monitor event, or 0 when the peer broke no rule (it refused us with
    an ERROR command) and there is no such event.
    """

    def __init__(self, reason: str, code: int = ProtocolErrorCode.ZMTP_UNSPECIFIED) -> None:
        self.reason = reason
        self.code = int(code)
        super().__init__(reason)


class HandshakeRefused(ProtocolError):
    """The peer is not allowed (incompatible socket type, mechanism mismatch, authentication)."""


def _raise(errno: int, msg: str | None = None) -> None:
    if errno == Errno.EAGAIN:
        raise Again(errno, msg)
    if errno == Errno.ETERM:
        raise ContextTerminated(errno, msg)
    raise ZMQError(errno, msg)


__all__ = [
    "ZMQBaseError",
    "ZMQError",
    "Again",
    "ContextTerminated",
    "NotDone",
    "ZMQBindError",
    "ProtocolError",
    "HandshakeRefused",
    "strerror",
]
