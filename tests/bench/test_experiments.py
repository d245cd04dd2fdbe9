"""Experiment scripts: parameters, quick overrides, output layout; the scripts themselves stay importable."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

import zlab.bench as zb
from zlab.bench.experiments import QUICK_SIZES, Experiment, build_parser, main

pytestmark = pytest.mark.timeout(60)

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
SCRIPTS = ("latency_vs_size", "throughput_vs_size", "patterns", "zlab_vs_libzmq", "latency_under_load")


def test_quick_overrides_shrink_the_sweep() -> None:
    exp = Experiment("x", "q?", patterns=("pubsub",), subscribers=(1, 2, 4), quick={"subscribers": (1,)})
    quick = exp.resolved(quick=True)
    assert quick.repeats == 1 and quick.sizes == QUICK_SIZES and quick.subscribers == (1,)
    assert exp.resolved(quick=False) is exp
    assert exp.n_cells(quick=True) < exp.n_cells()


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_script_defines_one_experiment_named_after_it(name: str) -> None:
    module = runpy.run_path(str(EXPERIMENTS / f"{name}.py"), run_name="not_main")
    exp = module["EXPERIMENT"]
    assert isinstance(exp, Experiment) and exp.name == name
    assert exp.n_cells(quick=True) <= 40  # --quick stays short enough for CI


def test_parser_defaults() -> None:
    args = build_parser("d").parse_args([])
    assert (args.quick, args.out, args.no_plot) == (False, "results", False)


def test_main_writes_the_run_under_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = Experiment(
        "tiny", "q?", impls=("raw",), transports=("inproc",), patterns=("reqrep",), modes=("latency",)
    )
    argv = ["--quick", "--out", str(tmp_path), "--no-plot", "--no-progress", "--duration", "0.01"]
    assert main(exp, argv) == 0
    frame = zb.load(tmp_path / "tiny")
    assert set(frame["experiment"]) == {"tiny"} and frame["quick"].all()
    assert sorted(frame["msg_size_bytes"]) == sorted(QUICK_SIZES)
    assert "tiny: 3 cell runs (3 ok)" in capsys.readouterr().out


def test_standard_runs_the_four_sweeps_and_the_noise_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(sys, "path", [str(EXPERIMENTS), *sys.path])
    import zlab.bench.experiments as experiments

    monkeypatch.setattr(experiments, "main", lambda exps, argv=None: seen.append([e.name for e in exps]) or 0)
    with pytest.raises(SystemExit):
        runpy.run_path(str(EXPERIMENTS / "standard.py"), run_name="__main__")
    assert seen == [
        [
            "latency_vs_size",
            "throughput_vs_size",
            "patterns",
            "latency_under_load",
            "noise_floor_latency",
            "noise_floor_throughput",
        ]
    ]


def test_the_noise_floor_is_an_a_a_run_of_a_few_cells() -> None:
    module = runpy.run_path(str(EXPERIMENTS / "noise_floor.py"), run_name="not_main")
    for exp in module["EXPERIMENTS"]:
        assert exp.variants == 2 and exp.charts == () and set(exp.impls) == {"zlab", "pyzmq"}
        assert exp.n_cells() == 2 * 2 * 3 * 2  # impls x sizes x repeats x variants: ~1 min on 2 cores
        assert exp.n_cells(quick=True) <= 8


def test_an_a_a_run_reports_its_noise_floor(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exp = Experiment(
        "aa",
        "q?",
        impls=("raw",),
        transports=("inproc",),
        patterns=("reqrep",),
        modes=("latency",),
        variants=2,
    )
    argv = [
        "--quick",
        "--out",
        str(tmp_path),
        "--no-plot",
        "--no-progress",
        "--duration",
        "0.01",
        "--repeats",
        "2",
    ]
    assert main(exp, argv) == 0
    frame = zb.load(tmp_path / "aa")
    assert sorted(frame["variant"].unique()) == ["a", "b"] and len(frame) == 2 * 2 * len(QUICK_SIZES)
    assert (frame["reruns"] == 0).all()  # 10 ms cells are never re-run for noise
    floor = zb.noise_floor(frame)
    assert len(floor) == 2 * len(QUICK_SIZES) and set(floor["impl"]) == {"raw"}
    assert "noise floor (A/A" in capsys.readouterr().out
