# zlab.bench.summary -- the headline numbers of a result frame.
"""Summaries for terminals, notebooks and charts.

Owns: :func:`headline` (median over repeats of the metrics that matter per mode, one column per
implementation; the API, sync or asyncio, and the security mechanism, null, plain or curve, are part of
the cell, so zlab over CURVE is compared with pyzmq over CURVE only), :func:`ratios` (one implementation
over another, per cell, with a bootstrap interval over the repeats and a verdict), :func:`noise_floor`
(the A/A ratios of a run made with ``variants=2``: how large a difference noise alone produced) and
:func:`format_summary` / :func:`format_noise_floor` (the tables ``zlab bench`` and the experiment
scripts print).
"""

from __future__ import annotations

import math
from typing import Any, cast

import pandas as pd

from zlab.bench.stats import CONFIDENCE, ratio_ci, verdict

CELL_KEYS = ["transport", "pattern", "mode", "msg_size_bytes", "n_subscribers", "api", "mechanism"]
#: The metrics shown per mode, in order.
HEADLINE_METRICS = {"latency": ["lat_p50_us", "lat_p99_us"], "throughput": ["msgs_per_s", "mb_per_s"]}


def ok_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The ok rows, with rows made by hand without an api or mechanism read as blocking ones over NULL."""
    ok = frame[frame["status"] == "ok"]
    return ok.assign(api=ok["api"].fillna("sync"), mechanism=ok["mechanism"].fillna("null"))


def headline(frame: pd.DataFrame) -> pd.DataFrame:
    """Median over repeats of the ok rows: index cell keys + metric, one column per implementation."""
    ok = ok_rows(frame)
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


RATIO_COLUMNS = [*CELL_KEYS, "metric", "ratio", "ratio_lo", "ratio_hi", "verdict", "n_num", "n_den"]


def ratios(
    frame: pd.DataFrame,
    numerator: str = "zlab",
    denominator: str = "pyzmq",
    metrics: list[str] | None = None,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """``numerator / denominator`` of median metrics per cell, tidy: cell keys, metric, ratio, interval, verdict.

    ``ratio`` is the ratio of the medians over repeats; ``ratio_lo`` / ``ratio_hi`` its bootstrap interval
    at ``confidence`` (over the repeats of each side, :func:`zlab.bench.stats.ratio_ci`; NaN with fewer
    than two repeats); ``verdict`` is ``faster`` / ``slower`` / ``same`` for the numerator (``same``: the
    interval includes 1). For latency a ratio above 1 means the numerator is slower; for throughput,
    faster. ``n_num`` / ``n_den``: repeats on each side.
    """
    ok = ok_rows(frame)
    out: list[dict[str, Any]] = []
    for mode, mode_metrics in HEADLINE_METRICS.items():
        sub = ok[ok["mode"] == mode]
        if sub.empty:
            continue
        for key, cell in sub.groupby(CELL_KEYS, sort=False, dropna=False):
            num, den = cell[cell["impl"] == numerator], cell[cell["impl"] == denominator]
            if num.empty or den.empty:
                continue
            for metric in mode_metrics:
                if metrics is not None and metric not in metrics:
                    continue
                ci = ratio_ci(num[metric], den[metric], confidence=confidence)
                if math.isnan(ci.ratio):
                    continue
                out.append(_ratio_row(CELL_KEYS, key, metric, ci))
    return pd.DataFrame(out, columns=RATIO_COLUMNS)


def _ratio_row(keys: list[str], key: Any, metric: str, ci: Any) -> dict[str, Any]:
    """One row of :data:`RATIO_COLUMNS`: the cell, the metric, the ratio with its interval and verdict."""
    return {
        **dict(zip(keys, key, strict=True)),
        "metric": metric,
        "ratio": ci.ratio,
        "ratio_lo": ci.lo,
        "ratio_hi": ci.hi,
        "verdict": verdict(ci, metric),
        "n_num": ci.n_a,
        "n_den": ci.n_b,
    }


NOISE_KEYS = ["experiment", "impl", *CELL_KEYS]
#: The A/A metrics: MB/s is messages/s times a constant, so it is left out.
NOISE_METRICS = {"latency": ["lat_p50_us", "lat_p99_us"], "throughput": ["msgs_per_s"]}


def noise_floor(frame: pd.DataFrame, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """The A/A ratios of the rows measured as variants (``run(..., variants=2)``): per cell and metric,
    variant ``b`` over variant ``a`` of the same implementation in the same run, with interval and
    verdict, as :func:`ratios` gives them. Noise alone made these differences; empty without variants.
    """
    ok = ok_rows(frame)
    ok = ok[ok["variant"].notna()] if "variant" in ok.columns else ok.iloc[:0]
    out: list[dict[str, Any]] = []
    for mode, mode_metrics in NOISE_METRICS.items():
        sub = ok[ok["mode"] == mode]
        for key, cell in sub.groupby(NOISE_KEYS, sort=False, dropna=False):
            a, b = cell[cell["variant"] == "a"], cell[cell["variant"] == "b"]
            if a.empty or b.empty:
                continue
            for metric in mode_metrics:
                ci = ratio_ci(b[metric], a[metric], confidence=confidence)
                if math.isnan(ci.ratio):
                    continue
                out.append(_ratio_row(NOISE_KEYS, key, metric, ci))
    return pd.DataFrame(out, columns=[*NOISE_KEYS, *RATIO_COLUMNS[len(CELL_KEYS) :]])


def noise_summary(floor: pd.DataFrame) -> dict[str, Any]:
    """The noise floor in a few numbers: cells, the largest A/A difference ``max_abs_diff`` (0.04 = 4 %),
    the median interval half-width ``median_half_width``, and how many A/A cells were (wrongly) called
    different (``n_different``; about 5 % of them at 95 % confidence is what chance alone gives)."""
    if floor.empty:
        return {"cells": 0, "max_abs_diff": math.nan, "median_half_width": math.nan, "n_different": 0}
    diff = (floor["ratio"] - 1.0).abs()
    half = (
        pd.concat([floor["ratio"] - floor["ratio_lo"], floor["ratio_hi"] - floor["ratio"]], axis=1).max(
            axis=1
        )
        / floor["ratio"]
    )
    return {
        "cells": len(floor),
        "max_abs_diff": float(diff.max()),
        "median_half_width": float(half.median()),
        "n_different": int((floor["verdict"] != "same").sum()),
    }


def format_noise_floor(frame: pd.DataFrame) -> str:
    """One paragraph: the A/A differences of ``frame`` (or a line saying the run has none)."""
    floor = noise_floor(frame)
    if floor.empty:
        return (
            "noise floor: no A/A cells in these rows (run with variants=2, e.g. experiments/noise_floor.py)"
        )
    s = noise_summary(floor)
    width = (
        "no intervals (fewer than 2 repeats)"
        if math.isnan(s["median_half_width"])
        else f"median 95% interval ±{100 * s['median_half_width']:.1f}%"
    )
    lines = [
        f"noise floor (A/A, the same implementation against itself in the same run, {s['cells']} cell metrics): "
        f"largest difference {100 * s['max_abs_diff']:.1f}%, {width}, {s['n_different']} called different"
    ]
    for _, r in floor.iterrows():
        lines.append(
            f"  {r['impl']:6} {r['transport']:6} {r['pattern']:8} {_size(int(r['msg_size_bytes'])):>7} "
            f"{_UNITS.get(r['metric'], r['metric']):7} b/a {_ratio_text(r)}"
        )
    return "\n".join(lines)


def _size(n: int) -> str:
    from zlab.bench.matrix import format_size

    return format_size(n)


def _ratio_text(r: Any) -> str:
    """``0.96 [0.91, 1.02] same`` from a row of :func:`ratios` (three digits when two would show an end
    of the interval as 1.00 while it excludes 1)."""
    if math.isnan(r["ratio_lo"]):
        return f"{r['ratio']:.2f} [n/a] {r['verdict']}"
    d = 3 if r["verdict"] != "same" and "1.00" in (f"{r['ratio_lo']:.2f}", f"{r['ratio_hi']:.2f}") else 2
    return f"{r['ratio']:.{d}f} [{r['ratio_lo']:.{d}f}, {r['ratio_hi']:.{d}f}] {r['verdict']}"


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
    rats = ratios(frame) if with_ratio else pd.DataFrame(columns=RATIO_COLUMNS)
    by_key = {tuple(r[[*CELL_KEYS, "metric"]]): r for _, r in rats.iterrows()}
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
            r = by_key.get(tuple(key))  # type: ignore[arg-type]
            row.append("-" if r is None else _ratio_text(r))
        rows.append(row)
    header = ["transport", "pattern", "size", "metric", *impls] + (
        ["zlab/pyzmq [95% interval] verdict"] if with_ratio else []
    )
    if show_mech:
        header.insert(0, "mechanism")
    if show_api:
        header.insert(0, "api")
    table = pd.DataFrame(rows, columns=header)
    text = table.to_string(index=False)
    if with_ratio:
        text += (
            "\n(zlab/pyzmq: latency above 1 = zlab slower; throughput above 1 = zlab faster; bootstrap interval"
            " over repeats; 'same' = the interval includes 1, no difference beyond the noise)"
        )
    return text
