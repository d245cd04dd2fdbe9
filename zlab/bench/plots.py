# zlab.bench.plots -- the lab's charts, shared by experiment scripts, notebooks and `zlab plot`.
"""Charts from result frames (matplotlib, no pyplot state: every function returns a ``Figure``).

Owns: which runs a chart is drawn from (:func:`select_runs`: the newest full run of each experiment),
medians over repeats (:func:`medians`), the caption every chart carries (machine, cores, date, versions,
placement, noise, and how many cells failed or were skipped and why), the ``QUICK RUN`` mark, the four
charts (:func:`plot_latency_vs_size`, :func:`plot_throughput_vs_size`, :func:`plot_patterns`,
:func:`plot_ratio_heatmap`) and :func:`plot_all`, which writes every chart the results allow (``zlab plot``).

Sizes are on log-2 axes labelled ``64B``, ``64KiB``...; units are in every axis label; failed and skipped
cells are left out of lines and bars but counted (and, in the patterns chart, marked where they would be).

Charts draw the blocking API (``api == "sync"``) and one security mechanism: ``null`` unless asked
(``plot_all(..., mechanism="curve")``, ``zlab plot --mechanism curve``: files ``<chart>-curve.*``).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, cast

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator
from matplotlib.transforms import blended_transform_factory

from zlab.bench.matrix import PATTERNS, format_size
from zlab.bench.stats import quantile_ci

QUICK_MARK = "QUICK RUN — not for comparison"
#: Display name, colour, marker and line style per implementation.
IMPL_STYLE: dict[str, dict[str, Any]] = {
    "zlab": {"label": "zlab", "color": "#1f6fb4", "marker": "o", "linestyle": "-"},
    "pyzmq": {"label": "libzmq (pyzmq)", "color": "#d2452c", "marker": "s", "linestyle": "-"},
    "raw": {"label": "plain Python floor", "color": "#6b6b6b", "marker": "^", "linestyle": "--"},
}
TRANSPORT_ORDER = ("inproc", "ipc", "tcp")
METRIC_LABELS = {
    "lat_p50_us": "one-way latency p50 (µs)",
    "lat_p99_us": "one-way latency p99 (µs)",
    "msgs_per_s": "throughput (messages/s)",
    "mb_per_s": "throughput (MB/s)",
}
#: Chart name -> experiments whose rows it prefers, in order (others are used only when none is present).
PREFERRED = {
    "latency_vs_size": ("latency_vs_size",),
    "throughput_vs_size": ("throughput_vs_size",),
    "patterns": ("patterns",),
    "ratio_latency": ("zlab_vs_libzmq", "latency_vs_size"),
    "ratio_throughput": ("zlab_vs_libzmq", "throughput_vs_size"),
}
_METRICS = [
    "lat_min_us",
    "lat_p50_us",
    "lat_p90_us",
    "lat_p99_us",
    "lat_p999_us",
    "lat_max_us",
    "msgs_per_s",
    "mb_per_s",
    "n_dropped",
]
_CELL = ["impl", "transport", "pattern", "mode", "msg_size_bytes", "n_subscribers"]


# ----------------------------------------------------------------------------------------------------------
# Data: which rows, medians, caption


def load_results(
    path: str | os.PathLike[str] = "results", all_runs: bool = False, mechanism: str = "null"
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """Rows to chart and the run metadata: the newest full run of each experiment (see :func:`select_runs`),
    through the blocking API over ``mechanism``."""
    from zlab.bench.results import load, load_meta

    rows = one_mechanism(blocking_only(load(path)), mechanism)
    return select_runs(rows, all_runs=all_runs), load_meta(path)


def blocking_only(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows measured through the blocking API: the charts compare implementations, not APIs
    (asyncio rows, ``api == "asyncio"``, are left to tables such as ``zlab.bench.headline``)."""
    if "api" not in frame.columns:
        return frame
    return frame[frame["api"].fillna("sync") == "sync"]


def one_mechanism(frame: pd.DataFrame, mechanism: str = "null") -> pd.DataFrame:
    """The rows over one security mechanism (rows without the column are ``null`` ones): a chart never
    mixes CURVE figures with NULL ones."""
    if "mechanism" not in frame.columns:
        return frame if mechanism == "null" else frame.iloc[:0]
    return frame[frame["mechanism"].fillna("null") == mechanism]


