# zlab.bench.runner -- runs cells in fresh processes and a whole sweep into a DataFrame.
"""The coordinator: one cell at a time, peers in fresh spawned processes, a sweep with repeats.

Owns: :func:`run_cell` (spawn the peers, sequence them over their control pipes, enforce the
timeout, kill hung or dead peers and record why) and :func:`run` (expand the matrix, interleave
implementations repeat by repeat, show progress, write rows as they come, stop cleanly on Ctrl-C).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import multiprocessing as mp
import os
import resource
import shutil
import signal
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from multiprocessing.connection import wait
from typing import Any, TypeVar

import pandas as pd

from zlab.bench import metadata, results, worker
from zlab.bench.adapters import impl_version, unavailable_reason
from zlab.bench.coordinator import TEARDOWN_GRACE_S, CellOutcome, default_timeout
from zlab.bench.coordinator import Coordinator as _Coordinator
from zlab.bench.coordinator import PeerDetail as _Detail
from zlab.bench.matrix import (
    ALL_MODES,
    APIS,
    IMPLS,
    MECHANISMS,
    MODES,
    PATTERNS,
    PLACEMENTS,
    SWEEP,
    TRANSPORTS,
    Budget,
    Cell,
    ChoiceError,
    build_cells,
    parse_choices,
    parse_counts,
    parse_rates,
    parse_sizes,
)
from zlab.bench.openloop import DEFAULT_PACING
from zlab.bench.scenarios import CellFailed, Params, measure_cell, params_for, roles_for
from zlab.bench.security import make_security
from zlab.bench.spawning import children_ignore_ctrl_c as _children_ignore_ctrl_c
from zlab.bench.spawning import children_skip_main_module as _children_skip_main_module

#: A cell during which other programs used more than this % of all CPUs is measured again ...
NOISY_PCT = 25.0
#: ... at most this many more times (the quietest attempt is kept, its row says how many re-runs).
MAX_RERUNS = 2
#: foreign_cpu_pct is tick-sampled (~5 points at 1 s): shorter cells are never re-run on it.
RERUN_MIN_DURATION_S = 0.5


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


def _bind_addr(transport: str, tmpdir: str | None, tcp_host: str) -> str:
    if transport == "inproc":
        return f"inproc://zlab-bench-{uuid.uuid4().hex[:12]}"
    if transport == "ipc":
        assert tmpdir is not None
        return f"ipc://{tmpdir}/bench.sock"
    host, sep, port = tcp_host.rpartition(":") if tcp_host.count(":") == 1 else (tcp_host, "", "")
    return f"tcp://{host}:{port}" if sep else f"tcp://{tcp_host}:*"


def run_cell(
    cell: Cell,
    budget: Budget,
    *,
    placement: str = "none",
    timeout_s: float | None = None,
    tcp_host: str = "127.0.0.1",
    fault: worker.Fault | None = None,
    pacing: str | None = None,
    stall: tuple[float, float] | None = None,
) -> CellOutcome:
    """Measure one cell once, its peers in fresh spawned processes; never raises for a peer failure.

    ``fault`` (tests only) makes one role hang, crash or raise after it is connected; ``stall`` (tests
    only, mode load) pauses the sender ``for_s`` seconds ``at_s`` seconds into its schedule.
    ``pacing`` (mode load) is how the sender waits for its next send time (default
    :data:`zlab.bench.openloop.DEFAULT_PACING`).
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
    params = _params(cell, budget, pacing, stall)
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
                    coord.handle(obj)
            for obj in [s for s in live if not live[s].is_alive()]:
                proc = live.pop(obj)
                coord.drain(roles_of[id(proc)])
                missing = [name for name in roles_of[id(proc)] if name not in coord.reports]
                if missing:
                    raise CellFailed(
                        f"peer {'+'.join(missing)} exited with code {proc.exitcode} before reporting"
                    )
        columns, hists = measure_cell(cell, coord.reports)
        outcome = CellOutcome("ok", columns, cpus=cpu_text, histograms=hists)
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


def _params(cell: Cell, budget: Budget, pacing: str | None, stall: tuple[float, float] | None) -> Params:
    return params_for(cell, budget, pacing, stall)


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


