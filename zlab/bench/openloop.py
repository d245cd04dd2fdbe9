# zlab.bench.openloop -- open-loop latency under load: a fixed schedule, latency from the intended send time.
"""Mode ``load``: the sender offers messages on a fixed schedule and every latency counts from the
message's **intended** send time, so a stall is charged to every message it delayed (no coordinated
omission).

Owns: the schedule (constant rate or Poisson arrivals, ``t_i = t0 + offset_i`` fixed at the start and
never reset: a sender that fell behind sends its backlog at once), the pacing of the sender (busy-wait,
sleep or a hybrid), the load roles (one-way: PUSH->PULL, PUB->SUB; request latency with many requests in
flight: DEALER->ROUTER echo), and :func:`measure_load`, which turns their reports into row columns and
histograms.

Every data message starts with two little-endian int64: the intended and the actual send time
(``perf_counter_ns``, CLOCK_MONOTONIC: the same clock in every process of one host), so the receiver
needs no clock sync and messages are >= 16 B. Three distributions per cell (as wrk2 / OMB):
``latency`` (receive - intended: the corrected one, in the usual ``lat_*_us`` columns), ``uncorrected``
(receive - actual send: service time, ``uncorrected_*_us``) and ``send_lag`` (actual - intended, how
late the sender itself was, ``sender_lag_*_us``). Nothing is recorded per message in Python beyond
appending the receive time and the 16-byte head; histograms are built in bulk afterwards.

REQ/REP cannot carry load (REQ allows one request in flight), so request latency under load uses
DEALER (client) -> ROUTER (echo server); the client sends on schedule and takes replies with
non-blocking receives between sends (it busy-waits whatever the pacing).
"""

from __future__ import annotations

import gc
import struct
import time
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from zlab.bench.control import Control
from zlab.bench.histogram import Histogram
from zlab.bench.matrix import Budget
from zlab.bench.peer import END, HELLO, Peer


class LoadParams(Protocol):
    """What the load roles read of a cell's parameters (``zlab.bench.scenarios.Params`` has them)."""

    @property
    def size(self) -> int: ...
    @property
    def budget(self) -> Budget: ...
    @property
    def rate(self) -> float: ...
    @property
    def arrival(self) -> str: ...
    @property
    def pacing(self) -> str: ...
    @property
    def stall(self) -> tuple[float, float] | None: ...


class LoadFailed(Exception):
    """A load cell ran but its measurement is not valid (the caller reports it as a failed cell)."""


HEAD = struct.Struct("<qq")  # intended send time, actual send time (ns)
MIN_LOAD_SIZE = HEAD.size
LOAD_PATTERNS: tuple[str, ...] = ("pushpull", "pubsub", "dealer-router")
ARRIVALS: tuple[str, ...] = ("uniform", "poisson")
PACINGS: tuple[str, ...] = ("hybrid", "spin", "sleep")
#: Default pacing, chosen by measurement on the 2-core machine (see the bench README).
DEFAULT_PACING = "hybrid"
SPIN_NS = 60_000  # hybrid: sleep until this close to the next send time, then spin yielding the GIL
START_DELAY_NS = 2_000_000  # t0 is this far after go: every peer is past its own go
LOAD_WARMUP_MSGS = 200
DRAIN_QUIET_NS = 1_000_000_000  # a DEALER client stops waiting for replies after 1 s without one
#: A sender still sending this long after its schedule ended gives up (the rest count as not sent).
OVERRUN_FACTOR, OVERRUN_EXTRA_S = 1.0, 1.0
#: Saturation: the achieved rate below this fraction of the offered one.
SATURATION_FRACTION = 0.9
#: The sender could not hold the rate: it sent at below this fraction of the offered rate.
SENDER_FRACTION = 0.95


def schedule_ns(rate: float, duration_s: float, arrival: str, max_msgs: int, seed: int = 0) -> np.ndarray:
    """Send-time offsets (ns from t0) of every message a run offers: ``rate`` per second for ``duration_s``."""
    if rate <= 0:
        raise ValueError(f"rate must be positive, not {rate}")
    n = max(1, min(max_msgs, round(rate * duration_s)))
    if arrival == "uniform":
        return np.round(np.arange(n) * (1e9 / rate)).astype(np.int64)
    if arrival == "poisson":
        gaps = np.random.default_rng(seed).exponential(1e9 / rate, n)
        gaps[0] = 0.0
        return np.round(np.cumsum(gaps)).astype(np.int64)
    raise ValueError(f"unknown arrival {arrival!r} (valid: {', '.join(ARRIVALS)})")


