"""Result schema, Parquet round trip, loading folders of runs, schema upgrades, summaries."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from zlab.bench import results, summary

pytestmark = pytest.mark.timeout(60)

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _row(run_id: str, impl: str = "pyzmq", status: str = "ok", **extra: object) -> dict:
    base = dict(
        run_id=run_id,
        started_at=STARTED,
        cell_started_at=STARTED,
        host="testhost",
        impl=impl,
        impl_version="1.0",
        transport="tcp",
        pattern="reqrep",
        mode="latency",
        msg_size_bytes=64,
        n_subscribers=1,
        repeat=0,
        placement="none",
        cpus="",
        quick=True,
        target_duration_s=0.05,
        max_msgs=50,
        status=status,
    )
    if status == "ok":
        base.update(n_msgs=50, n_sent=50, n_dropped=0, elapsed_s=0.01, msgs_per_s=5000.0, mb_per_s=0.32)
        base.update(lat_p50_us=20.0, lat_p99_us=40.0, lat_max_us=50.0)
    else:
        base.update(failure_reason="timeout after 3 s", failure_detail="Traceback ...")
    base.update(extra)
    return results.make_row(**base)


def test_make_row_fills_every_column_and_rejects_unknown_names():
    row = _row("r1")
    assert list(row) == list(results.COLUMNS)
    assert row["schema_version"] == results.SCHEMA_VERSION
    assert row["lat_p999_us"] is None
    with pytest.raises(KeyError):
        results.make_row(latency_us=3)


def test_schema_round_trip_through_parquet(tmp_path: Path):
    rows = [_row("run-a"), _row("run-a", status="failed", repeat=1), _row("run-a", impl="raw", repeat=2)]
    writer = results.RunWriter(tmp_path, "run-a", {"run_id": "run-a", "cpu_model": "test"})
    for row in rows:
        writer.append(row)
    writer.close(complete=True)

    expected = results.to_frame(rows)
    loaded = results.load(tmp_path / "run-a.parquet")
    pd.testing.assert_frame_equal(loaded, expected)
    assert list(loaded.columns) == list(results.COLUMNS)
    assert str(loaded["n_msgs"].dtype) == "Int64"  # counts stay integers next to a failed row
    assert loaded.loc[1, "n_msgs"] is pd.NA
    assert math.isnan(loaded.loc[1, "lat_p50_us"])
    assert loaded.loc[0, "started_at"] == pd.Timestamp(STARTED)

    meta = json.loads((tmp_path / "run-a.json").read_text())
    assert meta["complete"] is True and meta["n_rows"] == 3 and meta["cpu_model"] == "test"
    kv = pq.read_schema(tmp_path / "run-a.parquet").metadata[results.META_KEY]
    assert json.loads(kv)["run_id"] == "run-a"
    assert results.load_meta(tmp_path)["run-a"]["schema_version"] == results.SCHEMA_VERSION


def test_load_folder_with_two_runs(tmp_path: Path):
    for run_id, n in (("run-1", 2), ("run-2", 3)):
        writer = results.RunWriter(tmp_path / "sub", run_id, {"run_id": run_id})
        for i in range(n):
            writer.append(_row(run_id, repeat=i))
        writer.close(complete=True)
    frame = results.load(tmp_path)
    assert len(frame) == 5
    assert frame.groupby("run_id").size().to_dict() == {"run-1": 2, "run-2": 3}
    assert set(results.load_meta(tmp_path)) == {"run-1", "run-2"}


def test_runs_are_never_overwritten(tmp_path: Path):
    results.RunWriter(tmp_path, "same", {}).close(complete=True)
    with pytest.raises(FileExistsError):
        results.RunWriter(tmp_path, "same", {})


def test_old_schema_versions_are_upgraded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # A version-0 file: the latency column had another name and some columns did not exist yet.
    old = pa.table(
        {
            "schema_version": pa.array([0], pa.int16()),
            "run_id": ["old"],
            "impl": ["pyzmq"],
            "lat_median_us": [12.5],
        }
    )
    pq.write_table(old, tmp_path / "old.parquet")

    def v0_to_v1(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.rename(columns={"lat_median_us": "lat_p50_us"})

    monkeypatch.setitem(results.UPGRADES, 0, v0_to_v1)
    frame = results.load(tmp_path)
    assert frame.loc[0, "lat_p50_us"] == 12.5
    assert frame.loc[0, "schema_version"] == results.SCHEMA_VERSION
    assert list(frame.columns) == list(results.COLUMNS)
    assert frame["msg_size_bytes"].isna().all()


def test_a_newer_schema_is_refused(tmp_path: Path):
    pq.write_table(pa.table({"schema_version": pa.array([99], pa.int16())}), tmp_path / "new.parquet")
    with pytest.raises(ValueError, match="newer"):
        results.load(tmp_path)


def test_load_of_nothing_gives_the_empty_schema(tmp_path: Path):
    assert list(results.load(tmp_path).columns) == list(results.COLUMNS)
    with pytest.raises(FileNotFoundError):
        results.load(tmp_path / "missing")


def test_headline_and_ratios():
    rows = []
    for repeat, (z, p) in enumerate([(30.0, 20.0), (32.0, 22.0), (100.0, 21.0)]):
        rows.append(_row("r", impl="zlab", repeat=repeat, lat_p50_us=z))
        rows.append(_row("r", impl="pyzmq", repeat=repeat, lat_p50_us=p))
    rows.append(_row("r", impl="zlab", status="failed"))
    frame = results.to_frame(rows)
    wide = summary.headline(frame)
    assert (
        wide.loc[("tcp", "reqrep", "latency", 64, 1, "sync", "null", "lat_p50_us"), "zlab"] == 32.0
    )  # median of repeats
    ratio = summary.ratios(frame, metrics=["lat_p50_us"])
    assert ratio["ratio"].tolist() == [32.0 / 21.0]
    text = summary.format_summary(frame)
    assert "zlab/pyzmq" in text and "1.52" in text


def test_load_leaves_out_tables_of_other_experiments(tmp_path: Path) -> None:
    """The fault and soak tables live under results/ too, with schemas of their own: not measurement rows."""
    (tmp_path / "soak").mkdir()
    pq.write_table(
        pa.table({"run_id": ["x"], "t_s": [1.0], "rss_bytes": [1]}), tmp_path / "soak" / "x.parquet"
    )
    assert results.load(tmp_path).empty
