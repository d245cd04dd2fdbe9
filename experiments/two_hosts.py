# experiments/two_hosts.py -- the same cells on one host and across two, through a Dask cluster.
"""How much does a real network interface between the peers cost, compared with loopback on one host?

zlab and libzmq (through pyzmq) over tcp: reqrep latency and pushpull throughput at 64 B and 64 KiB,
each cell with both peers on one host and with the binding peer on the first host and the other on the
second. Without ``--cluster`` the two hosts are simulated on this machine (needs root): two network
namespaces joined by a veth pair (10.200.0.1 and 10.200.0.2, nothing outside them), a Dask scheduler and
worker in the first and a worker in the second; the script runs itself inside the first. With
``--cluster`` it uses a real one (``--hosts A,B``: the first host binds, the second connects).

    python experiments/two_hosts.py [--cluster tcp://SCHEDULER:8786 --hosts A,B] [--quick] [--out DIR]
"""

import argparse
import subprocess
import sys
from pathlib import Path

import zlab.bench as zb
from zlab.bench.cluster import layout_table
from zlab.bench.simhosts import NamespaceError, child_env, two_hosts

NAME = "two_hosts"


def measure(args: argparse.Namespace) -> int:
    """Run the matrix on the cluster: every cell on the first host alone, then across the two."""
    first, second = args.hosts.split(",")[:2]
    frame = zb.run(
        "zlab,pyzmq",
        "tcp",
        "reqrep,pushpull",
        [64, 65536],
        repeats=args.repeats or (1 if args.quick else 3),
        quick=args.quick,
        duration_s=args.duration,
        out=Path(args.out) / NAME,
        experiment=NAME,
        progress=not args.no_progress,
        cluster=args.cluster,
        hosts=f"{first};{first},{second}",
    )
    print(layout_table(frame).to_string(index=False, float_format=lambda x: f"{x:,.2f}"))
    print(f"results: {frame.attrs.get('path') or 'not written'}")
    return 130 if frame.attrs.get("interrupted") else 0


def simulate(args: argparse.Namespace, argv: list[str]) -> int:
    """Make the two simulated hosts and run this script inside the first, pointed at them."""
    try:
        with two_hosts() as (cluster, ns):
            cmd = [
                *ns.wrap("a"),
                sys.executable,
                __file__,
                *argv,
                "--cluster",
                cluster.address,
                "--hosts",
                "a,b",
            ]
            return subprocess.run(cmd, env=child_env()).returncode
    except NamespaceError as exc:
        print(f"two_hosts: {exc}; give a real cluster with --cluster tcp://SCHEDULER:8786 --hosts A,B")
        return 2


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", help="a Dask scheduler address (default: simulate two hosts here)")
    parser.add_argument(
        "--hosts", default="", help="with --cluster: A,B (the first binds, the second connects)"
    )
    parser.add_argument("--quick", action="store_true", help="short run for CI and smoke tests (marked)")
    parser.add_argument("--out", default="results", help="results folder (default results/)")
    parser.add_argument("--repeats", type=int, help="repeats of every cell (default 3, --quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per cell (default 1, --quick 0.05)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.cluster:
        if args.hosts.count(",") < 1:
            parser.error("--cluster needs --hosts A,B")
        return measure(args)
    return simulate(args, argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
