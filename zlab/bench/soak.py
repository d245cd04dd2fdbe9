# zlab.bench.soak -- hours of connects, exchanges, disconnects and reconnects, with leak checks.
"""The soak: zlab sockets of every type come and go in a loop while the process is watched.

Owns: one soak *round* (for every transport, mechanism and socket pair: bind, connect, exchange,
disconnect, reconnect, exchange, a second peer, close; plus a burst of short-lived DEALERs at a
long-lived ROUTER), the background *slow consumer* (a fast PUB and a SUB that reads slowly, both with
HWMs, for the whole soak), the samples taken at each idle point between rounds (RSS, open file
descriptors, OS threads, the sockets' ``statistics()`` counters), and the verdict: after the warm-up,
RSS growth beyond a bound, any growth of file descriptors or threads between idle points, a counter
that disagrees with the messages the soak counted itself, a receive that timed out (a hang), or an
unbounded queue or routing table is a failure.

Uses zlab through its public API only. Linux only (reads ``/proc/self``).
"""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from zlab.bench.security import Security, apply_options, make_security

TIMEOUT_MS = 5000  # every receive: a soak that waits longer than this on one message calls it a hang
PAYLOAD = b"s" * 100
#: (binding type, connecting type): every socket type zlab has, in the pairs ZMTP allows.
PAIRS: tuple[tuple[str, str], ...] = (
    ("PAIR", "PAIR"),
    ("REP", "REQ"),
    ("ROUTER", "DEALER"),
    ("ROUTER", "REQ"),
    ("REP", "DEALER"),
    ("PULL", "PUSH"),
    ("PUB", "SUB"),
    ("XPUB", "XSUB"),
)
SLOW_HWM = 1000  # send and receive HWM of the slow-consumer pair

#: The soak's sample columns (one row per idle point between rounds).
SOAK_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "run_id": (pa.string(), "unique id of the soak run"),
    "t_s": (pa.float64(), "seconds since the soak started"),
    "round": (pa.int64(), "rounds completed at this sample"),
    "warmup": (pa.bool_(), "sample taken during the warm-up (not judged)"),
    "rss_bytes": (pa.int64(), "resident set size of the soak process"),
    "fds": (pa.int64(), "open file descriptors of the soak process"),
    "threads": (pa.int64(), "OS threads of the soak process"),
    "exchanges": (pa.int64(), "socket pairs that connected and exchanged so far"),
    "connects": (pa.int64(), "connections made so far (every connect and reconnect)"),
    "msgs": (pa.int64(), "messages received by the soak's exchanges so far (counted by the soak)"),
    "counter_mismatches": (pa.int64(), "statistics() counters that disagreed with the soak's counts so far"),
    "hangs": (pa.int64(), "receives that timed out so far (each one is a failure)"),
    "router_peers_total": (pa.int64(), "DEALERs that connected to the long-lived ROUTER and left so far"),
    "router_rows": (pa.int64(), "rows of the long-lived ROUTER's statistics() (attached + recently gone)"),
    "router_attached": (pa.int64(), "peers the long-lived ROUTER lists as connected at this idle point"),
    "slow_sent": (pa.int64(), "slow consumer: messages the PUB was handed so far"),
    "slow_received": (pa.int64(), "slow consumer: messages the slow SUB read so far"),
    "slow_dropped_hwm": (pa.int64(), "slow consumer: messages the PUB dropped at its HWM so far"),
    "slow_queue_out_peak": (pa.int64(), "slow consumer: the PUB's peak outgoing queue (messages)"),
}


def rss_bytes() -> int:
    """Resident set size of this process (VmRSS)."""
    return _status_field("VmRSS") * 1024


def thread_count() -> int:
    """OS threads of this process."""
    return _status_field("Threads")


def fd_count() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd")) - 1  # the listing's own descriptor


