# zlab.bench.runner -- runs cells in fresh processes and a whole sweep into a DataFrame.
"""The coordinator: one cell at a time, peers in fresh spawned processes, a sweep with repeats.

Owns: :func:`run_cell` (spawn the peers, sequence them over their control pipes, enforce the
timeout, kill hung or dead peers and record why) and :func:`run` (expand the matrix, interleave
implementations repeat by repeat, show progress, write rows as they come, stop cleanly on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import resource
import shutil
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection, wait
from typing import Any

import pandas as pd

from zlab.bench import control, metadata, results, worker
from zlab.bench.adapters import impl_version, unavailable_reason
from zlab.bench.matrix import (
    APIS,
    IMPLS,
    MECHANISMS,
    MODES,
    PATTERNS,
    PLACEMENTS,
    TRANSPORTS,
    Budget,
    Cell,
    ChoiceError,
    build_cells,
    parse_choices,
    parse_counts,
    parse_sizes,
)
from zlab.bench.scenarios import CellFailed, Params, Role, measure, roles_for
from zlab.bench.security import make_security

SETUP_TIMEOUT_S = 30.0  # spawning and importing on a busy 2-core machine
TEARDOWN_GRACE_S = 5.0


@dataclass
class CellOutcome:
    """What one run of one cell produced."""

    status: str  # ok | failed | skipped
    columns: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    detail: str | None = None
    cpus: str = ""
    notes: str | None = None
    foreign_cpu_pct: float | None = None


class _CpuMeter:
    """How much of the machine something other than this cell used while it ran.

    Busy time of all CPUs (from /proc/stat, steal included) minus the CPU time of the coordinator and
    its reaped children (the cell's peers), as a percentage of wall time x CPUs. A cell measured
    while another program was busy says so in ``foreign_cpu_pct`` instead of silently reading slow.
    """

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                ticks = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        # user + nice + system + steal; irq/softirq time is left out: loopback packets are processed
        # there on behalf of the cell's own peers but never charged to their rusage.
        busy = (ticks[0] + ticks[1] + ticks[2] + ticks[7]) / os.sysconf("SC_CLK_TCK")
        ours = sum(
            r.ru_utime + r.ru_stime
            for r in (resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN))
        )
        return busy, ours, time.monotonic()

    def foreign_pct(self) -> float | None:
        """Foreign CPU use since construction (call after the peers were reaped), or None."""
        end = self._sample()
        if self.start is None or end is None or end[2] - self.start[2] <= 0:
            return None
        foreign = (end[0] - self.start[0]) - (end[1] - self.start[1])
        capacity = (end[2] - self.start[2]) * (os.cpu_count() or 1)
        return round(max(0.0, 100.0 * foreign / capacity), 1)


def assign_cpus(placement: str, n_peers: int) -> list[int | None]:
    """CPU per peer: ``one`` all on the first allowed CPU, ``split`` round-robin, ``none`` unpinned."""
    if placement not in PLACEMENTS:
        raise ChoiceError(f"unknown placement {placement!r} (valid: {', '.join(PLACEMENTS)})")
    if placement == "none":
        return [None] * n_peers
    allowed = sorted(os.sched_getaffinity(0))
    if placement == "one":
        return [allowed[0]] * n_peers
    return [allowed[i % len(allowed)] for i in range(n_peers)]


def default_timeout(budget: Budget) -> float:
    """Seconds a cell may take before its peers are killed: setup, warm-up, measurement, draining."""
    return SETUP_TIMEOUT_S + 4 * (budget.duration_s + budget.warmup_s) + 10.0


def _bind_addr(transport: str, tmpdir: str | None, tcp_host: str) -> str:
    if transport == "inproc":
        return f"inproc://zlab-bench-{uuid.uuid4().hex[:12]}"
    if transport == "ipc":
        assert tmpdir is not None
        return f"ipc://{tmpdir}/bench.sock"
    host, sep, port = tcp_host.rpartition(":") if tcp_host.count(":") == 1 else (tcp_host, "", "")
    return f"tcp://{host}:{port}" if sep else f"tcp://{tcp_host}:*"


class _Coordinator:
    """The coordinator's side of one cell's control pipes."""

    def __init__(self, roles: list[Role], conns: list[Connection]) -> None:
        self.roles = roles
        self.by_conn = dict(zip(conns, roles, strict=True))
        self.conn_of = {role.name: conn for conn, role in self.by_conn.items()}
        self.open = set(conns)
        self.ready: set[str] = set()
        self.reports: dict[str, dict[str, Any]] = {}
        self.bound = False
        self.stopped = False

    def _send(self, names: Iterable[str], msg: tuple[Any, ...]) -> None:
        for name in names:
            try:
                self.conn_of[name].send(msg)
            except OSError:  # that peer already finished or died; its sentinel tells
                pass

    def handle(self, conn: Connection) -> None:
        """Act on one message from a peer; raises CellFailed on a peer error."""
        role = self.by_conn[conn]
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            self.open.discard(conn)
            return
        kind = msg[0]
        if kind == control.BOUND:
            self.bound = True
            self._send((r.name for r in self.roles if not r.binds), (control.ENDPOINT, msg[1]))
        elif kind == control.READY:
            self.ready.add(role.name)
            if len(self.ready) == len(self.roles):
                self._send((r.name for r in self.roles), (control.GO,))
        elif kind == control.RESULT:
            self.reports[role.name] = msg[1]
            if not self.stopped and all(r.name in self.reports for r in self.roles if not r.needs_stop):
                self.stopped = True
                self._send((r.name for r in self.roles), (control.STOP,))
        elif kind == control.ERROR:
            first, _, rest = str(msg[1]).partition("\n")
            raise CellFailed(first) from _Detail(rest)

    def drain(self, names: Iterable[str]) -> None:
        """Handle whatever a peer wrote before it exited."""
        for name in names:
            conn = self.conn_of[name]
            while conn in self.open and conn.poll():
                self.handle(conn)

    def waiting_for(self) -> str:
        """What the cell is stuck on, for a timeout's reason."""
        if not self.bound:
            return f"waiting for {self.roles[0].name} to bind"
        missing = [r.name for r in self.roles if r.name not in self.ready]
        if missing:
            return f"waiting for {', '.join(missing)} to connect and warm up"
        missing = [r.name for r in self.roles if r.name not in self.reports]
        return f"waiting for {', '.join(missing)} to finish measuring"

    @property
    def done(self) -> bool:
        return len(self.reports) == len(self.roles)


class _Detail(Exception):
    """Carries a peer's traceback behind a CellFailed."""


def run_cell(
    cell: Cell,
    budget: Budget,
    *,
    placement: str = "none",
    timeout_s: float | None = None,
    tcp_host: str = "127.0.0.1",
    fault: worker.Fault | None = None,
) -> CellOutcome:
    """Measure one cell once, its peers in fresh spawned processes; never raises for a peer failure.

    ``fault`` (tests only) makes one role hang, crash or raise after it is connected.
    """
    reason = cell.skip_reason() or unavailable_reason(cell.impl)
    if reason:
        return CellOutcome("skipped", reason=reason)
    roles = roles_for(cell)
    cpus = assign_cpus(placement, len(roles))
    cpu_text = " ".join(f"{r.name}:{c}" for r, c in zip(roles, cpus, strict=True) if c is not None)
    timeout = timeout_s if timeout_s is not None else default_timeout(budget)
    ctx = mp.get_context("spawn")
    tmpdir = tempfile.mkdtemp(prefix="zlab-bench-") if cell.transport == "ipc" else None
    params = Params(cell.msg_size_bytes, budget)
    security = make_security(cell.mechanism)  # keys made once per cell run, handed to every peer
    bind_addr = _bind_addr(cell.transport, tmpdir, tcp_host)
    pipes = [ctx.Pipe() for _ in roles]
    peer_tasks = [worker.PeerTask(r, child, c) for r, (_, child), c in zip(roles, pipes, cpus, strict=True)]
    if cell.transport == "inproc":  # both peers are threads of one process
        one_cpu = cpus[0] if placement == "one" else None
        groups = [
            worker.ProcessTask(
                cell.impl,
                cell.transport,
                bind_addr,
                params,
                tuple(peer_tasks),
                one_cpu,
                fault,
                cell.api,
                security,
            )
        ]
    else:
        groups = [
            worker.ProcessTask(
                cell.impl, cell.transport, bind_addr, params, (t,), t.cpu, fault, cell.api, security
            )
            for t in peer_tasks
        ]
    procs = [
        ctx.Process(
            target=worker.main, args=(g,), name=f"zlab-bench-{'+'.join(t.role.name for t in g.peers)}"
        )
        for g in groups
    ]
    roles_of = {id(p): [t.role.name for t in g.peers] for p, g in zip(procs, groups, strict=True)}
    coord = _Coordinator(roles, [parent for parent, _ in pipes])
    outcome = CellOutcome("failed", cpus=cpu_text)
    meter = _CpuMeter()
    try:
        with _children_ignore_ctrl_c(), _children_skip_main_module():
            for proc in procs:
                proc.start()
        for _, child in pipes:
            child.close()
        deadline = time.monotonic() + timeout
        live = {p.sentinel: p for p in procs}
        while not coord.done:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise CellFailed(f"timeout after {timeout:g} s {coord.waiting_for()}; peers killed")
            for obj in wait([*coord.open, *live], timeout=remaining):
                if obj in coord.by_conn:
                    coord.handle(obj)  # type: ignore[arg-type]
            for obj in [s for s in live if not live[s].is_alive()]:
                proc = live.pop(obj)
                coord.drain(roles_of[id(proc)])
                missing = [name for name in roles_of[id(proc)] if name not in coord.reports]
                if missing:
                    raise CellFailed(
                        f"peer {'+'.join(missing)} exited with code {proc.exitcode} before reporting"
                    )
        outcome = CellOutcome("ok", measure(cell, coord.reports), cpus=cpu_text)
    except CellFailed as exc:
        detail = exc.__cause__.args[0] if isinstance(exc.__cause__, _Detail) else None
        outcome = CellOutcome("failed", reason=str(exc), detail=detail or None, cpus=cpu_text)
    except Exception as exc:  # a harness error on one cell must not end the run
        reason = f"harness error: {type(exc).__name__}: {exc}"
        outcome = CellOutcome("failed", reason=reason, detail=traceback.format_exc(), cpus=cpu_text)
    finally:
        outcome.notes = _teardown(procs, roles_of, kill_now=outcome.status != "ok")
        outcome.foreign_cpu_pct = meter.foreign_pct()
        for parent, _ in pipes:
            parent.close()
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    return outcome


@contextlib.contextmanager
def _children_ignore_ctrl_c() -> Iterator[None]:
    """Start peers with SIGINT ignored (inherited through exec): Ctrl-C in a terminal reaches the whole
    process group, and the coordinator, not a peer halfway through its imports, must handle it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@contextlib.contextmanager
def _children_skip_main_module() -> Iterator[None]:
    """Start peers without re-importing the caller's ``__main__`` (spawn would run it as ``__mp_main__``).

    Peers need only zlab.bench, so a script calling :func:`run` needs no ``if __name__ == "__main__"``
    guard, and peers under pytest or the CLI do not import those first.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


@contextlib.contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """During a run, SIGTERM (a CI timeout, ``kill``) stops it like Ctrl-C: measured cells are kept."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _teardown(procs: list[Any], roles_of: dict[int, list[str]], kill_now: bool) -> str | None:
    """Let peers exit (or kill them at once after a failure); name those killed after a teardown hang."""
    end = time.monotonic() + (0 if kill_now else TEARDOWN_GRACE_S)
    killed = []
    for proc in procs:
        if proc.pid is None:
            continue
        proc.join(max(0.0, end - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join(5)
            if not kill_now:
                killed.append("+".join(roles_of[id(proc)]))
    return f"killed {', '.join(killed)} after a teardown hang" if killed else None


def run(
    impls: str | Sequence[str] = IMPLS,
    transports: str | Sequence[str] = TRANSPORTS,
    patterns: str | Sequence[str] = ("reqrep", "pushpull", "pubsub"),
    sizes: str | int | Sequence[str | int] = (64, 65536),
    *,
    modes: str | Sequence[str] = MODES,
    repeats: int = 3,
    subscribers: str | int | Sequence[int] = 2,
    apis: str | Sequence[str] = "sync",
    mechanisms: str | Sequence[str] = "null",
    placement: str = "none",
    quick: bool = False,
    duration_s: float | None = None,
    max_msgs: int | None = None,
    timeout_s: float | None = None,
    tcp_host: str = "127.0.0.1",
    out: str | os.PathLike[str] | None = "results",
    experiment: str | None = None,
    progress: bool = True,
    live: bool = False,
) -> pd.DataFrame:
    """Run a sweep and return its tidy frame (one row per cell and repeat, see ``results.COLUMNS``).

    Lists may be given as comma strings (``"pyzmq,raw"``) or sequences. ``apis``: ``sync`` (blocking
    calls), ``asyncio`` (zlab.asyncio / zmq.asyncio; raw has none, its cells are skipped), or both.
    ``mechanisms``: ``null``, ``plain``, ``curve`` or several (tcp and ipc only; raw and inproc cells with
    a mechanism other than null are skipped with a reason). Repeats are the outer loop
    and implementations the inner one, so ratios compare neighbours in time. Rows are written to
    ``out/<run_id>.parquet`` as they come (``out=None`` writes nothing). Ctrl-C stops the sweep,
    keeps the rows measured so far and returns them (``df.attrs["interrupted"]`` is True).
    ``df.attrs`` also holds ``run_id``, ``path`` (or None) and ``meta``. ``live=True`` in a Jupyter
    notebook draws the chart of the rows so far and redraws that one figure as each cell completes (see
    :mod:`zlab.bench.live`); in a terminal it changes nothing.
    """
    impl_list = parse_choices(impls, IMPLS, "impl")
    api_list = parse_choices(apis, APIS, "api")
    mechanism_list = parse_choices(mechanisms, MECHANISMS, "mechanism")
    cells = build_cells(
        impl_list,
        parse_choices(transports, TRANSPORTS, "transport"),
        parse_choices(patterns, PATTERNS, "pattern"),
        parse_sizes(sizes),
        parse_choices(modes, MODES, "mode"),
        parse_counts(subscribers, "subscriber count"),
        api_list,
        mechanism_list,
    )
    if placement not in PLACEMENTS:
        raise ChoiceError(f"unknown placement {placement!r} (valid: {', '.join(PLACEMENTS)})")
    if repeats < 1:
        raise ChoiceError(f"repeats must be at least 1, not {repeats}")
    budget = Budget.make(quick, duration_s, max_msgs)
    started = datetime.now(UTC)
    run_id = metadata.new_run_id(started)
    versions = {impl: impl_version(impl) for impl in impl_list}
    meta = metadata.collect(
        run_id=run_id,
        started_at=started.isoformat(timespec="seconds"),
        experiment=experiment,
        placement=placement,
        quick=quick,
        repeats=repeats,
        budget=vars(budget),
        impls=impl_list,
        apis=api_list,
        mechanisms=mechanism_list,
        cells=[c.label for c in cells],
        tcp_host=tcp_host,
        impl_versions=versions,
    )
    writer = results.RunWriter(out, run_id, meta) if out is not None else None
    rows: list[dict[str, Any]] = []
    interrupted = False
    bar = _progress_bar(len(cells) * repeats, progress)
    view = None
    if live:  # matplotlib and IPython only when asked for
        from zlab.bench.live import live_chart

        view = live_chart(live, len(cells) * repeats)
    stack = contextlib.ExitStack()
    stack.enter_context(_sigterm_as_ctrl_c())
    try:
        for repeat in range(repeats):
            for cell in cells:
                bar.set_postfix_str(f"r{repeat} {cell.label}", refresh=True)
                cell_started = datetime.now(UTC)
                outcome = run_cell(cell, budget, placement=placement, timeout_s=timeout_s, tcp_host=tcp_host)
                row = results.make_row(
                    run_id=run_id,
                    started_at=started,
                    cell_started_at=cell_started,
                    experiment=experiment,
                    host=meta["hostname"],
                    impl=cell.impl,
                    impl_version=versions[cell.impl],
                    api=cell.api,
                    mechanism=cell.mechanism,
                    transport=cell.transport,
                    pattern=cell.pattern,
                    mode=cell.mode,
                    msg_size_bytes=cell.msg_size_bytes,
                    n_subscribers=cell.n_subscribers,
                    repeat=repeat,
                    placement=placement,
                    cpus=outcome.cpus,
                    quick=quick,
                    target_duration_s=budget.duration_s,
                    max_msgs=budget.max_msgs,
                    status=outcome.status,
                    failure_reason=outcome.reason,
                    failure_detail=outcome.detail,
                    notes=outcome.notes,
                    foreign_cpu_pct=outcome.foreign_cpu_pct,
                    **outcome.columns,
                )
                rows.append(row)
                if writer is not None:
                    writer.append(row)
                if view is not None:
                    view.update(rows)
                bar.update()
    except KeyboardInterrupt:
        interrupted = True
    finally:
        stack.close()
        bar.close()
        meta["interrupted"] = interrupted
        meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        meta["loadavg_at_end"] = list(os.getloadavg())
        if writer is not None:
            writer.meta.update(meta)
            writer.close(complete=not interrupted)
    frame = results.to_frame(rows)
    frame.attrs.update(
        run_id=run_id,
        path=str(writer.parquet) if writer is not None and rows else None,
        meta=meta,
        interrupted=interrupted,
    )
    return frame


def _progress_bar(total: int, enabled: bool) -> Any:
    """tqdm.auto: a bar in a terminal, a widget in a notebook."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="zlab bench", unit="cell", disable=not enabled, dynamic_ncols=True)
