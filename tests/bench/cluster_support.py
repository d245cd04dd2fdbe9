"""A Dask cluster for tests: a scheduler and workers as separate processes, started and stopped here."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


@dataclass
class LocalDask:
    """A running test cluster: the scheduler's address and each worker's process by name."""

    address: str
    scheduler: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    client: Any = None

    def worker_address(self, name: str) -> str:
        for addr, info in self.client.scheduler_info(n_workers=-1)["workers"].items():
            if info.get("name") == name:
                return str(addr)
        raise KeyError(name)

    def live_peers(self, name: str) -> list[int]:
        from zlab.bench import remote

        addr = self.worker_address(name)
        return list(self.client.run(remote.live_peers, workers=[addr], nanny=False)[addr])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextlib.contextmanager
def dask_cluster(
    workers: Sequence[str],
    host: str = "127.0.0.1",
    wrap: dict[str, list[str]] | None = None,
    worker_hosts: dict[str, str] | None = None,
    scheduler_wrap: list[str] | None = None,
) -> Iterator[LocalDask]:
    """Start ``dask scheduler`` on ``host`` and one ``dask worker --name N`` per name (no nanny, one
    thread); ``wrap[name]`` prefixes a worker's command (``ip netns exec ns``), ``worker_hosts[name]``
    is the address it listens on. Everything is stopped on exit; skips when Dask is missing."""
    distributed = pytest.importorskip("distributed", reason="Dask distributed not installed (zlab[cluster])")
    tmp = tempfile.mkdtemp(prefix="zlab-dask-")
    sched_file = Path(tmp) / "scheduler.json"
    sched_cmd = [
        *(scheduler_wrap or []),
        sys.executable,
        "-c",
        "from distributed.cli.dask_scheduler import main; main()",
        "--host",
        host,
        "--port",
        "0",
        "--no-dashboard",
        "--scheduler-file",
        str(sched_file),
    ]
    logs = [open(Path(tmp) / "scheduler.log", "wb")]  # noqa: SIM115 - closed on exit
    scheduler = subprocess.Popen(sched_cmd, env=_env(), stdout=logs[0], stderr=subprocess.STDOUT)
    cluster = LocalDask("", scheduler)
    try:
        deadline = time.monotonic() + 30
        while not sched_file.exists() or not sched_file.stat().st_size:
            if scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"dask scheduler did not start: {(Path(tmp) / 'scheduler.log').read_text()[-2000:]}"
                )
            time.sleep(0.05)
        import json

        cluster.address = json.loads(sched_file.read_text())["address"]
        for name in workers:
            cmd = [
                *((wrap or {}).get(name, [])),
                sys.executable,
                "-c",
                "from distributed.cli.dask_worker import main; main()",
                cluster.address,
                "--name",
                name,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--host",
                (worker_hosts or {}).get(name, host),
            ]
            logs.append(open(Path(tmp) / f"{name}.log", "wb"))  # noqa: SIM115 - closed on exit
            cluster.workers[name] = subprocess.Popen(
                cmd, env=_env(), stdout=logs[-1], stderr=subprocess.STDOUT
            )
        if scheduler_wrap is None:
            cluster.client = distributed.Client(cluster.address, timeout=30, set_as_default=False)
            cluster.client.wait_for_workers(len(workers), timeout=60)
        else:  # the scheduler is in another network namespace: wait from in there
            wait = "import sys; from distributed import Client; Client(sys.argv[1], timeout=30).wait_for_workers(int(sys.argv[2]), timeout=60)"
            subprocess.run(
                [*scheduler_wrap, sys.executable, "-c", wait, cluster.address, str(len(workers))],
                env=_env(),
                check=True,
                timeout=90,
                capture_output=True,
            )
        yield cluster
    finally:
        if cluster.client is not None:
            with contextlib.suppress(Exception):
                cluster.client.close()
        for proc in cluster.workers.values():
            _stop(proc)
        _stop(scheduler)
        for log in logs:
            log.close()
        shutil.rmtree(tmp, ignore_errors=True)
