# zlab.bench.compare -- run against run: which cells got faster, slower, or stayed within the noise.
"""Compare two sets of results cell by cell (``zlab compare A B``).

Owns: reading a side (:func:`load_side`: a result file, a folder of runs, or the ``results/`` committed
at a git commit, read with ``git ls-tree`` / ``git show`` without touching the work tree), the
comparison (:func:`compare`: per cell and metric both medians, ``B / A`` with a bootstrap interval over
the repeats, a verdict, sorted by effect; cells present on one side only kept apart), the regression
rule behind ``--threshold`` (:func:`regressions`) and the text (:func:`format_compare`).

A cell is the experiment, the implementation and the cell keys of :data:`zlab.bench.summary.CELL_KEYS`
(A/A variants of a cell are pooled). From a folder or a commit, the newest full run of each experiment
is compared (:func:`zlab.bench.plots.select_runs`), as the charts draw it. Intervals are at 99 % by
default: a comparison makes many intervals at once, and one in twenty of them would miss at 95 %.
"""

from __future__ import annotations

import math
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zlab.bench.stats import higher_is_better, ratio_ci, verdict
from zlab.bench.summary import _UNITS, CELL_KEYS, _size, ok_rows

#: The confidence of ``zlab compare``'s intervals.
COMPARE_CONFIDENCE = 0.99
KEYS = ["experiment", "impl", *CELL_KEYS]
#: What is compared per mode by default.
DEFAULT_METRICS = {"latency": ["lat_p50_us", "lat_p99_us"], "throughput": ["msgs_per_s"]}


@dataclass
class Side:
    """One side of a comparison: its rows (ok and not), run metadata and a label for the output."""

    frame: pd.DataFrame
    meta: dict[str, dict[str, Any]]
    label: str


@dataclass
class Comparison:
    """The result of :func:`compare`: one row per cell and metric present on both sides, and the rest."""

    table: pd.DataFrame
    only_a: pd.DataFrame
    only_b: pd.DataFrame
    confidence: float
    labels: tuple[str, str] = ("A", "B")
    notes: list[str] = field(default_factory=list)


def _git(repo: Path, *args: str) -> bytes:
    try:
        out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=60, check=True)
    except subprocess.CalledProcessError as exc:
        raise ValueError(exc.stderr.decode(errors="replace").strip() or f"git {args[0]} failed") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise ValueError(f"git unavailable: {exc}") from None
    return out.stdout


def _commit_results(spec: str, repo: Path, results_dir: str) -> tuple[Path, str]:
    """Copy the result files committed at ``spec`` (under ``results_dir``) to a temp folder."""
    commit = _git(repo, "rev-parse", "--verify", "--quiet", f"{spec}^{{commit}}").decode().strip()
    names = _git(repo, "ls-tree", "-r", "--name-only", commit, "--", results_dir).decode().splitlines()
    wanted = [n for n in names if n.endswith((".parquet", ".json")) and "/charts/" not in n]
    if not any(n.endswith(".parquet") for n in wanted):
        raise ValueError(f"commit {spec} ({commit[:8]}) has no result files under {results_dir}/")
    tmp = Path(tempfile.mkdtemp(prefix=f"zlab-compare-{commit[:8]}-"))
    for name in wanted:
        target = tmp / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_git(repo, "show", f"{commit}:{name}"))
    return tmp / results_dir, commit


def load_side(
    spec: str | os.PathLike[str],
    *,
    repo: str | os.PathLike[str] | None = None,
    results_dir: str = "results",
    all_runs: bool = False,
) -> Side:
    """Rows of one side: a result file, a folder of runs, or a git commit (any name git knows: a hash,
    ``HEAD~3``, a branch) whose committed ``results_dir`` is read from ``repo`` (default: the git checkout
    around the current directory). Raises ValueError when ``spec`` is none of these."""
    from zlab.bench.plots import select_runs
    from zlab.bench.results import load, load_meta

    path = Path(spec)
    if path.exists():
        where, label = path, str(spec)
    else:
        base = Path(repo) if repo is not None else Path.cwd()
        try:
            top = Path(_git(base, "rev-parse", "--show-toplevel").decode().strip())
            where, commit = _commit_results(str(spec), top, results_dir)
        except ValueError as exc:
            raise ValueError(
                f"{spec}: not a result file, a folder, or a git commit with results ({exc})"
            ) from None
        label = f"{spec} ({commit[:8]})" if not commit.startswith(str(spec)) else commit[:8]
    frame = load(where)
    if frame.empty:
        raise ValueError(f"{spec}: no result rows")
    return Side(select_runs(frame, all_runs=all_runs), load_meta(where), label)


