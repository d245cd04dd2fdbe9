# zlab.bench.load_plots -- the charts of latency under load: the hockey stick and the percentile spectrum.
"""Charts of mode ``load`` (matplotlib figures, no pyplot state), drawn by :func:`zlab.bench.plots.plot_all`.

Owns: :func:`plot_latency_vs_rate` (corrected p50 / p99 / p99.9 against the offered rate, per transport and
pattern, zlab and libzmq together; points where the offered rate did not hold are hollow and the first
such rate of each implementation is marked as its saturation), :func:`plot_percentile_spectrum` (latency
against percentile on HdrHistogram's "nines" axis, ``1 / (1 - p)`` log-scaled, for any histograms) and
:func:`plot_spectrum_of_cell` (the same cell closed loop and open loop on one plot, from the histograms
stored beside the rows), and :func:`load_charts` for ``plot_all``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

from zlab.bench.histogram import Histogram, merge_histograms
from zlab.bench.matrix import format_rate, format_size
from zlab.bench.plots import IMPL_STYLE, _figure, _finish, _impls, _log_y, _style, _transports

LOAD_CHARTS = ("latency_vs_rate", "percentile_spectrum")
_PCTS = (
    ("lat_p50_us", "p50", "-", 1.0),
    ("lat_p99_us", "p99", "--", 0.8),
    ("lat_p999_us", "p99.9", ":", 0.6),
)
_HELD = ("ok",)


def load_medians(frame: pd.DataFrame) -> pd.DataFrame:
    """Median over repeats of the ok load rows, per cell and offered rate, with ``held`` (every repeat's
    offered rate held: load_status ok) and the achieved rate."""
    rows = frame[(frame["mode"] == "load") & (frame["status"] == "ok")]
    if rows.empty:
        return pd.DataFrame()
    keys = ["impl", "transport", "pattern", "msg_size_bytes", "n_subscribers", "offered_rate_per_s"]
    metrics = ["lat_p50_us", "lat_p99_us", "lat_p999_us", "uncorrected_p99_us", "msgs_per_s"]
    values = rows[[*keys, *metrics, "load_status"]].copy()
    values[metrics] = values[metrics].astype(float)
    grouped = values.groupby(keys, dropna=False)
    med = grouped[metrics].median()
    med["held"] = grouped["load_status"].agg(lambda s: bool(s.isin(_HELD).all()))
    return med.reset_index()


def common_held_rate(load_rows: pd.DataFrame) -> float:
    """The highest offered rate that every implementation of ``load_rows`` was offered and held (medians
    over repeats); the lowest common rate if none held; NaN without a common rate. Sweep ladders lie on
    one grid (1000 x 2^(k/2) msg/s), so implementations share their lower rates."""
    med = load_medians(load_rows)
    if med.empty:
        return float("nan")
    impls = med["impl"].nunique()
    by_rate = med.groupby("offered_rate_per_s").agg(n=("impl", "nunique"), held=("held", "all"))
    common = by_rate[by_rate["n"] == impls]
    if common.empty:
        return float("nan")
    held = common[common["held"]]
    return float(held.index.max() if len(held) else common.index.min())


def _rate_axis(ax: Any) -> None:
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_rate(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("offered rate (messages/s, log scale)", fontsize=9)


def plot_latency_vs_rate(frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None) -> Figure | None:
    """The hockey stick: corrected latency percentiles against the offered rate, one panel per (pattern,
    transport), every implementation together; hollow points did not hold the rate, the vertical line is
    each implementation's first such rate (its saturation)."""
    med = load_medians(frame)
    if med.empty:
        return None
    panels = [
        (pattern, transport)
        for pattern in pd.unique(med["pattern"])
        for transport in _transports(med)
        if ((med["pattern"] == pattern) & (med["transport"] == transport)).any()
    ]
    ncols = min(3, len(panels))
    nrows = -(-len(panels) // ncols)
    fig, axes = _figure(nrows, ncols, 4.6 * ncols, 3.6 * nrows + 0.9, sharey=True)
    for ax, (pattern, transport) in zip(axes.flat, panels, strict=False):
        sub = med[(med["pattern"] == pattern) & (med["transport"] == transport)]
        for impl in _impls(sub):
            d = sub[sub["impl"] == impl].sort_values("offered_rate_per_s")
            st = _style(impl)
            x = d["offered_rate_per_s"].to_numpy(float)
            held = d["held"].to_numpy(bool)
            for col, name, ls, alpha in _PCTS:
                y = d[col].to_numpy(float)
                ax.plot(x, y, color=st["color"], linestyle=ls, alpha=alpha, linewidth=1.3,
                        label=f"{st['label']} {name}")  # fmt: skip
                ax.plot(x[held], y[held], linestyle="none", marker=st["marker"], color=st["color"],
                        markersize=4, alpha=alpha)  # fmt: skip
                ax.plot(x[~held], y[~held], linestyle="none", marker=st["marker"], markerfacecolor="none",
                        color=st["color"], markersize=6, alpha=alpha)  # fmt: skip
            if (~held).any():
                sat = float(x[~held][0])
                ax.axvline(sat, color=st["color"], linestyle=(0, (2, 3)), linewidth=1)
                ax.annotate(f"{st['label'].split()[0]} saturates\nat {format_rate(sat)}/s",
                            (sat, 0.97), xycoords=("data", "axes fraction"), fontsize=7, color=st["color"],
                            ha="right", va="top", rotation=90)  # fmt: skip
        _rate_axis(ax)
        _log_y(ax)
        sizes = ", ".join(format_size(int(s)) for s in pd.unique(sub["msg_size_bytes"]))
        kind = "request latency (round trip)" if pattern == "dealer-router" else "one-way latency"
        ax.set_title(f"{pattern} over {transport}, {sizes}: {kind}", fontsize=9)
    for ax in axes[:, 0]:
        ax.set_ylabel("latency from the intended send time (µs, log)", fontsize=9)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7, ncols=2, loc="upper left", framealpha=0.85)
    rows = frame[frame["mode"] == "load"]
    return _finish(
        fig, "Latency under load: corrected percentiles against the offered rate (medians)", rows, meta
    )


