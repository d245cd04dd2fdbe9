# experiments/zlab_vs_libzmq.py -- zlab / libzmq ratio per transport and message size.
"""Where is zlab faster or slower than libzmq (through pyzmq)? The ratio of p50 latency (reqrep,
pinned to one CPU) and of throughput (pushpull) per transport and size, drawn as heat maps.

The standard run (``experiments/standard.py``) draws the same heat maps from its latency and
throughput sweeps; this script measures only the two implementations, for a focused re-run.

    python experiments/zlab_vs_libzmq.py [--quick] [--out DIR]
"""

import sys

from zlab.bench.experiments import Experiment, main

EXPERIMENT = Experiment(
    name="zlab_vs_libzmq",
    question="zlab / libzmq ratio of p50 latency and throughput per transport and size",
    impls=("zlab", "pyzmq"),
    patterns=("reqrep", "pushpull"),
    modes=("latency", "throughput"),
    sizes=(64, 2048, 65536, 1048576),
    placement="one",
)

if __name__ == "__main__":
    sys.exit(main(EXPERIMENT))