def compare(
    a: pd.DataFrame | Side,
    b: pd.DataFrame | Side,
    *,
    metrics: list[str] | None = None,
    confidence: float = COMPARE_CONFIDENCE,
    seed: int = 0,
) -> Comparison:
    """Cell by cell, ``B / A`` of the medians over repeats, with a bootstrap interval and a verdict for B.

    ``metrics`` (default: p50 and p99 latency for latency cells, messages/s for throughput cells) may
    name any metric column with a known direction. The table is sorted by effect (largest ``|log ratio|``
    first); ``change`` is B's change in the metric's good direction: ``-0.2`` = 20 % worse.
    """
    sa, sb = (x if isinstance(x, Side) else Side(x, {}, name) for x, name in ((a, "A"), (b, "B")))
    oa, ob = ok_rows(sa.frame), ok_rows(sb.frame)
    for f in (oa, ob):
        f["experiment"] = f["experiment"].astype(object).where(f["experiment"].notna(), "-")
    ga = {k: g for k, g in oa.groupby(KEYS, sort=False, dropna=False)}
    gb = {k: g for k, g in ob.groupby(KEYS, sort=False, dropna=False)}
    rows: list[dict[str, Any]] = []
    seq = 0
    for key in (k for k in ga if k in gb):
        mode = dict(zip(KEYS, key, strict=True))["mode"]
        for metric in metrics or DEFAULT_METRICS.get(str(mode), []):
            if metric not in ga[key] or (metric.startswith("lat_") != (mode == "latency")):
                continue
            xa, xb = ga[key][metric].astype(float), gb[key][metric].astype(float)
            ci = ratio_ci(xb, xa, confidence=confidence, seed=seed + seq)
            seq += 1
            if math.isnan(ci.ratio):
                continue
            up = higher_is_better(metric)
            rows.append(
                {
                    **dict(zip(KEYS, key, strict=True)),
                    "metric": metric,
                    "median_a": float(np.nanmedian(xa)),
                    "median_b": float(np.nanmedian(xb)),
                    "ratio": ci.ratio,
                    "ratio_lo": ci.lo,
                    "ratio_hi": ci.hi,
                    "verdict": verdict(ci, metric),
                    "change": (ci.ratio - 1.0) if up else (1.0 - ci.ratio),
                    "n_a": ci.n_b,
                    "n_b": ci.n_a,
                }
            )
    table = pd.DataFrame(rows)
    if len(table):
        order = np.argsort(-np.abs(np.log(table["ratio"].to_numpy(float))), kind="stable")
        table = table.iloc[order].reset_index(drop=True)
    cells = [*KEYS]
    only_a = pd.DataFrame([dict(zip(cells, k, strict=True)) for k in ga if k not in gb], columns=cells)
    only_b = pd.DataFrame([dict(zip(cells, k, strict=True)) for k in gb if k not in ga], columns=cells)
    return Comparison(table, only_a, only_b, confidence, (sa.label, sb.label))


def regressions(comparison: Comparison, threshold: float) -> pd.DataFrame:
    """Rows called ``slower`` whose metric got worse by more than ``threshold`` (0.1 = 10 %: latency 10 %
    higher, throughput 10 % lower)."""
    t = comparison.table
    if t.empty:
        return t
    return t[(t["verdict"] == "slower") & (-t["change"] > threshold)]


def parse_threshold(text: str) -> float:
    """``10%`` or ``0.1`` -> 0.1. Raises ValueError for anything else or a negative value."""
    s = text.strip()
    try:
        value = float(s[:-1]) / 100 if s.endswith("%") else float(s)
    except ValueError:
        raise ValueError(f"threshold {text!r} is not a percentage (examples: 10%, 0.1)") from None
    if value < 0 or math.isnan(value):
        raise ValueError(f"threshold {text!r} must not be negative")
    return value


