"""Two simulated hosts: network namespaces joined by a veth pair, a Dask worker in each bound to its
namespace's address, the coordinator in the first. Peers talk through a real (virtual) interface.

The test makes the namespaces (10.200.0.1 and .2, reachable only inside them) and removes them; it is
skipped, with the reason, where it cannot (not root, no ``ip``, no network namespaces).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bench.cluster_support import ROOT, LocalDask, _env, dask_cluster
from zlab.bench import results

pytestmark = pytest.mark.timeout(150)

IFACE = "zlab0"  # the same name on both ends, so --bind-interface names it on either host
ADDRS = {"a": "10.200.0.1", "b": "10.200.0.2"}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def _rx_bytes(ns: str) -> int:
    return int(Path(f"/proc/{_ns_pid(ns)}/net/dev").read_text().split(f"{IFACE}:")[1].split()[0])


_SLEEPERS: dict[str, subprocess.Popen[bytes]] = {}


def _ns_pid(ns: str) -> int:
    return _SLEEPERS[ns].pid


@pytest.fixture(scope="module")
def namespaces() -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root here (unprivileged user namespaces are not set up)")
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    tag = f"{os.getpid() % 100000}"
    names = {"a": f"zlab-a-{tag}", "b": f"zlab-b-{tag}"}
    made: list[str] = []
    try:
        for ns in names.values():
            _ip("netns", "add", ns)
            made.append(ns)
        _ip("link", "add", f"zla{tag}", "type", "veth", "peer", "name", f"zlb{tag}")
        for key, ns in names.items():
            dev = f"zl{key}{tag}"
            _ip("link", "set", dev, "netns", ns)
            _ip("-n", ns, "link", "set", dev, "name", IFACE)
            _ip("-n", ns, "addr", "add", f"{ADDRS[key]}/24", "dev", IFACE)
            _ip("-n", ns, "link", "set", IFACE, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            # a process that stays in the namespace, to read its interface counters through /proc
            _SLEEPERS[ns] = subprocess.Popen(["ip", "netns", "exec", ns, "sleep", "600"])
    except (subprocess.CalledProcessError, OSError) as exc:
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        detail = exc.stderr.decode().strip() if isinstance(exc, subprocess.CalledProcessError) else str(exc)
        pytest.skip(f"cannot make network namespaces here: {detail}")
    try:
        yield names
    finally:
        for proc in _SLEEPERS.values():
            proc.kill()
            proc.wait()
        _SLEEPERS.clear()
        for ns in made:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


@pytest.fixture(scope="module")
def two_hosts(namespaces: dict[str, str]) -> Iterator[LocalDask]:
    wrap = {key: ["ip", "netns", "exec", ns] for key, ns in namespaces.items()}
    with dask_cluster(
        ["a", "b"], host=ADDRS["a"], wrap=wrap, worker_hosts=ADDRS, scheduler_wrap=wrap["a"]
    ) as cluster:
        yield cluster


def _pids_in(ns: str) -> set[int]:
    out = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, check=True)
    return {int(p) for p in out.stdout.split()}


def test_peers_on_two_namespaces_talk_through_the_veth_pair(
    two_hosts: LocalDask, namespaces: dict[str, str], tmp_path: Path
) -> None:
    rx_before = _rx_bytes(namespaces["b"])
    cmd = ["ip", "netns", "exec", namespaces["a"], sys.executable, "-m", "zlab.cli", "bench"]
    cmd += ["--impl", "zlab,pyzmq", "--transport", "tcp", "--pattern", "pushpull", "--size", "64"]
    cmd += ["--repeats", "1", "--quick", "--no-progress", "--out", str(tmp_path)]
    cmd += ["--cluster", two_hosts.address, "--hosts", "a,b", "--hosts", "b,a", "--bind-interface", IFACE]
    done = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "hosts (Dask scheduler" in done.stdout and "VERSION MISMATCH" not in done.stdout
    frame = results.load(tmp_path)
    assert (frame["status"] == "ok").all(), frame[["impl", "pattern", "failure_reason"]]
    assert frame["hosts"].tolist() == ["receiver:a sender:b"] * 2 + ["receiver:b sender:a"] * 2
    for key in ("a", "b"):
        bound = frame.loc[frame["bind_host"] == key, "bind_address"]
        assert bound.str.startswith(f"tcp://{ADDRS[key]}:").all()
    # one kernel clock under both namespaces: the true offset is 0, and the estimate's bound must hold it
    assert (frame["clock_offset_us"].abs() <= frame["clock_offset_err_us"]).all()
    assert (frame["clock_offset_err_us"] > 0).all()  # measured across the pair, not assumed
    # the flood crossed the interface: at least the 64 B messages of the sender in b to the receiver in a
    sent_from_a = frame.loc[frame["bind_host"] == "b", "n_sent"].sum()
    assert _rx_bytes(namespaces["b"]) - rx_before > sent_from_a * 64
    # nothing left behind: each namespace holds only its worker (and the scheduler) and our counter reader
    expected = {two_hosts.workers["b"].pid, _ns_pid(namespaces["b"])}
    assert _pids_in(namespaces["b"]) == expected
    expected = {two_hosts.workers["a"].pid, two_hosts.scheduler.pid, _ns_pid(namespaces["a"])}
    assert _pids_in(namespaces["a"]) == expected
