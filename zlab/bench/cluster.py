# zlab.bench.cluster -- the coordinator's side of a run whose peers live on several hosts (Dask).
"""Cluster runs: each peer of a cell a fresh process on the host of a chosen Dask worker.

Owns: connecting to a Dask scheduler (``distributed`` is imported here only, when a cluster is asked
for), resolving host names to workers, layouts (who binds where: an axis of the sweep), and
:class:`DaskLauncher`, which runs one cell: start every peer through ``Client.run`` on its worker
(pinned by address; not a task, so Dask never moves or retries it, see :mod:`zlab.bench.remote`),
accept their connections on a per-cell TCP listener with a random authkey, measure each host's clock
offset (:mod:`zlab.bench.clock`), sequence the cell with the same control protocol and coordinator
as a local run, and stop and reap every peer however the cell ended.

Rules: the coordinator stays where the command runs; no orphan process on any host (a peer exits when
its lifeline to the coordinator closes, and dies with its worker); a peer or worker lost mid-cell fails
that cell with the reason and the run goes on; Ctrl-C kills every remote peer before returning.
Cluster runs measure tcp only (ipc and inproc cells are skipped with the reason).
"""

from __future__ import annotations

import contextlib
import hmac
import os
import pickle
import secrets
import select
import socket
import struct
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, answer_challenge, deliver_challenge, wait
from typing import Any, cast

from zlab.bench import clock, remote, worker
from zlab.bench.adapters import unavailable_reason
from zlab.bench.coordinator import (
    SETUP_TIMEOUT_S,
    TEARDOWN_GRACE_S,
    CellOutcome,
    Coordinator,
    PeerDetail,
    default_timeout,
)
from zlab.bench.matrix import PLACEMENTS, Budget, Cell, ChoiceError
from zlab.bench.scenarios import CellFailed, Role, measure_cell, params_for, roles_for
from zlab.bench.security import make_security

INSTALL_HINT = "pip install 'zlab[cluster]' (Dask distributed)"
CONNECT_TIMEOUT_S = 10.0
HANDSHAKE_TIMEOUT_S = 10.0
CLOCK_EXCHANGES = clock.DEFAULT_EXCHANGES
RUN_TIMEOUT_S = 10.0  # a call on a worker (start, stop, facts) never takes longer on a live one


class ClusterError(ChoiceError):
    """The cluster cannot be used as asked: Dask missing, scheduler unreachable, unknown host (one line)."""


@dataclass(frozen=True)
class Host:
    """One host of a run: the name the user gave, the Dask worker pinned for it, that worker's IP."""

    label: str
    worker: str  # the worker's address, e.g. tcp://10.0.0.2:40123
    ip: str


@dataclass(frozen=True)
class Layout:
    """Who runs where: the binding peer on ``hosts[0]``, the others round-robin on the rest."""

    hosts: tuple[Host, ...]

    @property
    def label(self) -> str:
        return ",".join(h.label for h in self.hosts)

    def assign(self, roles: Sequence[Role]) -> dict[str, Host]:
        """Role name -> host: binders on the first host, connecting peers spread over the others (or the
        first when the layout has one host)."""
        others = self.hosts[1:] or self.hosts[:1]
        out: dict[str, Host] = {}
        i = 0
        for role in roles:
            if role.binds:
                out[role.name] = self.hosts[0]
            else:
                out[role.name] = others[i % len(others)]
                i += 1
        return out


def parse_layouts(hosts: str | Sequence[str] | Sequence[Sequence[str]] | None) -> list[list[str]]:
    """``"a,b"`` -> one layout; ``"a,b;b,a"`` or ``["a,b", "b,a"]`` or ``[["a","b"],["b","a"]]`` -> two;
    ``["a", "b"]`` (plain names) -> one. Empty -> ``[]`` (the launcher picks its default)."""
    if hosts is None:
        return []
    if isinstance(hosts, str):
        groups: list[Any] = [g for g in hosts.split(";") if g.strip()]
    else:
        items = list(hosts)
        plain = all(isinstance(h, str) and "," not in h and ";" not in h for h in items)
        groups = [items] if plain else items
    layouts = []
    for group in groups:
        names = group.split(",") if isinstance(group, str) else list(group)
        names = [str(n).strip() for n in names if str(n).strip()]
        if names:
            layouts.append(names)
    return layouts


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            f"a cluster run needs Dask distributed, not installed here: {INSTALL_HINT}"
        ) from None
    return distributed


