# zlab.bench.coordinator -- the coordinator's side of one cell, whatever launched its peers.
"""Sequencing one cell over its control connections, shared by every launcher (local processes, Dask).

Owns: :class:`Coordinator` (the other side of :mod:`zlab.bench.control`: pass the bound endpoint on,
``go`` once all are ready, ``stop`` once the measuring peers reported, a peer's error as
:class:`~zlab.bench.scenarios.CellFailed`), :class:`CellOutcome` (what one run of one cell produced) and
the cell's time limits. The launchers (:mod:`zlab.bench.runner`, :mod:`zlab.bench.cluster`) start and stop
the peers; this module only talks to them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from zlab.bench import control
from zlab.bench.matrix import Budget
from zlab.bench.scenarios import CellFailed, Role

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
    histograms: dict[str, Any] = field(default_factory=dict)  # kind -> Histogram (latency and load cells)


def default_timeout(budget: Budget) -> float:
    """Seconds a cell may take before its peers are killed: setup, warm-up, measurement, draining."""
    return SETUP_TIMEOUT_S + 4 * (budget.duration_s + budget.warmup_s) + 10.0


class Coordinator:
    """The coordinator's side of one cell's control pipes."""

    def __init__(self, roles: list[Role], conns: list[Connection]) -> None:
        self.roles = roles
        self.by_conn = dict(zip(conns, roles, strict=True))
        self.conn_of = {role.name: conn for conn, role in self.by_conn.items()}
        self.open = set(conns)
        self.ready: set[str] = set()
        self.reports: dict[str, dict[str, Any]] = {}
        self.bound = False
        self.endpoint: str | None = None  # what the binding peer bound
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
            self.endpoint = msg[1]
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
            raise CellFailed(first) from PeerDetail(rest)

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


class PeerDetail(Exception):
    """Carries a peer's traceback behind a CellFailed."""
