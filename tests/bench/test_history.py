"""`zlab history`: a metric per commit, in the order first measured, with intervals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest

from tests.bench.test_compare import STARTED, _run
from zlab.bench import history, results
from zlab.cli import main as cli_main

pytestmark = pytest.mark.timeout(60)


def _write_run(folder: Path, run_id: str, commit: str, day: int, slower: float = 1.0) -> None:
    rows = _run(run_id, seed=day)
    for row in rows:
        row["started_at"] = STARTED + timedelta(days=day)
        if row["impl"] == "zlab" and row["mode"] == "latency":
            row["lat_p50_us"] *= slower
    writer = results.RunWriter(
        folder, run_id, {"run_id": run_id, "git_commit": commit * 40, "git_dirty": False}
    )
    for row in rows:
        writer.append(row)
    writer.close(complete=True)


def test_history_orders_commits_and_shows_a_change(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    _write_run(tmp_path, "run-2", "b", day=2, slower=3.0)  # written first, measured later
    _write_run(tmp_path, "run-1", "a", day=1)
    frame, meta = results.load(tmp_path), results.load_meta(tmp_path)
    rows = history.select_cell(frame, metric="lat_p50_us", transport="tcp", size=64)
    per_impl, ratio = history.history(rows, meta, "lat_p50_us")
    assert list(ratio["commit"]) == ["aaaaaaaa", "bbbbbbbb"]
    assert set(per_impl["impl"]) == {"zlab", "pyzmq"} and (per_impl["lo"] <= per_impl["median"]).all()
    assert ratio["verdict"].tolist()[1] == "slower"  # zlab's p50 tripled at the second commit
    assert "over 2 commits" in history.describe(ratio)
    assert cli_main(["history", str(tmp_path), "--out", str(tmp_path / "h")]) == 0
    assert (tmp_path / "h.png").stat().st_size > 0 and "aaaaaaaa" in capsys.readouterr().out
    assert cli_main(["history", str(tmp_path), "--size", "3"]) == 1
