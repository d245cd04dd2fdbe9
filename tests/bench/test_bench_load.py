"""Mode load (open loop): coordinated omission is caught, an unholdable rate is flagged, histograms are
stored beside the rows and merge; rates parse; the sweep's rules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import zlab.bench as zb
from zlab.bench import runner
from zlab.bench.matrix import Budget, Cell, ChoiceError, build_cells, parse_rate, parse_rates
from zlab.bench.openloop import schedule_ns
from zlab.bench.sweep import ladder, max_sustainable_rate, stop_reason


@pytest.mark.timeout(60)
def test_a_stall_shows_in_the_corrected_p99_not_in_the_uncorrected_one() -> None:
    """Coordinated omission: the sender stops for 300 ms in a 1.2 s run at 1000 msg/s. Every message it
    should have sent meanwhile is late by up to 300 ms: corrected p99 in the hundreds of ms, while the
    latency from the actual send time (what a closed loop sees) stays near the idle figure."""
    cell = Cell("zlab", "ipc", "pushpull", "load", 64, rate=1000.0)
    out = runner.run_cell(cell, Budget(duration_s=1.2, warmup_s=0.01), stall=(0.3, 0.3))
    assert out.status == "ok", (out.reason, out.detail)
    c = out.columns
    assert c["n_received"] == c["n_sent"] == c["n_scheduled"] == 1200
    assert c["lat_p99_us"] > 200_000, c
    # near idle: far below the stall (a busy shared machine adds tens of ms of scheduling noise to both)
    assert c["uncorrected_p99_us"] < min(100_000, c["lat_p99_us"] / 3), c
    assert c["sender_lag_max_us"] > 250_000
    assert c["load_status"] == "ok"  # the sender caught up: the offered rate held over the run
    hists = out.histograms
    assert set(hists) == {"latency", "uncorrected", "send_lag"}
    assert hists["latency"].percentile(99) == c["lat_p99_us"] and hists["latency"].count == 1200


@pytest.mark.timeout(60)
def test_a_rate_the_sender_cannot_hold_is_flagged_not_reported() -> None:
    cell = Cell("pyzmq", "ipc", "pushpull", "load", 64, rate=5e6)
    out = runner.run_cell(cell, Budget(duration_s=0.2, warmup_s=0.01))
    assert out.status == "ok", (out.reason, out.detail)
    c = out.columns
    assert c["load_status"] == "sender_behind"
    # it may still send every scheduled message, late (the schedule catches up): the rate is the test
    assert c["n_sent"] <= c["n_scheduled"] == 1_000_000
    assert c["send_rate_per_s"] < 0.95 * 5e6 and c["msgs_per_s"] < 0.95 * 5e6


@pytest.mark.timeout(90)
def test_histograms_are_stored_beside_the_rows_merge_and_chart(tmp_path: Path) -> None:
    frame = zb.run(
        "pyzmq", "inproc", "dealer-router,pubsub", 64, modes="latency,load", rates="2k", subscribers=2,
        repeats=2, quick=True, max_msgs=200, progress=False, out=tmp_path,
    )  # fmt: skip
    assert (frame["status"] == "ok").all(), frame[["failure_reason", "failure_detail"]].to_string()
    hists = zb.load_histograms(tmp_path)
    lat = hists[(hists["kind"] == "latency") & (hists["mode"] == "latency")]
    assert len(lat) == 2 and list(lat["repeat"]) == [0, 1]
    rows = frame[frame["mode"] == "latency"]
    assert list(lat["count"]) == list(rows["n_msgs"])
    for h, (_, row) in zip(lat["histogram"], rows.iterrows(), strict=True):
        assert h.max == pytest.approx(row["lat_max_us"], rel=1e-3)
    merged = zb.merge_histograms(lat)
    assert merged.count == rows["n_msgs"].sum()
    assert merged.max == max(h.max for h in lat["histogram"])
    load = hists[hists["mode"] == "load"]
    assert set(load["kind"]) == {"latency", "uncorrected", "send_lag"}
    assert (load["offered_rate_per_s"] == 2000.0).all()
    loads = frame[frame["mode"] == "load"]
    counts = load[load["kind"] == "latency"]["count"].tolist()
    assert counts == loads["n_received"].tolist()
    pubsub = loads[loads["pattern"] == "pubsub"]  # every subscriber's latencies count
    assert (pubsub["n_received"] + pubsub["n_lost"] == 2 * pubsub["n_sent"]).all()
    assert zb.load(tmp_path)["offered_rate_per_s"].notna().sum() == 4  # the rows file only
    charts = {p.name for p in zb.plot_all(tmp_path, tmp_path / "charts", formats=("png",))}
    assert {"latency_vs_rate.png", "percentile_spectrum.png"} <= charts


def test_rates_parse_and_cells_carry_them() -> None:
    assert parse_rate("10k") == 1e4 and parse_rate("1.5M") == 1.5e6 and parse_rate(500) == 500.0
    assert parse_rates("1k, 10k,1k") == [1e3, 1e4] and parse_rates("sweep") == "sweep"
    with pytest.raises(ChoiceError, match="messages per second"):
        parse_rate("fast")
    with pytest.raises(ChoiceError, match="needs offered rates"):
        build_cells(["zlab"], ["tcp"], ["pushpull"], [64], ["load"])
    cells = build_cells(["zlab"], ["tcp"], ["reqrep", "dealer-router"], [64], ["load"], rates=[1e4, 1e3])
    assert [(c.pattern, c.rate) for c in cells] == [("dealer-router", 1e3), ("dealer-router", 1e4)]
    assert cells[0].label == "zlab tcp dealer-router/load 64B @1k/s"
    assert Cell("zlab", "tcp", "pushpull", "load", 8, rate=1e3).skip_reason() is not None
    with pytest.raises(ChoiceError, match="mode load only"):
        zb.run("zlab", "tcp", "pushpull", 64, rates="1k", out=None, progress=False)


def test_schedules() -> None:
    uniform = schedule_ns(1000, 1.0, "uniform", 10**9)
    assert len(uniform) == 1000 and uniform[1] == 1_000_000 and uniform[-1] == 999_000_000
    poisson = schedule_ns(1000, 10.0, "poisson", 10**9)
    gaps = np.diff(poisson)
    assert len(poisson) == 10_000 and gaps.min() >= 0
    assert gaps.mean() == pytest.approx(1e6, rel=0.05) and gaps.std() == pytest.approx(1e6, rel=0.1)


def test_sweep_rules_and_headline() -> None:
    rates = ladder(100_000)
    assert rates[:4] == [1000, 2000, 4000, 8000] and 8000 < rates[4] < 16_000  # then sqrt(2) steps
    assert rates[-1] <= 200_000 and rates == sorted(rates) and len(rates) < 15
    assert stop_reason({"status": "ok", "load_status": "ok", "lat_p99_us": 50.0}) is None
    assert stop_reason({"status": "ok", "load_status": "saturated", "lat_p99_us": 50.0}) == "saturated"
    assert "ceiling" in str(stop_reason({"status": "ok", "load_status": "ok", "lat_p99_us": 2e5}, 1e5))
    rows = [
        (rate, status, p99)
        for rate, status, p99 in [
            (1e3, "ok", 80.0),
            (1e4, "ok", 500.0),
            (3e4, "ok", 4000.0),
            (1e5, "saturated", 9e4),
        ]
    ]
    frame = pd.DataFrame(
        [
            dict(mode="load", status="ok", impl="zlab", transport="tcp", pattern="pushpull", msg_size_bytes=64,
                 n_subscribers=1, arrival="uniform", offered_rate_per_s=r, load_status=s, lat_p50_us=p / 2,
                 lat_p99_us=p)
            for r, s, p in rows
        ]
    )  # fmt: skip
    head = max_sustainable_rate(frame, p99_us=1000)
    assert head["max_rate_per_s"].tolist() == [1e4] and head["lat_p99_us"].tolist() == [500.0]
    assert math.isnan(max_sustainable_rate(frame, p99_us=10)["max_rate_per_s"].iloc[0])
