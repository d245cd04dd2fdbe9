# zlab.bench.clock -- how far another host's clock is from ours, and how sure we are.
"""Clock offset between two processes (usually on two hosts) from a ping exchange, NTP style.

Owns: :class:`Sample` (one exchange: local send, remote stamp, local receive), :func:`estimate` (keep
the minimum-round-trip samples, offset = remote stamp minus the midpoint of the round trip, uncertainty
= half that round trip), :func:`ping` / :func:`serve` (the exchange over a ``multiprocessing``
connection), :func:`between` (the offset of one remote host relative to another, both measured from
the coordinator), :func:`one_way_ns` (a one-way figure corrected by an offset, or None when the
offset is less certain than the figure is large) and :func:`correct_one_way_columns` (the same for a
result frame's one-way columns, from the rows' ``clock_offset_us`` / ``clock_offset_err_us``).

Why the bound holds: the remote stamp was taken after the local send and before the local receive,
so the true offset lies in ``[remote - t_recv, remote - t_send]``; the midpoint is wrong by at most
half the round trip. Queueing only ever lengthens a round trip, so the shortest ones are the most
informative (as NTP's clock filter). Closed-loop latency (round trip / 2) needs none of this.

The clock is :func:`time.perf_counter_ns` (CLOCK_MONOTONIC on Linux): the clock the scenarios stamp
with. Across hosts its zero differs by boot time, which the offset absorbs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

PING, PONG, DONE = "clock-ping", "clock-pong", "clock-done"
DEFAULT_EXCHANGES = 48
#: Samples kept by :func:`estimate`: the fastest round trips (at least one).
KEEP_FRACTION = 0.125


@dataclass(frozen=True)
class Sample:
    """One exchange: ``t_send`` and ``t_recv`` on the local clock, ``t_remote`` on the remote one (ns)."""

    t_send: int
    t_remote: int
    t_recv: int

    @property
    def rtt_ns(self) -> int:
        """The round trip as the local clock saw it."""
        return self.t_recv - self.t_send

    @property
    def offset_ns(self) -> float:
        """Remote clock minus local clock, assuming the remote stamp was taken halfway."""
        return self.t_remote - (self.t_send + self.t_recv) / 2


@dataclass(frozen=True)
class ClockOffset:
    """Remote clock minus local clock (ns), within ``± uncertainty_ns``."""

    offset_ns: float
    uncertainty_ns: float
    rtt_min_ns: int = 0
    n_samples: int = 0

    @property
    def offset_us(self) -> float:
        return self.offset_ns / 1e3

    @property
    def uncertainty_us(self) -> float:
        return self.uncertainty_ns / 1e3

    def __str__(self) -> str:
        return f"{self.offset_us:+.1f} ± {self.uncertainty_us:.1f} us"


#: A process compared with itself: no offset, no doubt.
SAME_CLOCK = ClockOffset(0.0, 0.0)


def estimate(samples: Iterable[Sample], keep_fraction: float = KEEP_FRACTION) -> ClockOffset:
    """Offset from the fastest exchanges: the median offset of the kept samples, ± half the shortest RTT.

    Raises ValueError without samples or with one whose receive precedes its send.
    """
    ordered = sorted(samples, key=lambda s: s.rtt_ns)
    if not ordered:
        raise ValueError("no clock samples")
    if ordered[0].rtt_ns < 0:
        raise ValueError(f"a clock sample received before it was sent: {ordered[0]}")
    kept = ordered[: max(1, int(len(ordered) * keep_fraction))]
    offsets = sorted(s.offset_ns for s in kept)
    best = kept[0]
    middle = offsets[len(offsets) // 2]
    # The tightest sample bounds the truth; the median of the kept ones is steadier but must stay in
    # that sample's interval, so the uncertainty is its half RTT plus any distance from its midpoint.
    uncertainty = best.rtt_ns / 2 + abs(middle - best.offset_ns)
    return ClockOffset(middle, uncertainty, best.rtt_ns, len(ordered))


def between(a: ClockOffset, b: ClockOffset) -> ClockOffset:
    """The offset of clock B relative to clock A, both measured from one common clock: B - A."""
    return ClockOffset(
        b.offset_ns - a.offset_ns,
        a.uncertainty_ns + b.uncertainty_ns,
        max(a.rtt_min_ns, b.rtt_min_ns),
        min(a.n_samples, b.n_samples),
    )


def one_way_ns(raw_ns: float, sender_to_receiver: ClockOffset) -> float | None:
    """A one-way delay stamped on two clocks, corrected; None when the offset's doubt exceeds the figure.

    ``raw_ns`` is the receiver's stamp minus the sender's; ``sender_to_receiver`` is the receiver's clock
    minus the sender's (:func:`between`). A figure smaller than what the clocks can tell apart is not
    reported rather than reported wrong.
    """
    corrected = raw_ns - sender_to_receiver.offset_ns
    if sender_to_receiver.uncertainty_ns > abs(corrected):
        return None
    return corrected


def ping(
    conn: Connection, n: int = DEFAULT_EXCHANGES, clock: Callable[[], int] = time.perf_counter_ns
) -> ClockOffset:
    """Run ``n`` exchanges with a peer in :func:`serve` and estimate its clock's offset from ours."""
    samples = []
    for _ in range(n):
        t_send = clock()
        conn.send((PING,))
        kind, t_remote = conn.recv()
        t_recv = clock()
        if kind != PONG:
            raise ValueError(f"expected {PONG!r} from the clock peer, got {kind!r}")
        samples.append(Sample(t_send, t_remote, t_recv))
    conn.send((DONE,))
    return estimate(samples)


def serve(conn: Connection, clock: Callable[[], int] = time.perf_counter_ns) -> None:
    """Answer :func:`ping` with our clock until it is done."""
    while True:
        msg = conn.recv()
        if msg[0] == DONE:
            return
        if msg[0] != PING:
            raise ValueError(f"expected {PING!r} from the clock peer, got {msg[0]!r}")
        conn.send((PONG, clock()))


def correct_one_way_columns(frame: Any, columns: list[str], receiver_binds: bool = True) -> Any:
    """A copy of a result frame with one-way latency ``columns`` (µs, stamped by the sender's clock at
    send and the receiver's at receipt) corrected by each row's ``clock_offset_us``, and set to NaN where
    ``clock_offset_err_us`` exceeds the corrected figure (the clocks cannot support it).

    The hook for open-loop one-way figures across hosts. ``clock_offset_us`` is the connecting peer's
    host clock minus the binding peer's; ``receiver_binds`` says which of them received (PULL and SUB
    connect to a binding PUSH or PUB the other way round). Rows without an offset (local runs, one host)
    are left as they are.
    """
    out = frame.copy()
    offset = out["clock_offset_us"]
    err = out["clock_offset_err_us"]
    receiver_minus_sender = -offset if receiver_binds else offset
    known = offset.notna() & err.notna()
    for column in columns:
        corrected = out[column] - receiver_minus_sender
        refused = known & (err > corrected.abs())
        out[column] = out[column].where(~known, corrected).mask(refused)
    return out