class LocalLauncher:
    """The launcher seam's default: every peer a spawned process on this machine (:func:`run_cell`).

    A launcher plans where each cell runs (``plan``) and runs one cell there (``run_cell``); the other
    one, :class:`zlab.bench.cluster.DaskLauncher`, puts peers on the hosts of a Dask cluster.
    """

    def __init__(self, tcp_host: str = "127.0.0.1") -> None:
        self.tcp_host = tcp_host

    def plan(self, cells: Sequence[Cell]) -> list[tuple[Cell, None]]:
        return [(cell, None) for cell in cells]

    def run_cell(
        self,
        cell: Cell,
        budget: Budget,
        where: None,
        *,
        placement: str,
        timeout_s: float | None,
        pacing: str | None = None,
    ) -> CellOutcome:
        # looked up at call time, so tests can stand in for run_cell
        return run_cell(
            cell, budget, placement=placement, timeout_s=timeout_s, tcp_host=self.tcp_host, pacing=pacing
        )


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
    rates: str | float | Sequence[str | float] | None = None,
    arrival: str = "uniform",
    pacing: str | None = None,
    p99_ceiling_us: float | None = None,
    variants: int = 1,
    noisy_pct: float | None = NOISY_PCT,
    max_reruns: int = MAX_RERUNS,
    cluster: Any = None,
    hosts: str | Sequence[str] | Sequence[Sequence[str]] | None = None,
    bind_interface: str | None = None,
    live: bool = False,
    faults: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run a sweep and return its tidy frame (one row per cell and repeat, see ``results.COLUMNS``).

    ``faults`` (``kill-receiver``, ``kill-sender``, ``restart-binder``, ``pause-peer``): run the fault
    axis instead (:mod:`zlab.bench.faults`: its own rows, ``FAULT_COLUMNS``, under ``out/faults/``).

    Lists may be given as comma strings (``"pyzmq,raw"``) or sequences. ``apis``: ``sync`` (blocking
    calls), ``asyncio`` (zlab.asyncio / zmq.asyncio; raw has none, its cells are skipped), or both.
    ``mechanisms``: ``null``, ``plain``, ``curve`` or several (tcp and ipc only; raw and inproc cells with
    a mechanism other than null are skipped with a reason). Repeats are the outer loop
    and implementations the inner one, so ratios compare neighbours in time. Rows are written to
    ``out/<run_id>.parquet`` as they come (``out=None`` writes nothing). Ctrl-C stops the sweep,
    keeps the rows measured so far and returns them (``df.attrs["interrupted"]`` is True).
    ``df.attrs`` also holds ``run_id``, ``path`` (or None) and ``meta``.

    Mode ``load`` (``modes="load"``) needs ``rates``: offered messages per second (``"1k,10k"``, numbers)
    or ``"sweep"`` (per cell a flood probe, then 1k msg/s doubling to 1/8 of its capacity, sqrt(2) steps to 2x, until the achieved
    rate drops below 90 % of the offered one or the corrected p99 passes ``p99_ceiling_us``, see
    :mod:`zlab.bench.sweep`). ``arrival``: ``uniform`` or ``poisson``; ``pacing``: ``hybrid`` (default),
    ``spin`` or ``sleep`` (:mod:`zlab.bench.openloop`). Latency and load cells also write their histograms
    to ``out/histograms/<run_id>.parquet`` (:func:`zlab.bench.load_histograms`).

    ``variants=2`` measures every cell twice per repeat, back to back (order alternating between
    repeats), as variants ``a`` and ``b`` (column ``variant``): an A/A run, whose differences are noise
    alone (:func:`zlab.bench.summary.noise_floor`). A cell during which other programs used more than
    ``noisy_pct`` % of the CPUs (``foreign_cpu_pct``) is measured again, at most ``max_reruns`` times;
    the quietest attempt is kept and ``reruns`` says how many were made (``noisy_pct=None`` or
    ``max_reruns=0``: never; cells shorter than 0.5 s never, their CPU share is too coarse).

    ``cluster`` (a ``distributed.Client`` or a scheduler address such as ``tcp://host:8786``) runs every
    peer on the host of a Dask worker instead (``pip install 'zlab[cluster]'``): ``hosts`` names them
    (worker names, addresses, IPs or hostnames; ``"a,b"`` binds on a and connects from b, ``"a,b;b,a"``
    makes who-binds-where an axis; default: the first two workers); the binding peer binds on its
    host's address, or on ``bind_interface``'s. Rows then carry ``hosts``, ``bind_host``,
    ``bind_address`` and the hosts' clock offset; the metadata each host's machine and versions.

    ``live=True`` in a Jupyter
    notebook draws the chart of the rows so far and redraws that one figure as each cell completes (see
    :mod:`zlab.bench.live`); in a terminal it changes nothing.
    """
    if faults:
        from zlab.bench.faults import run_from_matrix

        return run_from_matrix(
            impls,
            transports,
            patterns,
            faults,
            repeats=repeats,
            out=out,
            experiment=experiment,
            progress=progress,
        )
    from zlab.bench import sweep as sweeps
    from zlab.bench.openloop import ARRIVALS, PACINGS

    impl_list = parse_choices(impls, IMPLS, "impl")
    rate_list = parse_rates(rates) if rates is not None else []
    sweeping = rate_list == SWEEP
    mode_list = parse_choices(modes, ALL_MODES, "mode")
    if rate_list and "load" not in mode_list:
        raise ChoiceError("offered rates apply to mode load only (add load to the modes: --mode load)")
    parse_choices(arrival, ARRIVALS, "arrival")
    if pacing is not None:
        parse_choices(pacing, PACINGS, "pacing")
    ceiling = p99_ceiling_us if p99_ceiling_us is not None else sweeps.DEFAULT_CEILING_US
    api_list = parse_choices(apis, APIS, "api")
    mechanism_list = parse_choices(mechanisms, MECHANISMS, "mechanism")
    cells = build_cells(
        impl_list,
        parse_choices(transports, TRANSPORTS, "transport"),
        parse_choices(patterns, PATTERNS, "pattern"),
        parse_sizes(sizes),
        mode_list,
        parse_counts(subscribers, "subscriber count"),
        api_list,
        mechanism_list,
        [0.0] if sweeping else list(rate_list),  # type: ignore[arg-type]
        arrival,
    )
    if placement not in PLACEMENTS:
        raise ChoiceError(f"unknown placement {placement!r} (valid: {', '.join(PLACEMENTS)})")
    if repeats < 1:
        raise ChoiceError(f"repeats must be at least 1, not {repeats}")
    if not 1 <= variants <= 26:
        raise ChoiceError(f"variants must be between 1 and 26, not {variants}")
    if max_reruns < 0:
        raise ChoiceError(f"max_reruns must be at least 0, not {max_reruns}")
    labels: list[str | None] = [None] if variants == 1 else [chr(ord("a") + i) for i in range(variants)]
    budget = Budget.make(quick, duration_s, max_msgs)
    stack = contextlib.ExitStack()
    launcher: Any = LocalLauncher(tcp_host)
    if cluster is not None:  # Dask is imported only here, when a cluster is asked for
        from zlab.bench.cluster import launcher as cluster_launcher

        launcher = stack.enter_context(cluster_launcher(cluster, hosts, bind_interface))
    elif hosts or bind_interface:
        raise ChoiceError("hosts and bind_interface need a cluster (cluster=tcp://SCHEDULER:8786)")
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
        rates=rate_list,
        arrival=arrival,
        pacing=pacing,
        p99_ceiling_us=ceiling if sweeping else None,
        variants=variants,
        noisy_pct=noisy_pct,
        max_reruns=max_reruns,
        **({"cluster": launcher.describe()} if cluster is not None else {}),
    )
    writer = results.RunWriter(out, run_id, meta) if out is not None else None
    rows: list[dict[str, Any]] = []
    view: Any = None  # the live chart (live=True in a notebook)

    def measure_one(
        cell: Cell, where: Any, repeat: int, variant: str | None = None
    ) -> tuple[dict[str, Any], CellOutcome]:
        bar.set_postfix_str(f"r{repeat}{variant or ''} {cell.label}", refresh=True)
        cell_started = datetime.now(UTC)
        outcome, reruns = _run_quietly(
            functools.partial(
                launcher.run_cell,
                cell,
                budget,
                where,
                placement=placement,
                timeout_s=timeout_s,
                pacing=pacing,
            ),
            noisy_pct if budget.duration_s >= RERUN_MIN_DURATION_S else None,
            max_reruns,
        )
        load_cols = (
            {"offered_rate_per_s": cell.rate, "arrival": cell.arrival, "pacing": pacing or DEFAULT_PACING}
            if cell.mode == "load"
            else {}
        )
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
            variant=variant,
            reruns=reruns,
            **load_cols,
            **outcome.columns,
        )
        rows.append(row)
        if writer is not None:
            writer.append(row, outcome.histograms)
        if view is not None:
            view.update(rows)
        bar.update()
        return row, outcome

    interrupted = False
    plan = launcher.plan(cells)
    bar = _progress_bar(len(plan) * repeats * len(labels), progress)
    if live:  # matplotlib and IPython only when asked for
        from zlab.bench.live import live_chart

        view = live_chart(live, len(plan) * repeats * len(labels))
    stack.enter_context(_sigterm_as_ctrl_c())
    try:
        ladders: dict[tuple[Cell, Any], list[float]] = {}
        for repeat, (cell, where), variant in _schedule(plan, repeats, labels):
            if cell.mode == "load" and sweeping:
                if (cell, where) not in ladders:  # the first repeat probes; later ones offer the same rates
                    probe = dataclasses.replace(cell, mode="throughput", rate=None)
                    row, _ = measure_one(probe, where, repeat, variant)
                    ok = row["status"] == "ok" and row.get("msgs_per_s")
                    ladders[cell, where] = sweeps.ladder(float(row["msgs_per_s"])) if ok else []
                for rate in ladders[cell, where]:
                    row, _ = measure_one(dataclasses.replace(cell, rate=rate), where, repeat, variant)
                    reason = sweeps.stop_reason(row, ceiling)
                    if reason:
                        row["notes"] = "; ".join(filter(None, [row["notes"], f"sweep stopped: {reason}"]))
                        if writer is not None:
                            writer.flush()
                        break
                continue
            measure_one(cell, where, repeat, variant)
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


T = TypeVar("T")


def _schedule(
    cells: Sequence[T], repeats: int, labels: Sequence[str | None]
) -> Iterator[tuple[int, T, str | None]]:
    """(repeat, cell, variant) in measuring order: repeats outermost; a cell's variants back to back,
    their order reversed every other repeat so neither is always measured first."""
    for repeat in range(repeats):
        for cell in cells:
            for variant in labels if repeat % 2 == 0 else labels[::-1]:
                yield repeat, cell, variant


def _run_quietly(
    measure_once: Callable[[], CellOutcome], noisy_pct: float | None, max_reruns: int
) -> tuple[CellOutcome, int]:
    """Measure; while other programs used more than ``noisy_pct`` % of the CPUs, measure again (at most
    ``max_reruns`` times). Returns the quietest ok attempt (the last on ties) and the number of re-runs."""
    outcome = measure_once()
    attempts = [outcome]
    while (
        noisy_pct is not None
        and len(attempts) <= max_reruns
        and outcome.status == "ok"
        and outcome.foreign_cpu_pct is not None
        and outcome.foreign_cpu_pct > noisy_pct
    ):
        outcome = measure_once()
        attempts.append(outcome)
    ok = [a for a in attempts if a.status == "ok"]
    if len(attempts) == 1 or not ok:
        return outcome, len(attempts) - 1
    best = min(reversed(ok), key=lambda a: a.foreign_cpu_pct if a.foreign_cpu_pct is not None else 0.0)
    return best, len(attempts) - 1


def _progress_bar(total: int, enabled: bool) -> Any:
    """tqdm.auto: a bar in a terminal, a widget in a notebook."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="zlab bench", unit="cell", disable=not enabled, dynamic_ncols=True)
