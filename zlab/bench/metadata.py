# zlab.bench.metadata -- what machine and code produced a run.
"""Run metadata: the facts needed to judge and reproduce a set of figures.

Owns: :func:`collect` (CPU model and count, kernel, Python, zlab / pyzmq / libzmq versions, git
commit and dirty flag, hostname, load average, date) and :func:`new_run_id`. Stored as JSON beside
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


def _git(*args: str) -> str | None:
    repo = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_info() -> dict[str, Any]:
    """Commit of the zlab checkout and whether tracked files differ from it (None outside git)."""
    commit = _git("rev-parse", "HEAD")
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if status is None else bool(status)}


def collect(**run_params: Any) -> dict[str, Any]:
    """Everything about this machine and checkout, plus the run's parameters (``run_params``)."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        affinity = os.cpu_count()
    try:
        loadavg = list(os.getloadavg())
    except OSError:  # pragma: no cover
        loadavg = None
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity_count": affinity,
        "mem_total_gb": _mem_total_gb(),
        "loadavg_at_start": loadavg,
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

        meta["pyzmq_version"] = zmq.__version__
        meta["libzmq_version"] = zmq.zmq_version()
    except ImportError:
        pass
    meta.update(run_params)
    return meta
