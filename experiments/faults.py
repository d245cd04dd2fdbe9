# experiments/faults.py -- what does a crash cost? zlab against libzmq, fault by fault.
"""During a steady numbered stream (2000 msg/s), one peer is killed (SIGKILL) or frozen (SIGSTOP) and,
where it makes sense, started again on the same endpoint: pushpull with three workers, pubsub with
two subscribers, reqrep and dealer-router with a Lazy-Pirate client. Counts what was lost, what was
delivered twice, how long until the first message after the restart and until the pre-fault rate;
zlab and libzmq (pyzmq) interleaved. Rows: ``OUT/faults/<run_id>.parquet`` (``FAULT_COLUMNS``), a chart
in ``OUT/faults/charts/faults.png``, the table printed.

    python experiments/faults.py [--quick] [--out DIR] [--repeats N] [--transports tcp,ipc] [--no-plot]
"""

import argparse
import sys

from zlab.bench.faults import FAULT_PATTERNS, FAULTS, format_fault_report, run_faults


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one repeat over tcp (about 2.5 min)")
    parser.add_argument("--out", default="results", help="results folder (default results/)")
    parser.add_argument("--repeats", type=int, help="repeats of every cell (default 3, --quick 1)")
    parser.add_argument(
        "--transports", default=None, help="comma list of tcp, ipc (default both, --quick tcp)"
    )
    parser.add_argument("--patterns", default=",".join(FAULT_PATTERNS), help="comma list (default: all)")
    parser.add_argument("--faults", default=",".join(FAULTS), help="comma list (default: all)")
    parser.add_argument("--no-plot", action="store_true", help="measure only, draw no chart")
    args = parser.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    transports = args.transports or ("tcp" if args.quick else "tcp,ipc")
    frame = run_faults(
        "zlab,pyzmq",
        transports,
        args.patterns,
        args.faults,
        repeats=repeats,
        out=args.out,
        experiment="faults",
    )
    print(format_fault_report(frame))
    path = frame.attrs.get("path")
    print(f"results: {path}")
    if path and not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        from zlab.bench.fault_plots import plot_faults

        print(f"chart: {plot_faults(path, f'{args.out}/faults/charts')}")
    return 1 if (frame["status"] == "failed").any() or frame["hung"].fillna(False).astype(bool).any() else 0


if __name__ == "__main__":
    sys.exit(main())
