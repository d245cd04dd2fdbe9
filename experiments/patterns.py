# experiments/patterns.py -- the messaging patterns side by side, zlab against libzmq.
"""What does each pattern cost? REQ/REP and DEALER/ROUTER round trips, DEALER/ROUTER, PUSH/PULL and
PUB/SUB floods with 1, 2 and 4 subscribers, over tcp, small and large messages. zlab has no PUB/SUB
yet: those cells fail ("unsupported socket type") and the charts say so.

    python experiments/patterns.py [--quick] [--out DIR]
"""

import sys

from zlab.bench.experiments import Experiment, main

EXPERIMENT = Experiment(
    name="patterns",
    question="Patterns compared: reqrep, dealer-router, pushpull, pubsub x1..4 (tcp)",
    impls=("zlab", "pyzmq"),
    transports=("tcp",),
    patterns=("reqrep", "dealer-router", "pushpull", "pubsub"),
    modes=("latency", "throughput"),
    sizes=(64, 65536),
    subscribers=(1, 2, 4),
    charts=("patterns",),
    placement="none",
    quick={"sizes": (64,), "subscribers": (1, 2)},
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
