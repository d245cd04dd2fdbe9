# zlab.bench.faults -- the fault axis: what a crash, a restart or a frozen peer costs.
"""Fault runs: during a steady stream, one peer is killed (SIGKILL) or frozen (SIGSTOP), and where it
makes sense started again on the same endpoint; loss, duplicates and recovery are counted.

Owns: the fault and pattern vocabulary (:data:`FAULTS`, :data:`FAULT_PATTERNS`), the timeline of one
fault cell (:func:`run_fault_cell`: spawn, warm up, measure, inject, restart, drain, judge), the
metrics computed from the peers' sequence numbers, :data:`FAULT_COLUMNS` and :func:`run_faults`
(zlab and libzmq interleaved, repeat by repeat; ``zb.run(..., faults=...)`` and ``zlab bench --fault``
land here). Peers live in :mod:`zlab.bench.fault_peers`.

Patterns: ``pushpull`` (a PUSH sender binds, three PULL workers connect), ``pubsub`` (a PUB binds, two
SUBs connect), ``reqrep`` (a REP server binds; a REQ client asks Lazy-Pirate style: no reply in
250 ms -> a fresh socket, ask again), ``dealer-router`` (a ROUTER server; a DEALER client asks again on
the same socket). Faults: ``kill-receiver`` (a worker or subscriber killed, a new one started 0.5 s
later), ``kill-sender`` (the sending binder killed and started again on the same endpoint 0.5 s later),
``restart-binder`` (the serving binder, likewise), ``pause-peer`` (a worker, subscriber or server frozen
for 1 s, then resumed).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

import pyarrow as pa

from zlab.bench import fault_peers
from zlab.bench.adapters import impl_version, unavailable_reason
from zlab.bench.fault_peers import SEQ_BASE, PeerSpec
from zlab.bench.matrix import ChoiceError, parse_choices
from zlab.bench.spawning import children_ignore_ctrl_c, children_skip_main_module

FAULTS: tuple[str, ...] = ("kill-receiver", "kill-sender", "restart-binder", "pause-peer")
FAULT_IMPLS: tuple[str, ...] = ("zlab", "pyzmq")
FAULT_TRANSPORTS: tuple[str, ...] = ("tcp", "ipc")  # inproc peers share a process: nothing to kill
#: The faults each pattern has a meaning for.
FAULT_PATTERNS: dict[str, tuple[str, ...]] = {
    "pushpull": ("kill-receiver", "kill-sender", "pause-peer"),
    "pubsub": ("kill-receiver", "kill-sender", "pause-peer"),
    "reqrep": ("restart-binder", "pause-peer"),
    "dealer-router": ("restart-binder", "pause-peer"),
}
N_WORKERS = {"pushpull": 3, "pubsub": 2}
SETUP_TIMEOUT_S = 30.0
WINDOW_S = 0.1  # rate windows for the time to the pre-fault rate


@dataclass(frozen=True)
class FaultPlan:
    """The timeline of one fault cell (seconds after the stream started)."""

    rate: float = 2000.0
    warmup_s: float = 0.3
    fault_at_s: float = 1.5
    down_s: float = 0.5  # kill: how long the peer stays dead; pause: how long it stays frozen
    pause_s: float = 1.0
    total_s: float = 4.0
    drain_s: float = 1.0


#: Columns of a fault run (one row per cell and repeat).
FAULT_COLUMNS: dict[str, tuple[pa.DataType, str]] = {
    "run_id": (pa.string(), "unique id of the run (also the file name)"),
    "started_at": (pa.timestamp("us", tz="UTC"), "when the run started (UTC)"),
    "experiment": (pa.string(), "experiment name, or null"),
    "impl": (pa.string(), "zlab | pyzmq"),
    "impl_version": (pa.string(), "version of the implementation (pyzmq: with libzmq's)"),
    "transport": (pa.string(), "tcp | ipc"),
    "pattern": (pa.string(), "pushpull | pubsub | reqrep | dealer-router"),
    "fault": (pa.string(), "kill-receiver | kill-sender | restart-binder | pause-peer"),
    "repeat": (pa.int16(), "repeat index, 0-based; implementations interleaved"),
    "status": (pa.string(), "ok | failed | skipped"),
    "failure_reason": (pa.string(), "why a cell failed or was skipped, null when ok"),
    "rate_per_s": (pa.float64(), "offered messages (requests) per second"),
    "n_receivers": (pa.int16(), "workers (pushpull), subscribers (pubsub), 1 client (reqrep, dealer-router)"),
    "fault_at_s": (pa.float64(), "when the fault hit, seconds after the stream started"),
    "down_s": (pa.float64(), "how long the peer stayed dead (kill) or frozen (pause)"),
    "n_sent": (pa.int64(), "numbered messages sent (requests asked: reqrep, dealer-router)"),
    "n_delivered": (pa.int64(), "distinct numbered messages delivered (replies received)"),
    "lost": (
        pa.int64(),
        "sent, never delivered: pushpull to any worker; pubsub to a subscriber that was connected "
        "(the killed one's time away not counted); requests never answered",
    ),
    "lost_after_fault": (
        pa.int64(),
        "of the lost, those sent after the fault hit (the rest were already on their way to the dead peer)",
    ),
    "lost_live": (pa.int64(), "pubsub: messages a subscriber the fault never touched missed (should be 0)"),
    "missed_while_down": (pa.int64(), "pubsub kill-receiver: messages sent while the subscriber was dead"),
    "duplicated": (pa.int64(), "deliveries of a message a receiver already had (replies: a late reply)"),
    "reprocessed": (pa.int64(), "reqrep, dealer-router: requests the server served more than once"),
    "retries": (pa.int64(), "reqrep, dealer-router: requests the client asked again"),
    "recovery_first_ms": (
        pa.float64(),
        "restart (or resume) -> first message delivered through the faulted peer (ms)",
    ),
    "recovery_rate_ms": (
        pa.float64(),
        "restart (or resume) -> first 100 ms window at >= 90% of the pre-fault rate of the faulted stream",
    ),
    "pre_fault_rate": (pa.float64(), "messages/s of the faulted stream before the fault"),
    "hung": (pa.bool_(), "a peer did not finish, or nothing was delivered after the fault"),
    "notes": (pa.string(), "remarks (e.g. a peer killed at teardown)"),
}


@dataclass
class _Proc:
    spec: PeerSpec
    proc: Any
    conn: Connection


@dataclass
class _Books:
    """What the peers reported."""

    sent: dict[int, int] = field(default_factory=dict)  # incarnation -> messages sent
    recv: dict[str, list[tuple[int, float]]] = field(default_factory=dict)  # peer name -> (seq, t)
    served: Counter[int] = field(default_factory=Counter)
    retries: int = 0


def applies(pattern: str, fault: str) -> str | None:
    """Why ``fault`` has no meaning for ``pattern``, or None."""
    if fault not in FAULT_PATTERNS.get(pattern, ()):
        return f"{fault} not measured for {pattern} (has: {', '.join(FAULT_PATTERNS.get(pattern, ()))})"
    return None


class _Cell:
    """One fault cell's processes and control pipes."""

    def __init__(self, impl: str, transport: str, pattern: str, fault: str, plan: FaultPlan, tmpdir: str):
        self.impl, self.transport, self.pattern, self.fault, self.plan = impl, transport, pattern, fault, plan
        self.ctx = mp.get_context("spawn")
        self.procs: dict[str, _Proc] = {}
        self.books = _Books()
        self.endpoint = ""
        self.bind_addr = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmpdir}/fault.sock"
        self.notes: list[str] = []
        self.bound: dict[str, str] = {}
        self.said: dict[str, set[str]] = {}  # peer name -> kinds of report it sent
        self.sent_at_fault: dict[int, int] = {}  # incarnation -> messages it had sent when the fault hit

    def start(self, spec: PeerSpec) -> _Proc:
        parent, child = self.ctx.Pipe()
        proc = self.ctx.Process(target=fault_peers.main, args=(spec, child), name=f"zlab-fault-{spec.name}")
        with children_ignore_ctrl_c(), children_skip_main_module():
            proc.start()
        child.close()
        p = _Proc(spec, proc, parent)
        self.procs[spec.name] = p
        return p

    def wait_for(self, names: Sequence[str], kind: str, timeout: float) -> None:
        """Handle reports until each of ``names`` said ``kind``; ChoiceError-free RuntimeError on timeout."""

        def seen() -> set[str]:
            return {n for n in names if kind in self.said.get(n, ())}

        deadline = time.monotonic() + timeout
        while seen() != set(names):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(
                    f"timeout waiting for {', '.join(sorted(set(names) - seen()))} to be {kind}"
                )
            for name in names:
                p = self.procs[name]
                if not p.proc.is_alive() and not p.conn.poll():
                    raise RuntimeError(f"{name} exited with code {p.proc.exitcode} before it was {kind}")
            self.pump(min(left, 0.1))

    def pump(self, timeout: float) -> None:
        """Read every report that arrives within ``timeout`` seconds."""
        conns = {p.conn: name for name, p in self.procs.items() if not p.conn.closed}
        for ready in wait(list(conns), timeout=max(0.0, timeout)):
            conn: Connection = ready  # type: ignore[assignment]
            name = conns[conn]
            try:
                while conn.poll():
                    self._handle(name, conn.recv())
            except (EOFError, OSError):
                conn.close()

    def _handle(self, name: str, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        self.said.setdefault(name, set()).add(kind)
        books = self.books
        if kind == "bound":
            self.bound[name] = msg[1]
        elif kind == "sent":
            books.sent[msg[1]] = max(books.sent.get(msg[1], 0), msg[2])
        elif kind == "recv":
            books.recv.setdefault(f"{msg[1]}#{msg[2]}", []).extend(msg[3])
        elif kind == "served":
            books.served.update(msg[1])
        elif kind == "retries":
            books.retries = max(books.retries, msg[1])

    def sleep_until(self, t: float) -> None:
        while (left := t - time.monotonic()) > 0:
            self.pump(left)

    def stop(self, names: Sequence[str], timeout: float) -> list[str]:
        """Tell ``names`` to stop and wait for them to exit; returns those that hung (then killed)."""
        for name in names:
            p = self.procs[name]
            if p.proc.is_alive():
                try:
                    p.conn.send(("stop",))
                except OSError:
                    pass
        deadline = time.monotonic() + timeout
        hung = []
        for name in names:
            p = self.procs[name]
            while p.proc.is_alive() and time.monotonic() < deadline:
                self.pump(0.05)
            if p.proc.is_alive():
                hung.append(name)
                p.proc.kill()
            p.proc.join(5)
            self.pump(0)
        return hung

    def kill_all(self) -> None:
        for p in self.procs.values():
            if p.proc.is_alive():
                os.kill(p.proc.pid, signal.SIGCONT)
                p.proc.kill()
            p.proc.join(5)
            p.conn.close()


def run_fault_cell(
    impl: str, transport: str, pattern: str, fault: str, plan: FaultPlan | None = None
) -> dict[str, Any]:
    """Run one fault cell and return its row's measured columns (``status`` ok, failed or skipped)."""
    plan = plan or FaultPlan()
    base: dict[str, Any] = {
        "impl": impl,
        "transport": transport,
        "pattern": pattern,
        "fault": fault,
        "rate_per_s": plan.rate,
        "fault_at_s": plan.fault_at_s,
        "down_s": plan.pause_s if fault == "pause-peer" else plan.down_s,
    }
    reason = applies(pattern, fault) or unavailable_reason(impl)
    if transport not in FAULT_TRANSPORTS:
        reason = f"no fault runs over {transport} (peers must be processes: {', '.join(FAULT_TRANSPORTS)})"
    if reason:
        return {**base, "status": "skipped", "failure_reason": reason}
    tmpdir = tempfile.mkdtemp(prefix="zlab-fault-")
    cell = _Cell(impl, transport, pattern, fault, plan, tmpdir)
    try:
        return {**base, **_timeline(cell)}
    except Exception as exc:
        return {**base, "status": "failed", "failure_reason": f"{type(exc).__name__}: {exc}", "hung": True}
    finally:
        cell.kill_all()
        shutil.rmtree(tmpdir, ignore_errors=True)


def _specs(cell: _Cell) -> tuple[PeerSpec, list[PeerSpec]]:
    """The binder and the connecting peers of the cell's pattern."""
    plan, impl = cell.plan, cell.impl
    common: dict[str, Any] = {"impl": impl, "rate": plan.rate, "warmup_s": plan.warmup_s}
    if cell.pattern in ("pushpull", "pubsub"):
        send_type, recv_type = ("PUSH", "PULL") if cell.pattern == "pushpull" else ("PUB", "SUB")
        binder = PeerSpec(
            "sender", socket_type=send_type, address=cell.bind_addr, binds=True, name="sender", **common
        )
        workers = [
            PeerSpec("receiver", socket_type=recv_type, address="", binds=False, name=f"r{i}", **common)
            for i in range(N_WORKERS[cell.pattern])
        ]
        return binder, workers
    server_type, client_type = ("REP", "REQ") if cell.pattern == "reqrep" else ("ROUTER", "DEALER")
    binder = PeerSpec(
        "server", socket_type=server_type, address=cell.bind_addr, binds=True, name="server", **common
    )
    client = PeerSpec("client", socket_type=client_type, address="", binds=False, name="client", **common)
    return binder, [client]


def _timeline(cell: _Cell) -> dict[str, Any]:
    plan = cell.plan
    binder, others = _specs(cell)
    cell.start(binder)
    cell.wait_for([binder.name], "bound", SETUP_TIMEOUT_S)
    endpoint = cell.bound[binder.name]
    binder = replace(binder, address=endpoint)  # a restarted binder binds the very same endpoint
    others = [replace(s, address=endpoint) for s in others]
    streams = [s for s in (binder, *others) if s.role in ("sender", "client")]
    # receivers and the server first: the stream starts when everyone listens
    for spec in [s for s in others if s.role == "receiver"]:
        cell.start(spec)
    cell.wait_for([s.name for s in others if s.role == "receiver"] + [binder.name], "ready", SETUP_TIMEOUT_S)
    for spec in [s for s in others if s.role == "client"]:
        cell.start(spec)
    cell.wait_for([s.name for s in others if s.role == "client"], "ready", SETUP_TIMEOUT_S)
    if binder.role == "sender":
        cell.procs[binder.name].conn.send(("go",))
    t0 = time.monotonic()
    fault_t = t0 + plan.fault_at_s
    cell.sleep_until(fault_t)
    target = _target(cell, binder, others)
    restart_t = _inject(cell, target, fault_t)
    cell.sleep_until(t0 + plan.total_s)
    hung = cell.stop([s.name for s in streams if s.name in cell.procs] + _incarnations(cell, streams), 10.0)
    cell.sleep_until(time.monotonic() + plan.drain_s)
    rest = [n for n in cell.procs if cell.procs[n].proc.is_alive()]
    hung += cell.stop(rest, 10.0)
    metrics = _metrics(cell, target, fault_t, restart_t, t0)
    if hung:
        metrics["hung"] = True
        cell.notes.append(f"did not stop, killed: {', '.join(hung)}")
    metrics["notes"] = "; ".join(cell.notes) or None
    return metrics


def _incarnations(cell: _Cell, streams: list[PeerSpec]) -> list[str]:
    """Names of restarted stream peers (``sender+1``...)."""
    return [n for n in cell.procs if any(n.startswith(s.name + "+") for s in streams)]


def _target(cell: _Cell, binder: PeerSpec, others: list[PeerSpec]) -> PeerSpec:
    """The peer the fault hits."""
    if cell.fault in ("kill-sender", "restart-binder") or binder.role == "server":
        return binder  # (a paused requester is no fault of the messaging: the server is frozen)
    return others[0]


def _inject(cell: _Cell, target: PeerSpec, fault_t: float) -> float:
    """Hit ``target``; return when it was restarted (or resumed)."""
    plan = cell.plan
    proc = cell.procs[target.name].proc
    cell.pump(0)
    cell.sent_at_fault = {inc: n for inc, n in cell.books.sent.items()}
    if cell.fault == "pause-peer":
        os.kill(proc.pid, signal.SIGSTOP)
        cell.sleep_until(fault_t + plan.pause_s)
        os.kill(proc.pid, signal.SIGCONT)
        return time.monotonic()
    proc.kill()
    proc.join(5)
    cell.sleep_until(fault_t + plan.down_s)
    again = replace(target, name=f"{target.name}+1", incarnation=target.incarnation + 1, warmup_s=0.0)
    cell.start(again)
    # the restart is when the new peer's socket is bound or connected (its "ready"), not when its
    # process started: a Python interpreter's start-up is not the library's recovery
    cell.wait_for([again.name], "ready", SETUP_TIMEOUT_S)
    restart_t = time.monotonic()
    if again.binds and cell.bound[again.name] != cell.bound[target.name]:
        cell.notes.append(f"restarted on {cell.bound[again.name]}, not {cell.bound[target.name]}")
    if again.role == "sender":
        cell.procs[again.name].conn.send(("go",))
    return restart_t


def _metrics(cell: _Cell, target: PeerSpec, fault_t: float, restart_t: float, t0: float) -> dict[str, Any]:
    books = cell.books
    n_sent = sum(books.sent.values())
    delivered: dict[str, list[tuple[int, float]]] = books.recv
    all_recv = [x for lst in delivered.values() for x in lst]
    out: dict[str, Any] = {"status": "ok", "n_sent": n_sent}
    if cell.pattern in ("pushpull", "reqrep", "dealer-router"):
        seen = Counter(seq for seq, _ in all_recv)
        out["n_delivered"] = len(seen)
        out["duplicated"] = sum(c - 1 for c in seen.values())
        sent_seqs = {inc * SEQ_BASE + i for inc, n in books.sent.items() for i in range(n)}
        sent_seqs |= set(seen)  # a killed sender's last messages, reported only by their receivers
        out["n_sent"] = len(sent_seqs)
        missing = sent_seqs - set(seen)
        out["lost"] = len(missing)
        at_fault = cell.sent_at_fault.get(0, 0)
        out["lost_after_fault"] = sum(1 for x in missing if x >= at_fault)
        out["n_receivers"] = N_WORKERS.get(cell.pattern, 1)
        if cell.pattern != "pushpull":
            out["reprocessed"] = sum(c - 1 for c in books.served.values())
            out["retries"] = books.retries
            out["lost"] = max(0, out["lost"] - 1)  # the request in flight when the client was stopped
    else:  # pubsub: every subscriber should get every message sent while it was there
        sent_seqs = {inc * SEQ_BASE + i for inc, n in books.sent.items() for i in range(n)}
        sent_seqs |= {seq for seq, _ in all_recv}
        last_sent = max(sent_seqs, default=0)
        out["n_sent"] = len(sent_seqs)
        out["n_receivers"] = N_WORKERS["pubsub"]
        lost = live = dup = missed = 0
        union: set[int] = set()
        killed_sub = cell.fault == "kill-receiver"
        for name, recs in delivered.items():
            seqs = Counter(seq for seq, _ in recs)
            union |= set(seqs)
            dup += sum(c - 1 for c in seqs.values())
            faulted = name.split("#")[0].split("+")[0] == target.name and target.role == "receiver"
            if faulted and killed_sub:
                # a killed subscriber, or its successor: what it missed while it was there
                got = sorted(seqs)
                hi = got[-1] if "+" not in name else last_sent
                expected = {x for x in sent_seqs if got and got[0] <= x <= hi}
                lost += len(expected - set(seqs))
            else:
                miss = len(sent_seqs - set(seqs))
                lost += miss
                if not faulted and cell.fault != "kill-sender":
                    live += miss
        if killed_sub:
            old = [x for x, _ in delivered.get(f"{target.name}#{target.incarnation}", [])]
            new = [x for x, _ in delivered.get(f"{target.name}+1#{target.incarnation + 1}", [])]
            if old and new:
                missed = len({x for x in sent_seqs if max(old) < x < min(new)})
        out.update(
            n_delivered=len(union),
            lost=lost,
            lost_live=live if cell.fault != "kill-sender" else None,
            duplicated=dup,
            missed_while_down=missed if killed_sub else None,
        )
    out.update(_recovery(cell, target, fault_t, restart_t, t0))
    return out


def _faulted_stream(cell: _Cell, target: PeerSpec) -> list[float]:
    """Delivery times of the stream the fault hit: the faulted receiver's, or everything (sender faults)."""
    books = cell.books
    if target.role == "receiver":
        names = [n for n in books.recv if n.split("#")[0].split("+")[0] == target.name]
    else:
        names = list(books.recv)
    return sorted(t for n in names for _, t in books.recv[n])


def _recovery(cell: _Cell, target: PeerSpec, fault_t: float, restart_t: float, t0: float) -> dict[str, Any]:
    plan = cell.plan
    times = _faulted_stream(cell, target)
    before = [t for t in times if t0 + plan.warmup_s + 0.2 <= t < fault_t]
    span = fault_t - (t0 + plan.warmup_s + 0.2)
    pre_rate = len(before) / span if span > 0 else None
    after = [t for t in times if t >= restart_t]
    out: dict[str, Any] = {"pre_fault_rate": pre_rate, "hung": not after}
    if target.role == "receiver" and cell.fault != "pause-peer":
        inc_names = [n for n in cell.books.recv if n.startswith(f"{target.name}+1#")]
        after = sorted(t for n in inc_names for _, t in cell.books.recv[n])
        out["hung"] = not after
    if after:
        out["recovery_first_ms"] = round((after[0] - restart_t) * 1000, 1)
    if pre_rate and after:
        need = 0.9 * pre_rate * WINDOW_S
        end = t0 + plan.total_s
        t = restart_t
        k = 0
        while t + WINDOW_S <= end:
            while k < len(after) and after[k] < t:
                k += 1
            j = k
            while j < len(after) and after[j] < t + WINDOW_S:
                j += 1
            if j - k >= need:
                out["recovery_rate_ms"] = round((t - restart_t) * 1000, 1)
                break
            t += WINDOW_S / 4
    return out


def run_faults(
    impls: str | Sequence[str] = FAULT_IMPLS,
    transports: str | Sequence[str] = ("tcp",),
    patterns: str | Sequence[str] = tuple(FAULT_PATTERNS),
    faults: str | Sequence[str] = FAULTS,
    *,
    repeats: int = 3,
    plan: FaultPlan | None = None,
    out: str | os.PathLike[str] | None = "results",
    experiment: str | None = None,
    progress: bool = True,
) -> Any:
    """Every (transport, pattern, fault) that applies, for each implementation, ``repeats`` times
    (implementations innermost, repeats outermost); returns the frame (``FAULT_COLUMNS``), written to
    ``out/faults/<run_id>.parquet`` + ``.json`` unless ``out`` is None. Pairs that have no meaning are left out."""
    import pandas as pd

    from zlab.bench import metadata
    from zlab.bench.tables import schema_of, write_table

    impl_list = parse_choices(impls, FAULT_IMPLS, "impl")
    transport_list = parse_choices(transports, FAULT_TRANSPORTS, "fault transport")
    pattern_list = parse_choices(patterns, tuple(FAULT_PATTERNS), "fault pattern")
    fault_list = parse_choices(faults, FAULTS, "fault")
    if repeats < 1:
        raise ChoiceError(f"repeats must be at least 1, not {repeats}")
    plan = plan or FaultPlan()
    cells = [
        (t, p, f) for t in transport_list for p in pattern_list for f in fault_list if applies(p, f) is None
    ]
    if not cells:
        raise ChoiceError(
            "no fault applies to these patterns: "
            + "; ".join(f"{p}: {', '.join(FAULT_PATTERNS[p])}" for p in pattern_list)
        )
    started = datetime.now(UTC)
    run_id = metadata.new_run_id(started)
    versions = {impl: impl_version(impl) for impl in impl_list}
    rows: list[dict[str, Any]] = []
    total = len(cells) * len(impl_list) * repeats
    try:
        for repeat in range(repeats):
            for transport, pattern, fault in cells:
                for impl in impl_list:
                    if progress:
                        print(f"[{len(rows) + 1}/{total}] {impl} {transport} {pattern} {fault}", flush=True)
                    row = run_fault_cell(impl, transport, pattern, fault, plan)
                    row.update(
                        run_id=run_id,
                        started_at=started,
                        experiment=experiment,
                        impl_version=versions[impl],
                        repeat=repeat,
                    )
                    rows.append(row)
    except KeyboardInterrupt:
        pass
    if out is not None and rows:
        meta = metadata.collect(
            run_id=run_id,
            experiment=experiment or "faults",
            started_at=started.isoformat(timespec="seconds"),
            finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
            plan=vars(plan),
            repeats=repeats,
            impl_versions=versions,
        )
        path: Path | None = write_table(rows, FAULT_COLUMNS, Path(out) / "faults", run_id, meta)
    else:
        path = None
    frame = pa.Table.from_pylist(rows, schema=schema_of(FAULT_COLUMNS)).to_pandas()
    frame = pd.DataFrame(frame)
    frame.attrs.update(run_id=run_id, path=str(path) if path else None)
    return frame


def run_from_matrix(
    impls: str | Sequence[str],
    transports: str | Sequence[str],
    patterns: str | Sequence[str],
    faults: str | Sequence[str],
    **kwargs: Any,
) -> Any:
    """:func:`run_faults` from the main matrix's choices (``zb.run(..., faults=...)``, ``zlab bench
    --fault``): implementations, transports and patterns the fault axis has no meaning for are left out
    (raw, inproc, pair); ChoiceError if nothing is left."""

    def keep(value: str | Sequence[str], valid: Sequence[str]) -> list[str]:
        items = value.split(",") if isinstance(value, str) else list(value)
        return [i.strip() for i in items if i.strip() in valid]

    kept = keep(impls, FAULT_IMPLS), keep(transports, FAULT_TRANSPORTS), keep(patterns, tuple(FAULT_PATTERNS))
    for got, what, valid in zip(
        kept, ("impl", "transport", "pattern"), (FAULT_IMPLS, FAULT_TRANSPORTS, FAULT_PATTERNS), strict=True
    ):
        if not got:
            raise ChoiceError(f"faults: no {what} the fault axis measures (valid: {', '.join(valid)})")
    return run_faults(*kept, faults, **kwargs)


def cli_faults(args: Any) -> int:
    """``zlab bench --fault ...``: run the fault cells of the given matrix and print the fault table."""

    try:
        frame = run_from_matrix(
            args.impl,
            args.transport,
            args.pattern,
            args.fault,
            repeats=args.repeats,
            out=None if args.no_save else args.out,
            experiment=args.experiment,
            progress=not args.no_progress,
        )
    except ChoiceError as exc:
        print(f"zlab bench: error: {exc}", file=sys.stderr)
        return 2
    print(format_fault_report(frame))
    if frame.attrs.get("path"):
        print(f"results: {frame.attrs['path']}")
    return 1 if args.strict and (frame["status"] == "failed").any() else 0


def format_fault_report(frame: Any) -> str:
    """The fault table as text, then one line per cell that was not ok."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20):
        lines = [fault_table(frame).to_string(index=False)]
    for _, row in frame[frame["status"] != "ok"].iterrows():
        lines.append(
            f"{row['status']}: {row['impl']} {row['transport']} {row['pattern']} {row['fault']}: {row['failure_reason']}"
        )
    return "\n".join(lines)


def fault_table(frame: Any) -> Any:
    """Medians per (pattern, fault, transport, impl): lost, duplicated, recovery times, hangs."""
    ok = frame[frame["status"] == "ok"]
    return (
        ok.groupby(["pattern", "fault", "transport", "impl"], sort=False)
        .agg(
            runs=("lost", "size"),
            sent=("n_sent", "median"),
            lost=("lost", "median"),
            lost_max=("lost", "max"),
            lost_live=("lost_live", "max"),
            duplicated=("duplicated", "max"),
            first_ms=("recovery_first_ms", "median"),
            rate_ms=("recovery_rate_ms", "median"),
            hung=("hung", "sum"),
        )
        .reset_index()
    )
