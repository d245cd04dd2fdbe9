"""The ``api`` axis: the same scenarios through zlab.asyncio and zmq.asyncio, in fresh processes; the api
column in results, summaries and old files; the ``--api`` flag."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import zlab.bench as zb
from zlab.bench import results, summary
from zlab.bench.matrix import Cell, build_cells
from zlab.cli import main

pytestmark = pytest.mark.timeout(60)

TINY = dict(quick=True, max_msgs=50, repeats=1, progress=False)


def test_tiny_asyncio_run_next_to_sync_checks_counts(tmp_path: Path):
    frame = zb.run("zlab,pyzmq", "tcp", "reqrep,pushpull", [64], apis="sync,asyncio", out=tmp_path, **TINY)
    frame = pd.concat([frame, zb.run("raw", "tcp", "reqrep", [64], apis="asyncio", out=None, **TINY)])
    frame = frame.reset_index(drop=True)
    assert len(frame) == 2 * 2 * 2 + 1  # (reqrep, pushpull) x (sync, asyncio) x (zlab, pyzmq), raw
    skipped = frame[frame["status"] == "skipped"]
    assert set(zip(skipped["impl"], skipped["api"], strict=True)) == {("raw", "asyncio")}
    assert (skipped["failure_reason"] == "raw has no asyncio front end").all()
    ok = frame[frame["status"] == "ok"]
    bad = frame[(frame["status"] != "ok") & ~frame.index.isin(skipped.index)]
    assert bad.empty, bad[["impl", "api", "pattern", "failure_reason", "failure_detail"]].to_string()
    asyncio_rows = ok[ok["api"] == "asyncio"]
    assert set(asyncio_rows["impl"]) == {"zlab", "pyzmq"}
    flood = asyncio_rows[asyncio_rows["mode"] == "throughput"]
    assert (flood["n_msgs"] == 50).all() and (flood["n_msgs"] == flood["n_sent"]).all()
    latency = asyncio_rows[asyncio_rows["mode"] == "latency"]
    assert (latency["lat_p50_us"] > 0).all()
    stored = zb.load(tmp_path)
    assert sorted(stored["api"].unique()) == ["asyncio", "sync"] and len(stored) == 8
    wide = summary.headline(stored)  # sync and asyncio are different cells, never averaged together
    assert set(wide.index.get_level_values("api")) == {"sync", "asyncio"}
    text = summary.format_summary(stored)
    assert text.splitlines()[0].split()[0] == "api" and "asyncio" in text


def test_asyncio_cells_sit_next_to_each_other():
    cells = build_cells(["zlab", "pyzmq"], ["tcp"], ["reqrep"], [64], apis=["sync", "asyncio"])
    assert [(c.impl, c.api) for c in cells] == [
        ("zlab", "sync"),
        ("pyzmq", "sync"),
        ("zlab", "asyncio"),
        ("pyzmq", "asyncio"),
    ]
    assert (
        Cell("zlab", "tcp", "reqrep", "latency", 64, api="asyncio").label
        == "zlab/asyncio tcp reqrep/latency 64B"
    )
    assert (
        Cell("raw", "tcp", "reqrep", "latency", 64, api="asyncio").skip_reason()
        == "raw has no asyncio front end"
    )


def test_version_1_files_load_as_sync_rows(tmp_path: Path):
    old = pa.table(
        {
            "schema_version": pa.array([1, 1], pa.int16()),
            "run_id": ["old", "old"],
            "impl": ["zlab", "pyzmq"],
            "status": ["ok", "ok"],
            "mode": ["latency", "latency"],
            "lat_p50_us": [20.0, 30.0],
        }
    )
    pq.write_table(old, tmp_path / "old.parquet")
    frame = results.load(tmp_path)
    assert frame["api"].tolist() == ["sync", "sync"]
    assert (frame["schema_version"] == results.SCHEMA_VERSION).all()
    assert list(frame.columns) == list(results.COLUMNS)


def test_cli_api_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = ["bench", "--impl", "zlab,pyzmq", "--api", "asyncio", "--transport", "inproc"]
    argv += ["--pattern", "pushpull", "--size", "8", "--quick", "--max-msgs", "30", "--repeats", "1"]
    argv += ["--no-progress", "--out", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "asyncio" in out and "zlab/pyzmq" in out
    frame = zb.load(tmp_path)
    assert (frame["api"] == "asyncio").all() and (frame["status"] == "ok").all()
