# zlab.bench.experiments -- what an experiment script is: parameters, a run, its charts.
"""Shared machinery of the scripts in ``experiments/``: one :class:`Experiment` per question.

A script holds only parameters (an :class:`Experiment`) and calls :func:`main`; this module owns the
command line every script shares (``--quick``, ``--out``, ``--repeats``, ``--duration``,
``--no-plot``, ``--no-progress``), the layout of what it writes (``OUT/<name>/<run_id>.parquet`` + ``.json``,
charts in ``OUT/<name>/charts/``) and the run itself through :func:`zlab.bench.run`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from zlab.bench.matrix import STANDARD_SIZES

#: Sizes of ``--quick`` runs: small, medium, large, so every chart still has a shape.
QUICK_SIZES: tuple[int, ...] = (64, 65536, 1048576)


@dataclass(frozen=True)
class Experiment:
    """One question as a sweep: the matrix of a full run, and the overrides of a ``--quick`` one."""

    name: str
    question: str
    impls: tuple[str, ...] = ("zlab", "pyzmq", "raw")
    transports: tuple[str, ...] = ("inproc", "ipc", "tcp")
    patterns: tuple[str, ...] = ("reqrep",)
    modes: tuple[str, ...] = ("latency", "throughput")
    sizes: tuple[int, ...] = STANDARD_SIZES
    subscribers: tuple[int, ...] = (1,)
    placement: str = "none"
    repeats: int = 3
    duration_s: float | None = None
    #: Mode ``load``: offered rates (msg/s, or ``"sweep"``), arrival process, p99 ceiling of a sweep (µs).
    rates: tuple[float, ...] | str = ()
    arrival: str = "uniform"
    p99_ceiling_us: float | None = None
    #: The charts (``zlab.bench.charts.CHARTS``) drawn beside this experiment's results; None = all it allows.
    charts: tuple[str, ...] | None = None
    #: Overrides applied with ``--quick`` (field name -> value); repeats 1 and QUICK_SIZES by default.
    quick: dict[str, Any] = field(default_factory=dict)
    #: 2: every cell measured twice per repeat (variants a, b): an A/A run, the noise floor.
    variants: int = 1

    def resolved(self, quick: bool) -> Experiment:
        """The experiment as it will run: with the quick overrides applied when ``quick``."""
        if not quick:
            return self
        overrides = {"repeats": 1, "sizes": QUICK_SIZES, **self.quick}
        return replace(self, **overrides)

    def n_cells(self, quick: bool = False) -> int:
        """How many cell runs (cells x repeats) the sweep makes."""
        from zlab.bench.matrix import build_cells

        exp = self.resolved(quick)
        from zlab.bench.sweep import ladder

        # a sweep: one flood probe and about the length of the ladder per load cell (it may stop early)
        rates: list[float] = [0.0] * (len(ladder(1e5)) + 1) if isinstance(exp.rates, str) else list(exp.rates)
        cells = build_cells(
            exp.impls, exp.transports, exp.patterns, exp.sizes, exp.modes, exp.subscribers, rates=rates
        )
        return len(cells) * exp.repeats * exp.variants


def run_experiment(
    exp: Experiment,
    out: str | Path = "results",
    *,
    quick: bool = False,
    repeats: int | None = None,
    duration_s: float | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run ``exp`` into ``out/<name>/`` and return its frame (``attrs`` as :func:`zlab.bench.run` sets)."""
    from zlab.bench.runner import run

    e = exp.resolved(quick)
    return run(
        e.impls,
        e.transports,
        e.patterns,
        list(e.sizes),
        modes=e.modes,
        repeats=repeats or e.repeats,
        subscribers=list(e.subscribers),
        placement=e.placement,
        quick=quick,
        duration_s=duration_s if duration_s is not None else e.duration_s,
        out=Path(out) / e.name,
        experiment=e.name,
        progress=progress,
        rates=(e.rates or None) if isinstance(e.rates, str) else list(e.rates) or None,
        arrival=e.arrival,
        p99_ceiling_us=e.p99_ceiling_us,
        variants=e.variants,
    )


