# experiments/latency_under_load.py -- latency against offered rate (open loop), and closed vs open loop.
"""What latency does a sender see at a given message rate, and at what rate does it fall apart? For zlab and
libzmq (pyzmq) over ipc and tcp at 64 B: PUSH/PULL one-way latency and DEALER/ROUTER request latency with
many requests in flight, measured open loop from each message's intended send time on a fixed schedule
(``--rate sweep``: a flood probe per cell, then 1k msg/s doubling to 1/8 of its capacity and sqrt(2) steps to 2x until the achieved rate drops below
90 % of the offered one). DEALER/ROUTER is also measured closed loop (ping-pong) so the two can be put on
one percentile spectrum (coordinated omission, see notebooks/05_latency_under_load.ipynb). Peers are not
pinned: sender and receiver each need a CPU.

    python experiments/latency_under_load.py [--quick] [--out DIR]
"""

import sys

from zlab.bench.experiments import Experiment, main

EXPERIMENT = Experiment(
    name="latency_under_load",
    question="Latency vs offered rate (open loop, from the intended send time) and closed vs open loop",
    impls=("zlab", "pyzmq"),
    transports=("ipc", "tcp"),
    patterns=("pushpull", "dealer-router"),
    modes=("latency", "load"),
    sizes=(64,),
    rates="sweep",
    charts=("latency_vs_rate", "percentile_spectrum"),
    # CI: one closed-loop and one open-loop DEALER/ROUTER cell per implementation, 50 ms each
    quick={"transports": ("tcp",), "patterns": ("dealer-router",), "sizes": (64,), "rates": (2000.0,)},
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