def _probe(address: str) -> None:
    """Fail fast, in one line, when nothing listens at a tcp:// scheduler address."""
    if not address.startswith("tcp://"):
        return
    host, _, port = address[len("tcp://") :].rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except (OSError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


def connect(cluster: Any) -> tuple[Any, bool]:
    """A Dask ``Client`` for ``cluster`` (a Client, or a scheduler address); True if we made it (and close it)."""
    distributed = _import_distributed()
    if isinstance(cluster, distributed.Client):
        return cluster, False
    address = str(cluster)
    if "://" not in address:
        address = f"tcp://{address}"
    _probe(address)
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except Exception as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    return client, True


def _workers(client: Any) -> dict[str, dict[str, Any]]:
    return dict(client.scheduler_info(n_workers=-1)["workers"])


def _worker_sort_key(item: tuple[str, dict[str, Any]]) -> tuple[str, str]:
    addr, info = item
    return (str(info.get("name", "")), addr)


def resolve_host(spec: str, workers: dict[str, dict[str, Any]], scheduler: str) -> Host:
    """The worker for a host name: a worker's name (``dask worker --name``), address, IP, or hostname."""
    ordered = sorted(workers.items(), key=_worker_sort_key)
    for addr, info in ordered:
        if spec in (addr, str(info.get("name")), addr.split("://", 1)[-1]):
            return Host(spec, addr, str(info["host"]))
    ips = {spec}
    with contextlib.suppress(OSError):
        ips |= {str(a[4][0]) for a in socket.getaddrinfo(spec, None, proto=socket.IPPROTO_TCP)}
    for addr, info in ordered:
        if info.get("host") in ips:
            return Host(spec, addr, str(info["host"]))
    known = ", ".join(f"{info.get('name')} ({addr})" for addr, info in ordered) or "none"
    raise ClusterError(
        f"unknown host {spec!r}: no worker of the cluster at {scheduler} has that name, address or IP (workers: {known})"
    )


def _local_ip_towards(address: str) -> str:
    """The address of this machine that the scheduler's host sees us from (the coordinator listens there)."""
    host = address.split("://", 1)[-1].rpartition(":")[0].strip("[]")
    from distributed.utils import get_ip

    return str(get_ip(host))


def host_cpus(placement: str, allowed: Sequence[int], n: int) -> list[int | None]:
    """CPU per peer on one host, as :func:`zlab.bench.runner.assign_cpus` does on this one."""
    if placement not in PLACEMENTS:
        raise ChoiceError(f"unknown placement {placement!r} (valid: {', '.join(PLACEMENTS)})")
    if placement == "none" or not allowed:
        return [None] * n
    if placement == "one":
        return [allowed[0]] * n
    return [allowed[i % len(allowed)] for i in range(n)]


class _Listener:
    """The cell's control listener: TCP on the coordinator's address, ``multiprocessing`` authentication."""

    def __init__(self, ip: str, authkey: bytes) -> None:
        self.sock = socket.create_server((ip, 0))
        self.address = self.sock.getsockname()[:2]
        self.authkey = authkey

    def accept(self, timeout: float) -> Connection | None:
        """One authenticated connection, or None when none came in ``timeout`` or its handshake failed."""
        if not select.select([self.sock], [], [], max(0.0, timeout))[0]:
            return None
        sock, _ = self.sock.accept()
        sock.setblocking(True)
        # A kernel receive timeout bounds the handshake of a stray client (reset after it).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", int(HANDSHAKE_TIMEOUT_S), 0))
        conn = Connection(sock.detach())
        try:
            deliver_challenge(conn, self.authkey)
            answer_challenge(conn, self.authkey)
        except Exception:  # wrong key (AuthenticationError), a hang-up, or the receive timeout
            conn.close()
            return None
        with socket.socket(fileno=os.dup(conn.fileno())) as same:
            same.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 0))
        return conn

    def close(self) -> None:
        self.sock.close()


@dataclass
class _Proc:
    """One remote peer process of a cell."""

    group: str
    roles: list[str]
    host: Host
    pid: int | None = None
    lifeline: Connection | None = None
    ended: bool = False