def _charted(frame: pd.DataFrame) -> pd.DataFrame:
    """Blocking-API rows of one mechanism: the only one present, else ``null``."""
    rows = blocking_only(frame)
    if "mechanism" not in rows.columns:
        return rows
    present = set(rows["mechanism"].fillna("null"))
    return one_mechanism(rows, present.pop() if len(present) == 1 else "null")


def select_runs(frame: pd.DataFrame, all_runs: bool = False) -> pd.DataFrame:
    """Per experiment (rows without one count as one group), the newest run, preferring full runs to quick ones.

    Results folders gather runs over time; a chart mixes neither old runs with new ones nor quick with full.
    ``all_runs=True`` keeps every row.
    """
    if frame.empty or all_runs:
        return frame
    groups = frame["experiment"].astype("string").fillna("(none)")
    keep = []
    for _, g in frame.groupby(groups, sort=False):
        full = g[~g["quick"].fillna(False).astype(bool)]
        pool = full if len(full) else g
        keep.append(pool[pool["run_id"] == pool["run_id"].max()])
    return pd.concat(keep).reset_index(drop=True)


def prefer(frame: pd.DataFrame, experiments: Sequence[str]) -> pd.DataFrame:
    """The rows of the first of ``experiments`` present in ``frame``, or all rows if none is."""
    for name in experiments:
        rows = frame[frame["experiment"] == name]
        if len(rows):
            return rows
    return frame


def medians(frame: pd.DataFrame) -> pd.DataFrame:
    """Median (and min, max) over repeats of the ok rows, one row per cell and implementation.

    Columns: the cell keys, ``<metric>`` medians, ``<metric>_lo`` / ``<metric>_hi`` (min, max over repeats)
    and ``repeats``.
    """
    ok = _charted(frame[frame["status"] == "ok"])
    if ok.empty:
        return pd.DataFrame(columns=[*_CELL, *_METRICS, "repeats"])
    metrics = [m for m in _METRICS if m in ok.columns]
    values = ok[_CELL + metrics].copy()
    values[metrics] = values[metrics].astype(float)
    grouped = values.groupby(_CELL, dropna=False)
    med = grouped[metrics].median()
    lo = grouped[metrics].min().add_suffix("_lo")
    hi = grouped[metrics].max().add_suffix("_hi")
    n = grouped.size().rename("repeats")
    return pd.concat([med, lo, hi, n], axis=1).reset_index()


def table(frame: pd.DataFrame, pattern: str, mode: str, metric: str) -> pd.DataFrame:
    """Medians of ``metric`` for one pattern and mode: rows (transport, size), one column per implementation."""
    med = medians(frame[(frame["pattern"] == pattern) & (frame["mode"] == mode)])
    if med.empty:
        return pd.DataFrame()
    wide = med.pivot_table(index=["transport", "msg_size_bytes"], columns="impl", values=metric)
    wide = wide.reindex(
        columns=[i for i in IMPL_STYLE if i in wide.columns]
        + sorted({str(c) for c in wide} - set(IMPL_STYLE))
    )
    order = {t: i for i, t in enumerate(TRANSPORT_ORDER)}
    wide = wide.sort_index(key=lambda idx: idx.map(order) if idx.name == "transport" else idx)
    wide.columns.name = metric
    return wide


def runs_table(frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None) -> pd.DataFrame:
    """One line per run in ``frame``: experiment, date, machine, quick, cell counts by status, noise."""
    meta = meta or {}
    out = []
    for run_id, rows in frame.groupby("run_id", sort=True):
        m = meta.get(str(run_id), {})
        counts = rows["status"].value_counts()
        out.append(
            {
                "run_id": run_id,
                "experiment": rows["experiment"].iloc[0],
                "started": str(m.get("started_at", rows["started_at"].iloc[0]))[:19],
                "machine": f"{m.get('cpu_model', '?')}, {m.get('cpu_count', '?')} cores",
                "commit": str(m.get("git_commit") or "?")[:8] + ("+dirty" if m.get("git_dirty") else ""),
                "quick": bool(rows["quick"].fillna(False).any()),
                "complete": m.get("complete"),
                **{status: int(counts.get(status, 0)) for status in ("ok", "failed", "skipped")},
                "foreign_cpu_pct_median": rows["foreign_cpu_pct"].median(),
            }
        )
    return pd.DataFrame(out).set_index("run_id") if out else pd.DataFrame()


