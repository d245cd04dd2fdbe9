# zlab.bench.history -- one metric of one cell across the commits present in a results folder.
"""History across commits, asv-style: which commit measured what, with intervals.

Owns: :func:`history` (per commit, in the order the commits were first measured: the median of a metric
over every repeat measured at that commit, per implementation, with a bootstrap interval; and the ratio
of two implementations at that commit with its interval and verdict) and :func:`plot_history` (the chart
``zlab history`` and ``notebooks/06_history.ipynb`` draw). The commit of a run comes from its metadata
(``git_commit``, ``git_dirty``); runs from uncommitted code are kept apart as ``<commit>+dirty``.

The ratio panel is the one to read on a shared machine: both implementations were measured in the same
run, interleaved, so a slower machine moves both medians and leaves the ratio.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from zlab.bench.stats import CONFIDENCE, quantile_ci, ratio_ci, verdict
from zlab.bench.summary import ok_rows

HISTORY_COLUMNS = ["commit", "first_measured", "runs", "impl", "n", "median", "lo", "hi"]
RATIO_HISTORY_COLUMNS = ["commit", "first_measured", "ratio", "ratio_lo", "ratio_hi", "verdict"]


def select_cell(
    frame: pd.DataFrame,
    *,
    metric: str = "lat_p50_us",
    transport: str = "tcp",
    pattern: str | None = None,
    size: int = 64,
    experiment: str | None = None,
    n_subscribers: int = 1,
) -> pd.DataFrame:
    """The ok rows of one cell (blocking API, NULL mechanism, not quick): the mode follows ``metric``
    (``lat_*``: latency; else throughput), the pattern defaults to reqrep / pushpull."""
    mode = "latency" if metric.startswith("lat_") else "throughput"
    pattern = pattern or ("reqrep" if mode == "latency" else "pushpull")
    ok = ok_rows(frame)
    keep = (
        (ok["mode"] == mode)
        & (ok["pattern"] == pattern)
        & (ok["transport"] == transport)
        & (ok["msg_size_bytes"] == size)
        & (ok["api"] == "sync")
        & (ok["mechanism"] == "null")
        & ~ok["quick"].fillna(False).astype(bool)
    )
    if pattern == "pubsub":
        keep &= ok["n_subscribers"] == n_subscribers
    if experiment is not None:
        keep &= ok["experiment"] == experiment
    return ok[keep]


def _commit_of(meta: dict[str, dict[str, Any]], run_id: str) -> str:
    m = meta.get(run_id, {})
    commit = str(m.get("git_commit") or "unknown")[:8]
    return commit + ("+dirty" if m.get("git_dirty") else "")


def history(
    rows: pd.DataFrame,
    meta: dict[str, dict[str, Any]],
    metric: str = "lat_p50_us",
    *,
    numerator: str = "zlab",
    denominator: str = "pyzmq",
    confidence: float = CONFIDENCE,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(per_impl, ratio)`` for the rows of one cell (see :func:`select_cell`), one entry per commit.

    ``per_impl``: commit, when it was first measured, runs, impl, repeats ``n``, the median of ``metric``
    and its interval. ``ratio``: ``numerator / denominator`` at each commit where both were measured,
    its interval and verdict (for the numerator).
    """
    if rows.empty:
        return pd.DataFrame(columns=HISTORY_COLUMNS), pd.DataFrame(columns=RATIO_HISTORY_COLUMNS)
    rows = rows.assign(
        commit=[_commit_of(meta, str(r)) for r in rows["run_id"]],
        when=pd.to_datetime(rows["started_at"], utc=True),
    )
    order = rows.groupby("commit")["when"].min().sort_values()
    per_impl, ratio = [], []
    for commit, first in order.items():
        at = rows[rows["commit"] == commit]
        for impl, g in at.groupby("impl", sort=False):
            value, lo, hi = quantile_ci(g[metric].astype(float), confidence=confidence)
            per_impl.append(
                {
                    "commit": commit,
                    "first_measured": first,
                    "runs": at["run_id"].nunique(),
                    "impl": impl,
                    "n": int(g[metric].notna().sum()),
                    "median": value,
                    "lo": lo,
                    "hi": hi,
                }
            )
        num, den = at[at["impl"] == numerator][metric], at[at["impl"] == denominator][metric]
        if len(num) and len(den):
            ci = ratio_ci(num.astype(float), den.astype(float), confidence=confidence)
            ratio.append(
                {
                    "commit": commit,
                    "first_measured": first,
                    "ratio": ci.ratio,
                    "ratio_lo": ci.lo,
                    "ratio_hi": ci.hi,
                    "verdict": verdict(ci, metric),
                }
            )
    return pd.DataFrame(per_impl, columns=HISTORY_COLUMNS), pd.DataFrame(ratio, columns=RATIO_HISTORY_COLUMNS)


