"""Socket monitor events in libzmq's two-frame format: emitting them, and reading them as pyzmq does.

Owns: the event message format (frame 1: event number as uint16 and value as uint32, both
little-endian; frame 2: the endpoint), ``MonitorEmitter`` (the hook behind ``Socket.monitor``) and
``parse_monitor_message`` / ``recv_monitor_message`` (pyzmq's ``zmq.utils.monitor``).

Rules: layer L3. Events come from the reactor thread and from calling threads alike, so emitting
takes a lock, and it never blocks: an event the monitor's queue has no room for (or that comes
while no reader is connected) is dropped, as libzmq drops it. Sockets without a monitor pay one
``is None`` test per event.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Sequence
from typing import Any, TypedDict

from zlab.constants import Event
from zlab.errors import ZMQError

_HEADER = struct.Struct("<HI")
_VALUE_MASK = 0xFFFFFFFF


class MonitorMessage(TypedDict):
    """A decoded monitor event, with pyzmq's keys."""

    event: int
    value: int
    endpoint: bytes


def encode_event(event: int, value: int, endpoint: str) -> list[bytes]:
    """The two frames of one event."""
    return [_HEADER.pack(event, value & _VALUE_MASK), endpoint.encode()]


def parse_monitor_message(msg: Sequence[Any]) -> MonitorMessage:
    """Decode the frames of a monitor event into ``{"event", "value", "endpoint"}``.

    As pyzmq gives them: ``event`` an ``Event`` (a plain int if zlab has no such member),
    ``value`` an int, ``endpoint`` bytes. (pyzmq wraps ``value`` in its ``Event`` flag type too;
    it compares equal to the int.) Frames may be bytes or ``Frame``-like objects with ``.bytes``.
    """
    frames = [f if isinstance(f, bytes) else getattr(f, "bytes", None) or bytes(f) for f in msg]
    if len(frames) != 2 or len(frames[0]) != _HEADER.size:
        raise RuntimeError(f"Invalid event message format: {msg!r}")
    event_id, value = _HEADER.unpack(frames[0])
    try:
        event: int = Event(event_id)
    except ValueError:
        event = event_id
    return {"event": event, "value": value, "endpoint": frames[1]}


def recv_monitor_message(socket: Any, flags: int = 0) -> MonitorMessage:
    """Receive one event from a monitor PAIR socket (zlab's, or pyzmq's) and decode it."""
    return parse_monitor_message(socket.recv_multipart(flags))


class MonitorEmitter:
    """Sends a socket's events on the PAIR socket bound at its monitor address.

    Called as ``emitter(event, endpoint, value)`` from any thread. ``stop()`` sends
    MONITOR_STOPPED (if selected) and closes the PAIR socket; later events are dropped.
    """

    __slots__ = ("_lock", "_send", "events", "sock", "stopped")

    def __init__(self, sock: Any, events: int) -> None:
        self.sock = sock
        self.events = int(events)
        self.stopped = False
        self._lock = threading.Lock()
        self._send = sock.core.send  # the routing core: (message, timeout); 0 = never wait

    def __call__(self, event: int, endpoint: str, value: object = 0) -> None:
        if not event & self.events:
            return
        msg = encode_event(event, value if type(value) is int else _as_int(value), endpoint)
        with self._lock:
            if self.stopped:
                return
            try:
                self._send(msg, 0)
            except ZMQError:  # no reader, its queue full, or the context terminated: dropped
                pass

    def stop(self) -> None:
        """Send MONITOR_STOPPED (if selected) and close the PAIR socket (any thread; once)."""
        self(Event.MONITOR_STOPPED, "", 0)
        with self._lock:
            if self.stopped:
                return
            self.stopped = True
        try:
            self.sock.close(linger=0)
        except ZMQError:
            pass


def _as_int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


__all__ = [
    "MonitorEmitter",
    "MonitorMessage",
    "encode_event",
    "parse_monitor_message",
    "recv_monitor_message",
]
