# zlab.bench.selection -- slicing result frames: which runs, which cells, which metric.
"""Choose rows of a result frame by run and by axis, and summarise the choice as tables and one chart.

Owns: :class:`Selection` (an immutable description of a slice: runs, experiments, commits, dates, one
set of allowed values per axis, a metric), :func:`run_index` (one line per run with its commit and date,
from the rows and the run metadata), :func:`choices` (the values present on each axis, for menus),
:func:`median_table` and :func:`ratio_table` (medians over repeats, and zlab over libzmq per cell), and
:func:`plot_selection` (the metric against message size, zlab and libzmq side by side with the plain
floor where it exists).

Rules: nothing here measures or writes; an empty choice on an axis means "everything"; a value that is not
present simply selects nothing (menus offer only present values). The notebook explorer
(:mod:`zlab.bench.explore`) and live runs (:mod:`zlab.bench.live`) are thin layers over these functions,
so every slice a widget shows can be scripted and tested without a browser.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from zlab.bench.matrix import format_size

#: The axes a selection can restrict, in menu order (``msg_size_bytes`` is the size axis).
AXES: tuple[str, ...] = (
    "impl",
    "transport",
    "pattern",
    "mode",
    "msg_size_bytes",
    "n_subscribers",
    "mechanism",
    "api",
    "placement",
)
#: Metrics a selection can show: column -> label with its unit. Lower is better for ``lat_*``.
METRICS: dict[str, str] = {
    "lat_p50_us": "latency p50 (µs)",
    "lat_p90_us": "latency p90 (µs)",
    "lat_p99_us": "latency p99 (µs)",
    "lat_p999_us": "latency p99.9 (µs)",
    "lat_max_us": "latency max (µs)",
    "msgs_per_s": "throughput (messages/s)",
    "mb_per_s": "throughput (MB/s)",
}
#: The cell of a row without its implementation: what a median and a ratio are taken over.
CELL_AXES: tuple[str, ...] = tuple(a for a in AXES if a != "impl")
#: Implementations in display order (others follow alphabetically).
IMPL_ORDER: tuple[str, ...] = ("zlab", "pyzmq", "raw")


def lower_is_better(metric: str) -> bool:
    """Whether a smaller value of ``metric`` is the better one (latencies) or the worse (throughput)."""
    return metric.startswith("lat_")


@dataclass(frozen=True)
class Selection:
    """A slice of results: runs and allowed values per axis (empty = no restriction) and one metric.

    ``runs``, ``experiments``, ``commits`` (prefixes of the git commit a run was made at) and ``dates``
    (``YYYY-MM-DD``, the day a run started) choose runs; the axis fields choose cells. ``ok_only`` drops
    failed and skipped rows. Build one directly, with :meth:`replace`, or from a widget.
    """

    runs: tuple[str, ...] = ()
    experiments: tuple[str, ...] = ()
    commits: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    impl: tuple[str, ...] = ()
    transport: tuple[str, ...] = ()
    pattern: tuple[str, ...] = ()
    mode: tuple[str, ...] = ()
    msg_size_bytes: tuple[int, ...] = ()
    n_subscribers: tuple[int, ...] = ()
    mechanism: tuple[str, ...] = ()
    api: tuple[str, ...] = ()
    placement: tuple[str, ...] = ()
    metric: str = "lat_p50_us"
    ok_only: bool = True

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r} (valid: {', '.join(METRICS)})")
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("metric", "ok_only"):
                continue
            if isinstance(value, str | int):
                value = (value,)
            object.__setattr__(self, f.name, tuple(value))

    def replace(self, **changes: Any) -> Selection:
        """A copy with some fields changed (sequences or single values)."""
        return replace(self, **changes)

    def apply(self, frame: pd.DataFrame, meta: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
        """The rows of ``frame`` in this selection (``meta``, from ``zb.load_meta``, resolves commits)."""
        return select(frame, self, meta)


def _runs_info(frame: pd.DataFrame, meta: Mapping[str, Mapping[str, Any]] | None) -> pd.DataFrame:
    meta = meta or {}
    out = []
    for run_id, rows in frame.groupby("run_id", sort=True):
        m = meta.get(str(run_id), {})
        started = m.get("started_at") or rows["started_at"].iloc[0]
        commit = m.get("git_commit") or ""
        out.append(
            {
                "run_id": str(run_id),
                "experiment": rows["experiment"].iloc[0],
                "date": str(started)[:10],
                "commit": str(commit)[:12],
                "dirty": bool(m.get("git_dirty", False)),
                "quick": bool(rows["quick"].fillna(False).astype(bool).any()),
                "rows": len(rows),
                "ok": int((rows["status"] == "ok").sum()),
            }
        )
    columns = ["run_id", "experiment", "date", "commit", "dirty", "quick", "rows", "ok"]
    return pd.DataFrame(out, columns=columns)


def run_index(frame: pd.DataFrame, meta: Mapping[str, Mapping[str, Any]] | None = None) -> pd.DataFrame:
    """One line per run in ``frame``: experiment, date, commit (+dirty), quick, rows and ok rows."""
    return _runs_info(frame, meta).set_index("run_id")


def run_label(info: Mapping[str, Any]) -> str:
    """``<experiment> · <date> · <commit> · <run_id>`` for a menu (a line of :func:`run_index`)."""
    commit = (str(info.get("commit") or "?")[:8]) + ("+dirty" if info.get("dirty") else "")
    quick = " · quick" if info.get("quick") else ""
    return f"{info.get('experiment') or '(no experiment)'} · {info.get('date')} · {commit}{quick} · {info['run_id']}"


def _sorted_values(values: Iterable[Any]) -> list[Any]:
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    try:
        return sorted(set(present))
    except TypeError:
        return sorted(set(present), key=str)


def choices(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """The values present on each axis of ``frame`` (implementations in display order), for menus."""
    out: dict[str, list[Any]] = {}
    for axis in AXES:
        if axis not in frame.columns:
            out[axis] = []
            continue
        values = _sorted_values(frame[axis].dropna().tolist())
        if axis in ("msg_size_bytes", "n_subscribers"):
            values = [int(v) for v in values]
        if axis == "impl":
            values = [i for i in IMPL_ORDER if i in values] + [i for i in values if i not in IMPL_ORDER]
        out[axis] = values
    return out


def select(
    frame: pd.DataFrame,
    selection: Selection | None = None,
    meta: Mapping[str, Mapping[str, Any]] | None = None,
    **axes: Any,
) -> pd.DataFrame:
    """The rows of ``frame`` in ``selection`` (or a selection built from keyword arguments).

    ``select(df, impl="zlab", transport=["tcp", "ipc"])`` is ``Selection(impl=..., transport=...).apply(df)``.
    """
    if selection is None:
        selection = Selection(**axes)
    elif axes:
        selection = selection.replace(**axes)
    mask = pd.Series(True, index=frame.index)
    if selection.ok_only and "status" in frame.columns:
        mask &= frame["status"] == "ok"
    if selection.runs:
        mask &= frame["run_id"].isin(selection.runs)
    if selection.experiments:
        mask &= frame["experiment"].isin(selection.experiments)
    if selection.commits or selection.dates:
        info = _runs_info(frame, meta)
        keep = pd.Series(True, index=info.index)
        if selection.commits:
            keep &= info["commit"].map(lambda c: any(c.startswith(p) for p in selection.commits))
        if selection.dates:
            keep &= info["date"].isin(selection.dates)
        mask &= frame["run_id"].isin(info.loc[keep, "run_id"])
    defaults = {"api": "sync", "mechanism": "null"}
    for axis in AXES:
        allowed = getattr(selection, axis)
        if not allowed or axis not in frame.columns:
            continue
        column = frame[axis]
        if axis in defaults:  # rows written before the column existed are sync / null ones
            column = column.fillna(defaults[axis])
        mask &= column.isin(list(allowed))
    return frame[mask]


def _ok(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame[frame["status"] == "ok"] if "status" in frame.columns else frame
    return rows.assign(api=rows["api"].fillna("sync"), mechanism=rows["mechanism"].fillna("null"))


def _varying(frame: pd.DataFrame, axes: Sequence[str]) -> list[str]:
    return [a for a in axes if a in frame.columns and frame[a].nunique(dropna=False) > 1]


def median_table(frame: pd.DataFrame, metric: str = "lat_p50_us") -> pd.DataFrame:
    """Median of ``metric`` over repeats: one row per cell (only the axes that vary), one column per impl.

    Cells without a value of ``metric`` (e.g. throughput rows for a latency metric) are left out.
    """
    rows = _ok(frame)
    if metric not in rows.columns:
        return pd.DataFrame()
    rows = rows[rows[metric].notna()]
    if rows.empty:
        return pd.DataFrame()
    keys = _varying(rows, CELL_AXES) or ["msg_size_bytes"]
    values = rows[[*keys, "impl"]].assign(value=rows[metric].astype(float))
    wide = values.pivot_table(index=keys, columns="impl", values="value", aggfunc="median")
    impls = [i for i in IMPL_ORDER if i in wide.columns] + [i for i in wide.columns if i not in IMPL_ORDER]
    wide = wide[impls]
    wide.columns.name = metric
    return wide


def ratio_table(
    frame: pd.DataFrame,
    metric: str = "lat_p50_us",
    numerator: str = "zlab",
    denominator: str = "pyzmq",
) -> pd.DataFrame:
    """``numerator / denominator`` of the median ``metric`` per cell, with a plain-words reading.

    Columns: the two medians, ``ratio``, ``repeats`` (the smaller count of the two sides) and ``better``
    (which side did better on this metric). Intervals and verdicts come from the comparison statistics
    where that module is present (``ratio_lo``, ``ratio_hi``, ``verdict``).
    """
    table = median_table(frame, metric)
    if table.empty or numerator not in table.columns or denominator not in table.columns:
        return pd.DataFrame(columns=[numerator, denominator, "ratio", "repeats", "better"])
    rows = _ok(frame)
    rows = rows[rows[metric].notna()]
    keys = [str(name) for name in table.index.names]
    counts = rows.groupby([*keys, "impl"]).size().unstack("impl")
    out = table[[numerator, denominator]].copy()
    out["ratio"] = out[numerator] / out[denominator]
    out["repeats"] = counts[[numerator, denominator]].min(axis=1).reindex(out.index)
    low = lower_is_better(metric)
    out["better"] = np.where(
        out["ratio"].isna(),
        "",
        np.where((out["ratio"] < 1) == low, numerator, np.where(out["ratio"] == 1, "tie", denominator)),
    )
    _add_intervals(out, rows, keys, metric, numerator, denominator)
    return out.dropna(subset=["ratio"])


def _add_intervals(
    out: pd.DataFrame, rows: pd.DataFrame, keys: list[str], metric: str, numerator: str, denominator: str
) -> None:
    """Bootstrap intervals of the ratio of medians over repeats, and verdicts, per cell
    (``zlab.bench.stats``: ``faster`` / ``slower`` / ``same`` for the numerator)."""
    try:
        from zlab.bench import stats
    except ImportError:  # the comparison statistics are not part of this build
        return
    lo, hi, verdict = [], [], []
    for key in out.index:
        key_t = key if isinstance(key, tuple) else (key,)
        cell = rows
        for name, value in zip(keys, key_t, strict=True):
            cell = cell[cell[name] == value]
        a = cell.loc[cell["impl"] == numerator, metric].astype(float).to_numpy()
        b = cell.loc[cell["impl"] == denominator, metric].astype(float).to_numpy()
        ci = stats.ratio_ci(a, b)
        lo.append(ci.lo)
        hi.append(ci.hi)
        verdict.append(stats.verdict(ci, metric))
    out["ratio_lo"], out["ratio_hi"], out["verdict"] = lo, hi, verdict


# ----------------------------------------------------------------------------------------------------------
# One chart for any selection

_STYLE = {
    "zlab": {"label": "zlab", "color": "#1f6fb4", "marker": "o"},
    "pyzmq": {"label": "libzmq (pyzmq)", "color": "#d2452c", "marker": "s"},
    "raw": {"label": "plain Python floor", "color": "#6b6b6b", "marker": "^"},
}
_DASHES = ("-", "--", ":", "-.")


def _series_label(impl: str, extra: Sequence[tuple[str, Any]]) -> str:
    name = _STYLE.get(impl, {"label": impl})["label"]
    parts = [f"{v}" if a != "n_subscribers" else f"x{v}" for a, v in extra]
    return name + (f" · {' '.join(str(p) for p in parts)}" if parts else "")


def plot_selection(
    frame: pd.DataFrame,
    metric: str = "lat_p50_us",
    title: str | None = None,
    fig: Figure | None = None,
) -> Figure:
    """``metric`` (median over repeats, band min..max) against message size, a line per implementation and
    per value of every other axis that varies (transport, pattern...); zlab, libzmq and the plain floor in
    their usual colours. With one size only, the x axis is categorical. Draws into ``fig`` when given
    (cleared first), so a live view can redraw one figure."""
    if fig is None:
        fig = Figure(figsize=(8.5, 4.6), layout="constrained")
    else:
        fig.clear()
    ax = fig.add_subplot(1, 1, 1)
    rows = _ok(frame)
    rows = rows[rows[metric].notna()] if metric in rows.columns else rows.iloc[:0]
    label = METRICS.get(metric, metric)
    if rows.empty:
        ax.text(
            0.5, 0.5, "no measured rows in this selection", ha="center", va="center", transform=ax.transAxes
        )
        ax.set_axis_off()
        fig.suptitle(title or label, fontsize=11)
        return fig
    others = [a for a in _varying(rows, CELL_AXES) if a != "msg_size_bytes"]
    impls = [i for i in IMPL_ORDER if i in set(rows["impl"])] + sorted(set(rows["impl"]) - set(IMPL_ORDER))
    grouped = rows.groupby([*others, "impl", "msg_size_bytes"], dropna=False)[metric]
    med = pd.concat(
        [grouped.median().rename("med"), grouped.min().rename("lo"), grouped.max().rename("hi")], axis=1
    ).reset_index()
    rank = {impl: i for i, impl in enumerate(impls)}
    med = med.sort_values(
        ["impl", *others], key=lambda c: c.map(rank) if c.name == "impl" else c, kind="stable"
    )
    combos = med[others].drop_duplicates().itertuples(index=False, name=None) if others else [()]
    dash_of = {combo: _DASHES[i % len(_DASHES)] for i, combo in enumerate(combos)}
    series = med.groupby([*others, "impl"], dropna=False, sort=False) if others else med.groupby("impl")
    for key, d in series:
        key_t = key if isinstance(key, tuple) else (key,)
        impl = str(key_t[-1])
        combo = tuple(key_t[:-1])
        st = _STYLE.get(impl, {"label": impl, "color": None, "marker": "d"})
        d = d.sort_values("msg_size_bytes")
        x = d["msg_size_bytes"].to_numpy(float)
        extra = list(zip(others, combo, strict=True))
        ax.fill_between(x, d["lo"], d["hi"], color=st["color"], alpha=0.12, linewidth=0)
        ax.plot(
            x,
            d["med"],
            label=_series_label(impl, extra),
            color=st["color"],
            marker=st["marker"],
            linestyle=dash_of.get(combo, "-"),
            markersize=4,
        )
    sizes = sorted({int(s) for s in med["msg_size_bytes"]})
    if len(sizes) > 1:
        ax.set_xscale("log", base=2)
    ax.set_xticks(sizes)
    ax.set_xticklabels([format_size(s) for s in sizes], rotation=35, fontsize=8)
    ax.set_xlabel("message size (bytes)" + (", log scale" if len(sizes) > 1 else ""), fontsize=9)
    positive = bool((med["med"] > 0).all())
    if positive and med["med"].max() / max(med["med"].min(), 1e-12) > 20:
        ax.set_yscale("log")
    ax.set_ylabel(label + (" (log scale)" if ax.get_yscale() == "log" else ""), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="line: median\nband: min to max",
        title_fontsize=7,
    )
    n_runs = rows["run_id"].nunique()
    fig.suptitle(title or f"{label}: {len(rows)} rows from {n_runs} run(s)", fontsize=11)
    return fig


__all__ = [
    "AXES",
    "CELL_AXES",
    "METRICS",
    "Selection",
    "choices",
    "lower_is_better",
    "median_table",
    "plot_selection",
    "ratio_table",
    "run_index",
    "run_label",
    "select",
]