def _nines(p: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 - p / 100.0)


def spectrum(h: Histogram, max_nines: float = 1e6) -> tuple[np.ndarray, np.ndarray]:
    """(1 / (1 - p), latency µs) along HdrHistogram's reporting percentiles (up to the data's own depth)."""
    levels = np.array([p for p in h.percentile_levels() if p < 100.0])
    levels = levels[_nines(levels) <= min(max_nines, max(10.0, h.count))]
    return _nines(levels), np.array([h.percentile(float(p)) for p in levels])


def plot_percentile_spectrum(
    histograms: Mapping[str, Histogram],
    title: str = "Percentile spectrum",
    frame: pd.DataFrame | None = None,
    meta: dict[str, dict[str, Any]] | None = None,
    styles: Mapping[str, dict[str, Any]] | None = None,
) -> Figure:
    """Latency against percentile on the nines axis (50 %, 90 %, 99 %, 99.9 % ...) for labelled histograms."""
    fig, axes = _figure(1, 1, 9.0, 5.0)
    ax = axes[0, 0]
    for label, h in histograms.items():
        if h.count == 0:
            continue
        x, y = spectrum(h)
        ax.plot(x, y, label=f"{label} (n={h.count:,})", linewidth=1.5, **(styles or {}).get(label, {}))
    ax.set_xscale("log")
    ticks = [t for t in (2, 10, 100, 1000, 1e4, 1e5, 1e6) if t <= ax.get_xlim()[1] * 1.01]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    names = {2: "50%", 10: "90%", 100: "99%", 1000: "99.9%", 1e4: "99.99%", 1e5: "99.999%", 1e6: "99.9999%"}
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: names.get(round(v), "")))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("percentile (log scale of 1 / (1 - p): the nines)", fontsize=9)
    ax.set_ylabel("latency (µs, log)", fontsize=9)
    _log_y(ax)
    ax.legend(fontsize=8, loc="upper left")
    if frame is None:
        ax.set_title(title, fontsize=11)
        return fig
    return _finish(fig, title, frame, meta)


