# zlab.cli -- the ``zlab`` command: bench, demo, plot.
"""Command line entry point (console script ``zlab = "zlab.cli:main"``).

Owns: argument parsing (argparse; a bad argument gets one line naming the valid choices) and the
commands: ``zlab bench`` (run a benchmark sweep, print a summary and where results went),
``zlab demo`` (a zlab REQ talking to a libzmq REP over tcp), ``zlab plot`` (charts from stored
results, provided by ``zlab.bench.plots.plot_all`` once it exists), ``zlab compare A B`` (run against run,
with intervals and an exit status for CI) and ``zlab history`` (a metric across the commits in results/). Heavy imports happen inside
the commands so ``zlab --help`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from zlab.bench.matrix import (
    ALL_MODES,
    APIS,
    IMPLS,
    MECHANISMS,
    MODES,
    PATTERNS,
    PLACEMENTS,
    TRANSPORTS,
    ChoiceError,
    parse_choices,
    parse_counts,
    parse_rates,
    parse_sizes,
)

NOISY_PCT = 15.0  # foreign CPU use above which a cell's figures are flagged (resolution ~5% at 1 s)
RUNNER_NOISY_PCT = 25.0  # = zlab.bench.runner.NOISY_PCT (not imported: the runner is heavy)
RUNNER_MAX_RERUNS = 2  # = zlab.bench.runner.MAX_RERUNS


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are a single line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _checked(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Wrap a matrix parser so its ChoiceError becomes argparse's one-line error."""

    def check(text: str) -> Any:
        try:
            return parse(text)
        except ChoiceError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return check


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


