"""Heartbeats of one stream connection, run on the reactor's timers.

Owns: ``EngineHeartbeat``, which drives a ``zmtp.heartbeat.Heartbeat`` for a ``StreamEngine``: one
reactor timer at the state machine's next deadline, our PINGs written through the engine's pipe, and
the engine closed (its DISCONNECTED reported, the connect side redialling) when the peer went silent.

Rules: layer L2 (zlab.io); every method runs on the reactor thread. Nothing here runs per message:
traffic is the octets the engine has read (``pipe.bytes_in``, which both read paths count, the
reactor's and a direct reader's), compared by the timer with what it saw when it armed. The
connection is known here only as a ``HeartbeatHost`` (what the timers read and call); the engine
above implements it and plugs an ``EngineHeartbeat`` in after its handshake.
"""

from __future__ import annotations

import time
from typing import Protocol

from zlab.io.link import SocketLink
from zlab.io.reactor import Reactor, Timer
from zlab.io.stream_pipe import StreamPipe
from zlab.zmtp.heartbeat import Heartbeat


class HeartbeatHost(Protocol):
    """What the heartbeat timers need of their connection (``engine.StreamEngine``)."""

    @property
    def closed(self) -> bool: ...

    @property
    def reading(self) -> bool:
        """False while reads are paused (inbound HWM)."""

    @property
    def reactor(self) -> Reactor: ...

    @property
    def link(self) -> SocketLink: ...

    @property
    def pipe(self) -> StreamPipe:
        """Its ``bytes_in`` counts traffic; PINGs go out through ``write_command``."""

    def close(self, reason: str, protocol: bool = False, err: int = ...) -> None: ...


class EngineHeartbeat:
    """The heartbeat timers of one engine (reactor thread only)."""

    __slots__ = ("_paused", "engine", "state", "timer")

    def __init__(self, engine: HeartbeatHost, state: Heartbeat) -> None:
        self.engine = engine
        self.state = state
        self.timer: Timer | None = None
        self._paused = 0  # ticks seen while the engine's reads were paused (they count as traffic)

    @classmethod
    def after_handshake(cls, engine: HeartbeatHost) -> EngineHeartbeat | None:
        """Start our PINGs if the socket has HEARTBEAT_IVL > 0 (None if it hasn't)."""
        opts = engine.link.options
        if opts.heartbeat_ivl <= 0:
            return None
        hb = cls(engine, Heartbeat(opts.heartbeat_ivl, opts.heartbeat_ttl, opts.heartbeat_timeout))
        now = time.monotonic()
        hb.state.start(now)
        hb._schedule(now)
        return hb

    @classmethod
    def ttl_only(cls, engine: HeartbeatHost) -> EngineHeartbeat:
        """Timers for the peer's PING TTL alone (our own heartbeats are off)."""
        return cls(engine, Heartbeat())

    def ping_received(self, ttl_deciseconds: int, received: int) -> None:
        """The peer sent a PING; ``received`` is ``pipe.bytes_in`` just after the read carrying it."""
        now = time.monotonic()
        self.state.ping_received(ttl_deciseconds, now, received + self._paused)
        self._schedule(now)

    def _tick(self) -> None:
        self.timer = None
        engine = self.engine
        if engine.closed:
            return
        if not engine.reading:
            # our reads are paused (inbound HWM): the peer's traffic waits for us; that isn't silence
            self._paused += 1
        now = time.monotonic()
        received = engine.pipe.bytes_in + self._paused
        state = self.state
        reason = state.expired(now, received)
        if reason is not None:
            engine.close(reason)
            return
        if state.ping_due(now, received):
            engine.pipe.write_command(b"PING", state.ping_data)
        self._schedule(now)

    def _schedule(self, now: float) -> None:
        """Keep one timer, at the state machine's next deadline."""
        when = self.state.deadline
        timer = self.timer
        if timer is not None:
            if when is not None and timer.when <= when:
                return  # it fires first (or on time) and schedules again
            timer.cancel()
            self.timer = None
        if when is not None:
            self.timer = self.engine.reactor.call_later_here(max(when - now, 0.0), self._tick)
