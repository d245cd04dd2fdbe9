# zlab.bench.sweep -- the rate sweep of mode load and its headline: the max sustainable rate.
"""``--rate sweep``: from a low offered rate up past saturation, per implementation and transport.

Owns: the ladder of rates (a short flood probe of the same cell gives its raw capacity ``M``; the sweep
offers 1000 msg/s doubling up to ``M/8``, then steps of sqrt(2) up to ``2 M``), the stop rule (the first point whose achieved rate fell
below 90 % of the offered one, whose sender could not hold the rate, that dropped messages, or whose corrected p99 passed the
ceiling: that point is kept and marks saturation), and :func:`max_sustainable_rate`, the headline: the
highest offered rate that held (``load_status`` ok) with corrected p99 <= X µs.
"""

from __future__ import annotations

import math

import pandas as pd

#: The ladder: from START_RATE doubling up to PROBE_LOW x M, then x sqrt(2) up to PROBE_HIGH x M (M: the flood
#: probe's rate; a paced sender, one send call per message, saturates well below a batching flood).
START_RATE, PROBE_LOW, PROBE_HIGH, STEP = 1000.0, 1 / 8, 2.0, math.sqrt(2)
#: Default ceiling of the corrected p99 (µs) that stops a sweep.
DEFAULT_CEILING_US = 100_000.0


def ladder(probe_rate: float) -> list[float]:
    """Offered rates for a cell whose flood probe delivered ``probe_rate`` msg/s (rounded to 2 digits)."""
    rates: list[float] = []
    rate = min(START_RATE, probe_rate * PROBE_LOW)
    top = probe_rate * PROBE_HIGH
    while rate <= top * 1.0001:
        rounded = float(f"{rate:.2g}")
        if rounded not in rates:
            rates.append(rounded)
        rate *= 2 if rate * 2 <= probe_rate * PROBE_LOW else STEP
    return rates


def stop_reason(row: dict[str, object], ceiling_us: float = DEFAULT_CEILING_US) -> str | None:
    """Why a sweep stops after this row (None: go on to the next rate)."""
    if row.get("status") != "ok":
        return f"cell {row.get('status')}"
    status = row.get("load_status")
    if status in ("sender_behind", "saturated", "lossy"):
        return str(status)
    p99 = row.get("lat_p99_us")
    if isinstance(p99, float) and p99 > ceiling_us:
        return f"p99 {p99:.0f} us > ceiling {ceiling_us:.0f} us"
    return None


def max_sustainable_rate(
    frame: pd.DataFrame, p99_us: float = 1000.0, by: list[str] | None = None
) -> pd.DataFrame:
    """Per cell (``by``, default impl, transport, pattern, size, subscribers, arrival): the highest offered
    rate that held (``load_status`` ok in every repeat: nothing dropped) with corrected p99 <= ``p99_us`` in the
    median over repeats, with its p50/p99 (µs) and the number of rates tried."""
    keys = by or ["impl", "transport", "pattern", "msg_size_bytes", "n_subscribers", "arrival"]
    load = frame[(frame["mode"] == "load") & (frame["status"] == "ok")]
    out = []
    for key, cell in load.groupby(keys, dropna=False, sort=False):
        med = cell.groupby("offered_rate_per_s").agg(
            lat_p50_us=("lat_p50_us", "median"),
            lat_p99_us=("lat_p99_us", "median"),
            held=("load_status", lambda s: bool((s == "ok").all())),
        )
        good = med[med["held"] & (med["lat_p99_us"] <= p99_us)]
        top = good.sort_index().iloc[-1] if len(good) else None
        entry: dict[str, object] = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))  # type: ignore[redundant-expr]  # stubs: always a tuple; one key gives a scalar at run time
        entry.update(
            max_rate_per_s=float(good.index.max()) if top is not None else math.nan,
            lat_p50_us=float(top["lat_p50_us"]) if top is not None else math.nan,
            lat_p99_us=float(top["lat_p99_us"]) if top is not None else math.nan,
            p99_limit_us=p99_us,
            n_rates=len(med),
        )
        out.append(entry)
    return pd.DataFrame(out)


def format_load(frame: pd.DataFrame, p99_us: float = 1000.0) -> str:
    """The load rows as a table (offered vs achieved rate, status, corrected and uncorrected latency)
    and the headline: the max sustainable rate at corrected p99 <= ``p99_us`` per cell."""
    load = frame[(frame["mode"] == "load") & (frame["status"] == "ok")]
    if load.empty:
        return "load: no measured cell"
    cols = {
        "impl": "impl",
        "transport": "transport",
        "pattern": "pattern",
        "msg_size_bytes": "size",
        "offered_rate_per_s": "offered/s",
        "msgs_per_s": "achieved/s",
        "load_status": "status",
        "lat_p50_us": "p50 us",
        "lat_p99_us": "p99 us",
        "lat_p999_us": "p99.9 us",
        "uncorrected_p99_us": "uncorr p99 us",
        "sender_lag_p99_us": "lag p99 us",
    }
    table = load[list(cols)].rename(columns=cols).round(1)
    head = max_sustainable_rate(frame, p99_us)
    lines = ["latency under load (lat = from the intended send time; uncorr = from the actual send):"]
    lines.append(table.to_string(index=False))
    lines.append(f"\nmax sustainable rate at p99 <= {p99_us:g} us:")
    for _, r in head.iterrows():
        rate = "none held" if math.isnan(r["max_rate_per_s"]) else f"{r['max_rate_per_s']:,.0f} msg/s"
        lines.append(f"  {r['impl']} {r['transport']} {r['pattern']} {r['msg_size_bytes']}B: {rate}")
    return "\n".join(lines)