def _errors(values: pd.Series, lo: pd.Series, hi: pd.Series) -> np.ndarray[Any, Any]:
    low = (values - lo).to_numpy(float)
    high = (hi - values).to_numpy(float)
    return np.vstack([np.nan_to_num(np.maximum(low, 0)), np.nan_to_num(np.maximum(high, 0))])


def plot_history(
    per_impl: pd.DataFrame,
    ratio: pd.DataFrame,
    title: str,
    metric: str = "lat_p50_us",
    numerator: str = "zlab",
    denominator: str = "pyzmq",
) -> Figure | None:
    """Two panels over the commits: the metric per implementation (median, 95 % interval as error bars)
    and the ratio of two implementations (interval; hollow markers: within the noise). None without data."""
    from zlab.bench.plots import IMPL_STYLE, METRIC_LABELS, _style

    if per_impl.empty:
        return None
    commits = list(dict.fromkeys(per_impl.sort_values("first_measured")["commit"]))
    x_of = {c: i for i, c in enumerate(commits)}
    panels = 2 if len(ratio) else 1
    fig = Figure(figsize=(max(6.0, 1.1 * len(commits) + 3), 3.2 * panels + 0.8), layout="constrained")
    axes = fig.subplots(panels, 1, squeeze=False, sharex=True)[:, 0]
    ax = axes[0]
    impls = [i for i in IMPL_STYLE if i in set(per_impl["impl"])] + sorted(
        set(per_impl["impl"]) - set(IMPL_STYLE)
    )
    for k, impl in enumerate(impls):
        d = per_impl[per_impl["impl"] == impl]
        st = _style(impl)
        x = np.array([x_of[c] for c in d["commit"]], float) + (k - (len(impls) - 1) / 2) * 0.08
        ax.errorbar(
            x,
            d["median"],
            yerr=_errors(d["median"], d["lo"], d["hi"]),
            label=st["label"],
            color=st["color"],
            marker=st["marker"],
            linestyle="-",
            capsize=3,
            markersize=5,
        )
    ax.set_ylabel(METRIC_LABELS.get(metric, metric), fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    if len(ratio):
        ax = axes[1]
        x = np.array([x_of[c] for c in ratio["commit"]], float)
        ax.errorbar(
            x,
            ratio["ratio"],
            yerr=_errors(ratio["ratio"], ratio["ratio_lo"], ratio["ratio_hi"]),
            color="#333333",
            linestyle="-",
            marker="none",
            capsize=3,
        )
        same = (ratio["verdict"] == "same").to_numpy()
        ax.scatter(
            x[same],
            ratio["ratio"][same],
            facecolors="white",
            edgecolors="#333333",
            zorder=3,
            label="within the noise",
        )
        ax.scatter(x[~same], ratio["ratio"][~same], color="#333333", zorder=3, label="beyond the noise")
        ax.axhline(1.0, color="#999999", lw=0.8, linestyle="--")
        name = {"pyzmq": "libzmq"}.get(denominator, denominator)
        ax.set_ylabel(f"{numerator} / {name}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    axes[-1].set_xticks(range(len(commits)), commits, rotation=30, fontsize=8)
    axes[-1].set_xlabel("commit (in the order first measured)", fontsize=9)
    fig.suptitle(title, fontsize=11)
    fig.zlab_title = title  # type: ignore[attr-defined]
    return fig


def describe(ratio: pd.DataFrame, numerator: str = "zlab", denominator: str = "pyzmq") -> str:
    """One sentence on the newest ratio against the first, for notebooks and the CLI."""
    if ratio.empty:
        return f"no commit measured both {numerator} and {denominator} on this cell"
    first, last = ratio.iloc[0], ratio.iloc[-1]
    span = f"{len(ratio)} commit{'s' if len(ratio) != 1 else ''}"
    text = (
        f"{numerator}/{denominator} over {span}: {first['ratio']:.2f} at {first['commit']}, "
        f"{last['ratio']:.2f} at {last['commit']}"
    )
    if not math.isnan(last["ratio_lo"]):
        text += f" (95% interval {last['ratio_lo']:.2f} to {last['ratio_hi']:.2f}, {last['verdict']})"
    return text
