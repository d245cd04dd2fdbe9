"""``Frame`` (alias ``Message``) and ``MessageTracker``: what ``copy=False`` gives, as in pyzmq.

Owns: the zero-copy frame wrapper and conversion of user data to frame bytes. Layer L3.
"""

from __future__ import annotations

import builtins
from typing import Any

from zlab.constants import Errno
from zlab.errors import ZMQError


class MessageTracker:
    """Tracks when zlab no longer needs a sent buffer.

    zlab copies mutable buffers on send and only keeps references to immutable ones, so a tracked
    send is done as soon as ``send`` returns.
    """

    done = True

    def wait(self, timeout: float | None = None) -> None:
        """Return at once: the send is complete."""


class Frame:
    """One message frame (``recv(copy=False)`` returns these); ``Message`` is an alias."""

    __slots__ = ("_bytes", "meta", "more", "properties", "tracker")

    def __init__(self, data: Any = b"", track: bool = False, copy: bool | None = None) -> None:
        self._bytes = to_bytes(data) if data is not None else b""
        self.more = False
        self.tracker = MessageTracker() if track else None
        self.properties: dict[str, str] = {}
        #: the properties of the connection a received frame came on (shared, never copied):
        #: Socket-Type, Identity, Peer-Address, User-Id and ZAP metadata, as ``Frame.get`` shows them
        self.meta: dict[str, bytes] | None = None

    @property
    def bytes(self) -> bytes:
        """The frame's content as ``bytes``."""
        return self._bytes

    @property
    def buffer(self) -> memoryview:
        """A read-only memoryview of the content."""
        return memoryview(self._bytes)

    def get(self, option: int | str) -> Any:
        """A frame property: ``zlab.MORE`` (1) or a metadata name such as ``"Socket-Type"``."""
        if isinstance(option, str):
            value = self.properties.get(option)
            if value is not None:
                return value
            meta = self.meta
            if meta is not None and option in meta:
                return meta[option].decode("utf-8", "replace")
            raise ZMQError(Errno.EINVAL, f"no property {option!r}")
        if option == 1:
            return int(self.more)
        raise ZMQError(Errno.EINVAL, f"unknown frame option {option!r}")

    def __len__(self) -> int:
        return len(self._bytes)

    def __bytes__(self) -> builtins.bytes:  # builtins: `bytes` in this class is the property
        return self._bytes

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._bytes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self._bytes == other._bytes
        if isinstance(other, bytes | bytearray | memoryview):
            return self._bytes == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        data = self._bytes
        shown = repr(data[:32]) + ("..." if len(data) > 32 else "")
        return f"<zlab.Frame({shown}, {len(data)} B{', more' if self.more else ''})>"


Message = Frame


def to_bytes(data: Any) -> bytes:
    """The bytes to send for ``data`` (bytes as-is; Frame, bytearray, memoryview copied once)."""
    t = type(data)
    if t is bytes:
        return data
    if t is Frame:
        return data._bytes
    if isinstance(data, str):
        raise TypeError("str is not allowed as a frame: encode it, or use send_string")
    try:
        return memoryview(data).tobytes()
    except TypeError:
        raise TypeError(f"a frame must be bytes-like, not {t.__name__}") from None
