"""Slicing results without a browser: Selection, tables, the explorer's widgets driven from code, live runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

import zlab.bench as zb
from zlab.bench import live, results, runner
from zlab.bench.matrix import Budget, Cell
from zlab.bench.selection import Selection, choices, median_table, plot_selection, ratio_table, select

pytestmark = pytest.mark.timeout(60)

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TINY: dict[str, Any] = {"quick": True, "max_msgs": 50, "progress": False}
RUNS = {  # run_id -> (experiment, commit, quick)
    "20260102T030405Z-aaaaaa": ("latency_vs_size", "1111111aaaa", False),
    "20260103T030405Z-bbbbbb": ("latency_vs_size", "2222222bbbb", False),
    "20260103T040405Z-cccccc": ("latency_vs_size", "2222222bbbb", True),
    "20260103T050405Z-dddddd": ("throughput_vs_size", "2222222bbbb", False),
}


def _frame() -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    rows, meta = [], {}
    for r, (run_id, (experiment, commit, quick)) in enumerate(RUNS.items()):
        meta[run_id] = {
            "run_id": run_id,
            "git_commit": commit,
            "started_at": f"2026-01-0{2 + (r > 0)}T03:04:05",
        }
        mode = "throughput" if experiment.startswith("throughput") else "latency"
        for repeat in range(3):
            for transport in ("ipc", "tcp"):
                for size in (64, 65536):
                    for k, impl in enumerate(("zlab", "pyzmq", "raw")):
                        value = (10 + 5 * k + r) * (1 + size / 65536) * (1 + 0.01 * repeat)
                        metrics = (
                            {"lat_p50_us": value, "lat_p99_us": 3 * value}
                            if mode == "latency"
                            else {"msgs_per_s": 1e6 / value, "mb_per_s": size / value}
                        )
                        rows.append(
                            results.make_row(
                                run_id=run_id,
                                started_at=STARTED,
                                experiment=experiment,
                                impl=impl,
                                transport=transport,
                                pattern="reqrep" if mode == "latency" else "pushpull",
                                mode=mode,
                                msg_size_bytes=size,
                                n_subscribers=1,
                                repeat=repeat,
                                quick=quick,
                                status="ok" if not (impl == "raw" and transport == "ipc") else "failed",
                                **metrics,
                            )
                        )
    return results.to_frame(rows), meta


def _write_runs(folder) -> None:
    frame, meta = _frame()
    for run_id, rows in frame.groupby("run_id"):
        writer = results.RunWriter(folder, str(run_id), meta[str(run_id)])
        for row in rows.to_dict("records"):
            writer.append({k: (None if pd.isna(v) else v) for k, v in row.items()})
        writer.close(complete=True)


def test_select_by_axes_runs_commits_and_dates() -> None:
    frame, meta = _frame()
    tcp = select(frame, transport="tcp", impl=["zlab", "pyzmq"])
    assert set(tcp["transport"]) == {"tcp"} and set(tcp["impl"]) == {"zlab", "pyzmq"}
    assert len(tcp) == len(frame[(frame["transport"] == "tcp") & (frame["impl"] != "raw")])
    by_commit = Selection(commits=("2222222",)).apply(frame, meta)
    assert set(by_commit["run_id"]) == set(list(RUNS)[1:])
    by_date = select(frame, Selection(dates=("2026-01-02",)), meta)
    assert set(by_date["run_id"]) == {"20260102T030405Z-aaaaaa"}
    assert select(frame, runs=["nope"]).empty
    # failed rows are out unless asked for
    assert "failed" not in set(select(frame)["status"])
    assert "failed" in set(select(frame, ok_only=False)["status"])


def test_selection_checks_its_metric_and_takes_single_values() -> None:
    with pytest.raises(ValueError, match="unknown metric 'p50'"):
        Selection(metric="p50")
    assert Selection(transport="tcp", msg_size_bytes=64).transport == ("tcp",)
    assert Selection(msg_size_bytes=64).msg_size_bytes == (64,)


def test_choices_offer_only_present_values_in_display_order() -> None:
    frame, _ = _frame()
    present = choices(frame[frame["impl"] != "zlab"])
    assert present["impl"] == ["pyzmq", "raw"]
    assert present["msg_size_bytes"] == [64, 65536]
    assert present["mode"] == ["latency", "throughput"]


def test_median_table_is_the_median_over_repeats_per_cell() -> None:
    frame, _ = _frame()
    rows = select(frame, runs=["20260102T030405Z-aaaaaa"])
    table = median_table(rows, "lat_p50_us")
    assert list(table.columns) == ["zlab", "pyzmq", "raw"]
    assert table.index.names == ["transport", "msg_size_bytes"]
    expected = rows[(rows["impl"] == "zlab") & (rows["transport"] == "tcp") & (rows["msg_size_bytes"] == 64)]
    assert table.loc[("tcp", 64), "zlab"] == pytest.approx(expected["lat_p50_us"].median())
    assert np.isnan(table.loc[("ipc", 64), "raw"])  # failed there
    assert median_table(rows, "msgs_per_s").empty  # no throughput rows in a latency run


def test_ratio_table_says_which_side_did_better_for_each_metric_direction() -> None:
    frame, _ = _frame()
    lat = ratio_table(select(frame, runs=["20260102T030405Z-aaaaaa"]), "lat_p50_us")
    assert (lat["ratio"] < 1).all() and set(lat["better"]) == {"zlab"}  # lower latency
    assert (lat["repeats"] == 3).all()
    thr = ratio_table(select(frame, runs=["20260103T050405Z-dddddd"]), "msgs_per_s")
    assert (thr["ratio"] > 1).all() and set(thr["better"]) == {"zlab"}  # higher throughput
    assert ratio_table(select(frame, impl="zlab"), "lat_p50_us").empty


def test_plot_selection_draws_a_line_per_implementation_and_axis_value() -> None:
    frame, _ = _frame()
    fig = plot_selection(select(frame, runs=["20260102T030405Z-aaaaaa"]), "lat_p50_us")
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert sorted(labels) == sorted(
        [
            "zlab · ipc",
            "zlab · tcp",
            "libzmq (pyzmq) · ipc",
            "libzmq (pyzmq) · tcp",
            "plain Python floor · tcp",
        ]
    )
    empty = plot_selection(frame.iloc[:0], "lat_p50_us")
    assert "no measured rows" in empty.axes[0].texts[0].get_text()


def test_explorer_widgets_drive_the_same_slice_as_a_script() -> None:
    pytest.importorskip("ipywidgets")
    frame, meta = _frame()
    ex = zb.Explorer(frame=frame, meta=meta)
    # newest full run of each experiment by default: the quick one is not chosen
    assert set(ex.selection.runs) == {"20260103T030405Z-bbbbbb", "20260103T050405Z-dddddd"}
    ex.set(runs=["20260102T030405Z-aaaaaa"], transport="tcp", metric="lat_p99_us")
    sel = Selection(runs=("20260102T030405Z-aaaaaa",), transport=("tcp",), metric="lat_p99_us")
    assert ex.selection == sel
    pd.testing.assert_frame_equal(ex.rows, sel.apply(frame, meta))
    pd.testing.assert_frame_equal(ex.table, median_table(sel.apply(frame, meta), "lat_p99_us"))
    assert "zlab · tcp" not in [
        ln.get_label() for ln in ex.figure.axes[0].get_lines()
    ]  # one transport: no suffix
    # a change made the way a user makes it (the widget's value) redraws too
    ex.axis_pickers["msg_size_bytes"].value = (65536,)
    assert set(ex.rows["msg_size_bytes"]) == {65536} and len(ex.table) == 1
    ex.view_picker.value = "zlab/libzmq"
    assert ex.ratios.loc[65536, "better"] == "zlab"
    assert "measured rows" in ex.status.value
    with pytest.raises(ValueError, match="unknown explorer choice"):
        ex.set(colour="red")


def test_explorer_reads_a_results_folder(tmp_path) -> None:
    pytest.importorskip("ipywidgets")
    _write_runs(tmp_path)
    ex = zb.Explorer(tmp_path)
    assert len(ex.runs) == len(RUNS) and len(ex.rows) > 0


class _Handle:
    def __init__(self) -> None:
        self.updates = 0

    def update(self, _obj: object) -> None:
        self.updates += 1


def test_live_chart_redraws_one_figure_per_cell_and_is_off_in_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not live.in_notebook()
    assert live.live_chart(True, 4) is None  # a terminal: nothing changes
    handles: list[_Handle] = []

    def display(obj: object, display_id: bool = False) -> _Handle:
        assert display_id  # one output, updated in place
        handles.append(_Handle())
        return handles[-1]

    monkeypatch.setattr(live, "in_notebook", lambda: True)
    monkeypatch.setattr(live, "_ipython_display", lambda: display)
    # measured for real: three tiny cells, the chart redrawn after each in the one output
    frame = zb.run(
        "zlab", "inproc", "reqrep", [8, 64, 256], modes="latency", repeats=1, out=None, live=True, **TINY
    )
    assert (frame["status"] == "ok").all()
    assert len(handles) == 1 and handles[0].updates == 3


def test_live_run_interrupted_keeps_rows_and_the_chart_shows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[int] = []

    class Recorder:
        def __init__(self, total: int, metric: str | None = None) -> None:
            self.total = total

        def update(self, rows: Any) -> None:
            drawn.append(len(rows))

    monkeypatch.setattr(
        live, "live_chart", lambda enabled, total, metric=None: Recorder(total) if enabled else None
    )
    real = runner.run_cell
    calls: list[int] = []

    def interrupted(cell: Cell, budget: Budget, **kw: object):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(cell, budget, **kw)

    monkeypatch.setattr(runner, "run_cell", interrupted)
    frame = zb.run("raw", "inproc", "reqrep", [8, 64, 256], repeats=1, out=None, live=True, **TINY)
    assert frame.attrs["interrupted"] is True and len(frame) == 2
    assert drawn == [1, 2]


def test_zlab_table_prints_the_slice_the_selection_gives(
    tmp_path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zlab.cli import main

    _write_runs(tmp_path)
    assert main(["table", str(tmp_path), "--transport", "tcp", "--size", "64K", "--impl", "zlab,pyzmq"]) == 0
    out = capsys.readouterr().out
    assert "lat_p50_us" in out and "65536" in out and "raw" not in out and "ipc" not in out
    assert main(["table", str(tmp_path), "--mode", "throughput", "--metric", "msgs_per_s", "--ratios"]) == 0
    assert "better" in capsys.readouterr().out
    assert main(["table", str(tmp_path), "--metric", "p50"]) == 2
    assert "unknown metric 'p50'" in capsys.readouterr().err
    assert main(["table", str(tmp_path), "--transport", "inproc"]) == 1
