"""Cluster runs through a real local Dask cluster: a scheduler and three workers, separate processes on
loopback, shared by the module (w1 and w2 carry the runs; w3 is the one a test kills)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Collection, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zlab.bench import results
from zlab.bench.cluster import ClusterError, layout_of, parse_layouts
from zlab.bench.matrix import PATTERNS, build_cells
from zlab.bench.runner import LocalLauncher, run
from zlab.bench.simhosts import ROOT, LocalDask, child_env, dask_cluster
from zlab.cli import main as cli_main

pytest.importorskip("distributed", reason="Dask distributed not installed (pip install 'zlab[cluster]')")
pytestmark = pytest.mark.timeout(120)

KEYS = ["impl", "transport", "pattern", "mode", "msg_size_bytes", "n_subscribers", "repeat", "status"]
HOST_COLUMNS = ["hosts", "bind_host", "bind_address", "clock_offset_us", "clock_offset_err_us"]


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalDask]:
    with dask_cluster(["w1", "w2", "w3"]) as c:
        yield c


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_every_pattern_gives_the_rows_of_a_local_run_with_hosts_filled(cluster: LocalDask) -> None:
    kwargs = dict(
        impls="zlab,pyzmq",
        transports="tcp",
        patterns="reqrep,pair,dealer-router,pushpull,pubsub",
        sizes=[64],
        repeats=1,
        quick=True,
        out=None,
        progress=False,
        subscribers=2,
    )
    remote = run(**kwargs, cluster=cluster.address, hosts="w1,w2")  # type: ignore[arg-type]
    # A local run measures exactly the cells its launcher plans, in that order (running it too would
    # double the test's time for nothing the other bench tests do not already cover).
    cells = build_cells(["zlab", "pyzmq"], ["tcp"], list(PATTERNS), [64], subscribers=[2])
    local = results.to_frame(
        results.make_row(**{k: getattr(c, k) for k in KEYS[:6]}, repeat=0, status="ok")
        for c, _ in LocalLauncher().plan(cells)
    )
    assert list(remote.columns) == list(results.COLUMNS)
    assert remote[KEYS].to_dict("records") == local[KEYS].to_dict("records")
    assert (remote["status"] == "ok").all(), remote[["impl", "pattern", "failure_reason"]]
    assert remote[HOST_COLUMNS].notna().all().all()
    assert (remote["bind_host"] == "w1").all()
    pubsub = remote[remote["pattern"] == "pubsub"].iloc[0]
    assert pubsub["hosts"] == "publisher:w1 subscriber-1:w2 subscriber-2:w2"
    assert remote["bind_address"].str.match(r"^tcp://127\.0\.0\.1:\d+$").all()
    # both workers share this machine's clock: the estimate is exactly zero, as for any one host
    assert (remote["clock_offset_us"] == 0).all()
    hosts = remote.attrs["meta"]["cluster"]["hosts"]
    assert set(hosts) == {"w1", "w2"} and all(h["python"] and h["kernel"] for h in hosts.values())
    assert remote.attrs["meta"]["cluster"]["version_mismatch"] == []
    for name in ("w1", "w2"):
        assert cluster.live_peers(name) == []


def test_who_binds_where_is_an_axis_and_files_keep_it(cluster: LocalDask, tmp_path: object) -> None:
    frame = run(
        "zlab",
        "tcp,ipc",
        "reqrep",
        [64],
        repeats=1,
        quick=True,
        out=tmp_path,  # type: ignore[arg-type]
        progress=False,
        cluster=cluster.client,  # a Client works as well as an address (and is left open)
        hosts=["w1,w2", "w2,w1"],
    )
    ok = frame[frame["status"] == "ok"]
    assert ok["hosts"].tolist() == ["server:w1 client:w2", "server:w2 client:w1"]
    skipped = frame[frame["transport"] == "ipc"]
    assert (skipped["status"] == "skipped").all()
    assert skipped["failure_reason"].str.contains("over tcp").all()
    loaded = results.load(tmp_path)  # type: ignore[arg-type]
    assert loaded["bind_host"].tolist() == frame["bind_host"].tolist()
    meta = next(iter(results.load_meta(tmp_path).values()))  # type: ignore[arg-type]
    assert meta["cluster"]["layouts"] == ["w1,w2", "w2,w1"]
    assert cluster.client.status == "running"


def test_a_schema_3_file_loads_with_empty_host_columns(tmp_path: object) -> None:
    old = pa.table({"schema_version": pa.array([3], pa.int16()), "run_id": ["old"], "impl": ["zlab"]})
    pq.write_table(old, f"{tmp_path}/old.parquet")
    frame = results.load(tmp_path)  # type: ignore[arg-type]
    assert frame["hosts"].isna().all() and frame["schema_version"].tolist() == [results.SCHEMA_VERSION]


def test_layout_of_a_row() -> None:
    assert layout_of("server:a client:b") == "binding on a, connecting from b"
    assert layout_of("publisher:a subscriber-1:b subscriber-2:c") == "binding on a, connecting from b, c"
    assert layout_of("receiver:a sender:a") == "all on a"


def test_layouts_parse() -> None:
    assert parse_layouts("a,b") == [["a", "b"]]
    assert parse_layouts("a,b;b,a") == [["a", "b"], ["b", "a"]]
    assert parse_layouts(["a", "b"]) == [["a", "b"]]
    assert parse_layouts(["a,b", "b"]) == [["a", "b"], ["b"]]
    assert parse_layouts([["a", "b"], ["b", "a"]]) == [["a", "b"], ["b", "a"]]
    assert parse_layouts(None) == []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.timeout(30)
def test_a_scheduler_that_is_not_there_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    address = f"tcp://127.0.0.1:{_free_port()}"
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}") as info:
        run("zlab", "tcp", "reqrep", [64], quick=True, out=None, progress=False, cluster=address)
    assert "\n" not in str(info.value)
    assert cli_main(["bench", "--quick", "--no-save", "--cluster", address]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"zlab bench: error: cannot reach the Dask scheduler at {address}: [Errno 111] Connection refused"
    ]


def test_an_unknown_host_is_a_one_line_error_naming_it(cluster: LocalDask) -> None:
    with pytest.raises(ClusterError, match=r"unknown host 'nowhere'.*workers: w1") as info:
        run(
            "zlab",
            "tcp",
            "reqrep",
            [64],
            out=None,
            progress=False,
            cluster=cluster.address,
            hosts="w1,nowhere",
        )
    assert "\n" not in str(info.value)


def test_hosts_without_a_cluster_are_refused() -> None:
    with pytest.raises(ValueError, match="need a cluster"):
        run("zlab", "tcp", "reqrep", [64], out=None, progress=False, hosts="a,b")


def test_missing_dask_names_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ClusterError, match=r"pip install 'zlab\[cluster\]'"):
        run("zlab", "tcp", "reqrep", [64], out=None, progress=False, cluster="tcp://127.0.0.1:1")


def _wait_for_peers(
    cluster: LocalDask, name: str, timeout: float = 30, old: Collection[int] = ()
) -> list[int]:
    """The live peers on ``name`` once one not in ``old`` started (an earlier test's peers may
    still be exiting; a Ctrl-C sent on seeing them would reach a CLI still importing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = cluster.live_peers(name)
        if set(pids) - set(old):
            return pids
        time.sleep(0.1)
    raise AssertionError(f"no peer started on {name}")


def _ctrl_c_as_in_a_terminal() -> None:
    """The CLI gets Ctrl-C's default action, as in a terminal's foreground: a job a shell starts in
    the background (a CI runner's, ``cmd &``) ignores SIGINT, and a child inherits that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_a_remote_cell_stops_every_remote_peer(cluster: LocalDask) -> None:
    cmd = [sys.executable, "-m", "zlab.cli", "bench", "--impl", "pyzmq", "--transport", "tcp"]
    cmd += ["--pattern", "pushpull", "--size", "64", "--repeats", "1", "--duration", "30", "--no-save"]
    cmd += ["--no-progress", "--cluster", cluster.address, "--hosts", "w1,w2"]
    old = {"w1": cluster.live_peers("w1"), "w2": cluster.live_peers("w2")}
    proc = subprocess.Popen(
        cmd,
        env=child_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )
    try:
        peers = {name: _wait_for_peers(cluster, name, old=old[name]) for name in ("w1", "w2")}
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "interrupted" in out, (out, err)
    for name, pids in peers.items():
        assert cluster.live_peers(name) == []
        assert not any(_alive(pid) for pid in pids)


def test_a_coordinator_killed_outright_leaves_no_peer_behind(cluster: LocalDask) -> None:
    cmd = [sys.executable, "-m", "zlab.cli", "bench", "--impl", "zlab", "--transport", "tcp"]
    cmd += ["--pattern", "reqrep", "--size", "64", "--repeats", "1", "--duration", "30", "--no-save"]
    cmd += ["--no-progress", "--cluster", cluster.address, "--hosts", "w1,w2"]
    old = {"w1": cluster.live_peers("w1"), "w2": cluster.live_peers("w2")}
    proc = subprocess.Popen(
        cmd, env=child_env(), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        peers = [pid for name in ("w1", "w2") for pid in _wait_for_peers(cluster, name, old=old[name])]
    finally:
        proc.kill()  # no Ctrl-C handler, no finally: only the lifelines closing tell the peers
        proc.wait()
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in peers) and time.monotonic() < deadline:
        cluster.live_peers("w1"), cluster.live_peers("w2")  # reaps the exited ones
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in peers)
    assert cluster.live_peers("w1") == cluster.live_peers("w2") == []


@pytest.mark.timeout(20)
def test_the_control_listener_lets_in_only_the_cells_key() -> None:
    from multiprocessing.connection import Client

    from zlab.bench.cluster import _Listener

    listener = _Listener("127.0.0.1", b"k" * 32)
    results_: list[object] = []

    def dial(key: bytes) -> None:
        try:
            conn = Client(listener.address, authkey=key)
            conn.send("hi")
            results_.append(conn)
        except Exception as exc:
            results_.append(exc)

    try:
        stranger = threading.Thread(target=dial, args=(b"x" * 32,))
        stranger.start()
        assert listener.accept(10) is None  # wrong key: refused, the coordinator carries on
        stranger.join(10)
        friend = threading.Thread(target=dial, args=(b"k" * 32,))
        friend.start()
        conn = listener.accept(10)
        friend.join(10)
        assert conn is not None and conn.recv() == "hi"
        assert listener.accept(0.05) is None  # nobody else: no wait beyond the timeout
        conn.close()
    finally:
        listener.close()
        for item in results_:
            if hasattr(item, "close"):
                item.close()


def test_a_worker_killed_mid_cell_fails_that_cell_and_the_run_goes_on(cluster: LocalDask) -> None:
    """Runs last in the module: w3 does not come back."""
    victim = cluster.workers["w3"]
    seen: dict[str, list[int]] = {}

    def kill_when_measuring() -> None:
        seen["w3"] = _wait_for_peers(cluster, "w3")
        seen["w1"] = cluster.live_peers("w1")
        time.sleep(2.0)  # most likely past connecting and warm-up, into the measured phase
        victim.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_when_measuring)
    killer.start()
    frame = run(
        "pyzmq",
        "tcp",
        "reqrep",
        [64],
        repeats=2,
        duration_s=20,
        out=None,
        progress=False,
        cluster=cluster.address,
        hosts="w1,w3",
    )
    killer.join()
    first, second = frame.iloc[0], frame.iloc[1]
    assert first["status"] == "failed" and first["hosts"] == "server:w1 client:w3"
    # killed measuring (or, on a very busy machine, still starting): either way the reason says who and why
    assert re.match(
        r"peer client on host w3 (ended before reporting|exited while starting|did not connect): "
        r"(its Dask worker tcp://\S+ (left the cluster|did not answer \(\w+\): it died or left the cluster)"
        r"|exit code -9 \(.*\))$",
        first["failure_reason"],
    ), first["failure_reason"]
    assert second["status"] == "failed"  # the run went on to the next repeat, which knows why
    assert "worker of host w3" in second["failure_reason"] and "left the cluster" in second["failure_reason"]
    victim.wait(10)
    assert cluster.live_peers("w1") == []
    assert not any(_alive(pid) for pids in seen.values() for pid in pids)
    after = run(
        "pyzmq",
        "tcp",
        "reqrep",
        [64],
        repeats=1,
        quick=True,
        out=None,
        progress=False,
        cluster=cluster.address,
        hosts="w1,w2",
    )
    assert after["status"].tolist() == ["ok"]