class DaskLauncher:
    """Runs cells with their peers on the hosts of a Dask cluster (see the module docstring)."""

    def __init__(
        self,
        cluster: Any,
        hosts: str | Sequence[str] | Sequence[Sequence[str]] | None = None,
        bind_interface: str | None = None,
    ) -> None:
        self.client, self._owned = connect(cluster)
        try:
            self.scheduler = str(self.client.scheduler.address)
            workers = _workers(self.client)
            if not workers:
                raise ClusterError(f"the Dask cluster at {self.scheduler} has no workers")
            names = parse_layouts(hosts)
            if not names:  # default: bind on the first worker, connect from the second (if any)
                ordered = sorted(workers.items(), key=_worker_sort_key)[:2]
                names = [[str(info.get("name") or addr) for addr, info in ordered]]
            self.layouts = [
                Layout(tuple(resolve_host(n, workers, self.scheduler) for n in layout)) for layout in names
            ]
            self.hosts = {h.label: h for layout in self.layouts for h in layout.hosts}
            self.coordinator_ip = _local_ip_towards(self.scheduler)
            self.facts = self._gather_facts()
            self.bind_ip = {
                label: (self._run(h, remote.interface_ip, bind_interface) if bind_interface else h.ip)
                for label, h in self.hosts.items()
            }
        except ClusterError:
            self.close()
            raise
        except Exception as exc:
            self.close()
            raise ClusterError(
                f"cluster {getattr(self, 'scheduler', cluster)}: {type(exc).__name__}: {exc}"
            ) from None
        self.bind_interface = bind_interface

    # -- Dask calls ----------------------------------------------------------------------------

    def _run(self, host: Host, func: Any, *args: Any, timeout: float = RUN_TIMEOUT_S) -> Any:
        """Call ``func`` on ``host``'s worker now (Client.run: pinned, outside the task graph, no retries).

        Bounded: the scheduler keeps retrying a worker that just died for its whole connect timeout (30 s
        by default), so the call is abandoned after ``timeout`` (``Client.run`` is ``sync(_run)``).
        """
        result = self.client.sync(
            self.client._run, func, *args, workers=[host.worker], nanny=False, callback_timeout=timeout
        )
        return result[host.worker]

    def _gather_facts(self) -> dict[str, dict[str, Any]]:
        facts = {}
        for label, host in self.hosts.items():
            facts[label] = {"worker": host.worker, "ip": host.ip, **self._run(host, remote.host_facts)}
        return facts

    def describe(self) -> dict[str, Any]:
        """The run metadata's ``cluster`` entry: scheduler, layouts, each host's facts, version mismatches."""
        from zlab.bench import metadata

        return {
            "scheduler": self.scheduler,
            "coordinator_ip": self.coordinator_ip,
            "bind_interface": self.bind_interface,
            "layouts": [layout.label for layout in self.layouts],
            "hosts": self.facts,
            "bind_ip": self.bind_ip,
            "version_mismatch": metadata.version_mismatches(self.facts),
        }

    # -- the launcher seam (see zlab.bench.runner.LocalLauncher) --------------------------------

    def plan(self, cells: Sequence[Cell]) -> list[tuple[Cell, Layout]]:
        """Every cell in every layout, layouts outermost so implementations stay neighbours in time."""
        return [(cell, layout) for layout in self.layouts for cell in cells]

    def close(self) -> None:
        if self._owned:
            with contextlib.suppress(Exception):
                self.client.close()

    def run_cell(
        self,
        cell: Cell,
        budget: Budget,
        layout: Layout,
        *,
        placement: str = "none",
        timeout_s: float | None = None,
        pacing: str | None = None,
    ) -> CellOutcome:
        """Measure one cell once with its peers on the layout's hosts; never raises for a peer failure
        (KeyboardInterrupt excepted, after every peer was killed)."""
        reason = cell.skip_reason() or unavailable_reason(cell.impl)
        if reason is None and cell.transport != "tcp":
            reason = f"a cluster run places peers on hosts over tcp; {cell.transport} stays on one host (run it without --cluster)"
        if reason:
            return CellOutcome("skipped", reason=reason)
        roles = roles_for(cell)
        where = layout.assign(roles)
        bind_host = where[roles[0].name]
        columns: dict[str, Any] = {
            "hosts": " ".join(f"{r.name}:{where[r.name].label}" for r in roles),
            "bind_host": bind_host.label,
        }
        cpus: dict[str, int | None] = {}
        for label in dict.fromkeys(h.label for h in where.values()):
            on_host = [r for r in roles if where[r.name].label == label]
            allowed = self.facts[label].get("cpus_allowed") or []
            cpus.update(
                zip((r.name for r in on_host), host_cpus(placement, allowed, len(on_host)), strict=True)
            )
        cpu_text = " ".join(f"{r.name}:{cpus[r.name]}" for r in roles if cpus[r.name] is not None)
        timeout = timeout_s if timeout_s is not None else default_timeout(budget)
        authkey, token = secrets.token_bytes(32), secrets.token_hex(8)
        params, security = params_for(cell, budget, pacing), make_security(cell.mechanism)
        bind_addr = f"tcp://{self.bind_ip[bind_host.label]}:*"
        procs = [_Proc(r.name, [r.name], where[r.name]) for r in roles]
        listener = _Listener(self.coordinator_ip, authkey)
        controls: dict[str, Connection] = {}
        offsets: dict[str, clock.ClockOffset] = {}
        coord: Coordinator | None = None
        outcome = CellOutcome("failed", columns=dict(columns), cpus=cpu_text)
        try:
            gone = [h.label for h in where.values() if h.worker not in _workers(self.client)]
            if gone:
                raise CellFailed(
                    f"the Dask worker of host {gone[0]} ({self.hosts[gone[0]].worker}) left the cluster"
                )
            for proc, role in zip(procs, roles, strict=True):
                task = worker.ProcessTask(
                    cell.impl,
                    cell.transport,
                    bind_addr,
                    params,
                    (worker.PeerTask(role, cast(Connection, None), cpus[role.name]),),  # dialled remotely
                    cpus[role.name],
                    None,
                    cell.api,
                    security,
                )
                spec = remote.PeerSpec(listener.address, authkey, token, proc.group, task)
                try:
                    proc.pid = int(self._run(proc.host, remote.start_peer, pickle.dumps(spec)))
                except Exception as exc:  # most likely the scheduler has not yet noticed the worker died
                    raise CellFailed(
                        f"the Dask worker of host {proc.host.label} ({proc.host.worker}) did not answer "
                        f"({type(exc).__name__}): it died or left the cluster"
                    ) from None
            self._accept(listener, procs, controls, offsets, token, time.monotonic() + SETUP_TIMEOUT_S)
            coord = Coordinator(roles, [controls[r.name] for r in roles])
            deadline = time.monotonic() + timeout
            lifelines = {p.lifeline: p for p in procs if p.lifeline is not None}
            while not coord.done:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CellFailed(f"timeout after {timeout:g} s {coord.waiting_for()}; peers killed")
                for obj in wait([*coord.open, *lifelines], timeout=remaining):
                    if obj in coord.by_conn:
                        coord.handle(obj)
                    elif obj in lifelines:
                        proc = lifelines.pop(obj)
                        proc.ended = True
                        coord.drain(proc.roles)
                        missing = [n for n in proc.roles if n not in coord.reports]
                        if missing:
                            raise CellFailed(
                                f"peer {'+'.join(missing)} on host {proc.host.label} ended before reporting: "
                                f"{self._why(proc)}"
                            )
            columns.update(self._clock_columns(roles, where, offsets), bind_address=coord.endpoint)
            measured, histograms = measure_cell(cell, coord.reports)
            outcome = CellOutcome("ok", {**measured, **columns}, cpus=cpu_text, histograms=histograms)
            if cell.mode == "load" and cell.pattern in ONE_WAY_PATTERNS:
                _correct_one_way(outcome, receiver_binds=cell.pattern == "pushpull")
        except CellFailed as exc:
            detail = exc.__cause__.args[0] if isinstance(exc.__cause__, PeerDetail) else None
            outcome = CellOutcome("failed", dict(columns), str(exc), detail or None, cpu_text)
        except Exception as exc:  # a harness error on one cell must not end the run
            reason = f"harness error: {type(exc).__name__}: {exc}"
            outcome = CellOutcome("failed", dict(columns), reason, traceback.format_exc(), cpu_text)
        finally:
            if coord is not None and coord.endpoint:
                outcome.columns.setdefault("bind_address", coord.endpoint)
            outcome.notes = self._teardown(procs, kill_now=outcome.status != "ok")
            for conn in controls.values():
                conn.close()
            listener.close()
        return outcome

    def _accept(
        self,
        listener: _Listener,
        procs: list[_Proc],
        controls: dict[str, Connection],
        offsets: dict[str, clock.ClockOffset],
        token: str,
        deadline: float,
    ) -> None:
        """Take every peer's lifeline (measuring its host's clock on it) and control connections."""
        by_group = {p.group: p for p in procs}
        wanted = {name for p in procs for name in p.roles}
        while any(p.lifeline is None for p in procs) or wanted - set(controls):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                late = [p for p in procs if p.lifeline is None] or [
                    by_group[n] for n in sorted(wanted - set(controls))
                ]
                raise CellFailed(
                    f"peer {late[0].group} on host {late[0].host.label} did not connect: {self._why(late[0])}"
                )
            conn = listener.accept(min(remaining, 1.0))
            if conn is None:
                for proc in procs:  # a peer that died while starting fails the cell now, not at the deadline
                    if proc.lifeline is None and self._ended(proc):
                        raise CellFailed(
                            f"peer {proc.group} on host {proc.host.label} exited while starting: {self._why(proc)}"
                        )
                continue
            hello = conn.recv() if conn.poll(HANDSHAKE_TIMEOUT_S) else None
            if not (
                isinstance(hello, tuple) and len(hello) == 4 and hmac.compare_digest(str(hello[1]), token)
            ):
                conn.close()  # a peer of an earlier cell, or a stranger with the key
                continue
            _, _, kind, name = hello
            if kind == remote.LIFELINE and name in by_group and by_group[name].lifeline is None:
                proc = by_group[name]
                proc.lifeline = conn
                estimate = clock.ping(conn, CLOCK_EXCHANGES)
                best = offsets.get(proc.host.label)
                if best is None or estimate.uncertainty_ns < best.uncertainty_ns:
                    offsets[proc.host.label] = estimate
            elif kind == remote.CONTROL and name in wanted and name not in controls:
                controls[name] = conn
            else:
                conn.close()

    def _clock_columns(
        self, roles: Sequence[Role], where: dict[str, Host], offsets: dict[str, clock.ClockOffset]
    ) -> dict[str, Any]:
        """The connecting peer's host clock minus the binding peer's (0 on one host), with its bound."""
        bind, other = where[roles[0].name], where[roles[1].name]
        if bind.ip == other.ip:
            rel = clock.SAME_CLOCK
        elif bind.label in offsets and other.label in offsets:
            rel = clock.between(offsets[bind.label], offsets[other.label])
        else:
            return {}
        return {
            "clock_offset_us": round(rel.offset_us, 3),
            "clock_offset_err_us": round(rel.uncertainty_us, 3),
        }

    def _ended(self, proc: _Proc) -> bool:
        if proc.pid is None:
            return False
        if proc.host.worker not in _workers(self.client):
            return True  # its worker is gone, and the peer with it (PR_SET_PDEATHSIG)
        try:
            code, _ = self._run(proc.host, remote.stop_peers, [proc.pid], False).get(proc.pid, (None, ""))
        except Exception:
            return True  # its worker is gone, and the peer with it
        return code is not None

    def _why(self, proc: _Proc) -> str:
        """Why a peer process ended (exit code, last stderr line), or that its worker is gone."""
        if proc.host.worker not in _workers(self.client):
            return f"its Dask worker {proc.host.worker} left the cluster"
        if proc.pid is None:
            return "it was never started"
        try:
            result = self._run(proc.host, remote.stop_peers, [proc.pid], False)
        except Exception as exc:
            # the scheduler may not have noticed yet that the worker died
            return f"its Dask worker {proc.host.worker} did not answer ({type(exc).__name__}): it died or left the cluster"
        code, err = result.get(proc.pid, (None, ""))
        last = err.strip().splitlines()[-1] if err.strip() else "no error output"
        return "still running" if code is None else f"exit code {code} ({last})"

    def _teardown(self, procs: list[_Proc], kill_now: bool) -> str | None:
        """Let peers exit (or end them at once after a failure), then kill and reap what is left."""
        open_lifelines = {p.lifeline: p for p in procs if p.lifeline is not None and not p.ended}
        end = time.monotonic() + (0 if kill_now else TEARDOWN_GRACE_S)
        with contextlib.suppress(OSError):
            while open_lifelines and (remaining := end - time.monotonic()) > 0:
                for obj in wait(list(open_lifelines), timeout=remaining):
                    open_lifelines.pop(obj).ended = True  # type: ignore[call-overload]
        hung = [p.group for p in open_lifelines.values()] if not kill_now else []
        for proc in procs:
            if proc.lifeline is not None:
                proc.lifeline.close()  # the peer's watchdog ends it
        by_worker: dict[str, list[_Proc]] = {}
        for proc in procs:
            if proc.pid is not None:
                by_worker.setdefault(proc.host.worker, []).append(proc)
        present = _workers(self.client) if by_worker else {}
        for worker_address, group in by_worker.items():
            if worker_address not in present:
                continue  # a worker that is gone took its peers with it (PR_SET_PDEATHSIG)
            with contextlib.suppress(Exception):
                self._run(group[0].host, remote.stop_peers, [p.pid for p in group], True)
        return f"killed {', '.join(hung)} after a teardown hang" if hung else None