def _date(text: Any) -> str:
    return str(text)[:10] if text else "?"


def _cell_counts(frame: pd.DataFrame) -> str:
    """``N cell runs: a ok, b failed (why), c skipped (why)``."""
    counts = frame["status"].value_counts()
    parts = [f"{int(counts.get('ok', 0))} ok"]
    for status in ("failed", "skipped"):
        rows = frame[frame["status"] == status]
        if rows.empty:
            continue
        why = rows.groupby(["impl", "failure_reason"], sort=False, dropna=False).size()
        reasons = "; ".join(
            f"{impl}: {str(reason).split(' (')[0][:60]} x{n}"
            for (impl, reason), n in cast("Iterable[tuple[tuple[str, object], int]]", why.items())
        )
        parts.append(f"{len(rows)} {status} ({reasons})")
    return f"{len(frame)} cell runs: " + ", ".join(parts) + " — failed and skipped cells are left out"


def caption(frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None, width: int = 150) -> str:
    """Machine, cores, date, versions, placement, repeats, noise and cell counts of the rows in ``frame``."""
    meta = meta or {}
    runs = [r for r in pd.unique(frame["run_id"].dropna())]
    metas = [meta[r] for r in runs if r in meta]
    lines = []
    if metas:
        m = metas[0]
        cores = m.get("cpu_count")
        affinity = m.get("cpu_affinity_count")
        cores_text = f"{cores} cores" + (f" ({affinity} usable)" if affinity and affinity != cores else "")
        dates = sorted({_date(x.get("started_at") or x.get("date")) for x in metas})
        commit = str(m.get("git_commit") or "?")[:8] + ("+dirty" if m.get("git_dirty") else "")
        lines.append(
            f"{m.get('cpu_model', '?')}, {cores_text}, Linux {m.get('kernel', '?')}, "
            f"{m.get('hostname', '?')}; {' to '.join([dates[0], dates[-1]] if len(dates) > 1 else dates)}; "
            f"Python {m.get('python', '?')}, pyzmq {m.get('pyzmq_version', '?')} / libzmq "
            f"{m.get('libzmq_version', '?')}, zlab {m.get('zlab_version') or '?'} at {commit}"
        )
    else:
        started = frame["cell_started_at"].dropna()
        hosts = ", ".join(str(h) for h in pd.unique(frame["host"].dropna())) or "?"
        when = _date(started.min()) if len(started) else "?"
        lines.append(f"host {hosts}; {when}; machine details: no run metadata found")
    placements = ", ".join(str(p) for p in pd.unique(frame["placement"].dropna()))
    repeats = frame["repeat"].dropna()
    n_rep = int(repeats.max()) + 1 if len(repeats) else 0
    durations = ", ".join(f"{d:g} s" for d in sorted(pd.unique(frame["target_duration_s"].dropna())))
    busy = frame.loc[frame["status"] == "ok", "foreign_cpu_pct"].dropna()
    noise = (
        f", other programs' CPU use median {busy.median():.0f}% (max {busy.max():.0f}%)" if len(busy) else ""
    )
    lines.append(
        f"runs {', '.join(runs) or '?'}; CPU placement {placements or '?'}; {n_rep} repeat(s) of "
        f"{durations or '?'} per cell, medians shown{noise}"
    )
    clusters = [m["cluster"] for m in metas if m.get("cluster")]
    if clusters:
        names = ", ".join(dict.fromkeys(n for c in clusters for n in c.get("hosts", {})))
        lines.append(f"peers on hosts {names} (Dask cluster)")
        mismatches = sorted({x for c in clusters for x in c.get("version_mismatch") or []})
        if mismatches:
            lines[-1] += "; VERSION MISMATCH between hosts: " + "; ".join(mismatches)
    mechs = set(frame["mechanism"].dropna()) - {"null"} if "mechanism" in frame.columns else set()
    if mechs:
        lines[-1] += f"; security mechanism {', '.join(sorted(mechs))}"
    lines.append(_cell_counts(frame))
    if is_quick(frame):
        lines.insert(0, f"{QUICK_MARK}: cells of a few ms (--quick), only a smoke test of the pipeline")
    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ") for line in lines)


def is_quick(frame: pd.DataFrame) -> bool:
    """Whether any row of ``frame`` comes from a ``--quick`` run."""
    return bool(frame["quick"].fillna(False).astype(bool).any()) if len(frame) else False