def _positive_int(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _threshold(text: str) -> float:
    from zlab.bench.compare import parse_threshold

    try:
        return parse_threshold(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.5 <= value < 1:
        raise argparse.ArgumentTypeError(f"confidence {text!r} must be in [0.5, 1), e.g. 0.95")
    return value


ALL_METRICS = (
    "lat_p50_us",
    "lat_p90_us",
    "lat_p99_us",
    "lat_p999_us",
    "lat_mean_us",
    "msgs_per_s",
    "mb_per_s",
)


def _pct_or_off(text: str) -> float | None:
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a percentage or 'off'") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 100")
    return value


def _non_negative_int(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a non-negative integer")
    return int(text)


def _lst(valid: Sequence[str]) -> str:
    return ",".join(valid)


def build_parser() -> argparse.ArgumentParser:
    """The ``zlab`` parser with its subcommands."""
    parser = _Parser(prog="zlab", description="zlab: a pure-Python ZeroMQ-style messaging lab.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    bench = sub.add_parser(
        "bench",
        help="measure latency and throughput across implementations, transports, patterns, sizes",
        description="Run a benchmark sweep; each cell's peers run in fresh processes. Results go to "
        "OUT/<run_id>.parquet (+ .json metadata); a summary table is printed at the end.",
    )
    bench.add_argument(
        "--impl",
        type=_checked(lambda t: parse_choices(t, IMPLS, "impl")),
        default=list(IMPLS),
        help=f"comma list of {_lst(IMPLS)} (default: all)",
    )
    bench.add_argument(
        "--transport",
        type=_checked(lambda t: parse_choices(t, TRANSPORTS, "transport")),
        default=list(TRANSPORTS),
        help=f"comma list of {_lst(TRANSPORTS)} (default: all)",
    )
    bench.add_argument(
        "--pattern",
        type=_checked(lambda t: parse_choices(t, PATTERNS, "pattern")),
        default=["reqrep", "pushpull", "pubsub"],
        help=f"comma list of {_lst(PATTERNS)} (default: reqrep,pushpull,pubsub)",
    )
    bench.add_argument(
        "--mode",
        type=_checked(lambda t: parse_choices(t, ALL_MODES, "mode")),
        default=list(MODES),
        help="comma list of latency (ping-pong), throughput (flood), load (open loop at --rate: "
        "pushpull, pubsub, dealer-router); each pattern runs the modes it has",
    )
    bench.add_argument(
        "--rate",
        type=_checked(parse_rates),
        help="mode load: offered msg/s, comma list (1k,10k,100k) or 'sweep' (a flood probe picks the range)",
    )
    bench.add_argument(
        "--arrival", choices=["uniform", "poisson"], default="uniform", help="mode load: arrival process"
    )
    bench.add_argument(
        "--pacing",
        choices=["hybrid", "spin", "sleep"],
        help="mode load: how the sender waits for its next send time (default hybrid)",
    )
    bench.add_argument(
        "--p99-max",
        type=_positive_float,
        default=1000.0,
        help="mode load: the headline is the max rate with corrected p99 <= this many us (default 1000)",
    )
    bench.add_argument(
        "--p99-ceiling",
        type=_positive_float,
        help="--rate sweep stops once corrected p99 passes this many us (default 100000)",
    )
    bench.add_argument(
        "--size",
        type=_checked(parse_sizes),
        default=[64, 65536],
        help="comma list of message sizes: 64,64K,1M; standard = 8 B to 1 MiB in powers of 4",
    )
    bench.add_argument(
        "--api",
        type=_checked(lambda t: parse_choices(t, APIS, "api")),
        default=["sync"],
        help="comma list of sync (blocking calls), asyncio (zlab.asyncio / zmq.asyncio) (default: sync)",
    )
    bench.add_argument(
        "--mechanism",
        type=_checked(lambda t: parse_choices(t, MECHANISMS, "mechanism")),
        default=["null"],
        help="comma list of null, plain (ZAP handler in the binding peer), curve: the security mechanism "
        "(tcp and ipc only) (default: null)",
    )
    bench.add_argument("--repeats", type=_positive_int, default=3, help="repeats of every cell (default 3)")
    bench.add_argument(
        "--subscribers",
        type=_checked(lambda t: parse_counts(t, "subscriber count")),
        default=[2],
        help="pubsub: comma list of subscriber counts (default 2)",
    )
    bench.add_argument(
        "--pin",
        choices=PLACEMENTS,
        default="none",
        help="CPU placement: one (all peers on one CPU, steadiest latency), split (a CPU per peer), none",
    )
    bench.add_argument(
        "--quick", action="store_true", help="short cells (CI, smoke runs); recorded in the rows"
    )
    bench.add_argument("--duration", type=_positive_float, help="seconds per cell (default 1, --quick 0.05)")
    bench.add_argument("--max-msgs", type=_positive_int, help="cap on messages per cell")
    bench.add_argument("--timeout", type=_positive_float, help="seconds before a cell's peers are killed")
    bench.add_argument("--host", default="127.0.0.1", help="tcp bind address: HOST or HOST:PORT")
    bench.add_argument("--out", default="results", help="results folder (default results/)")
    bench.add_argument("--no-save", action="store_true", help="write no files")
    bench.add_argument("--experiment", help="experiment name recorded in every row")
    bench.add_argument("--no-progress", action="store_true", help="no progress bar")
    bench.add_argument("--strict", action="store_true", help="exit with status 1 if any cell failed")
    bench.add_argument(
        "--variants",
        type=_positive_int,
        default=1,
        help="measure every cell N times per repeat as variants a, b...: 2 = an A/A run (the noise floor)",
    )
    bench.add_argument(
        "--noisy-pct",
        type=_pct_or_off,
        default=RUNNER_NOISY_PCT,
        help=f"re-measure a cell when other programs used more than this %% of the CPUs (default {RUNNER_NOISY_PCT:g}; off)",
    )
    bench.add_argument(
        "--max-reruns",
        type=_non_negative_int,
        default=RUNNER_MAX_RERUNS,
        help=f"re-measurements of a noisy cell at most (default {RUNNER_MAX_RERUNS}; 0 = never)",
    )
    bench.add_argument(
        "--cluster",
        metavar="tcp://SCHEDULER:8786",
        help="run each peer on the host of a Dask worker of this cluster (needs zlab[cluster]; tcp only)",
    )
    bench.add_argument(
        "--hosts",
        action="append",
        metavar="A,B",
        help="with --cluster: the binding peer on A, the others on B (worker names, addresses, IPs or "
        "hostnames); repeat (--hosts A,B --hosts B,A) to sweep who binds where (default: first two workers)",
    )
    bench.add_argument(
        "--bind-interface", metavar="IF", help="with --cluster: bind on this interface's address of the host"
    )
    bench.add_argument(
        "--fault",
        help="comma list of kill-receiver, kill-sender, restart-binder, pause-peer: run the fault axis "
        "(zlab and pyzmq, tcp/ipc, pushpull/pubsub/reqrep/dealer-router) instead of the sweep",
    )
    bench.set_defaults(handler=cmd_bench)

    demo = sub.add_parser("demo", help="a zlab REQ talking to a libzmq REP over tcp")
    demo.add_argument("--count", type=_positive_int, default=5, help="round trips (default 5)")
    demo.add_argument("--timeout", type=_positive_float, default=5.0, help="seconds to wait for each reply")
    demo.set_defaults(handler=cmd_demo)

    plot = sub.add_parser("plot", help="regenerate every chart from stored results (no measuring)")
    plot.add_argument(
        "results", nargs="?", default="results", help="results file or folder (default results/)"
    )
    plot.add_argument("--out", help="folder for the charts (default: beside the results)")
    plot.add_argument(
        "--mechanism",
        choices=MECHANISMS,
        default="null",
        help="draw the cells over this security mechanism (default null; files <chart>-<mechanism>.*)",
    )
    plot.set_defaults(handler=cmd_plot)

    comp = sub.add_parser(
        "compare",
        help="run against run: per cell B/A with an interval and a verdict (exit 1 on a regression)",
        description="Compare two sets of results cell by cell. A and B: a result file, a folder of runs "
        "(the newest full run of each experiment), or a git commit whose committed results/ are read. "
        "Per cell: both medians, B/A with a bootstrap interval over repeats, faster/slower/same.",
    )
    comp.add_argument("a", help="the baseline: file, folder or git commit")
    comp.add_argument("b", help="the candidate: file, folder or git commit")
    comp.add_argument(
        "--threshold",
        type=_threshold,
        help="exit with status 1 when a cell is significantly worse by more than this (e.g. 10%%)",
    )
    comp.add_argument(
        "--metric",
        type=_checked(lambda t: parse_choices(t, ALL_METRICS, "metric")),
        help=f"comma list of {_lst(ALL_METRICS)} (default: p50 and p99 latency, messages/s)",
    )
    comp.add_argument(
        "--confidence", type=_confidence, default=0.99, help="interval confidence (default 0.99)"
    )
    comp.add_argument("--changed", action="store_true", help="list only cells called faster or slower")
    comp.add_argument("--all-runs", action="store_true", help="pool every run of a folder, not the newest")
    comp.add_argument(
        "--results-dir", default="results", help="results folder inside a commit (default results)"
    )
    comp.set_defaults(handler=cmd_compare)

    hist = sub.add_parser(
        "history",
        help="one metric of one cell across the commits present in a results folder, with intervals",
        description="Per commit (from each run's metadata), the median of a metric per implementation with "
        "a 95%% bootstrap interval, and the zlab/libzmq ratio; printed and drawn to a chart.",
    )
    hist.add_argument(
        "results", nargs="?", default="results", help="results file or folder (default results/)"
    )
    hist.add_argument(
        "--metric",
        choices=ALL_METRICS,
        default="lat_p50_us",
        help="default lat_p50_us (lat_*: latency cells, else throughput cells)",
    )
    hist.add_argument("--transport", choices=TRANSPORTS, default="tcp", help="default tcp")
    hist.add_argument(
        "--pattern", choices=PATTERNS, help="default reqrep for latency, pushpull for throughput"
    )
    hist.add_argument(
        "--size", type=_checked(parse_sizes), default=[64], help="one message size (default 64)"
    )
    hist.add_argument("--experiment", help="only runs of this experiment (default: all)")
    hist.add_argument(
        "--out", help="chart file stem (default RESULTS/charts/history-<metric>-...; png + svg)"
    )
    hist.set_defaults(handler=cmd_history)

    table = sub.add_parser(
        "table",
        help="medians (or zlab/libzmq ratios) of any slice of stored results (no measuring)",
        description="Print the median over repeats of one metric for the cells of a slice of stored results, "
        "one column per implementation (--ratios: zlab over libzmq per cell). The same slicing as the "
        "notebook explorer (zlab.bench.Selection). Without --run, the newest full run of each experiment.",
    )
    table.add_argument(
        "results", nargs="?", default="results", help="results file or folder (default results/)"
    )
    table.add_argument(
        "--metric", default="lat_p50_us", help="lat_p50_us (default), lat_p99_us, msgs_per_s..."
    )
    table.add_argument("--ratios", action="store_true", help="zlab / libzmq per cell instead of medians")
    table.add_argument("--run", help="comma list of run ids (default: newest full run of each experiment)")
    table.add_argument("--experiment", help="comma list of experiments")
    table.add_argument("--commit", help="comma list of commit prefixes")
    for axis, flag in _TABLE_AXES.items():
        table.add_argument(f"--{flag}", help=f"comma list of {axis} values (default: all)")
    table.set_defaults(handler=cmd_table)
    return parser


#: ``zlab table`` filter flags: selection axis -> flag name.
_TABLE_AXES = {
    "impl": "impl",
    "transport": "transport",
    "pattern": "pattern",
    "mode": "mode",
    "msg_size_bytes": "size",
    "n_subscribers": "subscribers",
    "mechanism": "mechanism",
    "api": "api",
    "placement": "placement",
}


def cmd_bench(args: argparse.Namespace) -> int:
    """``zlab bench``: run the sweep, print the summary, failures and where the results are."""
    from zlab.bench.runner import run
    from zlab.bench.summary import format_summary

    if args.fault:
        from zlab.bench.faults import cli_faults

        return cli_faults(args)
    try:
        frame = run(
            args.impl,
            args.transport,
            args.pattern,
            args.size,
            modes=args.mode,
            repeats=args.repeats,
            subscribers=args.subscribers,
            apis=args.api,
            mechanisms=args.mechanism,
            placement=args.pin,
            quick=args.quick,
            duration_s=args.duration,
            max_msgs=args.max_msgs,
            timeout_s=args.timeout,
            tcp_host=args.host,
            out=None if args.no_save else args.out,
            experiment=args.experiment,
            progress=not args.no_progress,
            rates=args.rate,
            arrival=args.arrival,
            pacing=args.pacing,
            p99_ceiling_us=args.p99_ceiling,
            variants=args.variants,
            noisy_pct=args.noisy_pct,
            max_reruns=args.max_reruns,
            cluster=args.cluster,
            hosts=";".join(args.hosts) if args.hosts else None,
            bind_interface=args.bind_interface,
        )
    except ChoiceError as exc:
        print(f"zlab bench: error: {exc}", file=sys.stderr)
        return 2
    if (frame["mode"] != "load").any():
        print()
        placed = frame["hosts"].dropna()
        if placed.nunique() > 1 and frame.attrs.get("meta", {}).get("cluster"):  # one table per layout
            from zlab.bench.cluster import layout_of

            where = frame["hosts"].map(layout_of, na_action="ignore")
            for layout, rows in frame.groupby(where, sort=False):
                print(f"peers {layout}:\n{format_summary(rows)}\n")
        else:
            print(format_summary(frame))
    if (frame["mode"] == "load").any():
        from zlab.bench.sweep import format_load

        print()
        print(format_load(frame, args.p99_max))
    for status in ("failed", "skipped"):
        rows = frame[frame["status"] == status]
        if len(rows):
            print(f"\n{status}: {len(rows)} of {len(frame)} cell runs")
            for (impl, api, mech, transport, pattern, reason), group in rows.groupby(
                ["impl", "api", "mechanism", "transport", "pattern", "failure_reason"], sort=False
            ):
                name = str(impl) if api == "sync" else f"{impl}/{api}"
                name += "" if mech == "null" else f"+{mech}"
                print(f"  {name} {transport} {pattern} (x{len(group)}): {reason}")
    busy = frame["foreign_cpu_pct"].dropna()
    if len(busy) and (busy > NOISY_PCT).any():
        print(
            f"\nnoise: other programs used more than {NOISY_PCT:g}% of the CPUs during {(busy > NOISY_PCT).sum()}"
            f" of {len(busy)} cell runs (median {busy.median():.0f}%); treat those figures with care"
        )
    reruns = frame["reruns"].fillna(0)
    if (reruns > 0).any():
        print(f"re-measured {int((reruns > 0).sum())} noisy cell runs (column reruns)")
    if frame["variant"].notna().any():
        from zlab.bench.summary import format_noise_floor

        print("\n" + format_noise_floor(frame))
    cluster = frame.attrs.get("meta", {}).get("cluster")
    if cluster:
        from zlab.bench.metadata import describe_hosts

        print(f"\n{describe_hosts(cluster)}")
    path = frame.attrs.get("path")
    if frame.attrs.get("interrupted"):
        print(f"\ninterrupted: kept {len(frame)} cell runs")
    print(f"\nresults: {path} (+ .json metadata)" if path else "\nresults: not written")
    if frame.attrs.get("interrupted"):
        return 130
    return 1 if args.strict and (frame["status"] == "failed").any() else 0


def cmd_demo(args: argparse.Namespace) -> int:
    """``zlab demo``: a libzmq REP binds tcp://127.0.0.1:*, a zlab REQ connects and does round trips."""
    import zmq

    try:
        zlab = importlib.import_module("zlab")
        zlab.Context  # noqa: B018 - the facade must be there
    except (ImportError, AttributeError) as exc:
        print(f"zlab demo: error: the zlab messaging core is not importable ({exc})", file=sys.stderr)
        return 1
    zctx = zmq.Context()
    rep = zctx.socket(zmq.REP)
    rep.setsockopt(zmq.LINGER, 0)
    rep.bind("tcp://127.0.0.1:*")
    endpoint = rep.getsockopt_string(zmq.LAST_ENDPOINT).rstrip("\0")
    stop = threading.Event()

    def echo() -> None:
        while not stop.is_set():
            if rep.poll(50):
                rep.send(rep.recv())

    server = threading.Thread(target=echo, name="libzmq-rep", daemon=True)
    server.start()
    print(f"libzmq {zmq.zmq_version()} REP (pyzmq {zmq.__version__}) bound at {endpoint}")
    print(f"zlab {getattr(zlab, '__version__', '?')} REQ connecting over ZMTP 3.1")
    lctx = zlab.Context()
    req = lctx.socket(zlab.REQ)
    req.setsockopt(zlab.LINGER, 0)
    status = 0
    times: list[float] = []
    try:
        req.connect(endpoint)
        poller = zlab.Poller()
        poller.register(req, zlab.POLLIN)
        for i in range(1, args.count + 1):
            msg = f"hello {i}".encode()
            t0 = time.perf_counter()
            req.send(msg)
            if not poller.poll(args.timeout * 1000):
                print(f"  {i}: no reply within {args.timeout:g} s", file=sys.stderr)
                status = 1
                break
            reply = req.recv()
            times.append((time.perf_counter() - t0) * 1e6)
            mark = "" if reply == msg else "  (MISMATCH)"
            status = status or (1 if mark else 0)
            print(f"  {i}: sent {msg!r} -> got {reply!r} in {times[-1]:.0f} µs{mark}")
    finally:
        req.close()
        lctx.term()
        stop.set()
        server.join(2)
        rep.close()
        zctx.term()
    if times and not status:
        print(f"{len(times)} round trips zlab <-> libzmq, median {statistics.median(times):.0f} µs")
    return status


def cmd_plot(args: argparse.Namespace) -> int:
    """``zlab plot``: delegates to ``zlab.bench.charts.plot_all(results, out) -> list of paths``."""
    try:
        charts = importlib.import_module("zlab.bench.charts")
    except ImportError as exc:
        if exc.name not in ("zlab.bench.plots", "zlab.bench.charts"):
            raise
        print("zlab plot: error: charts are not available yet (zlab.bench.plots, issue 5)", file=sys.stderr)
        return 2
    try:
        paths = charts.plot_all(args.results, args.out, mechanism=args.mechanism)
    except FileNotFoundError as exc:
        print(f"zlab plot: error: {exc}", file=sys.stderr)
        return 2
    for path in paths or []:
        print(path)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``zlab compare A B``: the table, the summary line; 1 when --threshold finds a regression."""
    from zlab.bench.compare import compare, format_compare, load_side, regressions

    try:
        a = load_side(args.a, results_dir=args.results_dir, all_runs=args.all_runs)
        b = load_side(args.b, results_dir=args.results_dir, all_runs=args.all_runs)
    except (ValueError, FileNotFoundError) as exc:
        print(f"zlab compare: error: {exc}", file=sys.stderr)
        return 2
    result = compare(a, b, metrics=args.metric, confidence=args.confidence)
    print(format_compare(result, args.threshold, show_same=not args.changed))
    if args.threshold is not None and len(regressions(result, args.threshold)):
        return 1
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """``zlab history``: a table per commit and a chart."""
    from pathlib import Path

    import matplotlib

    matplotlib.use("Agg")
    from zlab.bench.history import describe, history, plot_history, select_cell
    from zlab.bench.matrix import format_size
    from zlab.bench.plots import save
    from zlab.bench.results import load, load_meta

    if len(args.size) != 1:
        print("zlab history: error: give one --size", file=sys.stderr)
        return 2
    try:
        frame, meta = load(args.results), load_meta(args.results)
    except FileNotFoundError as exc:
        print(f"zlab history: error: {exc}", file=sys.stderr)
        return 2
    size = args.size[0]
    rows = select_cell(
        frame,
        metric=args.metric,
        transport=args.transport,
        pattern=args.pattern,
        size=size,
        experiment=args.experiment,
    )
    per_impl, ratio = history(rows, meta, args.metric)
    if per_impl.empty:
        print("zlab history: no full-run rows of that cell in these results", file=sys.stderr)
        return 1
    cell = f"{args.transport} {rows['pattern'].iloc[0]} {format_size(size)}"
    print(f"{args.metric}, {cell}: median per commit [95% interval]")
    table = per_impl.assign(
        value=[
            f"{m:.4g} [{lo:.4g}, {hi:.4g}]"
            for m, lo, hi in zip(per_impl["median"], per_impl["lo"], per_impl["hi"], strict=True)
        ]
    )
    print(
        table.pivot_table(
            index="commit", columns="impl", values="value", aggfunc="first", sort=False
        ).to_string()
    )
    print(describe(ratio))
    fig = plot_history(per_impl, ratio, f"{args.metric} across commits: {cell}", args.metric)
    base = (
        Path(args.out)
        if args.out
        else (
            (Path(args.results) if Path(args.results).is_dir() else Path(args.results).parent)
            / "charts"
            / f"history-{args.metric}-{args.transport}-{rows['pattern'].iloc[0]}-{format_size(size)}"
        )
    )
    if fig is not None:
        for path in save(fig, base):
            print(f"chart: {path}")
    return 0


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip()) if text else ()


def cmd_table(args: argparse.Namespace) -> int:
    """``zlab table``: a slice of stored results as a median (or ratio) table, via ``zlab.bench.selection``."""
    from zlab.bench import plots, selection
    from zlab.bench.results import load, load_meta

    try:
        frame, meta = load(args.results), load_meta(args.results)
        axes: dict[str, Any] = {}
        for axis, flag in _TABLE_AXES.items():
            values = _split(getattr(args, flag))
            if axis == "msg_size_bytes":
                axes[axis] = tuple(parse_sizes(",".join(values))) if values else ()
            elif axis == "n_subscribers":
                axes[axis] = tuple(int(v) for v in values)
            else:
                axes[axis] = values
        runs = _split(args.run) or tuple(plots.select_runs(frame)["run_id"].dropna().unique())
        sel = selection.Selection(
            runs=runs,
            experiments=_split(args.experiment),
            commits=_split(args.commit),
            metric=args.metric,
            **axes,
        )
    except (FileNotFoundError, ValueError) as exc:
        print(f"zlab table: error: {exc}", file=sys.stderr)
        return 2
    rows = sel.apply(frame, meta)
    out = selection.ratio_table(rows, sel.metric) if args.ratios else selection.median_table(rows, sel.metric)
    if out.empty:
        print(f"zlab table: no measured {sel.metric} in this slice ({len(rows)} rows)", file=sys.stderr)
        return 1
    with pd_options():
        print(out.to_string(float_format=lambda v: f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"))
    return 0


def pd_options() -> Any:
    """Wide, unabbreviated tables in a terminal."""
    import pandas as pd

    return pd.option_context("display.width", 200, "display.max_rows", 500, "display.max_columns", 20)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse ``argv`` (default ``sys.argv[1:]``) and run the command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return 2
    return int(args.handler(args))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
