# experiments/latency_vs_size.py -- one-way latency against message size, per transport.
"""How does one-way latency (p50, p99, p99.9) grow with message size, on each transport, for zlab,
libzmq (pyzmq) and the plain-Python floor? REQ/REP ping-pong, every peer pinned to one CPU (the
steadiest latency on a 2-core machine).

    python experiments/latency_vs_size.py [--quick] [--out DIR]
"""

import sys

from zlab.bench.experiments import Experiment, main

EXPERIMENT = Experiment(
    name="latency_vs_size",
    question="One-way latency vs message size, per transport (reqrep ping-pong, pinned to one CPU)",
    patterns=("reqrep",),
    modes=("latency",),
    charts=("latency_vs_size",),
    placement="one",
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
