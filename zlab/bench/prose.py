# zlab.bench.prose -- sentences for notebooks, written from the frame they describe.
"""Figures in prose, computed: the notebooks' text is rendered from the loaded results (``Markdown``), so
re-measuring never leaves a sentence that the data contradicts.

Owns: number formatting for prose (:func:`span`, :func:`times`), the facts of a set of runs (:func:`run_facts`:
machine, repeats, placement, other programs' CPU use), verdict counts (:func:`verdicts`), the range of
zlab/libzmq ratios over a band of sizes with their verdicts (:func:`ratio_band`) and the noise floor
sentence (:func:`noise_sentence`). Every function takes frames and returns text; nothing here measures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from zlab.bench.matrix import format_size


def span(values: Iterable[float | None], fmt: str = "{:.2f}", unit: str = "") -> str:
    """``"1.70-1.94"`` (or one value when all agree, ``"-"`` when there are none), with ``unit``."""
    vals = sorted(float(v) for v in values if v is not None and not math.isnan(float(v)))
    if not vals:
        return "-"
    lo, hi = fmt.format(vals[0]), fmt.format(vals[-1])
    return f"{lo}{unit}" if lo == hi else f"{lo}-{hi}{unit}"


def times(values: Iterable[float]) -> str:
    """A range of ratios: ``"0.75-1.50x"``."""
    return span(values, "{:.2f}", "x")


def rate(value: float) -> str:
    """Messages/s for prose: ``"0.78 M/s"``, ``"7.8 k/s"``."""
    return f"{value / 1e6:.2f} M/s" if value >= 1e5 else f"{value / 1e3:.1f} k/s"


def size_band(sizes: Iterable[int]) -> str:
    """``"8B to 8KiB"`` for a set of sizes."""
    s = sorted(int(x) for x in sizes)
    if not s:
        return "-"
    return format_size(s[0]) if s[0] == s[-1] else f"{format_size(s[0])} to {format_size(s[-1])}"


def verdicts(ratios: pd.DataFrame, who: str = "zlab") -> str:
    """``"3 zlab faster, 1 slower, 6 within the noise"`` from a frame of :func:`zlab.bench.ratios` rows."""
    counts = ratios["verdict"].value_counts() if len(ratios) else pd.Series(dtype=int)
    return (
        f"{int(counts.get('faster', 0))} {who} faster, {int(counts.get('slower', 0))} slower, "
        f"{int(counts.get('same', 0))} within the noise"
    )


def ratio_band(ratios: pd.DataFrame, transport: str, lo: int = 0, hi: int = 1 << 62) -> str:
    """zlab/libzmq over the sizes ``lo..hi`` of one transport: ``"0.79-1.50x (1 zlab faster, ...)"``."""
    r = ratios[(ratios["transport"] == transport) & ratios["msg_size_bytes"].between(lo, hi)]
    if r.empty:
        return "not measured"
    return f"{times(r['ratio'])} over {size_band(r['msg_size_bytes'])} ({verdicts(r)})"


def run_facts(frame: pd.DataFrame, meta: dict[str, dict[str, Any]]) -> str:
    """``"2-core AMD EPYC ..., 3 repeats of 1 s per cell, peers pinned to one CPU, other programs used a median
    0% of the CPUs (max 28%)"`` for the runs in ``frame``."""
    runs = [str(r) for r in pd.unique(frame["run_id"].dropna())]
    m = next((meta[r] for r in runs if r in meta), {})
    machine = f"{m.get('cpu_count', '?')}-core {m.get('cpu_model', 'machine')}"
    repeats = frame["repeat"].dropna()
    n_rep = int(repeats.max()) + 1 if len(repeats) else 0
    durations = ", ".join(f"{d:g} s" for d in sorted(pd.unique(frame["target_duration_s"].dropna())))
    placement = ", ".join(str(p) for p in pd.unique(frame["placement"].dropna()))
    where = {
        "one": "all peers pinned to one CPU",
        "split": "a CPU per peer",
        "none": "peers left to the scheduler",
    }
    busy = frame.loc[frame["status"] == "ok", "foreign_cpu_pct"].dropna()
    noise = (
        f", other programs used a median {busy.median():.1f}% of the CPUs (max {busy.max():.0f}%)"
        if len(busy)
        else ""
    )
    dirty = (
        " — measured from uncommitted code (+dirty)"
        if any(meta.get(r, {}).get("git_dirty") for r in runs)
        else ""
    )
    return (
        f"{machine}, {n_rep} repeat{'s' if n_rep != 1 else ''} of {durations or '?'} per cell, "
        f"{where.get(placement, placement)}{noise}{dirty}"
    )


def noise_sentence(floor: pd.DataFrame) -> str:
    """The noise floor in one sentence, from :func:`zlab.bench.summary.noise_floor`'s frame."""
    from zlab.bench.summary import noise_summary

    if floor.empty:
        return (
            "These results hold no A/A measurement (the noise floor, `experiments/noise_floor.py`, part of "
            "`make experiment` since it was added): judge the ratios by their intervals alone."
        )
    s = noise_summary(floor)
    width = (
        "no intervals (a single repeat)"
        if math.isnan(s["median_half_width"])
        else f"their 95% intervals were ±{100 * s['median_half_width']:.0f}% wide (median)"
    )
    return (
        f"Measured against itself in the same run (A/A, {s['cells']} cell metrics), an implementation differed "
        f"from itself by up to {100 * s['max_abs_diff']:.0f}%; {width}, and {s['n_different']} of them "
        f"were called different. A zlab/libzmq ratio closer to 1 than that is not a result."
    )
