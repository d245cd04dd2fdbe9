# zlab.bench.fault_plots -- charts of the fault runs and of the soak.
"""Charts for :mod:`zlab.bench.faults` and :mod:`zlab.bench.soak` results (matplotlib, no pyplot state).

Owns: :func:`soak_figure` / :func:`plot_soak` (RSS, open fds, threads and traffic over time, the
warm-up shaded) and :func:`faults_figure` / :func:`plot_faults` (per fault and pattern: messages lost,
duplicated, and the time to the first delivery after the restart, zlab beside libzmq).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from zlab.bench.plots import IMPL_STYLE, save
from zlab.bench.tables import read_table


def soak_figure(frame: pd.DataFrame) -> Figure:
    """RSS (MiB), fds, threads and cumulative messages against time, one panel each."""
    fig = Figure(figsize=(10, 8), layout="constrained")
    axes = fig.subplots(4, 1, sharex=True)
    t = frame["t_s"] / 60
    panels: list[tuple[Any, str]] = [
        (frame["rss_bytes"] / 2**20, "RSS (MiB)"),
        (frame["fds"], "open file descriptors"),
        (frame["threads"], "OS threads"),
        (frame["msgs"], "messages exchanged (cumulative)"),
    ]
    warm = frame[frame["warmup"].astype(bool)]
    for ax, (series, label) in zip(axes, panels, strict=True):
        ax.plot(t, series, marker=".", color=IMPL_STYLE["zlab"]["color"])
        ax.set_ylabel(label)
        if len(warm):
            ax.axvspan(0, warm["t_s"].max() / 60, color="#dddddd", label="warm-up (not judged)")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    axes[-1].set_xlabel("time (minutes)")
    meta = frame.attrs.get("meta", {})
    verdict = "no leak" if meta.get("ok") else f"FAILED: {'; '.join(meta.get('failures', []))[:160]}"
    fig.suptitle(
        f"zlab soak {meta.get('run_id', '')}: {meta.get('actual_duration_s', '?')} s, "
        f"{int(frame['round'].max())} rounds, {int(frame['router_peers_total'].max())} ROUTER peers — {verdict}",
        fontsize=10,
    )
    return fig


def plot_soak(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Draw the soak chart of the table at ``path`` into ``out``; returns the PNG path."""
    frame = read_table(path)
    fig = soak_figure(frame)
    name = f"soak-{frame.attrs.get('meta', {}).get('run_id', 'run')}"
    return save(fig, Path(out) / name, formats=("png",))[0]


def faults_figure(frame: pd.DataFrame) -> Figure:
    """Per (pattern, fault): lost, duplicated and time to first delivery, zlab beside libzmq (medians)."""
    ok = frame[frame["status"] == "ok"].copy()
    ok["case"] = ok["pattern"] + "\n" + ok["fault"] + " " + ok["transport"]
    cases = list(dict.fromkeys(ok["case"]))
    fig = Figure(figsize=(max(8, 1.3 * len(cases) + 3), 9), layout="constrained")
    axes = fig.subplots(3, 1, sharex=True)
    metrics = [
        ("lost", "messages lost (median)"),
        ("duplicated", "messages delivered twice"),
        ("recovery_first_ms", "restart → first delivery (ms)"),
    ]
    impls = [i for i in ("zlab", "pyzmq") if i in set(ok["impl"])]
    width = 0.8 / max(1, len(impls))
    for ax, (col, label) in zip(axes, metrics, strict=True):
        for k, impl in enumerate(impls):
            med = ok[ok["impl"] == impl].groupby("case", sort=False)[col].median()
            xs = [cases.index(c) + (k - (len(impls) - 1) / 2) * width for c in med.index]
            style = IMPL_STYLE[impl]
            ax.bar(xs, med.to_numpy(dtype=float), width, label=style["label"], color=style["color"])
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend()
    axes[-1].set_xticks(range(len(cases)), cases, fontsize=8)
    hung = int(frame["hung"].fillna(False).astype(bool).sum())
    failed = int((frame["status"] != "ok").sum())
    fig.suptitle(
        f"What a crash costs: zlab vs libzmq ({len(frame)} fault runs, {hung} hung, {failed} not ok)",
        fontsize=11,
    )
    return fig


def plot_faults(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Draw the fault chart of the table(s) at ``path`` into ``out``; returns the PNG path."""
    frame = read_table(path)
    return save(faults_figure(frame), Path(out) / "faults", formats=("png",))[0]