def build_parser(description: str) -> argparse.ArgumentParser:
    """The command line every experiment script shares."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short run for CI and smoke tests (marked)")
    parser.add_argument("--out", default="results", help="results folder (default results/)")
    parser.add_argument("--repeats", type=int, help="repeats of every cell (default: the experiment's)")
    parser.add_argument("--duration", type=float, help="seconds per cell (default 1, --quick 0.05)")
    parser.add_argument("--no-plot", action="store_true", help="measure only, draw no charts")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def _report(frame: pd.DataFrame, exp: Experiment, seconds: float) -> None:
    """One paragraph per run: counts by status, noise, where the files are."""
    counts = frame["status"].value_counts().to_dict() if len(frame) else {}
    status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no cells"
    busy = frame["foreign_cpu_pct"].dropna()
    noise = f"; foreign CPU median {busy.median():.0f}%" if len(busy) else ""
    print(f"{exp.name}: {len(frame)} cell runs ({status}) in {seconds:.0f} s{noise}")
    failed = frame[frame["status"] == "failed"]
    for (impl, transport, pattern, reason), group in failed.groupby(
        ["impl", "transport", "pattern", "failure_reason"], sort=False
    ):
        print(f"  failed: {impl} {transport} {pattern} (x{len(group)}): {reason}")
    reruns = frame["reruns"].fillna(0)
    if (reruns > 0).any():
        print(f"  re-measured {int((reruns > 0).sum())} noisy cell runs ({int(reruns.sum())} re-runs in all)")
    if frame["variant"].notna().any():
        from zlab.bench.summary import format_noise_floor

        print("  " + format_noise_floor(frame).replace("\n", "\n  "))
    print(f"  results: {frame.attrs.get('path') or 'not written'}")


DIRTY_BANNER = "UNCOMMITTED CODE"


def _warn_if_dirty() -> None:
    """Say loudly, before measuring, that the figures will belong to no commit."""
    from zlab.bench.metadata import git_info

    info = git_info()
    if info.get("git_dirty"):
        files = ", ".join(info.get("git_dirty_files") or [])
        print(
            f"!!! {DIRTY_BANNER}: this checkout differs from commit {str(info['git_commit'])[:8]} ({files}).\n"
            "!!! The run is stamped +dirty and its charts say so; commit first for figures anyone can reproduce."
        )


def _headline(frame: pd.DataFrame) -> None:
    """The zlab/libzmq ratios with intervals, then the noise floor beside them."""
    from zlab.bench.summary import format_noise_floor, ratios

    r = ratios(frame)
    if len(r):
        counts = r["verdict"].value_counts()
        print(
            f"zlab/libzmq over {len(r)} cell metrics (95% intervals): {int(counts.get('faster', 0))} zlab faster, "
            f"{int(counts.get('slower', 0))} zlab slower, {int(counts.get('same', 0))} within the noise"
        )
    print(format_noise_floor(frame))


def main(experiments: Experiment | Sequence[Experiment], argv: Sequence[str] | None = None) -> int:
    """Run one experiment (or several in a row), then chart each one and, for several, all together.

    Charts go to ``OUT/<name>/charts/`` per experiment and ``OUT/charts/`` for the combined set.
    Exit status: 0, 130 when interrupted (the cells measured so far are kept).
    """
    exps = [experiments] if isinstance(experiments, Experiment) else list(experiments)
    description = " / ".join(e.question for e in exps)
    args = build_parser(description).parse_args(argv)
    plots: ModuleType | None = None  # zlab.bench.charts, imported only when drawing
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")  # scripts draw to files only, on machines with no display
        from zlab.bench import charts as _charts

        plots = _charts

    out = Path(args.out)
    _warn_if_dirty()
    total = sum(e.n_cells(args.quick) for e in exps)
    print(
        f"{' + '.join(e.name for e in exps)}: {total} cell runs{' (quick)' if args.quick else ''} -> {out}/"
    )
    start = time.monotonic()
    for exp in exps:
        t0 = time.monotonic()
        frame = run_experiment(
            exp,
            out,
            quick=args.quick,
            repeats=args.repeats,
            duration_s=args.duration,
            progress=not args.no_progress,
        )
        _report(frame, exp, time.monotonic() - t0)
        if frame.attrs.get("interrupted"):
            print("interrupted: kept the cells measured so far")
            return 130
        if plots is not None and frame.attrs.get("path"):
            for path in plots.plot_all(frame.attrs["path"], out / exp.name / "charts", charts=exp.charts):
                print(f"  chart: {path}")
    if len(exps) > 1:
        from zlab.bench.plots import select_runs
        from zlab.bench.results import load

        _headline(select_runs(load(out)))
    if len(exps) > 1 and plots is not None:
        for path in plots.plot_all(out, out / "charts"):
            print(f"chart: {path}")
    print(f"done in {time.monotonic() - start:.0f} s")
    return 0
