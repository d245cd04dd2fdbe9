"""Charts from synthetic result frames: files written, quick runs marked, failed cells tolerated."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from zlab.bench import plots, results
from zlab.cli import main as cli_main

pytestmark = pytest.mark.timeout(60)

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SIZES = (64, 4096, 1048576)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _rows(run_id: str, quick: bool, experiment: str | None = None) -> list[dict]:
    """A small sweep: reqrep latency and pushpull throughput (3 impls), pubsub (zlab failed, raw skipped)."""
    rows = []
    for repeat in range(2):
        for transport in ("inproc", "tcp"):
            for size in SIZES:
                for k, impl in enumerate(("zlab", "pyzmq", "raw")):
                    common = dict(
                        run_id=run_id,
                        started_at=STARTED,
                        cell_started_at=STARTED,
                        experiment=experiment,
                        host="testhost",
                        impl=impl,
                        transport=transport,
                        msg_size_bytes=size,
                        n_subscribers=1,
                        repeat=repeat,
                        placement="one",
                        quick=quick,
                        target_duration_s=0.05,
                        foreign_cpu_pct=3.0,
                    )
                    p50 = 10.0 + k * 5 + size / 1e4
                    rows.append(
                        results.make_row(
                            **common,
                            pattern="reqrep",
                            mode="latency",
                            status="ok",
                            lat_p50_us=p50,
                            lat_p99_us=p50 * 3,
                            lat_p999_us=p50 * 5,
                            msgs_per_s=1e6 / p50,
                        )
                    )
                    rate = 1e6 / (1 + k) / (1 + size / 1e4)
                    rows.append(
                        results.make_row(
                            **common,
                            pattern="pushpull",
                            mode="throughput",
                            status="ok",
                            msgs_per_s=rate,
                            mb_per_s=rate * size / 1e6,
                        )
                    )
                    status, reason = {
                        "zlab": ("failed", "publisher: ZMQError: unsupported socket type 1"),
                        "pyzmq": ("ok", None),
                        "raw": ("skipped", "raw has no pubsub equivalent"),
                    }[impl]
                    rows.append(
                        results.make_row(
                            **common | {"n_subscribers": 2},
                            pattern="pubsub",
                            mode="throughput",
                            status=status,
                            failure_reason=reason,
                            msgs_per_s=rate if status == "ok" else None,
                            mb_per_s=rate * size / 1e6 if status == "ok" else None,
                        )
                    )
    return rows


def _write_run(
    folder: Path, run_id: str, quick: bool, experiment: str | None = None, pattern: str | None = None
) -> Path:
    """A run's files; ``pattern`` keeps only that pattern's rows (one chart: keeps tests quick)."""
    meta = {"run_id": run_id, "cpu_model": "Test CPU 9000", "cpu_count": 2, "started_at": STARTED.isoformat()}
    writer = results.RunWriter(folder, run_id, meta)
    for row in _rows(run_id, quick, experiment):
        if pattern is None or row["pattern"] == pattern:
            writer.append(row)
    writer.close(complete=True)
    return writer.parquet


def test_plot_all_writes_nonempty_pngs_for_every_chart(tmp_path: Path) -> None:
    _write_run(tmp_path / "res", "20260102T030405Z-aaaaaa", quick=False)
    paths = plots.plot_all(tmp_path / "res", formats=("png",))
    assert sorted(p.name for p in paths) == sorted(f"{chart}.png" for chart in plots.CHARTS)
    for path in paths:
        assert path.parent == tmp_path / "res" / "charts"
        assert path.stat().st_size > 5000
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == PNG_MAGIC


def test_caption_names_the_machine_date_and_counts_failed_and_skipped(tmp_path: Path) -> None:
    _write_run(tmp_path, "20260102T030405Z-aaaaaa", quick=False)
    frame, meta = plots.load_results(tmp_path)
    text = plots.caption(frame, meta)
    assert "Test CPU 9000, 2 cores" in text
    assert "2026-01-02" in text
    assert "12 failed (zlab: publisher: ZMQError: unsupported socket type 1 x12)" in text
    assert "12 skipped" in text
    assert plots.QUICK_MARK not in text


def test_quick_runs_are_marked_on_the_chart_and_in_the_file(tmp_path: Path) -> None:
    _write_run(tmp_path, "20260102T030405Z-bbbbbb", quick=True, pattern="reqrep")
    frame, meta = plots.load_results(tmp_path)
    fig = plots.plot_latency_vs_size(frame, meta)
    assert fig is not None
    texts = [t.get_text() for t in fig.texts] + [fig._suptitle.get_text()]
    assert any(plots.QUICK_MARK in t for t in texts)
    paths = plots.plot_all(tmp_path, tmp_path / "out", formats=("png",))
    assert sorted(p.name for p in paths) == ["latency_vs_size.png", "zlab_vs_libzmq.png"]
    for path in paths:
        assert b"QUICK RUN" in path.read_bytes()  # in the PNG's text metadata as well as in the pixels


def test_full_run_is_not_marked(tmp_path: Path) -> None:
    _write_run(tmp_path, "20260102T030405Z-cccccc", quick=False)
    frame, meta = plots.load_results(tmp_path)
    fig = plots.plot_throughput_vs_size(frame, meta)
    assert fig is not None
    assert not any(plots.QUICK_MARK in t.get_text() for t in fig.texts)


def test_only_failed_cells_draw_no_line_and_do_not_crash(tmp_path: Path) -> None:
    rows = [r for r in _rows("20260102T030405Z-dddddd", quick=True) if r["pattern"] == "pubsub"]
    frame = results.to_frame(rows)
    assert plots.plot_latency_vs_size(frame) is None  # no latency rows at all
    fig = plots.plot_throughput_vs_size(frame, pattern="pubsub")
    assert fig is not None  # pyzmq's rows draw; zlab's failed ones are left out but counted
    lines = {line.get_label() for ax in fig.axes for line in ax.get_lines()}
    assert "libzmq (pyzmq)" in lines and "zlab" not in lines
    assert "12 failed" in fig.zlab_caption
    failed_only = frame[frame["impl"] == "zlab"]
    assert plots.plot_all(failed_only, tmp_path / "charts", formats=("png",)) == []


def test_patterns_chart_marks_failed_cells(tmp_path: Path) -> None:
    frame = results.to_frame(_rows("20260102T030405Z-eeeeee", quick=False))
    fig = plots.plot_patterns(frame)
    assert fig is not None
    marks = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "zlab failed" in marks
    assert not any("raw" in m for m in marks)  # skipped by design: counted in the caption only


def test_select_runs_prefers_newest_full_run_per_experiment(tmp_path: Path) -> None:
    rows = (
        _rows("20260101T000000Z-old000", quick=False, experiment="a")
        + _rows("20260103T000000Z-new000", quick=False, experiment="a")
        + _rows("20260104T000000Z-quick0", quick=True, experiment="a")
        + _rows("20260102T000000Z-bbbbbb", quick=True, experiment="b")
    )
    chosen = plots.select_runs(results.to_frame(rows))
    assert sorted(pd.unique(chosen["run_id"])) == ["20260102T000000Z-bbbbbb", "20260103T000000Z-new000"]
    assert len(plots.select_runs(results.to_frame(rows), all_runs=True)) == len(rows)


def test_ratio_heatmap_values(tmp_path: Path) -> None:
    frame = results.to_frame(_rows("20260102T030405Z-ffffff", quick=False))
    ratio = plots._ratio_matrix(frame, "reqrep", "latency", "lat_p50_us", "zlab", "pyzmq")
    assert list(ratio.index) == ["inproc", "tcp"]
    assert list(ratio.columns) == list(SIZES)
    assert ratio.loc["tcp", 64] == pytest.approx((10 + 64 / 1e4) / (15 + 64 / 1e4))


def test_zlab_plot_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_run(tmp_path / "res", "20260102T030405Z-999999", quick=True, pattern="reqrep")
    assert cli_main(["plot", str(tmp_path / "res"), "--out", str(tmp_path / "c")]) == 0
    printed = capsys.readouterr().out.split()
    charts = ("latency_vs_size", "zlab_vs_libzmq")  # reqrep rows only: latency, and the latency heat map
    assert sorted(printed) == sorted(
        str(tmp_path / "c" / f"{n}.{ext}") for n in charts for ext in ("png", "svg")
    )
    assert (tmp_path / "c" / "latency_vs_size.svg").read_text().startswith("<?xml")
    assert cli_main(["plot", str(tmp_path / "missing")]) == 2
    assert json.loads((tmp_path / "res" / "20260102T030405Z-999999.json").read_text())["complete"]


def test_plot_all_can_be_limited_to_some_charts(tmp_path: Path) -> None:
    frame = results.to_frame(_rows("20260102T030405Z-abcdef", quick=False))
    paths = plots.plot_all(frame, tmp_path, formats=("png",), charts=["zlab_vs_libzmq"])
    assert [p.name for p in paths] == ["zlab_vs_libzmq.png"]
    with pytest.raises(ValueError, match="unknown charts"):
        plots.plot_all(frame, tmp_path, charts=["pie"])


def test_heatmap_hatches_cells_within_the_noise_and_dirty_runs_are_marked(tmp_path: Path) -> None:
    from matplotlib.patches import Rectangle

    rows = _rows("20260102T030405Z-gggggg", quick=False)
    for row in rows:  # libzmq's tcp 64 B repeats straddle zlab's: that ratio's interval includes 1
        if (row["impl"], row["transport"], row["msg_size_bytes"], row["mode"]) == (
            "pyzmq",
            "tcp",
            64,
            "latency",
        ):
            row["lat_p50_us"] = 9.0 if row["repeat"] == 0 else 21.0
    frame = results.to_frame(rows)
    meta = {"20260102T030405Z-gggggg": {"git_commit": "a" * 40, "git_dirty": True}}
    fig = plots.plot_ratio_heatmap(frame, meta)
    assert fig is not None
    hatched = [p for ax in fig.axes for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch()]
    assert len(hatched) == 1  # only that square; the others repeat exactly, so their intervals exclude 1
    assert any(plots.DIRTY_MARK in t for t in [fig._suptitle.get_text(), *(t.get_text() for t in fig.texts)])
    clean = plots.plot_ratio_heatmap(frame, {"20260102T030405Z-gggggg": {"git_dirty": False}})
    assert clean is not None and plots.DIRTY_MARK not in clean._suptitle.get_text()
