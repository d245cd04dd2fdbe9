# experiments/soak.py -- does zlab hold its memory, file descriptors and threads flat for hours?
"""Sockets of every type connect, exchange, disconnect and reconnect in a loop (tcp, ipc, inproc; NULL
and CURVE); a ROUTER sees short-lived DEALERs come and go; a fast PUB floods a slow SUB the whole time.
RSS, open fds, threads and statistics() counters are sampled at each idle point between rounds and
stored like any result (``OUT/soak/<run_id>.parquet`` + ``.json``), with a chart over time.

A leak is a failure (exit status 1): see ``zlab.bench.soak``.

    python experiments/soak.py [--duration 1h] [--out DIR] [--no-plot]
"""

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from zlab.bench import metadata
from zlab.bench.soak import SOAK_COLUMNS, SoakConfig, run_soak
from zlab.bench.tables import write_table


def parse_duration(text: str) -> float:
    """``90`` or ``90s`` -> 90.0, ``45m`` -> 2700.0, ``1h`` -> 3600.0."""
    text = text.strip().lower()
    factor = {"s": 1, "m": 60, "h": 3600}.get(text[-1:])
    value = float(text[:-1] if factor else text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"duration must be positive, not {text!r}")
    return value * (factor or 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duration", type=parse_duration, default=60.0, help="e.g. 60, 45m, 1h (default 60 s)"
    )
    parser.add_argument("--warmup", type=parse_duration, help="not judged (default 10%% of the duration)")
    parser.add_argument("--out", default="results", help="results folder (default results/)")
    parser.add_argument("--rss-bound-mb", type=float, default=12.0, help="allowed RSS growth after warm-up")
    parser.add_argument("--no-plot", action="store_true", help="measure only, draw no chart")
    parser.add_argument("--quiet", action="store_true", help="no line per round")
    args = parser.parse_args(argv)
    config = SoakConfig(
        duration_s=args.duration, warmup_s=args.warmup, rss_bound_bytes=int(args.rss_bound_mb * 2**20)
    )
    started = datetime.now(UTC)
    run_id = metadata.new_run_id(started)
    print(f"soak {run_id}: {config.duration_s:g} s -> {args.out}/soak/", flush=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zlab-soak-") as tmp:
        result = run_soak(
            config, tmp, log=None if args.quiet else lambda s: print(s, flush=True), run_id=run_id
        )
    meta = metadata.collect(
        run_id=run_id,
        experiment="soak",
        started_at=started.isoformat(timespec="seconds"),
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        actual_duration_s=round(time.monotonic() - t0, 1),
        config=vars(config),
        ok=result.ok,
        failures=result.failures,
    )
    folder = Path(args.out) / "soak"
    path = write_table(result.samples, SOAK_COLUMNS, folder, run_id, meta)
    print(f"  results: {path}")
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        from zlab.bench.fault_plots import plot_soak

        print(f"  chart: {plot_soak(path, folder / 'charts')}")
    first = next((s for s in result.samples if not s["warmup"]), result.samples[0])
    last = result.samples[-1]
    for label, s in (("after warm-up", first), ("end", last)):
        print(
            f"  {label:13s} t={s['t_s']:7.1f}s rss {s['rss_bytes'] / 2**20:.1f} MiB, fds {s['fds']}, "
            f"threads {s['threads']}"
        )
    t = result.tally
    print(
        f"  {len(result.samples)} rounds, {t.exchanges} socket pairs, {t.connects} connects, {t.msgs} messages, "
        f"{t.router_peers} ROUTER peers came and went"
    )
    if result.failures:
        for failure in result.failures:
            print(f"  LEAK/FAILURE: {failure}")
        return 1
    print("  no leak: RSS, fds, threads and counters held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