@contextlib.contextmanager
def launcher(
    cluster: Any, hosts: str | Sequence[str] | Sequence[Sequence[str]] | None, bind_interface: str | None
) -> Iterator[DaskLauncher]:
    """A :class:`DaskLauncher` for the length of a run (its client closed after, if it made one)."""
    made = DaskLauncher(cluster, hosts, bind_interface)
    try:
        yield made
    finally:
        made.close()


def layout_of(hosts: str) -> str:
    """A row's ``hosts`` as its layout, whatever the roles are called: ``binding on a, connecting from b``."""
    pairs = [p.split(":", 1) for p in hosts.split()]
    if not pairs:
        return "on no host"
    bind, others = pairs[0][1], list(dict.fromkeys(h for _, h in pairs[1:]))
    if others == [bind] or not others:
        return f"all on {bind}"
    return f"binding on {bind}, connecting from {', '.join(others)}"


def layout_table(frame: Any) -> Any:
    """Medians per implementation, pattern, mode and size, one column per number of hosts the peers used
    (``1 host``, ``2 hosts``...), and the ratio of the widest to one host: p50 latency (us) for latency
    cells, messages/s for throughput cells. Rows of local runs count as one host."""
    import pandas as pd

    ok = frame[frame["status"] == "ok"].copy()
    if ok.empty:
        return pd.DataFrame()
    spread = ok["hosts"].fillna("").map(lambda text: len({p.split(":", 1)[1] for p in text.split()}) or 1)
    ok["where"] = spread.map(lambda n: f"{n} host" + ("s" if n > 1 else ""))
    ok["metric"] = ok["mode"].map({"latency": "lat_p50_us", "throughput": "msgs_per_s"})
    ok["value"] = [row[m] for m, (_, row) in zip(ok["metric"], ok.iterrows(), strict=True)]
    keys = ["impl", "pattern", "mode", "msg_size_bytes", "metric"]
    table = ok.pivot_table(index=keys, columns="where", values="value", aggfunc="median")
    cols = sorted(table.columns, key=lambda c: int(c.split()[0]))
    table = table[cols]
    if len(cols) > 1:
        table[f"{cols[-1]} / {cols[0]}"] = table[cols[-1]] / table[cols[0]]
    return table.reset_index()


