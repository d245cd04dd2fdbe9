# zlab.bench.fault_peers -- the peer processes of a fault run (each one may be killed or frozen).
"""What each process of a fault run does: send a numbered stream, receive it, serve requests, or ask
with retries. Every process reports to the coordinator over its control pipe as it goes (a killed
process cannot report at the end), in small batches.

Owns: the payload (a sequence number and the send time, padded), the four roles (:func:`sender`,
:func:`receiver`, :func:`server`, :func:`client`) and their reports (a sender's and a receiver's after
every message, so a killed one's last messages are known; the others in batches):

    ("bound", endpoint)  ("ready",)  ("sent", incarnation, n_sent)
    ("recv", peer, incarnation, [(seq, t_monotonic), ...])  ("served", [seq, ...])  ("retries", n)

Sequence numbers are ``incarnation * SEQ_BASE + i``: a restarted sender counts on from a fresh base.
Times are ``time.monotonic()`` (one clock for every process of the machine). A receive never blocks for
more than ``POLL_MS``, so a peer always sees ``stop``; a send that finds no room waits at most that long.
"""

from __future__ import annotations

import signal
import struct
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from zlab.bench.adapters import impl_module
from zlab.bench.worker import _exit_with_coordinator

SEQ_BASE = 1_000_000_000
WARMUP = -1  # the seq of warm-up messages (not counted)
POLL_MS = 50
REPORT_S = 0.02
_HEAD = struct.Struct("<qd")
PAYLOAD_SIZE = 64


def payload(seq: int) -> bytes:
    """A message carrying ``seq`` and its send time."""
    return _HEAD.pack(seq, time.monotonic()).ljust(PAYLOAD_SIZE, b".")


def seq_of(msg: bytes) -> int:
    """The sequence number a message carries."""
    return int(_HEAD.unpack_from(msg)[0])


@dataclass(frozen=True)
class PeerSpec:
    """One process of a fault run."""

    role: str  # sender | receiver | server | client
    impl: str
    socket_type: str
    address: str  # bind address (binders) or endpoint (connectors)
    binds: bool
    name: str
    incarnation: int = 0
    rate: float = 2000.0  # sender and client: messages (requests) per second
    warmup_s: float = 0.3
    retry_ms: int = 250  # client: how long to wait for a reply before asking again


def _open(spec: PeerSpec, conn: Connection) -> tuple[Any, Any, Any]:
    z: Any = impl_module(spec.impl)
    ctx = z.Context()
    sock = ctx.socket(getattr(z, spec.socket_type))
    sock.setsockopt(z.LINGER, 0)
    sock.setsockopt(z.RCVTIMEO, POLL_MS)
    sock.setsockopt(z.SNDTIMEO, POLL_MS)
    if spec.socket_type == "SUB":
        sock.setsockopt(z.SUBSCRIBE, b"")
    if spec.binds:
        deadline = time.monotonic() + 5.0
        while True:  # a restarted binder may find the endpoint still held for a moment
            try:
                sock.bind(spec.address)
                break
            except z.ZMQError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        endpoint = sock.getsockopt(z.LAST_ENDPOINT)
        endpoint = (endpoint.decode() if isinstance(endpoint, bytes) else endpoint).rstrip("\0")
        conn.send(("bound", endpoint))
    else:
        sock.connect(spec.address)
    return z, ctx, sock


def _stopped(conn: Connection) -> bool:
    return conn.poll() and conn.recv()[0] == "stop"