# ----------------------------------------------------------------------------------------------------------
# Figure furniture


def _figure(
    nrows: int, ncols: int, width: float, height: float, **kw: Any
) -> tuple[Figure, np.ndarray[Any, Any]]:
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


DIRTY_MARK = "UNCOMMITTED CODE"


def is_dirty(frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None) -> bool:
    """Whether any run of ``frame`` was measured from a checkout with uncommitted code changes."""
    runs = {str(r) for r in pd.unique(frame["run_id"].dropna())} if len(frame) else set()
    return any((meta or {}).get(r, {}).get("git_dirty") for r in runs)


def _finish(fig: Figure, title: str, frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None) -> Figure:
    """Title, caption (as the figure's x label, so the layout makes room), quick mark, metadata for files."""
    if is_dirty(frame, meta):
        title = f"[{DIRTY_MARK}]  {title}"
        fig.text(
            0.5,
            0.35,
            f"{DIRTY_MARK} (+dirty)",
            ha="center",
            va="center",
            rotation=18,
            fontsize=24,
            color="#cc0000",
            alpha=0.18,
            weight="bold",
            zorder=10,
        )
    quick = is_quick(frame)
    fig.suptitle(
        f"[{QUICK_MARK}]  {title}" if quick else title,
        fontsize=12,
        color="#b00000" if quick or title.startswith(f"[{DIRTY_MARK}") else None,
    )
    width = int(fig.get_figwidth() * 17)
    text = caption(frame, meta, width=width)
    fig.supxlabel(text, x=0.005, ha="left", fontsize=7, color="#444444", linespacing=1.3)
    if quick:
        fig.text(
            0.5,
            0.5,
            QUICK_MARK,
            ha="center",
            va="center",
            rotation=18,
            fontsize=26,
            color="#cc0000",
            alpha=0.22,
            weight="bold",
            zorder=10,
        )
    fig.zlab_title = title  # type: ignore[attr-defined]
    fig.zlab_caption = text  # type: ignore[attr-defined]
    return fig


def _size_axis(ax: Any, sizes: Iterable[int]) -> None:
    ax.set_xscale("log", base=2)
    ticks = sorted({int(s) for s in sizes})
    if len(ticks) > 6:  # keep every other tick label readable
        thin = ticks[::2]
        if thin[-1] != ticks[-1]:  # always label the largest size, without crowding its neighbour
            thin = [*thin[:-1], ticks[-1]] if ticks[-1] < thin[-1] * 4 else [*thin, ticks[-1]]
        ticks = thin
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_size(round(v))))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.tick_params(axis="x", labelrotation=35, labelsize=8)
    ax.set_xlabel("message size (bytes, log scale)", fontsize=9)


def _log_y(ax: Any) -> None:
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(base=10))
    ax.grid(True, which="major", alpha=0.35)
    ax.grid(True, which="minor", alpha=0.1)


def _transports(frame: pd.DataFrame) -> list[str]:
    present = [str(t) for t in pd.unique(frame["transport"].dropna())]
    return [t for t in TRANSPORT_ORDER if t in present] + sorted(set(present) - set(TRANSPORT_ORDER))


def _impls(frame: pd.DataFrame) -> list[str]:
    present = [str(i) for i in pd.unique(frame["impl"].dropna())]
    return [i for i in IMPL_STYLE if i in present] + sorted(set(present) - set(IMPL_STYLE))


