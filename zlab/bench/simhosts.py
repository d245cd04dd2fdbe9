# zlab.bench.simhosts -- a Dask cluster on this machine, and two simulated hosts to run it across.
"""Local stand-ins for a real cluster: for tests, ``experiments/two_hosts.py`` and trying the lab out.

Owns: :func:`dask_cluster` (``dask scheduler`` and one ``dask worker --name N`` per name as separate
processes, optionally each inside a network namespace, all stopped on exit) and :func:`two_namespaces`
(two Linux network namespaces joined by a veth pair, 10.200.0.1 and 10.200.0.2 on an interface named
``zlab0`` in each: traffic between them crosses a real virtual interface, not loopback, and reaches no
address outside them). Namespaces need root; :class:`NamespaceError` says why they cannot be made.
"""

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

ROOT = Path(__file__).resolve().parents[2]
IFACE = "zlab0"  # the same name on both ends, so --bind-interface names it on either host
ADDRS = {"a": "10.200.0.1", "b": "10.200.0.2"}


class NamespaceError(RuntimeError):
    """Network namespaces cannot be made here (the message says why)."""


def child_env() -> dict[str, str]:
    """This environment with this checkout first on PYTHONPATH (for the scheduler, workers and peers)."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


@dataclass
class LocalDask:
    """A running local cluster: the scheduler's address and each worker's process by name."""

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
    is the address it listens on. Everything is stopped on exit. Raises ClusterError without Dask."""
    from zlab.bench.cluster import _import_distributed

    distributed = _import_distributed()
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
    scheduler = subprocess.Popen(sched_cmd, env=child_env(), stdout=logs[0], stderr=subprocess.STDOUT)
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
                cmd, env=child_env(), stdout=logs[-1], stderr=subprocess.STDOUT
            )
        if scheduler_wrap is None:
            cluster.client = distributed.Client(cluster.address, timeout=30, set_as_default=False)
            cluster.client.wait_for_workers(len(workers), timeout=60)
        else:  # the scheduler is in another network namespace: wait from in there
            wait = "import sys; from distributed import Client; Client(sys.argv[1], timeout=30).wait_for_workers(int(sys.argv[2]), timeout=60)"
            subprocess.run(
                [*scheduler_wrap, sys.executable, "-c", wait, cluster.address, str(len(workers))],
                env=child_env(),
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


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@dataclass
class Namespaces:
    """Two namespaces ``names["a"]``, ``names["b"]`` and a process idling in each (to read its counters)."""

    names: dict[str, str]
    idlers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def wrap(self, key: str) -> list[str]:
        """The command prefix that runs a program inside namespace ``key``."""
        return ["ip", "netns", "exec", self.names[key]]

    def rx_bytes(self, key: str) -> int:
        """Bytes received so far on namespace ``key``'s end of the veth pair."""
        dev = Path(f"/proc/{self.idlers[key].pid}/net/dev").read_text()
        return int(dev.split(f"{IFACE}:")[1].split()[0])

    def pids(self, key: str) -> set[int]:
        """Every process inside namespace ``key``."""
        out = subprocess.run(
            ["ip", "netns", "pids", self.names[key]], capture_output=True, text=True, check=True
        )
        return {int(p) for p in out.stdout.split()}


@contextlib.contextmanager
def two_namespaces() -> Iterator[Namespaces]:
    """Make namespaces a (10.200.0.1) and b (10.200.0.2) joined by a veth pair; remove them on exit."""
    if os.geteuid() != 0:
        raise NamespaceError(
            "network namespaces need root here (unprivileged user namespaces are not set up)"
        )
    if shutil.which("ip") is None:
        raise NamespaceError("the ip command (iproute2) is not installed")
    tag = f"{os.getpid() % 100000}"
    ns = Namespaces({"a": f"zlab-a-{tag}", "b": f"zlab-b-{tag}"})
    made: list[str] = []
    try:
        try:
            for name in ns.names.values():
                _ip("netns", "add", name)
                made.append(name)
            _ip("link", "add", f"zla{tag}", "type", "veth", "peer", "name", f"zlb{tag}")
            for key, name in ns.names.items():
                dev = f"zl{key}{tag}"
                _ip("link", "set", dev, "netns", name)
                _ip("-n", name, "link", "set", dev, "name", IFACE)
                _ip("-n", name, "addr", "add", f"{ADDRS[key]}/24", "dev", IFACE)
                _ip("-n", name, "link", "set", IFACE, "up")
                _ip("-n", name, "link", "set", "lo", "up")
                ns.idlers[key] = subprocess.Popen([*ns.wrap(key), "sleep", "3600"])
        except (subprocess.CalledProcessError, OSError) as exc:
            err = exc.stderr.decode().strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
            raise NamespaceError(f"cannot make network namespaces here: {err}") from None
        yield ns
    finally:
        for proc in ns.idlers.values():
            proc.kill()
            proc.wait()
        for name in made:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextlib.contextmanager
def two_hosts() -> Iterator[tuple[LocalDask, Namespaces]]:
    """Two simulated hosts: :func:`two_namespaces` with the scheduler and worker ``a`` in a, worker ``b`` in b."""
    with two_namespaces() as ns:
        wrap = {key: ns.wrap(key) for key in ns.names}
        with dask_cluster(
            ["a", "b"], host=ADDRS["a"], wrap=wrap, worker_hosts=ADDRS, scheduler_wrap=wrap["a"]
        ) as c:
            yield c, ns