def main(spec: PeerSpec, conn: Connection) -> None:
    """Process entry: run the role until the coordinator says stop (or kills us)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_coordinator()  # no orphan keeps streaming if the coordinator dies
    z, ctx, sock = _open(spec, conn)
    try:
        {"sender": _sender, "receiver": _receiver, "server": _server, "client": _client}[spec.role](
            spec, conn, z, ctx, sock
        )
    finally:
        try:
            sock.close()
        except Exception:
            pass
        ctx.term()


def _sender(spec: PeerSpec, conn: Connection, z: Any, ctx: Any, sock: Any) -> None:
    """Send a paced numbered stream (warm-up messages first) from ``go`` on; report progress."""
    conn.send(("ready",))
    while conn.recv()[0] != "go":
        pass
    start = time.monotonic()
    interval = 1.0 / spec.rate
    base, i = spec.incarnation * SEQ_BASE, 0
    next_t, last_report = start, start
    while True:
        now = time.monotonic()
        if now - last_report >= REPORT_S:
            conn.send(("sent", spec.incarnation, i))
            last_report = now
            if _stopped(conn):
                break
        if now < next_t:
            time.sleep(min(next_t - now, REPORT_S))
            continue
        warm = now - start < spec.warmup_s
        try:
            sock.send(payload(WARMUP if warm else base + i))
        except z.Again:
            continue  # no peer with room: the same message is tried again (the stream waits)
        if not warm:
            i += 1
            conn.send(("sent", spec.incarnation, i))  # at once: a killed sender's last sends are known
        next_t += interval
        if next_t < now - 0.1:  # fell behind by more than 100 ms (a pause): don't burst to catch up
            next_t = now
    conn.send(("sent", spec.incarnation, i))


def _receiver(spec: PeerSpec, conn: Connection, z: Any, ctx: Any, sock: Any) -> None:
    """Receive and report (seq, time) in batches."""
    conn.send(("ready",))
    batch: list[tuple[int, float]] = []
    last = time.monotonic()
    while True:
        try:
            msg = sock.recv()
            seq = seq_of(msg)
            if seq != WARMUP:
                batch.append((seq, time.monotonic()))
        except z.Again:
            pass
        if batch:  # at once: what a killed receiver had read but not reported would count as lost
            conn.send(("recv", spec.name, spec.incarnation, batch))
            batch = []
        now = time.monotonic()
        if now - last >= REPORT_S:
            last = now
            if _stopped(conn):
                break


def _server(spec: PeerSpec, conn: Connection, z: Any, ctx: Any, sock: Any) -> None:
    """Echo every request (REP, or ROUTER with the routing id); report what was served."""
    conn.send(("ready",))
    served: list[int] = []
    last = time.monotonic()
    router = spec.socket_type == "ROUTER"
    while True:
        try:
            if router:
                frames = sock.recv_multipart()
                sock.send_multipart(frames)
                msg = frames[-1]
            else:
                msg = sock.recv()
                sock.send(msg)
            seq = seq_of(msg)
            if seq != WARMUP:
                served.append(seq)
        except z.Again:
            pass
        now = time.monotonic()
        if now - last >= REPORT_S:
            if served:
                conn.send(("served", served))
                served = []
            last = now
            if _stopped(conn):
                break


def _client(spec: PeerSpec, conn: Connection, z: Any, ctx: Any, sock: Any) -> None:
    """Lazy-Pirate requests at a steady pace: a reply not back in ``retry_ms`` is asked for again (REQ:
    on a fresh socket, as the REQ state machine demands; DEALER: on the same one). Replies to an
    earlier try that arrive late are counted (duplicates) and skipped."""
    conn.send(("ready",))
    dealer = spec.socket_type == "DEALER"
    start = time.monotonic()
    interval = 1.0 / spec.rate
    batch: list[tuple[int, float]] = []
    retries, i, last = 0, 0, start
    done = False
    while not done:
        warm = time.monotonic() - start < spec.warmup_s
        seq = WARMUP if warm else i
        msg = payload(seq)
        sock.send_multipart([b"", msg]) if dealer else sock.send(msg)
        sent_at = time.monotonic()
        while True:
            try:
                reply = sock.recv_multipart()[-1] if dealer else sock.recv()
            except z.Again:
                reply = None
            now = time.monotonic()
            if reply is not None:
                got = seq_of(reply)
                if got != WARMUP:
                    batch.append((got, now))
                if got == seq:
                    break
                continue  # a late reply to an earlier try: recorded, keep waiting for ours
            if now - last >= REPORT_S:
                if _flush(conn, spec, batch, retries, i):
                    done = True
                    break
                batch, last = [], now
            if now - sent_at >= spec.retry_ms / 1000:
                retries += 1
                if not dealer:  # REQ: close and reopen to ask again
                    sock.close()
                    sock = ctx.socket(z.REQ)
                    sock.setsockopt(z.LINGER, 0)
                    sock.setsockopt(z.RCVTIMEO, POLL_MS)
                    sock.connect(spec.address)
                msg = payload(seq)
                sock.send_multipart([b"", msg]) if dealer else sock.send(msg)
                sent_at = now
        if not warm and not done:
            i += 1
        pause = interval - (time.monotonic() - sent_at)
        if pause > 0:
            time.sleep(pause)
        now = time.monotonic()
        if not done and now - last >= REPORT_S:
            done = _flush(conn, spec, batch, retries, i)
            batch, last = [], now
    _flush(conn, spec, batch, retries, i)
    sock.close()  # (REQ: maybe a socket of its own, made for a retry)


def _flush(conn: Connection, spec: PeerSpec, batch: list[tuple[int, float]], retries: int, n: int) -> bool:
    """Report replies, retries and requests asked so far; True once the coordinator said stop."""
    if batch:
        conn.send(("recv", spec.name, spec.incarnation, list(batch)))
    conn.send(("retries", retries))
    conn.send(("sent", spec.incarnation, n))
    return _stopped(conn)
