# zlab.bench.summary -- the headline numbers of a result frame.
"""Summaries for terminals, notebooks and charts.

Owns: :func:`headline` (median over repeats of the metrics that matter per mode, one column per
implementation; the API, sync or asyncio, and the security mechanism, null, plain or curve, are part of
the cell, so zlab over CURVE is compared with pyzmq over CURVE only), :func:`ratios` (one implementation
over another, per cell), and
:func:`format_summary` (the table ``zlab bench`` prints).
"""

from __future__ import annotations

import math
from typing import Any, cast

import pandas as pd

CELL_KEYS = ["transport", "pattern", "mode", "msg_size_bytes", "n_subscribers", "api", "mechanism"]
#: The metrics shown per mode, in order.
HEADLINE_METRICS = {"latency": ["lat_p50_us", "lat_p99_us"], "throughput": ["msgs_per_s", "mb_per_s"]}


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """Median over repeats of the ok rows: index cell keys + metric, one column per implementation."""
    ok = frame[frame["status"] == "ok"]
    # rows made by hand without an api or mechanism are blocking ones over NULL
    ok = ok.assign(api=ok["api"].fillna("sync"), mechanism=ok["mechanism"].fillna("null"))
    parts = []
    for mode, metrics in HEADLINE_METRICS.items():
        sub = ok[ok["mode"] == mode]
        if sub.empty:
            continue
        med = sub.groupby([*CELL_KEYS, "impl"])[metrics].median()
        long = (
            med.stack()  # single-level columns: a Series (the stubs allow a DataFrame)
            .rename("value")  # type: ignore[call-overload]
            .reset_index()
            .rename(columns={f"level_{len(CELL_KEYS) + 1}": "metric"})
        )
        parts.append(long)
    if not parts:
        return pd.DataFrame()
    long = pd.concat(parts, ignore_index=True)
    wide = long.pivot_table(index=[*CELL_KEYS, "metric"], columns="impl", values="value", sort=False)
    wide.columns.name = None
    return wide


def ratios(
    frame: pd.DataFrame, numerator: str = "zlab", denominator: str = "pyzmq", metrics: list[str] | None = None
) -> pd.DataFrame:
    """``numerator / denominator`` of median metrics per cell, tidy: cell keys, metric, ratio.

    For latency a ratio above 1 means the numerator is slower; for throughput, faster.
    """
    wide = headline(frame)
    if wide.empty or numerator not in wide or denominator not in wide:
        return pd.DataFrame(columns=[*CELL_KEYS, "metric", "ratio"])
    ratio = (wide[numerator] / wide[denominator]).rename("ratio").dropna().reset_index()
    if metrics is not None:
        ratio = ratio[ratio["metric"].isin(metrics)]
    return ratio.reset_index(drop=True)


def _fmt(value: float | None, metric: str) -> str:
    if value is None or math.isnan(value):
        return "-"
    if metric == "msgs_per_s":
        return f"{value / 1e6:.3f}M" if value >= 1e5 else f"{value / 1e3:.1f}k"
    if metric == "mb_per_s":
        return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"
    return f"{value:.1f}"


_UNITS = {"lat_p50_us": "p50 us", "lat_p99_us": "p99 us", "msgs_per_s": "msg/s", "mb_per_s": "MB/s"}


def format_summary(frame: pd.DataFrame) -> str:
    """A compact table: medians per cell and implementation, with zlab/pyzmq when both are present."""
    from zlab.bench.matrix import format_size

    wide = headline(frame)
    if wide.empty:
        return "(no successful cells)"
    impls = [i for i in ("zlab", "pyzmq", "raw") if i in wide.columns]
    with_ratio = "zlab" in impls and "pyzmq" in impls
    show_api = set(wide.index.get_level_values("api")) != {"sync"}
    show_mech = set(wide.index.get_level_values("mechanism")) != {"null"}
    rows = []
    for key, values in wide.iterrows():
        transport, pattern, _mode, size, subs, api, mech, metric = cast("tuple[Any, ...]", key)
        name = pattern if pattern != "pubsub" else f"pubsub x{subs}"
        row = [transport, name, format_size(int(size)), _UNITS.get(metric, metric)]
        if show_mech:
            row.insert(0, mech)
        if show_api:
            row.insert(0, api)
        row += [_fmt(values[i], metric) for i in impls]
        if with_ratio:
            r = values["zlab"] / values["pyzmq"] if values["pyzmq"] else float("nan")
            row.append("-" if math.isnan(r) else f"{r:.2f}")
        rows.append(row)
    header = ["transport", "pattern", "size", "metric", *impls] + (["zlab/pyzmq"] if with_ratio else [])
    if show_mech:
        header.insert(0, "mechanism")
    if show_api:
        header.insert(0, "api")
    table = pd.DataFrame(rows, columns=header)
    text = table.to_string(index=False)
    if with_ratio:
        text += "\n(zlab/pyzmq: latency above 1 = zlab slower; throughput above 1 = zlab faster)"
    return text
