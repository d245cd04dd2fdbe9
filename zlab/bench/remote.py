# zlab.bench.remote -- a peer process on another host, and the calls a Dask worker runs to start it.
"""The host side of a cluster run: what runs inside a Dask worker, and the peer process it starts.

Owns: the functions the coordinator calls on a chosen worker through ``Client.run`` (pinned by address,
never a task, so never moved or retried): :func:`start_peer` (a fresh ``python -m zlab.bench.remote``
started with ``subprocess``, since Dask worker processes are daemonic and ``multiprocessing`` cannot
have children there), :func:`stop_peers` (kill and reap), :func:`live_peers`, :func:`host_facts`,
:func:`interface_ip`; and the peer process's entry, :func:`main`.

A peer process dials the coordinator (``multiprocessing.connection`` over TCP with the cell's authkey):
first a *lifeline* connection, on which it answers the clock pings, then one control connection per
role (the same protocol as the local control pipes, :mod:`zlab.bench.control`), and runs
:func:`zlab.bench.worker.main` unchanged. It never outlives its cell: it exits when the lifeline closes
(the coordinator ended the cell, or died), and the kernel kills it when its Dask worker dies
(``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from multiprocessing.connection import Client, Connection
from typing import IO, Any

HELLO = "hello"
LIFELINE, CONTROL = "lifeline", "control"
_PPID_ENV = "ZLAB_BENCH_PARENT_PID"
_PR_SET_PDEATHSIG = 1

#: Peer processes this worker started and has not reaped: pid -> (process, its stderr file).
_PROCS: dict[int, tuple[subprocess.Popen[bytes], IO[bytes]]] = {}


# -- run inside a Dask worker through Client.run ----------------------------------------------------


def start_peer(spec: bytes) -> int:
    """Start one peer process with its pickled spec on stdin; return its pid at once."""
    err = tempfile.TemporaryFile(prefix="zlab-peer-")  # noqa: SIM115 - kept open until the peer is reaped
    proc = subprocess.Popen(
        [sys.executable, "-m", "zlab.bench.remote"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=err,
        start_new_session=True,  # a worker's terminal's Ctrl-C is not the peer's
        env={**os.environ, _PPID_ENV: str(os.getpid())},
    )
    assert proc.stdin is not None
    proc.stdin.write(spec)
    proc.stdin.close()
    _PROCS[proc.pid] = (proc, err)
    return proc.pid


def _tail(err: IO[bytes], limit: int = 2000) -> str:
    err.seek(0)
    return err.read().decode(errors="replace")[-limit:].strip()


def stop_peers(pids: list[int], kill: bool = True) -> dict[int, tuple[int | None, str]]:
    """Kill (if ``kill``) and reap the given peers: pid -> (exit code or None if still running, stderr tail).

    Without ``kill`` only those that already ended are reaped (the others report None).
    """
    out: dict[int, tuple[int | None, str]] = {}
    for pid in pids:
        entry = _PROCS.get(pid)
        if entry is None:
            continue
        proc, err = entry
        if kill and proc.poll() is None:
            proc.kill()
        try:
            code = proc.wait(5) if kill else proc.poll()
        except subprocess.TimeoutExpired:
            code = None
        out[pid] = (code, _tail(err))
        if code is not None:
            del _PROCS[pid]
            err.close()
    return out


def live_peers() -> list[int]:
    """Pids of peers this worker started that are still running (tests check that none are left)."""
    return [pid for pid, (proc, _) in _PROCS.items() if proc.poll() is None]


def host_facts() -> dict[str, Any]:
    """This host's machine and software facts for the run metadata, plus the worker's CPUs and pid."""
    from zlab.bench import metadata

    facts = metadata.host_facts()
    facts["cpus_allowed"] = sorted(os.sched_getaffinity(0))
    facts["worker_pid"] = os.getpid()
    return facts


def interface_ip(interface: str) -> str:
    """The IPv4 address of a network interface of this host (``--bind-interface``)."""
    from distributed.utils import get_ip_interface

    return str(get_ip_interface(interface))


# -- the peer process ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PeerSpec:
    """What a remote peer process needs: where the coordinator listens, the cell's secrets, its task."""

    address: tuple[str, int]
    authkey: bytes
    token: str
    group: str
    task: Any  # zlab.bench.worker.ProcessTask with conn=None in each PeerTask


def _die_with_parent() -> None:
    """Ask the kernel to kill us when the worker that started us dies (Linux); exit if it already has."""
    expected = os.environ.get(_PPID_ENV)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux: the lifeline still ends us
        pass
    if expected is not None and os.getppid() != int(expected):
        os._exit(3)


def _watch_lifeline(conn: Connection) -> None:
    """A watchdog thread: the coordinator closing the lifeline (or dying) ends this process."""

    def watch() -> None:
        try:
            conn.recv()
        except (EOFError, OSError):
            pass
        os._exit(3)

    threading.Thread(target=watch, name="zlab-bench-lifeline", daemon=True).start()


def _dial(spec: PeerSpec, kind: str, name: str) -> Connection:
    conn = Client(spec.address, authkey=spec.authkey)
    conn.send((HELLO, spec.token, kind, name))
    return conn


def main() -> None:
    """Peer process entry: read the spec, dial the coordinator, answer its clock, run the peers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    spec: PeerSpec = pickle.load(sys.stdin.buffer)
    from zlab.bench import clock, worker

    lifeline = _dial(spec, LIFELINE, spec.group)
    clock.serve(lifeline)
    _watch_lifeline(lifeline)
    task: worker.ProcessTask = spec.task
    peers = tuple(dataclasses.replace(p, conn=_dial(spec, CONTROL, p.role.name)) for p in task.peers)
    worker.main(dataclasses.replace(task, peers=peers))


if __name__ == "__main__":
    main()
