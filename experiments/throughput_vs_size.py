# experiments/throughput_vs_size.py -- messages/s and MB/s against message size, per transport.
"""How many messages per second (and MB/s) does a PUSH/PULL flood deliver at each message size, on
each transport, for zlab, libzmq (pyzmq) and the plain-Python floor? Peers are left to the scheduler.

    python experiments/throughput_vs_size.py [--quick] [--out DIR]
"""

import sys

from zlab.bench.experiments import Experiment, main

EXPERIMENT = Experiment(
    name="throughput_vs_size",
    question="Throughput (msgs/s, MB/s) vs message size, per transport (pushpull flood)",
    patterns=("pushpull",),
    modes=("throughput",),
    charts=("throughput_vs_size",),
    placement="none",
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
