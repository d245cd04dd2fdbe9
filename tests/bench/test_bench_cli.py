"""The zlab command: one-line argument errors, a tiny bench run end to end, the demo."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from zlab.bench import load, load_meta
from zlab.cli import main

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bench", "--impl", "zmq"], "unknown impl 'zmq' (valid: zlab, pyzmq, raw)"),
        (["bench", "--transport", "udp"], "unknown transport 'udp' (valid: inproc, ipc, tcp)"),
        (["bench", "--pattern", "fanout"], "(valid: reqrep, pair, dealer-router, pushpull, pubsub)"),
        (["bench", "--size", "big"], "size 'big' is not a number of bytes (examples: 64, 64K, 1M, standard)"),
        (["bench", "--pin", "all"], "invalid choice: 'all' (choose from"),
        (["bench", "--mode", "speed"], "unknown mode 'speed' (valid: latency, throughput, load)"),
        (["bench", "--repeats", "0"], "'0' is not a positive integer"),
        (["bench", "--api", "trio"], "unknown api 'trio' (valid: sync, asyncio)"),
        (["bench", "--mechanism", "gssapi"], "unknown mechanism 'gssapi' (valid: null, plain, curve)"),
        (["bench", "--duration", "x"], "'x' is not a number of seconds"),
        (["frobnicate"], "invalid choice: 'frobnicate' (choose from"),
    ],
)
def test_bad_arguments_get_one_line_naming_the_valid_choices(
    args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and expected in err, err


def test_no_pattern_for_the_modes_is_an_error(capsys: pytest.CaptureFixture[str]):
    assert main(["bench", "--pattern", "reqrep", "--mode", "throughput", "--no-save"]) == 2
    assert "no pattern supports the modes throughput (reqrep: latency)" in capsys.readouterr().err


def test_bench_prints_a_summary_and_where_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    argv = [
        "bench",
        "--impl",
        "raw,pyzmq",
        "--transport",
        "inproc",
        "--pattern",
        "reqrep,pubsub",
        "--size",
        "8",
    ]
    argv += ["--repeats", "1", "--quick", "--max-msgs", "30", "--out", str(tmp_path), "--no-progress"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "p50 us" in out and "msg/s" in out
    assert "skipped: 1 of 4 cell runs" in out and "raw has no pubsub" in out
    written = list(tmp_path.glob("*.parquet"))
    assert len(written) == 1 and f"results: {written[0]}" in out


def test_plot_without_the_plotting_module_says_so(capsys: pytest.CaptureFixture[str]):
    if importlib.util.find_spec("zlab.bench.plots") is not None:
        pytest.skip("zlab.bench.plots exists: `zlab plot` is covered with it")
    assert main(["plot"]) == 2
    assert "charts are not available yet" in capsys.readouterr().err


def test_demo_talks_to_libzmq(capsys: pytest.CaptureFixture[str]):
    zlab = pytest.importorskip("zlab")
    if not hasattr(zlab, "Context"):
        pytest.skip("zlab not importable")
    assert main(["demo", "--count", "3"]) == 0
    out = capsys.readouterr().out
    assert "bound at tcp://127.0.0.1:" in out
    assert "3: sent b'hello 3' -> got b'hello 3'" in out


def test_sigterm_stops_a_run_like_ctrl_c_and_keeps_what_was_measured(tmp_path: Path):
    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "-m", "zlab.cli", "bench", "--impl", "raw", "--transport", "inproc", "--pattern"]
    argv += ["reqrep", "--size", "8", "--repeats", "50", "--quick", "--out", str(tmp_path), "--no-progress"]
    proc = subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while not list(tmp_path.glob("*.parquet")) and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "interrupted: kept" in out
    frame = load(tmp_path)
    assert 1 <= len(frame) < 50 and (frame["status"] == "ok").all()
    meta = next(iter(load_meta(tmp_path).values()))
    assert meta["complete"] is False and meta["interrupted"] is True
