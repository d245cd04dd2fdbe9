"""Per-host metadata of cluster runs: version mismatches flagged in the summary text and chart captions."""

from __future__ import annotations

from typing import Any

import pandas as pd

from zlab.bench import metadata, plots

FACTS: dict[str, Any] = {
    "hostname": "h",
    "cpu_model": "cpu",
    "cpu_count": 2,
    "kernel": "6.1",
    "python": "3.11.7",
    "zlab_version": "0.1.0",
    "git_commit": "abc",
    "pyzmq_version": "27.3.0",
    "libzmq_version": "4.3.5",
}


def test_version_mismatches_name_the_hosts_and_values() -> None:
    same = {"a": dict(FACTS), "b": dict(FACTS)}
    assert metadata.version_mismatches(same) == []
    other = {"a": dict(FACTS), "b": {**FACTS, "python": "3.12.1", "libzmq_version": "4.3.4"}}
    assert metadata.version_mismatches(other) == [
        "python: 3.11.7 (a) vs 3.12.1 (b)",
        "libzmq_version: 4.3.5 (a) vs 4.3.4 (b)",
    ]


def test_summary_and_caption_flag_a_mismatch() -> None:
    hosts = {"a": dict(FACTS), "b": {**FACTS, "git_commit": "def"}}
    cluster = {
        "scheduler": "tcp://s:8786",
        "hosts": hosts,
        "version_mismatch": metadata.version_mismatches(hosts),
    }
    text = metadata.describe_hosts(cluster)
    assert "VERSION MISMATCH between hosts: git_commit: abc (a) vs def (b)" in text
    assert text.count("\n  a (") + text.count("\n  b (") == 2
    frame = pd.DataFrame(
        {
            "run_id": ["r"],
            "placement": ["none"],
            "repeat": [0],
            "target_duration_s": [1.0],
            "status": ["ok"],
            "foreign_cpu_pct": [1.0],
            "mechanism": ["null"],
            "quick": [False],
            "cell_started_at": [pd.Timestamp("2026-01-01", tz="UTC")],
            "host": ["h"],
        }
    )
    caption = plots.caption(frame, {"r": {**FACTS, "cluster": cluster}}, width=400)
    assert "peers on hosts a, b (Dask cluster); VERSION MISMATCH between hosts: git_commit" in caption
    assert "Dask" not in plots.caption(frame, {"r": dict(FACTS)}, width=400)