def _cell_name(r: Any) -> str:
    name = r["pattern"] if r["pattern"] != "pubsub" else f"pubsub x{r['n_subscribers']}"
    extra = "" if r["api"] == "sync" else f"/{r['api']}"
    extra += "" if r["mechanism"] == "null" else f"+{r['mechanism']}"
    return f"{r['impl']}{extra} {r['transport']} {name} {_size(int(r['msg_size_bytes']))}"


def _num(v: float, metric: str) -> str:
    if metric == "msgs_per_s":
        return f"{v / 1e6:.3f}M" if v >= 1e5 else f"{v / 1e3:.1f}k"
    return f"{v:.1f}"


def format_compare(comparison: Comparison, threshold: float | None = None, show_same: bool = True) -> str:
    """The table ``zlab compare`` prints: cells by effect, a summary line, one-sided cells listed."""
    t = comparison.table
    a, b = comparison.labels
    pct = round(100 * comparison.confidence)
    lines = [f"A = {a}", f"B = {b}"]
    flagged = set(regressions(comparison, threshold).index) if threshold is not None else set()
    if len(t):
        shown = t if show_same else t[t["verdict"] != "same"]
        out = pd.DataFrame(
            {
                "experiment": shown["experiment"],
                "cell": [_cell_name(r) for _, r in shown.iterrows()],
                "metric": [_UNITS.get(m, m) for m in shown["metric"]],
                "A": [_num(v, m) for v, m in zip(shown["median_a"], shown["metric"], strict=True)],
                "B": [_num(v, m) for v, m in zip(shown["median_b"], shown["metric"], strict=True)],
                f"B/A [{pct}% interval]": [
                    f"{r:.3f} [n/a]" if math.isnan(lo) else f"{r:.3f} [{lo:.3f}, {hi:.3f}]"
                    for r, lo, hi in zip(shown["ratio"], shown["ratio_lo"], shown["ratio_hi"], strict=True)
                ],
                "verdict": [
                    v + (" !" if i in flagged else "")
                    for i, v in zip(shown.index, shown["verdict"], strict=True)
                ],
            }
        )
        lines += ["", out.to_string(index=False) if len(out) else "(every cell within the noise)"]
    counts = t["verdict"].value_counts() if len(t) else pd.Series(dtype=int)
    unresolved = int(t["ratio_lo"].isna().sum()) if len(t) else 0
    geo = float(np.exp(np.log(t["ratio"]).mean())) if len(t) else math.nan
    summary = (
        f"\n{len(t)} cell metrics on both sides: {int(counts.get('slower', 0))} slower, "
        f"{int(counts.get('faster', 0))} faster, {int(counts.get('same', 0))} same "
        f"({pct}% bootstrap intervals over repeats); geometric mean B/A {geo:.3f}"
    )
    chance = (1 - comparison.confidence) * len(t)
    if len(t):
        summary += f"; by chance alone about {chance:.1f} unchanged cell metrics would be called different"
    if unresolved:
        summary += f"; {unresolved} without an interval (fewer than 2 repeats: never called different)"
    if threshold is not None:
        summary += f"; {len(flagged)} worse by more than {100 * threshold:g}% (!)"
    lines.append(summary)
    for side, only in (("A", comparison.only_a), ("B", comparison.only_b)):
        if len(only):
            lines.append(f"only in {side} ({len(only)} cells):")
            group = [
                "experiment",
                "impl",
                "api",
                "mechanism",
                "transport",
                "pattern",
                "n_subscribers",
                "mode",
            ]
            for _, cells in only.groupby(group, sort=False, dropna=False):
                first = cells.iloc[0]
                name = _cell_name(first).rsplit(" ", 1)[0]  # without the size
                sizes = ", ".join(_size(int(s)) for s in cells["msg_size_bytes"])
                lines.append(f"  {first['experiment']}: {name} {first['mode']}: {sizes}")
    return "\n".join(lines)