#: Load patterns whose latency is one-way: stamped by the sender's clock, read by the receiver's.
ONE_WAY_PATTERNS = frozenset({"pushpull", "pubsub"})


def _correct_one_way(outcome: CellOutcome, receiver_binds: bool) -> None:
    """Correct a cross-host open-loop cell's one-way latency columns by the measured clock offset, and
    blank those the offset's uncertainty cannot support (see :func:`zlab.bench.clock.correct_one_way_columns`).
    The histograms are one-way on two clocks too: they are dropped rather than stored uncorrected."""
    import pandas as pd

    cols = [c for c in outcome.columns if c.startswith("lat_") and c.endswith("_us") and c != "lat_std_us"]
    cols += [c for c in outcome.columns if c.startswith("uncorrected_") and c.endswith("_us")]
    if outcome.columns.get("clock_offset_us") is None or not cols:
        return
    frame = clock.correct_one_way_columns(
        pd.DataFrame([outcome.columns]), cols, receiver_binds=receiver_binds
    )
    for c in cols:
        value = frame[c].iloc[0]
        outcome.columns[c] = None if pd.isna(value) else float(value)
    refused = [c for c in cols if outcome.columns[c] is None]
    if refused:
        outcome.notes = "; ".join(
            filter(
                None,
                [
                    outcome.notes,
                    f"one-way figures below the clock offset's uncertainty not reported ({len(refused)} columns)",
                ],
            )
        )
    outcome.histograms = {k: h for k, h in outcome.histograms.items() if k == "send_lag"}
