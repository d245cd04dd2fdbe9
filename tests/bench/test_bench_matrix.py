"""The sweep vocabulary: parsing user input, expanding cells, skip reasons, CPU placement."""

from __future__ import annotations

import pytest

from zlab.bench.matrix import (
    IMPLS,
    STANDARD_SIZES,
    Budget,
    Cell,
    ChoiceError,
    build_cells,
    format_size,
    parse_choices,
    parse_counts,
    parse_size,
    parse_sizes,
)
from zlab.bench.runner import assign_cpus

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("text", "size"),
    [("64", 64), ("64K", 65536), ("64KiB", 65536), ("1M", 1 << 20), ("1mib", 1 << 20), (8, 8)],
)
def test_parse_size(text: str | int, size: int):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["abc", "0", "-1", "1.5K", ""])
def test_bad_sizes(text: str):
    with pytest.raises(ChoiceError):
        parse_size(text)


def test_parse_lists():
    assert parse_sizes("64, 1K,64") == [64, 1024]
    assert parse_sizes("standard") == list(STANDARD_SIZES) and STANDARD_SIZES[0] == 8
    assert STANDARD_SIZES[-1] == 1 << 20
    assert parse_choices("raw,pyzmq,raw", IMPLS, "impl") == ["raw", "pyzmq"]
    assert parse_counts("1,2,4", "subscriber count") == [1, 2, 4]
    with pytest.raises(ChoiceError, match=r"unknown impl 'zmq' \(valid: zlab, pyzmq, raw\)"):
        parse_choices("zmq", IMPLS, "impl")
    with pytest.raises(ChoiceError):
        parse_counts("0", "subscriber count")
    assert format_size(1 << 20) == "1MiB" and format_size(100) == "100B"


def test_build_cells_pairs_patterns_with_their_modes_and_interleaves_impls():
    cells = build_cells(
        ["pyzmq", "raw"], ["tcp"], ["reqrep", "pair", "pushpull", "pubsub"], [64], subscribers=[1, 3]
    )
    kinds = [(c.pattern, c.mode, c.n_subscribers, c.impl) for c in cells]
    assert kinds == [
        ("reqrep", "latency", 1, "pyzmq"),
        ("reqrep", "latency", 1, "raw"),
        ("pair", "latency", 1, "pyzmq"),
        ("pair", "latency", 1, "raw"),
        ("pair", "throughput", 1, "pyzmq"),
        ("pair", "throughput", 1, "raw"),
        ("pushpull", "throughput", 1, "pyzmq"),
        ("pushpull", "throughput", 1, "raw"),
        ("pubsub", "throughput", 1, "pyzmq"),
        ("pubsub", "throughput", 1, "raw"),
        ("pubsub", "throughput", 3, "pyzmq"),
        ("pubsub", "throughput", 3, "raw"),
    ]
    with pytest.raises(ChoiceError, match="no pattern supports"):
        build_cells(["raw"], ["tcp"], ["reqrep"], [64], modes=["throughput"])


def test_skip_reasons():
    assert Cell("raw", "tcp", "pubsub", "throughput", 64).skip_reason().startswith("raw has no pubsub")
    assert Cell("raw", "ipc", "dealer-router", "latency", 64).skip_reason()
    assert Cell("raw", "inproc", "pushpull", "throughput", 64).skip_reason() is None
    assert Cell("pyzmq", "tcp", "pubsub", "throughput", 64).skip_reason() is None


def test_budget():
    assert Budget.make().duration_s == 1.0
    quick = Budget.make(quick=True, max_msgs=50)
    assert quick.duration_s < 0.1 and quick.max_msgs == 50
    with pytest.raises(ChoiceError):
        Budget.make(duration_s=0)


def test_cpu_placement():
    assert assign_cpus("none", 2) == [None, None]
    one = assign_cpus("one", 3)
    assert len(set(one)) == 1 and one[0] is not None
    split = assign_cpus("split", 2)
    assert None not in split
    with pytest.raises(ChoiceError, match="valid: none, one, split"):
        assign_cpus("all", 2)
