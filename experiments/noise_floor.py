# experiments/noise_floor.py -- the noise floor: each implementation against itself in the same run.
"""How large a difference does noise alone make on this machine? Every cell is measured twice per repeat,
back to back (variants ``a`` and ``b``, order alternating), for zlab and libzmq (pyzmq): REQ/REP latency
pinned to one CPU (as ``latency_vs_size``) and a PUSH/PULL flood left to the scheduler (as
``throughput_vs_size``), tcp, 64 B and 64 KiB, as many repeats as the headline experiments. The ratios
``b / a`` with their intervals are the A/A figures printed next to the headline ratios
(``zlab.bench.summary.noise_floor``).

    python experiments/noise_floor.py [--quick] [--out DIR]
"""

import sys

from zlab.bench.experiments import Experiment, main

LATENCY = Experiment(
    name="noise_floor_latency",
    question="A/A latency: each implementation against itself (reqrep, tcp, pinned to one CPU)",
    impls=("zlab", "pyzmq"),
    transports=("tcp",),
    patterns=("reqrep",),
    modes=("latency",),
    sizes=(64, 65536),
    charts=(),
    placement="one",
    variants=2,
    quick={"sizes": (64,)},
)
THROUGHPUT = Experiment(
    name="noise_floor_throughput",
    question="A/A throughput: each implementation against itself (pushpull flood, tcp)",
    impls=("zlab", "pyzmq"),
    transports=("tcp",),
    patterns=("pushpull",),
    modes=("throughput",),
    sizes=(64, 65536),
    charts=(),
    placement="none",
    variants=2,
    quick={"sizes": (64,)},
)
EXPERIMENTS = [LATENCY, THROUGHPUT]

if __name__ == "__main__":
    sys.exit(main(EXPERIMENTS))
