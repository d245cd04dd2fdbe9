"""Two simulated hosts: network namespaces joined by a veth pair, a Dask worker in each bound to its
namespace's address, the coordinator in the first. Peers talk through a real (virtual) interface.

The test makes the namespaces (10.200.0.1 and .2, reachable only inside them) and removes them; it is
skipped, with the reason, where it cannot (not root, no ``ip``, no network namespaces).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from zlab.bench import results
from zlab.bench.simhosts import (
    ADDRS,
    IFACE,
    ROOT,
    LocalDask,
    NamespaceError,
    Namespaces,
    child_env,
    two_hosts,
)

pytest.importorskip("distributed", reason="Dask distributed not installed (pip install 'zlab[cluster]')")
pytestmark = pytest.mark.timeout(150)


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[LocalDask, Namespaces]]:
    made = two_hosts()
    try:
        pair = made.__enter__()
    except NamespaceError as exc:
        pytest.skip(str(exc))
    try:
        yield pair
    finally:
        made.__exit__(None, None, None)


def test_peers_on_two_namespaces_talk_through_the_veth_pair(
    hosts: tuple[LocalDask, Namespaces], tmp_path: Path
) -> None:
    cluster, ns = hosts
    rx_before = ns.rx_bytes("b")
    cmd = [*ns.wrap("a"), sys.executable, "-m", "zlab.cli", "bench"]
    cmd += ["--impl", "zlab,pyzmq", "--transport", "tcp", "--pattern", "pushpull", "--size", "64"]
    cmd += ["--repeats", "1", "--quick", "--no-progress", "--out", str(tmp_path)]
    cmd += ["--cluster", cluster.address, "--hosts", "a,b", "--hosts", "b,a", "--bind-interface", IFACE]
    done = subprocess.run(cmd, env=child_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
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
    assert ns.rx_bytes("b") - rx_before > sent_from_a * 64
    # nothing left behind: each namespace holds only its worker (and the scheduler) and our counter reader
    assert ns.pids("b") == {cluster.workers["b"].pid, ns.idlers["b"].pid}
    assert ns.pids("a") == {cluster.workers["a"].pid, cluster.scheduler.pid, ns.idlers["a"].pid}
