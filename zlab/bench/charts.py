# zlab.bench.charts -- every chart of a results folder: the classic set and the load charts.
"""One entry point for all charts (``zlab plot``, experiment scripts, ``zb.plot_all``).

Owns: :func:`plot_all`, which draws :mod:`zlab.bench.plots`' charts (latency and throughput vs size,
patterns, zlab/libzmq heat maps) and, where the results hold open-loop rows, :mod:`zlab.bench.load_plots`'
(latency vs offered rate, percentile spectrum from the stored histograms). Both chart modules stay
independent of each other; this one composes them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from zlab.bench import load_plots, plots

#: Every chart, by file stem.
CHARTS: tuple[str, ...] = (*plots.CHARTS, *load_plots.LOAD_CHARTS)


def plot_all(
    results: str | os.PathLike[str] | pd.DataFrame,
    out: str | os.PathLike[str] | None = None,
    *,
    meta: dict[str, dict[str, Any]] | None = None,
    all_runs: bool = False,
    formats: Sequence[str] = ("png", "svg"),
    charts: Sequence[str] | None = None,
    mechanism: str = "null",
) -> list[Path]:
    """Write every chart the results allow (or those of ``charts``, names from :data:`CHARTS`) to ``out``
    and return the paths: :func:`zlab.bench.plots.plot_all` (same arguments), plus the load charts when
    ``results`` is a path whose runs hold mode ``load`` rows (the spectrum needs their histograms)."""
    unknown = set(charts or ()) - set(CHARTS)
    if unknown:
        raise ValueError(f"unknown charts {sorted(unknown)} (valid: {', '.join(CHARTS)})")
    classic = None if charts is None else [c for c in charts if c in plots.CHARTS]
    written: list[Path] = []
    if classic is None or classic:
        written += plots.plot_all(
            results, out, meta=meta, all_runs=all_runs, formats=formats, charts=classic, mechanism=mechanism
        )
    if isinstance(results, pd.DataFrame) or (
        charts is not None and not set(charts) & set(load_plots.LOAD_CHARTS)
    ):
        return written
    path = Path(results)
    if not path.exists():
        raise FileNotFoundError(f"no results at {path}")
    frame, run_meta = plots.load_results(path, all_runs, mechanism)
    if frame.empty:
        return written
    target = Path(out) if out is not None else (path if path.is_dir() else path.parent) / "charts"
    for name, fig in load_plots.load_charts(path, frame, run_meta).items():
        if charts is None or name in charts:
            stem = name if mechanism == "null" else f"{name}-{mechanism}"
            written += plots.save(fig, target / stem, formats)
    return written