def waiter(pacing: str) -> Callable[[int], None]:
    """A function waiting until a ``perf_counter_ns`` deadline: ``spin`` (busy-wait), ``sleep``
    (``time.sleep`` for the whole gap, its overshoot shows as sender lag) or ``hybrid`` (sleep until
    :data:`SPIN_NS` before, then spin with ``sleep(0)``, which lets other threads take the GIL)."""
    clock, sleep = time.perf_counter_ns, time.sleep

    def spin(target: int) -> None:
        while clock() < target:
            pass

    def nap(target: int) -> None:
        gap = target - clock()
        if gap > 0:
            sleep(gap / 1e9)

    def hybrid(target: int) -> None:
        gap = target - clock() - SPIN_NS
        if gap > 0:
            sleep(gap / 1e9)
        while clock() < target:
            sleep(0)  # yields the GIL: a pure-Python I/O thread in this process can flush meanwhile

    if pacing not in PACINGS:
        raise ValueError(f"unknown pacing {pacing!r} (valid: {', '.join(PACINGS)})")
    return {"spin": spin, "sleep": nap, "hybrid": hybrid}[pacing]


def _offsets(p: LoadParams) -> np.ndarray:
    budget = p.budget
    return schedule_ns(p.rate, budget.duration_s, p.arrival, budget.max_msgs)


class _Paced:
    """One open-loop sender's schedule and its record: the intended times, the give-up time, the
    stall hook (tests), and each message's lag; ``emit`` sends one message stamped with both times."""

    def __init__(self, peer: Peer, p: LoadParams) -> None:
        self.offsets = _offsets(p)
        self._send, self._pack = peer.send, HEAD.pack
        self._pad = bytes(p.size - HEAD.size)
        self.lag = np.zeros(len(self.offsets), dtype=np.int64)
        self.sent = 0
        gc.collect()
        self.t0 = t0 = time.perf_counter_ns() + START_DELAY_NS
        self.give_up = t0 + int((p.budget.duration_s * (1 + OVERRUN_FACTOR) + OVERRUN_EXTRA_S) * 1e9)
        if p.stall is None:
            self._stall_at, self._stall_ns = 1 << 62, 0
        else:
            at_s, for_s = p.stall
            self._stall_at, self._stall_ns = t0 + int(at_s * 1e9), int(for_s * 1e9)

    def targets(self) -> list[int]:
        """The intended send times (``perf_counter_ns``)."""
        return (self.offsets + self.t0).tolist()

    def emit(self, target: int, now: int) -> None:
        """Send the message intended for ``target`` (stalling first where the hook says so)."""
        if now >= self._stall_at:
            time.sleep(self._stall_ns / 1e9)
            self._stall_at = 1 << 62
            now = time.perf_counter_ns()
        self._send(self._pack(target, now) + self._pad)
        self.lag[self.sent] = now - target
        self.sent += 1

    def report(self) -> dict[str, Any]:
        """What was sent: counts, the start, the last send, and each message's lag."""
        return {
            "n_scheduled": len(self.offsets),
            "n_sent": self.sent,
            "t0_ns": self.t0,
            "last_send_ns": time.perf_counter_ns(),
            "lag_ns": self.lag[: self.sent].copy(),
        }


def _paced_send(peer: Peer, p: LoadParams) -> dict[str, Any]:
    """Send every scheduled message at its time (or at once when late); the stall hook (tests) pauses."""
    wait = waiter(p.pacing)
    clock = time.perf_counter_ns
    paced = _Paced(peer, p)
    emit, give_up = paced.emit, paced.give_up
    for target in paced.targets():
        now = clock()
        if now < target:
            wait(target)
            now = clock()
        elif now > give_up:
            break
        emit(target, now)
    return paced.report()


