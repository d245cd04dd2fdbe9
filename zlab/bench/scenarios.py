# zlab.bench.scenarios -- what each peer does in a cell, written once for every implementation.
"""Scenarios: ping-pong (latency) and flood (throughput), and what their measurements mean.

Owns: the roles of each (pattern, mode) -- which socket type, who binds, which function runs --, the
role functions (they only see a :class:`~zlab.bench.adapters.Peer` and a
:class:`~zlab.bench.control.Control`, so implementation, transport and size are parameters), and
:func:`measure`, which turns the roles' reports into result columns and checks message counts.

Timing rules: latency times every round trip with ``perf_counter_ns`` into a numpy array after a
warm-up, and reports round trip / 2; throughput is timed by the receiver from its first data message
to the end marker (pubsub: from the publisher's first send, see :func:`measure`). ``perf_counter_ns``
is CLOCK_MONOTONIC on Linux, comparable across processes.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from zlab.bench import openloop
from zlab.bench.adapters import END, HELLO, Peer
from zlab.bench.control import Control
from zlab.bench.histogram import Histogram
from zlab.bench.matrix import Budget, Cell

FLOOD_BATCH_BYTES = 1 << 20  # the sender checks the clock about once per MiB
FLOOD_WARMUP_BYTES = 4 << 20
MAX_ROUND_TRIPS_PER_S = 2_000_000  # sizes the latency array: no round trip is shorter than 0.5 us


class CellFailed(Exception):
    """The cell ran but its measurement is not valid (lost messages, a peer error...)."""


@dataclass(frozen=True)
class Params:
    """What every role function receives besides its peer and control pipe."""

    size: int
    budget: Budget
    #: mode ``load``: offered rate (msg/s), arrival process, sender pacing, and a test-only stall hook
    #: (the sender pauses ``for_s`` seconds ``at_s`` seconds into its schedule).
    rate: float = 0.0
    arrival: str = "uniform"
    pacing: str = "hybrid"
    stall: tuple[float, float] | None = None


def params_for(
    cell: Cell, budget: Budget, pacing: str | None = None, stall: tuple[float, float] | None = None
) -> Params:
    """The parameters every role of ``cell`` receives (mode ``load``: its rate, arrival and pacing)."""
    if cell.mode != "load":
        return Params(cell.msg_size_bytes, budget)
    assert cell.rate is not None
    return Params(
        cell.msg_size_bytes, budget, cell.rate, cell.arrival, pacing or openloop.DEFAULT_PACING, stall
    )


RoleFunc = Callable[[Peer, Control, Params], dict[str, Any]]


@dataclass(frozen=True)
class Role:
    """One peer of a cell."""

    name: str
    kind: str  # socket type name for pyzmq-shaped implementations: "REQ", "PUB"...
    binds: bool
    func: RoleFunc
    needs_stop: bool = False  # keeps running until the coordinator says stop (a publisher)


# -- latency: ping-pong ---------------------------------------------------------------------------


def echo_server(peer: Peer, ctl: Control, p: Params) -> dict[str, Any]:
    """Send every message back until END."""
    ctl.ready()
    send, recv = peer.send, peer.recv
    echoed = 0
    msg = recv()
    while msg:
        send(msg)
        echoed += 1
        msg = recv()
    return {"n_echoed": echoed}


def pingpong_client(peer: Peer, ctl: Control, p: Params) -> dict[str, Any]:
    """Warm up, then time every round trip until the duration or the count cap is reached."""
    budget = p.budget
    msg = bytes(p.size)
    send, recv = peer.send, peer.recv
    clock = time.perf_counter_ns
    warm_end = clock() + int(budget.warmup_s * 1e9)
    warmup = 0
    while warmup < budget.warmup_msgs and (warmup < 3 or clock() < warm_end):
        send(msg)
        recv()
        warmup += 1
    ctl.ready()
    ctl.wait_go()
    cap = min(budget.max_msgs, int(budget.duration_s * MAX_ROUND_TRIPS_PER_S) + 1000)
    rtt = np.zeros(cap, dtype=np.int64)
    size, bad, n = p.size, 0, 0
    gc.collect()
    start = clock()
    deadline = start + int(budget.duration_s * 1e9)
    while n < cap:
        t0 = clock()
        send(msg)
        reply = recv()
        t1 = clock()
        rtt[n] = t1 - t0
        n += 1
        if len(reply) != size:
            bad += 1
        if t1 >= deadline:
            break
    elapsed = clock() - start
    send(END)
    return {
        "rtt_ns": rtt[:n].copy(),
        "n_round_trips": n,
        "n_warmup": warmup,
        "elapsed_ns": elapsed,
        "bad": bad,
    }


# -- throughput: flood ----------------------------------------------------------------------------


def _flood(peer: Peer, p: Params) -> tuple[int, int, int]:
    """Send data messages until the duration or the cap; returns (count, start_ns, elapsed_ns)."""
    budget = p.budget
    msg = bytes(p.size)
    batch = max(1, FLOOD_BATCH_BYTES // (p.size + 4))
    send_many, clock = peer.send_many, time.perf_counter_ns
    sent, cap = 0, budget.max_msgs
    start = clock()
    deadline = start + int(budget.duration_s * 1e9)
    while sent < cap:
        k = min(batch, cap - sent)
        send_many(msg, k)
        sent += k
        if clock() >= deadline:
            break
    return sent, start, clock() - start


def flood_warmup(p: Params) -> int:
    """Warm-up messages before a flood: a few MiB, at most the budget's warm-up count."""
    return max(1, min(p.budget.warmup_msgs, FLOOD_WARMUP_BYTES // p.size))


def flood_sender(peer: Peer, ctl: Control, p: Params) -> dict[str, Any]:
    """Warm up, wait for go, flood, then send END."""
    peer.send_many(bytes(p.size), flood_warmup(p))
    ctl.ready()
    ctl.wait_go()
    sent, _, elapsed = _flood(peer, p)
    peer.send(END)
    return {"n_sent": sent, "send_elapsed_ns": elapsed}


def flood_receiver(peer: Peer, ctl: Control, p: Params) -> dict[str, Any]:
    """Swallow the warm-up, then count data messages until END."""
    recv = peer.recv
    for _ in range(flood_warmup(p)):
        recv()
    ctl.ready()
    gc.collect()
    n, first, end = peer.recv_until_end()
    return {"n_received": n, "first_ns": first, "end_ns": end}


def publisher(peer: Peer, ctl: Control, p: Params) -> dict[str, Any]:
    """Send HELLO until every subscriber got one, flood, then repeat END until told to stop."""
    ctl.ready()
    hellos = 0
    while not ctl.poll_go(0.001):
        peer.send(HELLO)
        hellos += 1
    sent, start, elapsed = _flood(peer, p)
    ends = 0
    while not ctl.poll_stop(0.005):  # END may be dropped at the high-water mark like any message
        peer.send(END)
        ends += 1
    return {"n_sent": sent, "start_ns": start, "send_elapsed_ns": elapsed, "n_hello": hellos, "n_end": ends}


def subscriber(peer: Peer, ctl: Control, p: Params) -> dict[str, Any]:
    """Wait for a HELLO (the subscription is live), then count data messages until END."""
    peer.recv()
    ctl.ready()
    gc.collect()
    n, first, end = peer.recv_until_end(skip=HELLO)
    return {"n_received": n, "first_ns": first, "end_ns": end}


# -- the roles of each cell -----------------------------------------------------------------------

_PINGPONG_KINDS = {"reqrep": ("REP", "REQ"), "pair": ("PAIR", "PAIR"), "dealer-router": ("ROUTER", "DEALER")}
_FLOOD_KINDS = {"pushpull": ("PULL", "PUSH"), "pair": ("PAIR", "PAIR"), "dealer-router": ("ROUTER", "DEALER")}


def roles_for(cell: Cell) -> list[Role]:
    """The peers of a cell, binding peer first (servers, receivers and publishers bind)."""
    if cell.mode == "load":
        return _load_roles(cell)
    if cell.mode == "latency":
        server, client = _PINGPONG_KINDS[cell.pattern]
        return [Role("server", server, True, echo_server), Role("client", client, False, pingpong_client)]
    if cell.pattern == "pubsub":
        subs = [Role(f"subscriber-{i + 1}", "SUB", False, subscriber) for i in range(cell.n_subscribers)]
        return [Role("publisher", "PUB", True, publisher, needs_stop=True), *subs]
    receiver, sender = _FLOOD_KINDS[cell.pattern]
    return [Role("receiver", receiver, True, flood_receiver), Role("sender", sender, False, flood_sender)]


def _load_roles(cell: Cell) -> list[Role]:
    if cell.pattern == "pubsub":
        subs = [
            Role(f"subscriber-{i + 1}", "SUB", False, openloop.load_subscriber)
            for i in range(cell.n_subscribers)
        ]
        return [Role("publisher", "PUB", True, openloop.load_publisher, needs_stop=True), *subs]
    if cell.pattern == "dealer-router":
        return [
            Role("server", "ROUTER", True, echo_server),
            Role("client", "DEALER", False, openloop.load_requester),
        ]
    receiver, sender = _FLOOD_KINDS[cell.pattern]
    return [
        Role("receiver", receiver, True, openloop.load_receiver),
        Role("sender", sender, False, openloop.load_sender),
    ]


# -- from reports to columns ----------------------------------------------------------------------


def latency_stats(rtt_ns: np.ndarray) -> dict[str, float]:
    """One-way latency columns (round trip / 2) in microseconds."""
    if len(rtt_ns) == 0:
        return {}
    one_way_us = rtt_ns.astype(np.float64) / 2000.0
    p50, p90, p99, p999 = np.percentile(one_way_us, [50, 90, 99, 99.9])
    return {
        "lat_min_us": float(one_way_us.min()),
        "lat_p50_us": float(p50),
        "lat_p90_us": float(p90),
        "lat_p99_us": float(p99),
        "lat_p999_us": float(p999),
        "lat_max_us": float(one_way_us.max()),
        "lat_mean_us": float(one_way_us.mean()),
        "lat_std_us": float(one_way_us.std()),
    }


def _rate(n: int, elapsed_s: float, size: int) -> dict[str, float]:
    msgs_per_s = n / elapsed_s if elapsed_s > 0 else float("nan")
    return {"elapsed_s": elapsed_s, "msgs_per_s": msgs_per_s, "mb_per_s": msgs_per_s * size / 1e6}


def measure_cell(
    cell: Cell, reports: dict[str, dict[str, Any]]
) -> tuple[dict[str, Any], dict[str, Histogram]]:
    """Result columns and latency histograms (by kind, see :mod:`zlab.bench.openloop`) of one cell.

    latency (closed loop): ``latency``, one-way (round trip / 2, like the columns; its p99.99 fills
    ``lat_p9999_us``) and ``round_trip`` (to compare with a load cell's request latency); load: ``latency``, ``uncorrected`` and
    ``send_lag``; throughput: none.
    """
    if cell.mode == "load":
        assert cell.rate is not None
        try:
            row, hists = openloop.measure_load(cell.rate, cell.pattern, cell.msg_size_bytes, reports)
        except openloop.LoadFailed as exc:
            raise CellFailed(str(exc)) from None
        if cell.pattern == "dealer-router":
            expected = row["n_sent"] + reports["client"]["n_warmup"]
            if reports["server"]["n_echoed"] != expected:
                raise CellFailed(
                    f"server echoed {reports['server']['n_echoed']} messages, client sent {expected}"
                )
        return row, hists
    row = measure(cell, reports)
    if cell.mode != "latency":
        return row, {}
    rtt = reports["client"]["rtt_ns"]
    hist = Histogram.from_values(rtt // 2)
    row["lat_p9999_us"] = hist.percentile(99.99)
    return row, {"latency": hist, "round_trip": Histogram.from_values(rtt)}


def measure(cell: Cell, reports: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Result columns from the roles' reports; raises CellFailed when counts do not add up.

    latency: ``n_msgs`` round trips, ``msgs_per_s`` round trips per second of the measured loop.
    throughput: ``n_msgs`` messages received (all subscribers together for pubsub), ``msgs_per_s``
    delivered per second, timed by the receiver from its first data message to the end marker
    (pubsub: from the publisher's first send to the last subscriber's end marker); pubsub reports
    drops.
    """
    size = cell.msg_size_bytes
    if cell.mode == "latency":
        client, server = reports["client"], reports["server"]
        n = client["n_round_trips"]
        if client["bad"]:
            raise CellFailed(f"{client['bad']} of {n} replies had the wrong size")
        expected = n + client["n_warmup"]
        if server["n_echoed"] != expected:
            raise CellFailed(f"server echoed {server['n_echoed']} messages, client sent {expected}")
        row = {"n_msgs": n, "n_sent": n, "n_dropped": 0}
        row.update(_rate(n, client["elapsed_ns"] / 1e9, size))
        row.update(latency_stats(client["rtt_ns"]))
        return row
    if cell.pattern == "pubsub":
        pub = reports["publisher"]
        subs = [r for name, r in reports.items() if name.startswith("subscriber-")]
        received = sum(s["n_received"] for s in subs)
        if received == 0:
            raise CellFailed(f"no subscriber received any of {pub['n_sent']} messages")
        # From the publisher's first send: a subscriber that starts late and drains a full queue at
        # memory speed would otherwise report a rate the fan-out never sustained.
        elapsed_ns = max(s["end_ns"] for s in subs) - pub["start_ns"]
        row = {"n_msgs": received, "n_sent": pub["n_sent"], "n_dropped": pub["n_sent"] * len(subs) - received}
        row.update(_rate(received, elapsed_ns / 1e9, size))
        return row
    sent, received = reports["sender"]["n_sent"], reports["receiver"]["n_received"]
    if sent != received:
        raise CellFailed(f"receiver got {received} of {sent} messages on a reliable pattern")
    row = {"n_msgs": received, "n_sent": sent, "n_dropped": 0}
    row.update(_rate(received, (reports["receiver"]["end_ns"] - reports["receiver"]["first_ns"]) / 1e9, size))
    return row