def _status_field(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise OSError(f"no {name} in /proc/self/status")


class SoakError(Exception):
    """One exchange went wrong (a receive timed out, or an answer was not the one sent)."""


@dataclass
class Tally:
    """What the soak counted itself, and what went wrong."""

    exchanges: int = 0
    connects: int = 0
    msgs: int = 0
    mismatches: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    router_peers: int = 0


def _stats_totals(sock: Any) -> tuple[int, int, int]:
    """(messages accepted by a pipe, messages in, messages no pipe took) over a socket's listed peers.

    ``dropped_unsent`` is left out: those messages were accepted (counted in ``msgs_out``) and then lost
    with their connection."""
    stats = sock.statistics()
    out = sum(r["msgs_out"] for r in stats)
    inn = sum(r["msgs_in"] for r in stats)
    dropped = sum(r["dropped_hwm"] for r in stats) + sum(stats.dropped.values())
    return out, inn, dropped


def _check_counters(tally: Tally, what: str, sock: Any, sent: int | None, received: int | None) -> None:
    """The socket's statistics() must say it sent ``sent`` (or dropped the rest) and received ``received``.

    Outgoing counts are written by the I/O side just after the kernel took the bytes: wait for them (up to
    the receive timeout) before calling a difference a mismatch. ``None``: that direction is not
    checked (subscriptions: ZMTP 3.1 carries them as commands, which statistics() does not count).
    """
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        out, inn, dropped = _stats_totals(sock)
        ok_out = sent is None or out + dropped == sent
        ok_in = received is None or inn == received
        if (ok_out and ok_in) or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    if not ok_out or not ok_in:
        tally.mismatches.append(
            f"{what}: counted sent {sent} received {received}; statistics() out {out} (+{dropped} dropped) in {inn}"
        )


def _recv(sock: Any, what: str, multipart: bool = False) -> Any:
    import zlab

    try:
        return sock.recv_multipart() if multipart else sock.recv()
    except zlab.Again as exc:
        raise SoakError(f"hang: {what} received nothing in {TIMEOUT_MS} ms") from exc


class _Side:
    """One socket of a pair and the messages the soak saw it send and receive."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.sent = 0
        self.received = 0

    def send(self, msg: bytes | list[bytes]) -> None:
        if isinstance(msg, list):
            self.sock.send_multipart(msg)
        else:
            self.sock.send(msg)
        self.sent += 1

    def recv(self, what: str, multipart: bool = False) -> Any:
        msg = _recv(self.sock, what, multipart)
        self.received += 1
        return msg


def _exchange(kinds: tuple[str, str], b: _Side, c: _Side, n: int) -> int:
    """``n`` messages each way the pair allows; returns the data messages received (both sides)."""
    name = f"{kinds[0]}/{kinds[1]}"
    bind_kind, conn_kind = kinds
    if bind_kind == "PULL":
        for _ in range(n):
            c.send(PAYLOAD)
        for _ in range(n):
            b.recv(name)
        return n
    if bind_kind in ("PUB", "XPUB"):
        if bind_kind == "XPUB":
            c.send(b"\x01")  # XSUB: subscribe to everything
            while b.recv(name) != b"\x01":  # (XPUB_VERBOSE) an earlier peer's unsubscription may come first
                pass
        # a PUB learns of the subscription asynchronously: greet until the subscriber hears one
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while True:
            b.send(b"hello")
            if c.sock.poll(5):
                c.recv(name)
                break
            if time.monotonic() > deadline:
                raise SoakError(f"hang: {name} subscriber never heard the publisher")
        for _ in range(n):
            b.send(PAYLOAD)
        for _ in range(n):
            while c.recv(name) == b"hello":
                pass
        return n
    if bind_kind == "ROUTER":
        envelope = conn_kind == "REQ"
        for i in range(n):
            msg = f"{i}".encode()
            c.send(msg)
            frames = b.recv(name, multipart=True)
            b.send(frames)  # echo with the routing id (and REQ's empty delimiter)
            if c.recv(name) != msg or (envelope and frames[1] != b""):
                raise SoakError(f"{name}: wrong echo")
        return 2 * n
    if bind_kind == "REP" or bind_kind == "PAIR":
        for i in range(n):
            msg = f"{i}".encode()
            if conn_kind == "DEALER":
                c.send([b"", msg])
                b.send(b.recv(name))
                reply = c.recv(name, multipart=True)[-1]
            else:
                c.send(msg)
                b.send(b.recv(name))
                reply = c.recv(name)
            if reply != msg:
                raise SoakError(f"{name}: wrong echo")
        return 2 * n
    raise ValueError(f"no exchange for {name}")


def _pair_round(
    ctx: Any,
    z: Any,
    kinds: tuple[str, str],
    transport: str,
    security: Security,
    tally: Tally,
    tmpdir: str,
    n: int,
) -> None:
    """Bind, connect, exchange, disconnect, reconnect, exchange, a second peer, close everything."""
    what = f"{transport}/{security.mechanism} {kinds[0]}/{kinds[1]}"
    binder = ctx.socket(getattr(z, kinds[0]))
    conns: list[Any] = []
    try:
        for sock, opts in ((binder, security.server_options()),):
            apply_options(z, sock, opts)
        binder.setsockopt(z.RCVTIMEO, TIMEOUT_MS)
        binder.setsockopt(z.LINGER, 0)
        if kinds[0] == "XPUB":
            binder.setsockopt(z.XPUB_VERBOSE, 1)
        if transport == "tcp":
            binder.bind("tcp://127.0.0.1:*")
        elif transport == "ipc":
            binder.bind(f"ipc://{tmpdir}/soak-{tally.exchanges}.sock")
        else:
            binder.bind(f"inproc://soak-{tally.exchanges}")
        endpoint = binder.getsockopt(z.LAST_ENDPOINT)
        endpoint = (endpoint.decode() if isinstance(endpoint, bytes) else endpoint).rstrip("\0")
        b = _Side(binder)

        def connector() -> _Side:
            sock = ctx.socket(getattr(z, kinds[1]))
            conns.append(sock)
            apply_options(z, sock, security.client_options())
            sock.setsockopt(z.RCVTIMEO, TIMEOUT_MS)
            sock.setsockopt(z.LINGER, 0)
            if kinds[1] == "SUB":
                sock.setsockopt(z.SUBSCRIBE, b"")
            sock.connect(endpoint)
            tally.connects += 1
            return _Side(sock)

        publisher = kinds[0] in ("PUB", "XPUB")

        def check(what: str, side: _Side, binding: bool) -> None:
            # subscriptions travel as commands: not counted on a publisher's way in or a subscriber's way out
            sent = None if publisher and not binding else side.sent
            received = None if publisher and binding else side.received
            _check_counters(tally, what, side.sock, sent, received)

        first = connector()
        tally.msgs += _exchange(kinds, b, first, n)
        if kinds[0] not in ("PUB", "XPUB", "ROUTER"):  # those would keep old state: a fresh peer tests them
            first.sock.disconnect(endpoint)
            _wait_alone(binder, kinds[0])
            first.sock.connect(endpoint)
            tally.connects += 1
            tally.msgs += _exchange(kinds, b, first, n)
        check(f"{what} connecting side", first, False)
        first.sock.close()
        _wait_alone(binder, kinds[0])
        second = connector()
        tally.msgs += _exchange(kinds, b, second, n)
        check(f"{what} second connecting side", second, False)
        check(f"{what} binding side", b, True)
        tally.exchanges += 1
    except SoakError as exc:
        (tally.hangs if str(exc).startswith("hang") else tally.mismatches).append(f"{what}: {exc}")
    finally:
        for sock in conns:
            sock.close()
        binder.close()


def _wait_alone(binder: Any, kind: str) -> None:
    """PAIR takes one peer at a time: a new one that arrives before the old one's end was noticed is
    refused (libzmq does the same), and what it sent on that connection is lost. Wait for the end."""
    if kind != "PAIR":
        return
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while any(r["connected"] for r in binder.statistics()):
        if time.monotonic() > deadline:
            raise SoakError(f"hang: PAIR still lists its departed peer after {TIMEOUT_MS} ms")
        time.sleep(0.002)


def _router_churn(z: Any, ctx: Any, router: Any, endpoint: str, peers: int, tally: Tally) -> None:
    """``peers`` short-lived DEALERs: connect, say hello, get the echo through the ROUTER, close."""
    for _ in range(peers):
        dealer = ctx.socket(z.DEALER)
        dealer.setsockopt(z.RCVTIMEO, TIMEOUT_MS)
        dealer.setsockopt(z.LINGER, 0)
        try:
            dealer.connect(endpoint)
            dealer.send(b"hi")
            router.send_multipart(_recv(router, "churn ROUTER", multipart=True))
            _recv(dealer, "churn DEALER")
            tally.router_peers += 1
        except SoakError as exc:
            tally.hangs.append(str(exc))
        finally:
            dealer.close()


class SlowConsumer:
    """A PUB flooding a SUB that reads one message a millisecond, both with HWMs, in two threads."""

    def __init__(self, z: Any) -> None:
        self.z = z
        self.ctx = z.Context()
        self.pub = self.ctx.socket(z.PUB)
        self.sub = self.ctx.socket(z.SUB)
        for sock, opt in ((self.pub, z.SNDHWM), (self.sub, z.RCVHWM)):
            sock.setsockopt(opt, SLOW_HWM)
            sock.setsockopt(z.LINGER, 0)
        self.sub.setsockopt(z.SUBSCRIBE, b"")
        self.sub.setsockopt(z.RCVTIMEO, 200)
        self.pub.bind("tcp://127.0.0.1:*")
        self.sub.connect(self.pub.getsockopt(z.LAST_ENDPOINT).rstrip(b"\0").decode())
        self.sent = 0
        self.received = 0
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._publish, name="soak-fast-pub", daemon=True),
            threading.Thread(target=self._consume, name="soak-slow-sub", daemon=True),
        ]
        for thread in self.threads:
            thread.start()

    def _publish(self) -> None:
        payload = b"p" * 1000
        while not self.stop.is_set():
            for _ in range(100):
                self.pub.send(payload)
            self.sent += 100
            time.sleep(0.005)  # up to 20k msg/s offered: twenty times what the consumer takes

    def _consume(self) -> None:
        while not self.stop.is_set():
            try:
                self.sub.recv()
            except self.z.Again:
                continue
            self.received += 1
            time.sleep(0.001)

    def sample(self) -> dict[str, int]:
        """Counters of the pair now."""
        stats = self.pub.statistics()
        return {
            "slow_sent": self.sent,
            "slow_received": self.received,
            "slow_dropped_hwm": sum(r["dropped_hwm"] for r in stats),
            "slow_queue_out_peak": max((r["queue_out_peak"] for r in stats), default=0),
        }

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(5)
        self.pub.close()
        self.sub.close()
        self.ctx.term()


@dataclass
class SoakConfig:
    """How long and how hard to soak, and the bounds of the verdict."""

    duration_s: float = 60.0
    warmup_s: float | None = None  # default: 10 % of the duration, at least 2 rounds
    msgs_per_exchange: int = 20
    router_peers_per_round: int = 100
    rss_bound_bytes: int = 12 * 1024 * 1024
    transports: tuple[str, ...] = ("tcp", "ipc", "inproc")
    mechanisms: tuple[str, ...] = ("null", "curve")
    slow_consumer: bool = True


@dataclass
class SoakResult:
    """The samples, the verdict and its reasons."""

    samples: list[dict[str, Any]]
    failures: list[str]
    tally: Tally

    @property
    def ok(self) -> bool:
        return not self.failures


def _settle(
    fds_target: int, threads_target: int, router: Any, timeout_s: float = 3.0
) -> tuple[int, int, list[dict[str, Any]]]:
    """fds, threads and the ROUTER's rows at an idle point, once the closes in flight finished: waits
    (up to ``timeout_s``) for fds and threads to come down to the targets and for the ROUTER to have
    seen its last short-lived peer leave."""
    deadline = time.monotonic() + timeout_s
    while True:
        gc.collect()
        fds, threads, rows = fd_count(), thread_count(), router.statistics()
        settled = fds <= fds_target and threads <= threads_target and not any(r["connected"] for r in rows)
        if settled or time.monotonic() > deadline:
            return fds, threads, rows
        time.sleep(0.02)


def run_soak(
    config: SoakConfig, tmpdir: str, log: Callable[[str], None] | None = None, run_id: str = ""
) -> SoakResult:
    """Soak for ``config.duration_s`` seconds; samples at every idle point, the verdict at the end."""
    import zlab

    z: Any = zlab  # option and type names are set from enums at import time
    tally = Tally()
    start = time.monotonic()
    warmup_s = config.warmup_s if config.warmup_s is not None else 0.1 * config.duration_s
    long_ctx = z.Context()
    router = long_ctx.socket(z.ROUTER)
    router.setsockopt(z.RCVTIMEO, TIMEOUT_MS)
    router.setsockopt(z.LINGER, 0)
    router.bind("tcp://127.0.0.1:*")
    router_ep = router.getsockopt(z.LAST_ENDPOINT).rstrip(b"\0").decode()
    slow = SlowConsumer(z) if config.slow_consumer else None
    combos = [(t, m) for t in config.transports for m in config.mechanisms if m == "null" or t != "inproc"]
    samples: list[dict[str, Any]] = []
    failures: list[str] = []
    base: dict[str, int] | None = None
    rounds = 0
    try:
        while True:
            fresh = (
                rounds % 2 == 1
            )  # every other round in a context of its own: its I/O thread comes and goes
            ctx = z.Context() if fresh else long_ctx
            for transport, mech in combos:
                security = make_security(mech) if mech == "curve" else Security()
                for kinds in PAIRS:
                    _pair_round(ctx, z, kinds, transport, security, tally, tmpdir, config.msgs_per_exchange)
            if fresh:
                ctx.term()
            _router_churn(z, long_ctx, router, router_ep, config.router_peers_per_round, tally)
            rounds += 1
            t = time.monotonic() - start
            warm = t < warmup_s or rounds < 2
            # the targets: the baseline after the warm-up, and during it the lowest seen so far
            fds_target = base["fds"] if base else min((x["fds"] for x in samples), default=1 << 30)
            threads_target = (
                base["threads"] if base else min((x["threads"] for x in samples), default=1 << 30)
            )
            fds, threads, rows = _settle(fds_target, threads_target, router)
            sample: dict[str, Any] = {
                "run_id": run_id,
                "t_s": round(t, 3),
                "round": rounds,
                "warmup": warm,
                "rss_bytes": rss_bytes(),
                "fds": fds,
                "threads": threads,
                "exchanges": tally.exchanges,
                "connects": tally.connects,
                "msgs": tally.msgs,
                "counter_mismatches": len(tally.mismatches),
                "hangs": len(tally.hangs),
                "router_peers_total": tally.router_peers,
                "router_rows": len(rows),
                "router_attached": sum(1 for r in rows if r["connected"]),
                **(slow.sample() if slow else {}),
            }
            samples.append(sample)
            if not warm and base is None:
                base = sample
            if log:
                log(
                    f"soak t={t:7.1f}s round {rounds:4d}: rss {sample['rss_bytes'] / 2**20:6.1f} MiB, "
                    f"fds {fds}, threads {threads}, msgs {tally.msgs}, router peers {tally.router_peers}"
                    f"{'' if not warm else ' (warm-up)'}"
                )
            if t >= config.duration_s:
                break
    finally:
        if slow:
            slow.close()
        router.close()
        long_ctx.term()
    failures += [f"counter mismatch: {m}" for m in tally.mismatches[:20]]
    failures += [f"hang: {h}" for h in tally.hangs[:20]]
    failures += judge(samples, config)
    return SoakResult(samples, failures, tally)


def judge(samples: list[dict[str, Any]], config: SoakConfig) -> list[str]:
    """Leak verdicts over the samples after the warm-up (see the module docstring)."""
    judged = [s for s in samples if not s["warmup"]]
    if len(judged) < 2:
        return ["too short: fewer than two idle points after the warm-up (raise --duration)"]
    base, last = judged[0], judged[-1]
    out = []
    growth = last["rss_bytes"] - base["rss_bytes"]
    if growth > config.rss_bound_bytes:
        out.append(
            f"RSS grew {growth / 2**20:.1f} MiB after the warm-up "
            f"(bound {config.rss_bound_bytes / 2**20:.0f} MiB)"
        )
    for key in ("fds", "threads"):
        worst = max(judged, key=lambda s: s[key])
        if worst[key] > base[key]:
            out.append(
                f"{key} grew from {base[key]} to {worst[key]} between idle points (round {worst['round']})"
            )
    worst_rows = max(s["router_rows"] for s in judged)
    if worst_rows > 2 * (config.router_peers_per_round + 64):
        out.append(f"the ROUTER's table of peers grew to {worst_rows} rows")
    attached = max(s["router_attached"] for s in judged)
    if attached > 1:
        out.append(f"the ROUTER still listed {attached} departed peers as connected at an idle point")
    if config.slow_consumer:
        peak = max(s["slow_queue_out_peak"] or 0 for s in judged)
        if peak > 2 * SLOW_HWM:
            out.append(f"the fast PUB's queue to the slow SUB peaked at {peak} messages (HWM {SLOW_HWM})")
    return out