def _heads(heads: list[bytes], times: list[int]) -> dict[str, Any]:
    """Bulk decoding of the received heads: (intended, actual send, receive) per message."""
    if not heads:
        empty = np.zeros(0, dtype=np.int64)
        return {"intended_ns": empty, "sent_ns": empty, "recv_ns": empty}
    pairs = np.frombuffer(b"".join(heads), dtype="<i8").reshape(-1, 2)
    return {
        "intended_ns": pairs[:, 0].copy(),
        "sent_ns": pairs[:, 1].copy(),
        "recv_ns": np.array(times, dtype=np.int64),
    }


# -- one-way: PUSH -> PULL, PUB -> SUB ------------------------------------------------------------


def load_sender(peer: Peer, ctl: Control, p: LoadParams) -> dict[str, Any]:
    """Warm up, wait for go, send on schedule, then END."""
    warm = bytes(p.size)  # intended time 0: the receiver drops it
    for _ in range(LOAD_WARMUP_MSGS):
        peer.send(warm)
    ctl.ready()
    ctl.wait_go()
    report = _paced_send(peer, p)
    peer.send(END)
    return report


def load_publisher(peer: Peer, ctl: Control, p: LoadParams) -> dict[str, Any]:
    """HELLO until every subscriber got one, the schedule, then END until told to stop."""
    ctl.ready()
    while not ctl.poll_go(0.001):
        peer.send(HELLO)
    report = _paced_send(peer, p)
    while not ctl.poll_stop(0.005):  # END may be dropped at the high-water mark like any message
        peer.send(END)
    return report


def _receive(peer: Peer, ctl: Control, warmup: int) -> dict[str, Any]:
    recv, clock = peer.recv, time.perf_counter_ns
    for _ in range(warmup):
        recv()
    ctl.ready()
    gc.collect()
    heads: list[bytes] = []
    times: list[int] = []
    add_head, add_time = heads.append, times.append
    min_size = MIN_LOAD_SIZE
    while True:
        msg = recv()
        t = clock()
        if not msg:
            break
        if len(msg) < min_size:  # a late HELLO
            continue
        add_time(t)
        add_head(msg[:16])
    out = _heads(heads, times)
    keep = out["intended_ns"] > 0  # warm-up messages carry intended time 0
    return {k: v[keep] for k, v in out.items()}


def load_receiver(peer: Peer, ctl: Control, p: LoadParams) -> dict[str, Any]:
    """Swallow the warm-up, then record (intended, sent, received) of every message until END."""
    return _receive(peer, ctl, LOAD_WARMUP_MSGS)


def load_subscriber(peer: Peer, ctl: Control, p: LoadParams) -> dict[str, Any]:
    """Wait for a HELLO (subscribed), then record every message until END."""
    peer.recv()
    return _receive(peer, ctl, 0)


# -- request latency with many in flight: DEALER -> ROUTER echo -----------------------------------


def load_requester(peer: Peer, ctl: Control, p: LoadParams) -> dict[str, Any]:
    """Send requests on schedule, taking replies between sends; then wait for the rest and send END."""
    msg0 = bytes(p.size)
    for _ in range(LOAD_WARMUP_MSGS):
        peer.send(msg0)
        peer.recv()
    ctl.ready()
    ctl.wait_go()
    poll, clock, sleep = peer.recv_nowait, time.perf_counter_ns, time.sleep
    heads: list[bytes] = []
    times: list[int] = []
    paced = _Paced(peer, p)
    emit, give_up = paced.emit, paced.give_up
    for target in paced.targets():
        now = clock()
        if now > give_up:
            break
        while now < target:
            reply = poll()
            now = clock()
            if reply is not None:
                times.append(now)
                heads.append(reply[:16])
            else:
                # nothing yet: let other threads of this process have the GIL (a pure-Python I/O
                # thread reads the replies; spinning without yielding left it the interpreter's
                # 5 ms switch interval, and every reply waited for it). Costs libzmq nothing.
                sleep(0)
                now = clock()
        emit(target, now)
    sent_report = paced.report()  # before the drain: its last send is the schedule's
    sent = paced.sent
    # ROUTER drops replies to a DEALER whose queue is full (its high-water mark): wait for the rest only
    # while they keep coming; what never came is counted as lost.
    within, quiet = peer.recv_within, clock() + DRAIN_QUIET_NS
    while len(times) < sent and clock() < quiet:
        reply = within(0.05)
        if reply is not None:
            times.append(clock())
            heads.append(reply[:16])
            quiet = clock() + DRAIN_QUIET_NS
    peer.send(END)
    report = _heads(heads, times)
    report.update(sent_report, n_warmup=LOAD_WARMUP_MSGS)
    return report