def _rank(order: Sequence[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(order)}


def _style(impl: str) -> dict[str, Any]:
    return IMPL_STYLE.get(impl, {"label": impl, "color": None, "marker": "d", "linestyle": "-"})


# ----------------------------------------------------------------------------------------------------------
# The charts


def plot_latency_vs_size(
    frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None, pattern: str = "reqrep"
) -> Figure | None:
    """One-way latency against size, a panel per transport: p50 line, p50–p99 band, p99.9 crosses.

    Returns None when ``frame`` has no ``pattern`` latency rows.
    """
    rows = frame[(frame["pattern"] == pattern) & (frame["mode"] == "latency")]
    med = medians(rows)
    if rows.empty or med.empty:
        return None
    transports = _transports(med)
    fig, axes = _figure(1, len(transports), 4.3 * len(transports) + 0.6, 4.9, sharey=True)
    for ax, transport in zip(axes[0], transports, strict=True):
        sub = med[med["transport"] == transport]
        for impl in _impls(sub):
            d = sub[sub["impl"] == impl].sort_values("msg_size_bytes")
            st = _style(impl)
            x = d["msg_size_bytes"].to_numpy(float)
            ax.fill_between(x, d["lat_p50_us"], d["lat_p99_us"], color=st["color"], alpha=0.13, linewidth=0)
            ax.plot(
                x,
                d["lat_p50_us"],
                label=st["label"],
                color=st["color"],
                marker=st["marker"],
                linestyle=st["linestyle"],
                markersize=4,
            )
            ax.plot(x, d["lat_p999_us"], linestyle="none", marker="x", color=st["color"], markersize=4)
        _size_axis(ax, med["msg_size_bytes"])
        _log_y(ax)
        ax.set_title(f"{transport}", fontsize=10)
    axes[0][0].set_ylabel("one-way latency (µs, log scale)", fontsize=9)
    handles, labels = axes[0][0].get_legend_handles_labels()
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles += [
        Patch(color="#999999", alpha=0.3),
        Line2D([], [], marker="x", linestyle="none", color="#555555"),
    ]
    labels += ["band: p50 to p99", "× p99.9"]
    axes[0][-1].legend(handles, labels, fontsize=8, loc="upper left")
    title = f"One-way latency vs message size ({pattern} round trip / 2; line p50)"
    return _finish(fig, title, rows, meta)


def plot_throughput_vs_size(
    frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None, pattern: str = "pushpull"
) -> Figure | None:
    """Throughput against size, a column per transport: messages/s (top) and MB/s (bottom), band min..max.

    Returns None when ``frame`` has no ``pattern`` throughput rows.
    """
    rows = frame[(frame["pattern"] == pattern) & (frame["mode"] == "throughput")]
    if pattern == "pubsub":
        rows = rows[rows["n_subscribers"] == rows["n_subscribers"].min()]
    med = medians(rows)
    if rows.empty or med.empty:
        return None
    transports = _transports(med)
    fig, axes = _figure(2, len(transports), 4.3 * len(transports) + 0.6, 7.4, sharey="row", sharex=True)
    for col, transport in enumerate(transports):
        sub = med[med["transport"] == transport]
        for row, metric in enumerate(("msgs_per_s", "mb_per_s")):
            ax = axes[row][col]
            for impl in _impls(sub):
                d = sub[sub["impl"] == impl].sort_values("msg_size_bytes")
                st = _style(impl)
                x = d["msg_size_bytes"].to_numpy(float)
                ax.fill_between(x, d[f"{metric}_lo"], d[f"{metric}_hi"], color=st["color"], alpha=0.13, lw=0)
                ax.plot(
                    x,
                    d[metric],
                    label=st["label"],
                    color=st["color"],
                    marker=st["marker"],
                    linestyle=st["linestyle"],
                    markersize=4,
                )
            _log_y(ax)
            _size_axis(ax, med["msg_size_bytes"])
            if row == 0:
                ax.set_title(transport, fontsize=10)
                ax.set_xlabel("")
    axes[0][0].set_ylabel("messages/s (log scale)", fontsize=9)
    axes[1][0].set_ylabel("MB/s (10^6 bytes/s, log scale)", fontsize=9)
    axes[0][-1].legend(fontsize=8, loc="lower left", title="line: median, band: min to max", title_fontsize=7)
    return _finish(fig, f"Throughput vs message size ({pattern} flood)", rows, meta)


def _pattern_label(pattern: str, subs: int, transport: str, size: int, multi_t: bool, multi_s: bool) -> str:
    name = f"pubsub x{subs}" if pattern == "pubsub" else pattern
    extra = [t for t, show in ((transport, multi_t), (format_size(size), multi_s)) if show]
    return name + (f"\n{' '.join(extra)}" if extra else "")


def plot_patterns(frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None) -> Figure | None:
    """Patterns side by side: p50 latency (round-trip patterns) and messages/s (floods), bars per implementation.

    A cell an implementation could not run is marked ``failed`` or ``n/a`` where its bar would be.
    Returns None unless at least two patterns are present.
    """
    rows = frame[frame["pattern"].notna()]
    if rows["pattern"].nunique() < 2:
        return None
    med = medians(rows)
    multi_t = rows["transport"].nunique() > 1
    panels = [
        (m, met)
        for m, met in (("latency", "lat_p50_us"), ("throughput", "msgs_per_s"))
        if (rows["mode"] == m).any()
    ]
    sizes = sorted(int(s) for s in pd.unique(rows["msg_size_bytes"].dropna()))
    fig, axes = _figure(len(sizes), len(panels), 6.6 * len(panels), 3.3 * len(sizes) + 1.2)
    impls = _impls(rows)
    width = 0.8 / max(1, len(impls))
    for r, size in enumerate(sizes):
        for c, (mode, metric) in enumerate(panels):
            ax = axes[r][c]
            sub = rows[(rows["mode"] == mode) & (rows["msg_size_bytes"] == size)]
            keys = (
                sub[["transport", "pattern", "n_subscribers"]]
                .drop_duplicates()
                .assign(
                    t=lambda d: d["transport"].map(_rank(TRANSPORT_ORDER)),
                    p=lambda d: d["pattern"].map(_rank(PATTERNS)),
                )
                .sort_values(["t", "p", "n_subscribers"])
            )
            labels = []
            at_bottom = blended_transform_factory(ax.transData, ax.transAxes)
            for k, (_, key) in enumerate(keys.iterrows()):
                labels.append(
                    _pattern_label(
                        key["pattern"], int(key["n_subscribers"]), key["transport"], size, multi_t, False
                    )
                )
                for i, impl in enumerate(impls):
                    x = k - 0.4 + width * (i + 0.5)
                    st = _style(impl)
                    same = (
                        (med["impl"] == impl)
                        & (med["mode"] == mode)
                        & (med["msg_size_bytes"] == size)
                        & (med["transport"] == key["transport"])
                        & (med["pattern"] == key["pattern"])
                        & (med["n_subscribers"] == key["n_subscribers"])
                    )
                    if same.any():
                        value = float(med.loc[same, metric].iloc[0])
                        ax.bar(x, value, width * 0.92, color=st["color"], label=st["label"])
                        ok = sub[
                            (sub["impl"] == impl)
                            & (sub["status"] == "ok")
                            & (sub["transport"] == key["transport"])
                            & (sub["pattern"] == key["pattern"])
                            & (sub["n_subscribers"] == key["n_subscribers"])
                        ]
                        _, lo, hi = quantile_ci(ok[metric].astype(float))
                        if np.isfinite(lo) and np.isfinite(hi):  # 95% interval of the median over repeats
                            ax.errorbar(
                                x,
                                value,
                                yerr=[[max(0.0, value - lo)], [max(0.0, hi - value)]],
                                fmt="none",
                                ecolor="#222222",
                                elinewidth=0.9,
                                capsize=2.5,
                            )
                        continue
                    cell = sub[
                        (sub["impl"] == impl)
                        & (sub["transport"] == key["transport"])
                        & (sub["pattern"] == key["pattern"])
                        & (sub["n_subscribers"] == key["n_subscribers"])
                    ]
                    if (cell["status"] == "failed").any():  # skipped cells (no equivalent) stay blank
                        ax.text(
                            x,
                            0.02,
                            f"{impl} failed",
                            rotation=90,
                            ha="center",
                            va="bottom",
                            fontsize=7,
                            color=st["color"],
                            transform=at_bottom,
                        )
            ax.set_xticks(range(len(labels)), labels, fontsize=8, rotation=30 if len(labels) > 6 else 0)
            unit = METRIC_LABELS[metric]
            ax.set_ylabel(unit, fontsize=9)
            ax.grid(True, axis="y", alpha=0.3)
            ax.set_title(f"{mode}, {format_size(size)} messages", fontsize=10)
            if metric == "msgs_per_s":
                _log_y(ax)
                ax.set_ylabel("throughput (messages/s, log scale)", fontsize=9)
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    axes[0][0].legend(handles, labels, fontsize=8)
    return _finish(fig, "Patterns compared (medians over repeats, bars: 95% bootstrap interval)", rows, meta)


def _ratio_matrix(
    frame: pd.DataFrame, pattern: str, mode: str, metric: str, num: str, den: str
) -> pd.DataFrame:
    """Transport x size matrix of ``num / den`` of median ``metric`` (NaN where either is missing)."""
    med = medians(frame[(frame["pattern"] == pattern) & (frame["mode"] == mode)])
    if med.empty:
        return pd.DataFrame()
    wide = med.pivot_table(index=["transport", "msg_size_bytes"], columns="impl", values=metric)
    if num not in wide or den not in wide:
        return pd.DataFrame()
    ratio = (wide[num] / wide[den]).unstack("msg_size_bytes")
    order = [t for t in TRANSPORT_ORDER if t in ratio.index] + sorted(set(ratio.index) - set(TRANSPORT_ORDER))
    ratio = ratio.reindex(order)
    return ratio if ratio.notna().any().any() else pd.DataFrame()


def plot_ratio_heatmap(
    frame: pd.DataFrame,
    meta: dict[str, dict[str, Any]] | None = None,
    numerator: str = "zlab",
    denominator: str = "pyzmq",
) -> Figure | None:
    """Heat maps of ``numerator / denominator`` per transport (rows) and size (columns).

    Left: p50 latency of reqrep (above 1 = numerator slower); right: messages/s of pushpull (above 1 =
    numerator faster). Green always means the numerator did better. Returns None without paired data.
    """
    lat_rows = prefer(frame, PREFERRED["ratio_latency"])
    thr_rows = prefer(frame, PREFERRED["ratio_throughput"])
    specs = [
        (
            "p50 latency (reqrep)",
            "above 1 = {n} slower",
            lat_rows,
            "reqrep",
            "latency",
            "lat_p50_us",
            "RdYlGn_r",
        ),
        (
            "messages/s (pushpull)",
            "above 1 = {n} faster",
            thr_rows,
            "pushpull",
            "throughput",
            "msgs_per_s",
            "RdYlGn",
        ),
    ]
    panels = []
    for title, sense, rows, pattern, mode, metric, cmap in specs:
        ratio = _ratio_matrix(rows, pattern, mode, metric, numerator, denominator)
        if not ratio.empty:
            used = rows[(rows["pattern"] == pattern) & (rows["mode"] == mode)]
            panels.append((title, sense, ratio, cmap, used, _verdicts(used, metric, numerator, denominator)))
    if not panels:
        return None
    ncols = max(p[2].shape[1] for p in panels)
    width = max(5.0, 0.75 * ncols + 2.2)
    if ncols > 5:  # many sizes: panels one above the other
        fig, axes = _figure(len(panels), 1, width, 2.9 * len(panels) + 1.0)
    else:
        fig, axes = _figure(1, len(panels), width * len(panels), 3.6)
    name = {"pyzmq": "libzmq"}.get(denominator, denominator)
    for ax, (title, sense, ratio, cmap, _, verdicts) in zip(axes.flat, panels, strict=True):
        values = ratio.to_numpy(float)
        finite = values[np.isfinite(values) & (values > 0)]
        span = max(2.0, float(np.exp(np.abs(np.log(finite)).max()))) if finite.size else 2.0
        cm = mpl.colormaps[cmap].with_extremes(bad="#dddddd")
        image = ax.imshow(np.ma.masked_invalid(values), cmap=cm, norm=LogNorm(1 / span, span), aspect="auto")
        ax.set_xticks(
            range(ratio.shape[1]), [format_size(int(s)) for s in ratio.columns], fontsize=8, rotation=35
        )
        ax.set_yticks(range(ratio.shape[0]), list(ratio.index), fontsize=9)
        ax.set_xlabel("message size (bytes)", fontsize=9)
        ax.set_ylabel("transport", fontsize=9)
        sizes = [int(c) for c in ratio.columns.to_numpy()]
        for (i, j), v in np.ndenumerate(values):
            same = verdicts.get((str(ratio.index[i]), sizes[j])) == "same"
            text = "–" if not np.isfinite(v) else f"{v:.2f}" + ("\n≈" if same else "")
            ax.text(j, i, text, ha="center", va="center", fontsize=7 if same else 8)
            if same and np.isfinite(v):  # within the noise: the interval includes 1
                ax.add_patch(
                    Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="#555555", lw=0)
                )
        ax.set_title(
            f"{title}: {numerator} / {name}\n({sense.format(n=numerator)}; hatched ≈: 95% interval includes 1)",
            fontsize=10,
        )
        bar = fig.colorbar(image, ax=ax, shrink=0.9)
        ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50) if 1 / span <= t <= span]
        bar.ax.yaxis.set_major_locator(FixedLocator(ticks))
        bar.ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
        bar.ax.yaxis.set_minor_locator(NullLocator())
        bar.set_label(f"ratio {numerator} / {name} (log scale)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
    used = pd.concat([p[4] for p in panels])
    title = f"{numerator} against {name}: ratio of medians per transport and size"
    return _finish(fig, title, used, meta)


def _verdicts(rows: pd.DataFrame, metric: str, num: str, den: str) -> dict[tuple[str, int], str]:
    """(transport, size) -> faster / slower / same for ``num / den`` of ``metric`` (bootstrap over repeats)."""
    from zlab.bench.summary import ratios

    r = ratios(_charted(rows), num, den, metrics=[metric])
    return {
        (str(t), int(s)): str(v)
        for t, s, v in zip(r["transport"], r["msg_size_bytes"], r["verdict"], strict=True)
    }


# ----------------------------------------------------------------------------------------------------------
# All of them, to files

#: The charts, by file stem (``zlab.bench.charts.plot_all`` adds ``zlab.bench.load_plots.LOAD_CHARTS``).
CHARTS = ("latency_vs_size", "throughput_vs_size", "patterns", "zlab_vs_libzmq")


def make_charts(
    frame: pd.DataFrame, meta: dict[str, dict[str, Any]] | None = None, charts: Sequence[str] | None = None
) -> dict[str, Figure]:
    """Every chart the rows allow (or those of ``charts`` they allow), by file stem; charts without data are left out."""
    frame = frame[frame["mode"] != "load"]  # open-loop rows have their own charts (zlab.bench.load_plots)
    draw = {
        "latency_vs_size": lambda: plot_latency_vs_size(prefer(frame, PREFERRED["latency_vs_size"]), meta),
        "throughput_vs_size": lambda: plot_throughput_vs_size(
            prefer(frame, PREFERRED["throughput_vs_size"]), meta
        ),
        "patterns": lambda: plot_patterns(prefer(frame, PREFERRED["patterns"]), meta),
        "zlab_vs_libzmq": lambda: plot_ratio_heatmap(frame, meta),
    }
    unknown = set(charts or ()) - set(draw)
    if unknown:
        raise ValueError(f"unknown charts {sorted(unknown)} (valid: {', '.join(CHARTS)})")
    figures = {name: draw[name]() for name in CHARTS if charts is None or name in charts}
    return {name: fig for name, fig in figures.items() if fig is not None}


def save(fig: Figure, path: str | os.PathLike[str], formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``path.<format>`` for each format, with its title and caption in the file's metadata."""
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    info = {"Title": getattr(fig, "zlab_title", ""), "Description": getattr(fig, "zlab_caption", "")}
    written = []
    for fmt in formats:
        target = base.with_suffix(f".{fmt}")
        with mpl.rc_context({"svg.fonttype": "none", "svg.hashsalt": "zlab"}):
            extra = (
                {"Date": None} if fmt == "svg" else {}
            )  # no timestamp: unchanged charts give unchanged files
            fig.savefig(target, dpi=110, metadata={**info, **extra} if fmt in ("png", "svg") else None)
        written.append(target)
    return written


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
    """Write every chart the results allow to ``out`` (default: ``charts/`` beside the results); return paths.

    ``results`` is a result file, a folder of runs (the newest full run of each experiment is drawn, see
    :func:`select_runs`; ``all_runs=True`` draws everything), or a frame (then give ``out``, and ``meta``
    for the caption). ``charts`` limits the set to some of :data:`CHARTS`. Raises FileNotFoundError when
    the path does not exist. Rows over ``mechanism`` (default ``null``) are drawn, through the blocking
    API; charts of another mechanism are written as ``<chart>-<mechanism>.*``.
    """
    if isinstance(results, pd.DataFrame):
        if out is None:
            raise ValueError("plot_all(frame) needs out=")
        frame = one_mechanism(blocking_only(results), mechanism)
        frame, meta = select_runs(frame, all_runs), meta or {}
    else:
        path = Path(results)
        if not path.exists():
            raise FileNotFoundError(f"no results at {path}")
        frame, meta = load_results(path, all_runs, mechanism)
        out = out if out is not None else (path if path.is_dir() else path.parent) / "charts"
    if frame.empty:
        return []
    written: list[Path] = []
    for name, fig in make_charts(frame, meta, charts).items():
        stem = name if mechanism == "null" else f"{name}-{mechanism}"
        written += save(fig, Path(out) / stem, formats)
    return written
