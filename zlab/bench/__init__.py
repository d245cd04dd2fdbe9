# zlab.bench -- the benchmark harness (layer L4): measures zlab, pyzmq and plain Python alike.
"""Benchmark harness: latency and throughput across implementations, transports, patterns and sizes.

From a notebook or an experiment script::

    import zlab.bench as zb

    df = zb.run(
        impls="zlab,pyzmq,raw",
        transports="inproc,ipc,tcp",
        patterns="reqrep,pushpull",
        sizes=[64, 65536],
        repeats=3,
        placement="one",
    )
    zb.load("results")  # every run under a folder (or one file), one tidy frame
    zb.headline(df), zb.ratios(df)  # medians per implementation; zlab/pyzmq per cell
    zb.run("zlab,pyzmq", "tcp", "pushpull", 64, modes="load", rates="1k,10k,100k")  # open loop
    zb.merge_histograms(zb.load_histograms("results")).percentile(99)  # any merge, any percentile
    zb.noise_floor(df)  # A/A ratios of a run made with variants=2 (experiments/noise_floor.py)
    from zlab.bench.compare import compare  # run against run (zlab compare)

    compare(zb.load_side("HEAD~1"), zb.load_side("results"))
    zb.plot_all("results")  # every chart the results allow, to results/charts/

Modules: matrix (choices, cells, budgets), adapters (peer interface, pyzmq-shaped backends),
raw (plain-Python floor), scenarios (what each peer does, what it means), control and worker
(peer processes), runner (coordination, sweeps), results (schema, files), metadata, summary,
plots (charts for scripts, notebooks and ``zlab plot``), experiments (what an experiment script is),
stats (bootstrap intervals, verdicts), compare (run against run), history (across commits), prose
(notebook sentences computed from the data).

Heavy modules (pandas) load on first use of the names below, so peer processes stay light.
"""

from __future__ import annotations

from typing import Any

from zlab.bench.matrix import (
    APIS,
    IMPLS,
    MECHANISMS,
    MODES,
    PATTERN_MODES,
    PATTERNS,
    PLACEMENTS,
    STANDARD_SIZES,
    TRANSPORTS,
    Budget,
    Cell,
)

_LAZY = {
    "run": "zlab.bench.runner",
    "run_cell": "zlab.bench.runner",
    "load": "zlab.bench.results",
    "load_meta": "zlab.bench.results",
    "load_histograms": "zlab.bench.results",
    "Histogram": "zlab.bench.histogram",
    "merge_histograms": "zlab.bench.histogram",
    "max_sustainable_rate": "zlab.bench.sweep",
    "COLUMNS": "zlab.bench.results",
    "SCHEMA_VERSION": "zlab.bench.results",
    "headline": "zlab.bench.summary",
    "ratios": "zlab.bench.summary",
    "format_summary": "zlab.bench.summary",
    "noise_floor": "zlab.bench.summary",
    "format_noise_floor": "zlab.bench.summary",
    "load_side": "zlab.bench.compare",
    "ratio_ci": "zlab.bench.stats",
    "plot_all": "zlab.bench.charts",
    "Selection": "zlab.bench.selection",
    "select": "zlab.bench.selection",
    "choices": "zlab.bench.selection",
    "run_index": "zlab.bench.selection",
    "median_table": "zlab.bench.selection",
    "ratio_table": "zlab.bench.selection",
    "plot_selection": "zlab.bench.selection",
    "Explorer": "zlab.bench.explore",
}

__all__ = [
    "APIS",
    "IMPLS",
    "MECHANISMS",
    "MODES",
    "PATTERNS",
    "PATTERN_MODES",
    "PLACEMENTS",
    "STANDARD_SIZES",
    "TRANSPORTS",
    "Budget",
    "Cell",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'zlab.bench' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