# -- from reports to columns and histograms -------------------------------------------------------


def _pcts(h: Histogram, prefix: str) -> dict[str, float]:
    names = {50.0: "p50", 90.0: "p90", 99.0: "p99", 99.9: "p999", 99.99: "p9999"}
    out = {f"{prefix}_{name}_us": h.percentile(p) for p, name in names.items()}
    out[f"{prefix}_max_us"] = h.max
    return out


def measure_load(
    rate: float, pattern: str, size: int, reports: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Histogram]]:
    """Row columns and histograms (``latency``, ``uncorrected``, ``send_lag``) of one load cell.

    ``msgs_per_s`` is the achieved (received) rate, from t0 to the last message received;
    ``load_status`` says whether the offered rate held: ``sender_behind`` (the sender sent slower than
    95 % of the offered rate or gave up), ``saturated`` (received below 90 % of offered),
    ``lossy`` (messages dropped at a high-water mark: PUB, or ROUTER's replies), else ``ok``; only
    ``ok`` counts as held.
    """
    sender = reports.get("sender") or reports.get("publisher") or reports["client"]
    receivers = [r for name, r in reports.items() if name == "receiver" or name.startswith("subscriber-")]
    if pattern == "dealer-router":
        receivers = [sender]
    n_sent = int(sender["n_sent"])
    recv_ns = np.concatenate([r["recv_ns"] for r in receivers])
    intended = np.concatenate([r["intended_ns"] for r in receivers])
    actual = np.concatenate([r["sent_ns"] for r in receivers])
    received = len(recv_ns)
    expected = n_sent * len(receivers)
    lost = expected - received
    if pattern == "pushpull" and lost:  # PUSH blocks at its high-water mark, it never drops
        raise LoadFailed(f"received {received} of {expected} messages on a reliable pattern")
    if received == 0:
        raise LoadFailed(f"no message of {n_sent} arrived")
    hists = {
        "latency": Histogram.from_values(recv_ns - intended),
        "uncorrected": Histogram.from_values(recv_ns - actual),
        "send_lag": Histogram.from_values(sender["lag_ns"]),
    }
    t0 = int(sender["t0_ns"])
    span_ns = max(1, int(recv_ns.max()) - t0)
    achieved = received / len(receivers) / (span_ns / 1e9)
    interval_ns = 1e9 / rate
    send_rate = n_sent / ((int(sender["last_send_ns"]) - t0 + interval_ns) / 1e9)
    backlog = expected - int(np.count_nonzero(recv_ns <= int(sender["last_send_ns"])))
    if n_sent < sender["n_scheduled"] or send_rate < SENDER_FRACTION * rate:
        status = "sender_behind"
    elif achieved < SATURATION_FRACTION * rate:
        status = "saturated"
    elif lost:
        status = "lossy"
    else:
        status = "ok"
    row: dict[str, Any] = {
        "n_msgs": received,
        "n_sent": n_sent,
        "n_scheduled": int(sender["n_scheduled"]),
        "n_received": received,
        "n_lost": lost,
        "n_dropped": lost,
        "backlog_msgs": backlog,
        "elapsed_s": span_ns / 1e9,
        "msgs_per_s": achieved,
        "mb_per_s": achieved * size / 1e6,
        "send_rate_per_s": send_rate,
        "load_status": status,
        "lat_min_us": hists["latency"].min,
        "lat_mean_us": hists["latency"].mean(),
        "lat_std_us": hists["latency"].std(),
    }
    row.update(_pcts(hists["latency"], "lat"))
    row.update(_pcts(hists["uncorrected"], "uncorrected"))
    lag = hists["send_lag"]
    row.update(
        sender_lag_p50_us=lag.percentile(50), sender_lag_p99_us=lag.percentile(99), sender_lag_max_us=lag.max
    )
    return row, hists
