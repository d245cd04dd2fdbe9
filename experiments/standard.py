# experiments/standard.py -- the standard experiment matrix (`make experiment`).
"""The standard matrix on this machine: latency vs size, throughput vs size (8 B to 1 MiB, three
implementations, three transports, 3 repeats), the patterns compared, latency under load (a rate
sweep, open loop) and the noise floor (each implementation against itself, A/A, a few tcp cells: about
2 minutes), each into its own folder under ``results/``, then the headline zlab / libzmq ratios with
their intervals next to the noise floor, and every chart of the set (including the zlab / libzmq heat
maps) in ``results/charts/``.

    python experiments/standard.py [--quick] [--out DIR]
"""

import sys

import latency_under_load
import latency_vs_size
import noise_floor
import patterns
import throughput_vs_size

from zlab.bench.experiments import main

if __name__ == "__main__":
    sys.exit(
        main(
            [
                latency_vs_size.EXPERIMENT,
                throughput_vs_size.EXPERIMENT,
                patterns.EXPERIMENT,
                latency_under_load.EXPERIMENT,
                *noise_floor.EXPERIMENTS,
            ]
        )
    )
