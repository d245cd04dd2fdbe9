"""The fault axis and the soak (issue 16): short real runs, their tables and charts, the leak verdict."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import pytest

import zlab.bench as zb
from zlab.bench import faults
from zlab.bench.fault_plots import faults_figure, soak_figure
from zlab.bench.faults import FAULT_COLUMNS, FaultPlan, run_fault_cell, run_faults
from zlab.bench.matrix import ChoiceError
from zlab.bench.soak import SOAK_COLUMNS, SoakConfig, judge, run_soak
from zlab.bench.tables import read_table, write_table

matplotlib.use("Agg")
SHORT = FaultPlan(
    rate=1000.0, warmup_s=0.2, fault_at_s=0.8, down_s=0.3, pause_s=0.4, total_s=2.0, drain_s=0.5
)


@pytest.mark.timeout(60)
def test_killed_worker_cell_counts_loss_and_recovers() -> None:
    row = run_fault_cell("zlab", "tcp", "pushpull", "kill-receiver", SHORT)
    assert row["status"] == "ok", row.get("failure_reason")
    assert row["hung"] is False
    assert row["duplicated"] == 0
    assert row["n_sent"] >= 1000 and row["n_delivered"] + row["lost"] == row["n_sent"]
    assert row["recovery_first_ms"] is not None  # the restarted worker got messages again


@pytest.mark.timeout(60)
def test_fault_run_writes_its_table_and_chart(tmp_path: Path) -> None:
    frame = run_faults(
        "zlab", "tcp", "reqrep", "restart-binder", repeats=1, plan=SHORT, out=tmp_path, progress=False
    )
    assert list(frame.columns) == list(FAULT_COLUMNS)
    (row,) = frame.to_dict("records")
    assert row["status"] == "ok", row["failure_reason"]
    assert row["lost"] == 0 and row["duplicated"] == 0 and not row["hung"]
    assert row["recovery_first_ms"] is not None and row["retries"] >= 1
    back = read_table(frame.attrs["path"])
    assert back.attrs["meta"]["plan"]["total_s"] == SHORT.total_s
    assert "lost" in back.attrs["meta"]["columns"]
    assert faults_figure(back).axes


def test_fault_choices_are_checked() -> None:
    with pytest.raises(ChoiceError, match="unknown fault"):
        run_faults("zlab", "tcp", "pushpull", "kill-everyone", out=None)
    with pytest.raises(ChoiceError, match="no fault applies"):
        run_faults("zlab", "tcp", "reqrep", "kill-receiver", out=None)
    with pytest.raises(ChoiceError, match="no transport"):
        faults.run_from_matrix("zlab", "inproc", "pushpull", "kill-receiver", out=None)
    with pytest.raises(ChoiceError, match="no impl"):
        zb.run(impls="raw", faults="kill-receiver", out=None)  # zb.run hands a fault axis over
    skipped = run_fault_cell("zlab", "tcp", "reqrep", "kill-receiver")
    assert skipped["status"] == "skipped" and "not measured" in skipped["failure_reason"]


@pytest.mark.timeout(60)
def test_short_soak_holds_and_is_stored(tmp_path: Path) -> None:
    config = SoakConfig(
        duration_s=4.0,
        warmup_s=1.0,
        router_peers_per_round=20,
        transports=("tcp", "inproc"),
        msgs_per_exchange=5,
    )
    result = run_soak(config, str(tmp_path))
    assert result.ok, result.failures
    assert result.tally.exchanges > 0 and result.tally.router_peers >= 20
    path = write_table(
        result.samples, SOAK_COLUMNS, tmp_path / "soak", "run", {"ok": result.ok, "failures": []}
    )
    frame = read_table(path)
    assert len(frame) == len(result.samples) >= 3
    assert soak_figure(frame).axes


def _sample(
    t: float, fds: int, threads: int = 7, rss: int = 100 << 20, warm: bool = False
) -> dict[str, object]:
    return {
        "t_s": t,
        "round": int(t),
        "warmup": warm,
        "rss_bytes": rss,
        "fds": fds,
        "threads": threads,
        "router_rows": 10,
        "router_attached": 0,
        "slow_queue_out_peak": 100,
    }


def test_leak_verdict_fails_on_growth() -> None:
    config = SoakConfig()
    steady = [_sample(0, 30, warm=True), _sample(1, 20), _sample(2, 20), _sample(3, 20)]
    assert judge(steady, config) == []
    assert any("fds grew" in f for f in judge([*steady, _sample(4, 21)], config))
    assert any("threads grew" in f for f in judge([*steady, _sample(4, 20, threads=8)], config))
    assert any("RSS grew" in f for f in judge([*steady, _sample(4, 20, rss=200 << 20)], config))
    assert judge(steady[:2], config)  # too short to judge is a failure too
