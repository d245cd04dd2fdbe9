# zlab.bench.metadata -- what machine and code produced a run.
"""Run metadata: the facts needed to judge and reproduce a set of figures.

Owns: :func:`collect` (CPU model and count, kernel, Python, zlab / pyzmq / libzmq versions, git
commit and dirty flag, hostname, load average, date, and :func:`calibrate`'s machine yardsticks)
and :func:`new_run_id`. Stored as JSON beside
each run's Parquet file and in its key-value metadata.
"""

from __future__ import annotations

import os
import platform
import secrets
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zlab.bench.adapters import impl_version


def new_run_id(now: datetime) -> str:
    """``20260128T134501Z-3fa2c1``: sortable by time, unique by a random suffix."""
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gb() -> float | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


_REPO = Path(__file__).resolve().parents[2]
#: Paths whose changes are results, not code: new runs and regenerated charts never make a run "dirty".
RESULT_PATHS = ("results",)


def _git(*args: str, repo: Path = _REPO) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout


# Run in a fresh interpreter (no threads, so fork is safe): the cost of waking another process on the
# same CPU through a pipe, and of a bare Python loop. Both drift with the host (VM neighbours, CPU
# frequency); comparing them across runs tells whether a change in the figures is the machine's.
_CALIBRATE = """
import os, sys, time
n = int(sys.argv[1])
r1, w1 = os.pipe(); r2, w2 = os.pipe()
cpu = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {cpu})
pid = os.fork()
if pid == 0:
    for _ in range(n):
        os.read(r1, 1); os.write(w2, b"x")
    os._exit(0)
t = time.perf_counter()
for _ in range(n):
    os.write(w1, b"x"); os.read(r2, 1)
pipe = (time.perf_counter() - t) / n / 2 * 1e6
os.waitpid(pid, 0)
def spin():
    t = time.perf_counter()
    for _ in range(1_000_000):
        pass
    return (time.perf_counter() - t) * 1e3
loop = min(spin() for _ in range(3))
print(pipe, loop)
"""


def calibrate(n: int = 20_000) -> dict[str, float | None]:
    """Machine yardsticks: pipe ping-pong between two processes on one CPU (one-way us) and a
    million-iteration empty Python loop (ns per iteration)."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CALIBRATE, str(n)], capture_output=True, text=True, timeout=30, check=True
        )
        pipe, loop = (float(x) for x in out.stdout.split())
    except (OSError, ValueError, subprocess.SubprocessError):
        return {"pipe_pingpong_one_cpu_us": None, "python_loop_ns": None}
    return {"pipe_pingpong_one_cpu_us": round(pipe, 3), "python_loop_ns": round(loop, 2)}


def git_info(repo: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Commit of the zlab checkout and whether its *code* differs from it (None outside git).

    ``git_dirty`` is True when a file outside ``results/`` is modified, staged, deleted or new (and not
    ignored): changed code, notebooks or scripts. Files under ``results/`` (runs written by an earlier
    experiment of the same ``make experiment``, charts it redrew) are results, not code, and never count.
    ``git_dirty_files`` lists up to 20 of the changed paths, so a flagged run says what was changed.
    """
    where = Path(repo) if repo is not None else _REPO
    commit = (_git("rev-parse", "HEAD", repo=where) or "").strip() or None
    if not commit:
        return {"git_commit": commit, "git_dirty": None, "git_dirty_files": []}
    excludes = [f":(exclude,top){p}" for p in RESULT_PATHS]
    status = _git("status", "--porcelain", "--untracked-files=all", "--", ":(top)", *excludes, repo=where)
    files = [line[3:] for line in (status or "").splitlines() if line.strip()]
    return {
        "git_commit": commit,
        "git_dirty": None if status is None else bool(files),
        "git_dirty_files": files[:20],
    }


def host_facts() -> dict[str, Any]:
    """This machine and checkout: hostname, CPU, cores, memory, kernel, Python, zlab / pyzmq / libzmq
    versions, git commit. The part of :func:`collect` that a cluster run gathers from every host."""
    affinity: int | None
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    facts: dict[str, Any] = {
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity_count": affinity,
        "mem_total_gb": _mem_total_gb(),
        "kernel": platform.release(),
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "zlab_version": impl_version("zlab"),
        "pyzmq_version": None,
        "libzmq_version": None,
        **git_info(),
    }
    try:
        import zmq

        facts["pyzmq_version"] = zmq.__version__
        facts["libzmq_version"] = zmq.zmq_version()
    except ImportError:
        pass
    return facts


#: Facts that must agree between the hosts of a cluster run for its figures to compare like with like.
VERSION_FACTS: tuple[str, ...] = ("python", "zlab_version", "git_commit", "pyzmq_version", "libzmq_version")


def version_mismatches(hosts: dict[str, dict[str, Any]]) -> list[str]:
    """``["python: 3.11.2 (a) vs 3.12.1 (b)", ...]`` for every version fact the hosts disagree on."""
    out = []
    for key in VERSION_FACTS:
        values: dict[str, list[str]] = {}
        for name, facts in hosts.items():
            if facts.get(key) is not None:
                values.setdefault(str(facts[key]), []).append(name)
        if len(values) > 1:
            out.append(f"{key}: " + " vs ".join(f"{v} ({', '.join(n)})" for v, n in values.items()))
    return out


def describe_hosts(cluster: dict[str, Any]) -> str:
    """One line per host of a cluster run's metadata entry, and the version mismatches, flagged."""
    lines = [f"hosts (Dask scheduler {cluster.get('scheduler', '?')}):"]
    for name, f in cluster.get("hosts", {}).items():
        lines.append(
            f"  {name} ({f.get('ip', '?')}, {f.get('hostname', '?')}): {f.get('cpu_model', '?')}, "
            f"{f.get('cpu_count', '?')} cores, Linux {f.get('kernel', '?')}, Python {f.get('python', '?')}, "
            f"zlab {f.get('zlab_version', '?')} at {str(f.get('git_commit') or '?')[:8]}, "
            f"pyzmq {f.get('pyzmq_version', '?')} / libzmq {f.get('libzmq_version', '?')}"
        )
    for mismatch in cluster.get("version_mismatch") or []:
        lines.append(f"  VERSION MISMATCH between hosts: {mismatch}")
    return "\n".join(lines)


def collect(**run_params: Any) -> dict[str, Any]:
    """Everything about this machine and checkout, plus the run's parameters (``run_params``)."""
    try:
        loadavg = list(os.getloadavg())
    except OSError:  # pragma: no cover
        loadavg = None
    facts = host_facts()
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_at_start": loadavg,
        **facts,
        "calibration": calibrate(),
    }
    meta.update(run_params)
    return meta
