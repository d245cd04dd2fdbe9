"""The ``mechanism`` axis: null, PLAIN and CURVE cells of zlab and pyzmq in fresh processes with their counts
checked; the options really set on the sockets (wrong credentials get nothing through); skip reasons (raw,
inproc); the column in results, summaries, ratios, old files and charts; the ``--mechanism`` flag."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import zlab.bench as zb
from zlab.bench import plots, results, summary
from zlab.bench.adapters import open_backend
from zlab.bench.matrix import Budget, Cell, build_cells
from zlab.bench.runner import run_cell
from zlab.bench.security import make_security
from zlab.cli import main

pytestmark = pytest.mark.timeout(60)

TINY = dict(quick=True, max_msgs=50, repeats=1, progress=False)


def test_tiny_runs_over_null_plain_curve_check_counts(tmp_path: Path):
    frame = zb.run(
        "zlab,pyzmq", "tcp", "reqrep,pushpull", [64], mechanisms="null,plain,curve", out=tmp_path, **TINY
    )
    assert len(frame) == 2 * 3 * 2  # (reqrep, pushpull) x (null, plain, curve) x (zlab, pyzmq)
    bad = frame[frame["status"] != "ok"]
    assert bad.empty, bad[["impl", "mechanism", "pattern", "failure_reason", "failure_detail"]].to_string()
    assert sorted(set(zip(frame["impl"], frame["mechanism"], strict=True))) == sorted(
        (i, m) for i in ("zlab", "pyzmq") for m in ("null", "plain", "curve")
    )
    flood = frame[frame["mode"] == "throughput"]
    assert (flood["n_msgs"] == 50).all() and (flood["n_msgs"] == flood["n_sent"]).all()
    latency = frame[frame["mode"] == "latency"]  # the server echoed every request (checked by measure)
    assert (latency["n_msgs"] > 0).all() and (latency["lat_p50_us"] > 0).all()

    stored = zb.load(tmp_path)
    assert len(stored) == 12 and set(stored["mechanism"]) == {"null", "plain", "curve"}
    wide = summary.headline(stored)  # mechanisms are different cells, never averaged together
    assert set(wide.index.get_level_values("mechanism")) == {"null", "plain", "curve"}
    ratio = summary.ratios(stored, metrics=["lat_p50_us"])
    assert sorted(ratio["mechanism"]) == ["curve", "null", "plain"]  # zlab/pyzmq within each mechanism
    text = summary.format_summary(stored)
    assert text.splitlines()[0].split()[0] == "mechanism" and "curve" in text


@pytest.mark.parametrize("impl", ["zlab", "pyzmq"])
@pytest.mark.parametrize("mechanism", ["plain", "curve"])
def test_the_backend_secures_both_ends(impl: str, mechanism: str):
    """Server options on the bound socket, client options on the connected one; with another client's
    credentials (a wrong password, keys of another cell) nothing gets through."""
    security = make_security(mechanism)
    server = open_backend(impl, "tcp", security=security)
    good = open_backend(impl, "tcp", security=security)
    wrong = (
        make_security("curve")
        if mechanism == "curve"
        else dataclasses.replace(security, password="not-the-password")
    )
    intruder = open_backend(impl, "tcp", security=wrong)
    try:
        rep = server.bind("PULL", "tcp://127.0.0.1:*")
        z = server.z
        expected = z.CURVE if mechanism == "curve" else z.PLAIN
        assert rep.sock.getsockopt(z.MECHANISM) == expected
        assert rep.sock.getsockopt(z.CURVE_SERVER if mechanism == "curve" else z.PLAIN_SERVER) == 1
        bad = intruder.connect("PUSH", rep.endpoint)
        bad.send(b"intruder")
        assert not rep.sock.poll(300)
        ok = good.connect("PUSH", rep.endpoint)
        assert ok.sock.getsockopt(z.MECHANISM) == expected
        ok.send(b"hello")
        assert rep.sock.poll(5000) and rep.recv() == b"hello"
        for peer in (rep, bad, ok):
            peer.close()
    finally:
        for backend in (server, good, intruder):
            backend.close()


def test_raw_and_inproc_cells_with_a_mechanism_are_skipped():
    budget = Budget.make(quick=True)
    raw = run_cell(Cell("raw", "tcp", "reqrep", "latency", 64, mechanism="curve"), budget)
    assert raw.status == "skipped" and raw.reason == "raw has no security mechanisms (null only)"
    inproc = run_cell(Cell("zlab", "inproc", "pushpull", "throughput", 64, mechanism="plain"), budget)
    assert inproc.status == "skipped"
    assert inproc.reason == "no security mechanism on inproc (libzmq applies them to tcp and ipc only)"
    assert Cell("pyzmq", "ipc", "reqrep", "latency", 64, mechanism="curve").skip_reason() is None
    assert Cell("raw", "tcp", "reqrep", "latency", 64).skip_reason() is None


def test_mechanism_cells_sit_next_to_each_other():
    cells = build_cells(["zlab", "pyzmq"], ["tcp"], ["reqrep"], [64], mechanisms=["null", "curve"])
    assert [(c.impl, c.mechanism) for c in cells] == [
        ("zlab", "null"),
        ("pyzmq", "null"),
        ("zlab", "curve"),
        ("pyzmq", "curve"),
    ]
    assert cells[2].label == "zlab+curve tcp reqrep/latency 64B"
    assert Cell("zlab", "tcp", "reqrep", "latency", 64, api="asyncio", mechanism="plain").label == (
        "zlab/asyncio+plain tcp reqrep/latency 64B"
    )


def test_version_2_files_load_as_null_rows(tmp_path: Path):
    old = pa.table(
        {
            "schema_version": pa.array([2, 2], pa.int16()),
            "run_id": ["old", "old"],
            "impl": ["zlab", "pyzmq"],
            "api": ["asyncio", "sync"],
            "status": ["ok", "ok"],
            "mode": ["latency", "latency"],
            "lat_p50_us": [20.0, 30.0],
        }
    )
    pq.write_table(old, tmp_path / "old.parquet")
    frame = results.load(tmp_path)
    assert frame["mechanism"].tolist() == ["null", "null"]
    assert frame["api"].tolist() == ["asyncio", "sync"]
    assert (frame["schema_version"] == results.SCHEMA_VERSION).all() and results.SCHEMA_VERSION >= 3
    assert list(frame.columns) == list(results.COLUMNS)


def _chart_rows() -> pd.DataFrame:
    rows = []
    for mech, p50 in (("null", 10.0), ("curve", 40.0)):
        for impl, k in (("zlab", 1.0), ("pyzmq", 2.0)):
            for size in (64, 65536):
                rows.append(
                    results.make_row(
                        run_id="20260102T030405Z-mech",
                        impl=impl,
                        mechanism=mech,
                        transport="tcp",
                        pattern="reqrep",
                        mode="latency",
                        msg_size_bytes=size,
                        n_subscribers=1,
                        repeat=0,
                        status="ok",
                        lat_p50_us=p50 * k,
                        lat_p99_us=p50 * k * 2,
                    )
                )
    return results.to_frame(rows)


def test_charts_draw_null_unless_asked(tmp_path: Path):
    frame = _chart_rows()
    assert set(plots.medians(frame)["lat_p50_us"]) == {10.0, 20.0}  # null only, never averaged with curve
    curve = plots.one_mechanism(frame, "curve")
    assert set(plots.medians(curve)["lat_p50_us"]) == {40.0, 80.0}
    assert "security mechanism curve" in plots.caption(curve)
    paths = plots.plot_all(frame, tmp_path, formats=("png",), charts=["latency_vs_size"])
    assert [p.name for p in paths] == ["latency_vs_size.png"]
    paths = plots.plot_all(frame, tmp_path, formats=("png",), charts=["latency_vs_size"], mechanism="curve")
    assert [p.name for p in paths] == ["latency_vs_size-curve.png"]


def test_cli_mechanism_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["bench", "--impl", "zlab,pyzmq", "--mechanism", "curve", "--transport", "ipc,inproc"]
    argv += ["--pattern", "pushpull", "--size", "8", "--quick", "--max-msgs", "30", "--repeats", "1"]
    argv += ["--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "mechanism" in out and "zlab/pyzmq" in out
    assert "zlab+curve inproc pushpull (x1): no security mechanism on inproc" in out
    frame = zb.load(tmp_path)
    assert (frame["mechanism"] == "curve").all()
    assert frame.groupby("transport")["status"].agg(set).to_dict() == {"ipc": {"ok"}, "inproc": {"skipped"}}
