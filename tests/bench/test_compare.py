"""`zlab compare`: A/A is "same", one doubled cell is exactly the one "slower", commits read from git.

The runs are fixtures made from a seeded generator (no timing): five repeats per cell with a
lognormal spread like the lab's (about 10 % between repeats).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zlab.bench import compare, results
from zlab.cli import main as cli_main

pytestmark = pytest.mark.timeout(60)

STARTED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CELLS = [
    (impl, transport, size)
    for impl in ("zlab", "pyzmq")
    for transport in ("ipc", "tcp")
    for size in (64, 65536)
]


def _run(run_id: str, seed: int, repeats: int = 5) -> list[dict]:
    """Latency (p50, p99) and throughput rows of CELLS, drawn around fixed true values."""
    rng = np.random.default_rng(seed)
    rows = []
    for repeat in range(repeats):
        for k, (impl, transport, size) in enumerate(CELLS):
            common = dict(
                run_id=run_id,
                started_at=STARTED,
                cell_started_at=STARTED,
                experiment="fixture",
                host="testhost",
                impl=impl,
                transport=transport,
                msg_size_bytes=size,
                n_subscribers=1,
                repeat=repeat,
                placement="one",
                quick=False,
                status="ok",
                api="sync",
                mechanism="null",
            )
            p50 = (20.0 + 5 * k) * rng.lognormal(0, 0.1)
            rows.append(
                results.make_row(
                    **common,
                    pattern="reqrep",
                    mode="latency",
                    lat_p50_us=p50,
                    lat_p99_us=p50 * 3 * rng.lognormal(0, 0.1),
                )
            )
            rate = 1e5 * (1 + k) * rng.lognormal(0, 0.1)
            rows.append(results.make_row(**common, pattern="pushpull", mode="throughput", msgs_per_s=rate))
    return rows


def _write(folder: Path, run_id: str, rows: list[dict]) -> Path:
    writer = results.RunWriter(folder, run_id, {"run_id": run_id, "git_commit": "f" * 40, "git_dirty": False})
    for row in rows:
        writer.append(row)
    writer.close(complete=True)
    return writer.parquet


def test_a_against_a_is_the_same_everywhere(tmp_path: Path):
    # A stored A/A pair: same cells, same truth, other noise. At 99 % about one unchanged cell metric in
    # a hundred is called different by chance; the next test checks that rate over many pairs.
    a = _write(tmp_path / "a", "run-a", _run("run-a", seed=1))
    b = _write(tmp_path / "b", "run-b", _run("run-b", seed=3))
    result = compare.compare(compare.load_side(a), compare.load_side(b))
    assert len(result.table) == len(CELLS) * 3  # p50 and p99 per latency cell, msg/s per throughput cell
    assert set(result.table["verdict"]) == {"same"}
    assert result.only_a.empty and result.only_b.empty
    assert compare.regressions(result, 0.10).empty


def test_a_against_a_calls_about_one_in_a_hundred_different():
    pairs = [
        compare.compare(results.to_frame(_run("a", seed=100 + i)), results.to_frame(_run("b", seed=200 + i)))
        for i in range(20)
    ]
    different = sum(int((p.table["verdict"] != "same").sum()) for p in pairs)
    total = sum(len(p.table) for p in pairs)
    assert total == 20 * len(CELLS) * 3
    assert different / total <= 0.025  # 99 % intervals: ~1 %; the plain percentile bootstrap gave ~2.5 %


def test_one_cell_doubled_is_exactly_that_cell_slower_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    rows_a = _run("run-a", seed=1)
    rows_b = _run("run-b", seed=1)  # B = A's rows ...
    for row in rows_b:  # ... with one cell's latency doubled
        if (row["impl"], row["transport"], row["msg_size_bytes"], row["mode"]) == (
            "zlab",
            "tcp",
            64,
            "latency",
        ):
            row["lat_p50_us"] *= 2
            row["lat_p99_us"] *= 2
    a = _write(tmp_path / "a", "run-a", rows_a)
    b = _write(tmp_path / "b", "run-b", rows_b)
    result = compare.compare(compare.load_side(a), compare.load_side(b))
    slower = result.table[result.table["verdict"] != "same"]
    assert set(slower["verdict"]) == {"slower"}
    assert set(
        zip(slower["impl"], slower["transport"], slower["msg_size_bytes"], slower["metric"], strict=True)
    ) == {
        ("zlab", "tcp", 64, "lat_p50_us"),
        ("zlab", "tcp", 64, "lat_p99_us"),
    }
    assert result.table.iloc[0]["ratio"] == pytest.approx(2.0)  # sorted by effect: the doubled cell first
    assert cli_main(["compare", str(a), str(b), "--threshold", "10%"]) == 1
    out = capsys.readouterr().out
    assert "2 slower, 0 faster" in out and "2 worse by more than 10%" in out
    assert cli_main(["compare", str(a), str(b), "--threshold", "150%"]) == 0  # doubled is +100%: under 150%
    assert cli_main(["compare", str(a), str(b)]) == 0  # no threshold, no gate
    assert cli_main(["compare", str(a), str(a), "--threshold", "10%"]) == 0


def test_cells_on_one_side_only_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rows_a = _run("run-a", seed=1)
    rows_b = [r for r in _run("run-b", seed=2) if r["msg_size_bytes"] != 65536 or r["impl"] != "pyzmq"]
    a = _write(tmp_path / "a", "run-a", rows_a)
    b = _write(tmp_path / "b", "run-b", rows_b)
    result = compare.compare(compare.load_side(a), compare.load_side(b))
    assert len(result.only_a) == 4 and result.only_b.empty  # 2 transports x 2 modes
    assert cli_main(["compare", str(a), str(b)]) == 0
    out = capsys.readouterr().out
    assert "only in A (4 cells):" in out and "fixture: pyzmq ipc reqrep latency: 64KiB" in out


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_commits_are_read_from_their_committed_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    _write(repo / "results" / "fixture", "20260101T000000Z-aaaaaa", _run("20260101T000000Z-aaaaaa", seed=1))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "first run")
    first = _git(repo, "rev-parse", "HEAD").strip()
    rows = _run("20260102T000000Z-bbbbbb", seed=1)
    for row in rows:
        if row["mode"] == "throughput" and row["impl"] == "pyzmq":
            row["msgs_per_s"] /= 2  # pyzmq's floods halved: slower on throughput
    _write(repo / "results" / "fixture", "20260102T000000Z-bbbbbb", rows)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "second run")
    monkeypatch.chdir(repo)
    side = compare.load_side("HEAD~1")
    assert side.label.endswith(f"({first[:8]})") and set(side.frame["run_id"]) == {"20260101T000000Z-aaaaaa"}
    assert cli_main(["compare", "HEAD~1", "HEAD", "--threshold", "10%", "--changed"]) == 1
    out = capsys.readouterr().out
    assert "4 slower, 0 faster" in out and "pyzmq tcp pushpull 64B" in out
    assert cli_main(["compare", "no-such-commit", "HEAD"]) == 2
    assert "not a result file, a folder, or a git commit" in capsys.readouterr().err


def test_threshold_parsing():
    assert compare.parse_threshold("10%") == pytest.approx(0.10)
    assert compare.parse_threshold("0.05") == pytest.approx(0.05)
    for bad in ("ten", "-5%"):
        with pytest.raises(ValueError):
            compare.parse_threshold(bad)
    with pytest.raises(SystemExit):
        cli_main(["compare", "a", "b", "--threshold", "lots"])


def test_summary_ratios_carry_intervals_and_verdicts(tmp_path: Path):
    from zlab.bench.summary import format_summary, ratios

    frame = results.to_frame(_run("run-a", seed=1))
    r = ratios(frame)
    assert {"ratio", "ratio_lo", "ratio_hi", "verdict"} <= set(r.columns)
    assert (r["ratio_lo"] <= r["ratio"]).all() and (r["ratio"] <= r["ratio_hi"]).all()
    # zlab's true p50 is below pyzmq's in CELLS' order (k smaller): faster on latency, slower on msg/s
    assert set(r.loc[r["metric"] == "msgs_per_s", "verdict"]) <= {"slower", "same"}
    assert "[95% interval] verdict" in format_summary(frame)
    assert isinstance(r, pd.DataFrame)
