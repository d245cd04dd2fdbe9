# zlab.bench.worker -- the entry point of every spawned peer process.
"""A fresh process hosting one peer (tcp, ipc) or all peers of a cell as threads (inproc).

Owns: CPU placement inside the process (before any messaging thread exists), opening the peer
(bind and publish the endpoint, or wait for it and connect), running the role function, and
reporting its result or error on the control pipe. Test-only faults (hang, crash, error) are
injected here so the coordinator's timeout and failure paths can be exercised.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
import traceback
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from zlab.bench.adapters import Backend, open_backend
from zlab.bench.control import Control
from zlab.bench.scenarios import Params, Role
from zlab.bench.security import Security

FAULTS = ("hang", "crash", "error")


@dataclass(frozen=True)
class Fault:
    """Test-only misbehaviour of one role, after it is connected: ``hang``, ``crash`` or ``error``."""

    role: str
    kind: str


@dataclass(frozen=True)
class PeerTask:
    """One role to run: its description, its control pipe, the CPU to pin its thread to (or None)."""

    role: Role
    conn: Connection
    cpu: int | None


@dataclass(frozen=True)
class ProcessTask:
    """Everything a peer process needs (pickled into the spawned child)."""

    impl: str
    transport: str
    bind_addr: str
    params: Params
    peers: tuple[PeerTask, ...]
    process_cpu: int | None = None
    fault: Fault | None = None
    api: str = "sync"
    security: Security = field(default_factory=Security)


def _pin(cpu: int | None) -> None:
    """Pin the calling thread (and threads it creates later) to one CPU."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def _run_peer(backend: Backend, task: ProcessTask, peer_task: PeerTask) -> None:
    role = peer_task.role
    ctl = Control(peer_task.conn, role.name)
    try:
        if len(task.peers) > 1:
            _pin(peer_task.cpu)
        if role.binds:
            peer = backend.bind(role.kind, task.bind_addr)
            ctl.bound(peer.endpoint)
            peer.accept()
        else:
            peer = backend.connect(role.kind, ctl.endpoint())
        if task.fault is not None and task.fault.role == role.name:
            if task.fault.kind == "hang":
                time.sleep(3600)
            elif task.fault.kind == "crash":
                os._exit(17)
            raise RuntimeError(f"injected error in {role.name}")
        result = role.func(peer, ctl, task.params)
        ctl.result(result)  # report first: a close that hangs must not lose the measurement
        ctl.wait_stop()  # stay connected until every peer has reported
        peer.close()
    except BaseException as exc:
        try:
            ctl.error(f"{role.name}: {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        except OSError:
            pass


def _exit_with_coordinator() -> None:
    """A watchdog thread (idle in a wait) that ends this process if the coordinator dies first."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(3)

    threading.Thread(target=watch, name="zlab-bench-watchdog", daemon=True).start()


def main(task: ProcessTask) -> None:
    """Process entry: ignore Ctrl-C (the coordinator ends us), pin, open the backend, run the peers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _pin(task.process_cpu)  # first: threads started later (the watchdog, libzmq's I/O threads) inherit it
    _exit_with_coordinator()
    try:
        backend = open_backend(task.impl, task.transport, task.api, task.security)
    except BaseException as exc:
        for peer_task in task.peers:
            Control(peer_task.conn, peer_task.role.name).error(f"cannot open {task.impl}: {exc!r}")
        return
    if len(task.peers) == 1:
        _run_peer(backend, task, task.peers[0])
    else:
        threads = [
            threading.Thread(target=_run_peer, args=(backend, task, p), name=p.role.name, daemon=True)
            for p in task.peers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    backend.close()