def plot_spectrum_of_cell(
    frame: pd.DataFrame,
    histograms: pd.DataFrame,
    meta: dict[str, dict[str, Any]] | None = None,
    *,
    transport: str | None = None,
    pattern: str = "dealer-router",
    rate: float | None = None,
    size: int | None = None,
) -> Figure | None:
    """One cell closed loop (ping-pong round trips) and open loop at one offered rate (corrected and
    uncorrected request latency), per implementation, histograms merged over repeats, from the runs that
    hold the open-loop rows. Defaults: the first transport present, the smallest size and the highest
    offered rate every implementation held (each implementation's lowest rate if they share none)."""
    rows = frame[(frame["pattern"] == pattern) & (frame["status"] == "ok")]
    load = rows[rows["mode"] == "load"]
    if load.empty:
        return None
    transport = transport or _transports(load)[0]
    size = size or int(load["msg_size_bytes"].min())
    rows = rows[
        rows["run_id"].isin(load["run_id"])
        & (rows["transport"] == transport)
        & (rows["msg_size_bytes"] == size)
    ]
    load = rows[rows["mode"] == "load"]
    hist = histograms[
        histograms["run_id"].isin(rows["run_id"])
        & (histograms["pattern"] == pattern)
        & (histograms["transport"] == transport)
        & (histograms["msg_size_bytes"] == size)
    ]
    if hist.empty or load.empty or not (rows["mode"] == "latency").any():
        return None
    rate = rate if rate is not None else common_held_rate(load)
    curves: dict[str, Histogram] = {}
    styles: dict[str, dict[str, Any]] = {}
    for impl in [i for i in IMPL_STYLE if i in set(hist["impl"])]:
        h = hist[hist["impl"] == impl]
        st = _style(impl)
        name = st["label"]
        closed = h[(h["mode"] == "latency") & (h["kind"] == "round_trip")]
        own = h[h["mode"] == "load"]
        at = (
            rate if np.isfinite(rate) else float(own["offered_rate_per_s"].min())
        )  # no common rate: its lowest
        opened = own[own["offered_rate_per_s"] == at]
        parts = [
            (f"{name}: closed loop (ping-pong)", closed, "-."),
            (f"{name}: open loop at {format_rate(at)}/s, from intended send", opened[opened["kind"] == "latency"], "-"),
            (f"{name}: open loop, uncorrected (from actual send)", opened[opened["kind"] == "uncorrected"], ":"),
        ]  # fmt: skip
        for label, part, ls in parts:
            if len(part):
                curves[label] = merge_histograms(part)
                styles[label] = {"color": st["color"], "linestyle": ls}
    if not curves:
        return None
    title = f"Percentile spectrum, {pattern} {format_size(size)} over {transport}: closed vs open loop (round trip)"
    return plot_percentile_spectrum(curves, title, rows, meta, styles)


def load_charts(
    results: str | os.PathLike[str], frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None
) -> dict[str, Figure]:
    """The load charts the rows allow, by file stem (histograms read from ``results``)."""
    from zlab.bench.results import load_histograms

    out: dict[str, Figure] = {}
    if not (frame["mode"] == "load").any():
        return out
    fig = plot_latency_vs_rate(frame, meta)
    if fig is not None:
        out["latency_vs_rate"] = fig
    try:
        hists = load_histograms(Path(results))
    except FileNotFoundError:
        return out
    fig = plot_spectrum_of_cell(frame, hists, meta)
    if fig is not None:
        out["percentile_spectrum"] = fig
    return out
