"""Connection heartbeats (RFC 37 "Connection Heartbeating") with libzmq's timers, as a pure state machine.

Owns: ``Heartbeat`` (when to send a PING, when a silent peer is dropped) and ``ttl_deciseconds`` (the
HEARTBEAT_TTL option as the PING's TTL field). Rules: pure; no clock (every call takes ``now``, seconds
on any monotonic scale), no I/O, no threads. Received traffic is a counter the caller keeps (e.g. the
octets read) and passes in: it is compared with the count seen when a timer was armed, never
timestamped, so the receive path pays at most an increment and no call.

What libzmq does (src/stream_engine_base.cpp, src/zmtp_engine.cpp, src/options.cpp), and so do we:

- With HEARTBEAT_IVL > 0 a PING goes every IVL from the end of the handshake, whatever the traffic.
  It carries HEARTBEAT_TTL in deciseconds, rounded down (250 ms -> 2; under 100 ms -> 0, no TTL) and
  no context.
- A PING arms the timeout (HEARTBEAT_TIMEOUT, -1 = IVL, 0 = none) unless it is already armed; traffic
  received after that disarms it; if it expires the connection is dropped.
- A PING received disarms the TTL timer (it is traffic) and, if its TTL is > 0, arms it for TTL: with
  nothing received within TTL the connection is dropped. This holds with our own heartbeats off.

Where the RFC text differs: it asks peers not to send "more than a small number of PING commands without
receiving PONG replies"; libzmq sends one every IVL regardless, bounded only by the timeout. The RFC calls
the TTL "a strong hint"; libzmq enforces it. "Any incoming traffic" is, in libzmq, any decoded frame after
the handshake; here it is any read that returned octets (a frame still arriving counts too), which is
observed per read: a read that delivers a PING and more traffic counts as the PING alone.
"""

from __future__ import annotations

TTL_MAX_DECISECONDS = 0xFFFF
"""Largest PING TTL (16 bits): 6553.5 s."""


def ttl_deciseconds(ttl_ms: int) -> int:
    """HEARTBEAT_TTL in milliseconds as the PING's TTL field: whole deciseconds, rounded down as libzmq
    rounds it, at most 65535."""
    return min(max(ttl_ms, 0) // 100, TTL_MAX_DECISECONDS)


class Heartbeat:
    """The heartbeat timers of one connection.

    ``ivl_ms``, ``ttl_ms`` and ``timeout_ms`` are the socket options HEARTBEAT_IVL, HEARTBEAT_TTL and
    HEARTBEAT_TIMEOUT. The caller calls :meth:`start` when the handshake is done, :meth:`ping_received`
    for each PING the peer sends, and, at :attr:`deadline` (or later), :meth:`expired` and then
    :meth:`ping_due`; ``received`` is always the caller's traffic counter at that moment.
    """

    __slots__ = (
        "_timeout_mark",
        "_ttl_mark",
        "interval",
        "next_ping",
        "pings_sent",
        "timeout",
        "timeout_at",
        "ttl_at",
        "ttl_deciseconds",
        "ttl_seconds",
    )

    def __init__(self, ivl_ms: int = 0, ttl_ms: int = 0, timeout_ms: int = -1) -> None:
        #: seconds between our PINGs (0: we send none)
        self.interval = ivl_ms / 1000.0 if ivl_ms > 0 else 0.0
        #: the TTL our PINGs carry
        self.ttl_deciseconds = ttl_deciseconds(ttl_ms)
        if timeout_ms < 0:
            timeout_ms = ivl_ms
        #: seconds of silence after a PING before the connection is dropped (0: never)
        self.timeout = timeout_ms / 1000.0 if self.interval and timeout_ms > 0 else 0.0
        self.next_ping: float | None = None
        #: when the timeout armed by our PING expires, if armed
        self.timeout_at: float | None = None
        self._timeout_mark = 0
        #: when the TTL set by the peer's last PING expires, if armed
        self.ttl_at: float | None = None
        self.ttl_seconds = 0.0
        self._ttl_mark = 0
        self.pings_sent = 0

    @property
    def ping_data(self) -> bytes:
        """The data of our PING command: the TTL field, and no context (as libzmq sends it)."""
        return self.ttl_deciseconds.to_bytes(2, "big")

    @property
    def deadline(self) -> float | None:
        """When :meth:`expired` / :meth:`ping_due` should be called next (None: nothing is armed)."""
        times = [t for t in (self.next_ping, self.timeout_at, self.ttl_at) if t is not None]
        return min(times) if times else None

    def start(self, now: float) -> None:
        """The handshake is done: the first PING is due one interval from now (if we send any)."""
        if self.interval:
            self.next_ping = now + self.interval

    def ping_received(self, ttl_deciseconds: int, now: float, received: int) -> None:
        """The peer sent a PING with this TTL; ``received`` counts the traffic that carried it."""
        self.ttl_at = now + ttl_deciseconds / 10.0 if ttl_deciseconds > 0 else None
        self.ttl_seconds = ttl_deciseconds / 10.0
        self._ttl_mark = received

    def expired(self, now: float, received: int) -> str | None:
        """Why the connection must be dropped now (a reason for the log), or None.

        Traffic received since a timer was armed disarms it first.
        """
        if self.timeout_at is not None:
            if received != self._timeout_mark:
                self.timeout_at = None
            elif now >= self.timeout_at:
                self.timeout_at = None
                return f"heartbeat timed out: nothing received for {self.timeout * 1000:.0f} ms after a PING"
        if self.ttl_at is not None:
            if received != self._ttl_mark:
                self.ttl_at = None
            elif now >= self.ttl_at:
                self.ttl_at = None
                return (
                    f"heartbeat TTL expired: nothing received within {self.ttl_seconds * 1000:.0f} ms"
                    " of the peer's PING"
                )
        return None

    def ping_due(self, now: float, received: int) -> bool:
        """Whether a PING (with :attr:`ttl_deciseconds`) must be sent now; if so, it counts as sent."""
        if self.next_ping is None or now < self.next_ping:
            return False
        self.next_ping += self.interval
        if self.next_ping <= now:  # late (a busy machine): keep the interval from now, don't catch up
            self.next_ping = now + self.interval
        if self.timeout and (self.timeout_at is None or received != self._timeout_mark):
            self.timeout_at = now + self.timeout
            self._timeout_mark = received
        self.pings_sent += 1
        return True
