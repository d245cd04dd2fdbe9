"""The latency histogram: HdrHistogram geometry, exact merges, percentiles within the bucket precision."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from zlab.bench.histogram import Histogram, merge_histograms, write_hlog

PRECISION = 1 / 1024  # a bucket is at most this fraction of its value wide (3 significant digits)


def order_stat_us(values_ns: np.ndarray, p: float) -> float:
    """The exact order statistic HdrHistogram's percentile approximates: rank ceil(p/100 n), at least 1."""
    s = np.sort(values_ns)
    rank = max(1, int(np.ceil(p / 100 * len(s) - 1e-9)))
    return s[rank - 1] / 1000


latencies = arrays(np.int64, st.integers(1, 400), elements=st.integers(0, 10**11))


@pytest.mark.timeout(30)
@settings(max_examples=60, deadline=None)
@given(latencies, latencies, st.sampled_from([0, 1, 50, 90, 99, 99.9, 99.99, 100]))
def test_merged_repeats_match_the_concatenated_raw_arrays(a: np.ndarray, b: np.ndarray, p: float) -> None:
    merged = Histogram.from_values(a) + Histogram.from_values(b)
    both = np.concatenate([a, b])
    assert merged == Histogram.from_values(both)  # the merge is exact
    exact = order_stat_us(both, p)
    got = merged.percentile(p)
    assert exact <= got <= exact * (1 + PRECISION) + 0.001  # within one bucket above
    assert merged.count == len(both)
    assert merged.min == both.min() / 1000 and merged.max == both.max() / 1000


@pytest.mark.timeout(30)
@settings(max_examples=30, deadline=None)
@given(latencies)
def test_bytes_and_pickle_round_trip(values: np.ndarray) -> None:
    h = Histogram.from_values(values)
    assert Histogram.from_bytes(h.to_bytes()) == h
    assert pickle.loads(pickle.dumps(h)) == h


def test_agrees_with_hdrhistogram() -> None:
    hdrh = pytest.importorskip("hdrh.histogram")
    values = np.random.default_rng(7).lognormal(10, 2, 20_000).astype(np.int64) + 1
    ours = Histogram.from_values(values)
    theirs = hdrh.HdrHistogram(1, int(values.max()) * 2, 3)
    for v in values[:2000].tolist():  # the same bucketing, checked value by value on a slice
        theirs.record_value(v)
    head = Histogram.from_values(values[:2000])
    for p in (10, 50, 90, 99, 99.9):
        assert head.percentile(p) == pytest.approx(theirs.get_value_at_percentile(p) / 1000, rel=PRECISION)
    converted = ours.to_hdrh()  # lossless conversion: same counts
    assert converted.get_total_count() == ours.count
    assert converted.get_value_at_percentile(99) / 1000 == pytest.approx(ours.percentile(99), rel=PRECISION)


def test_merge_histograms_takes_frames_lists_and_bytes() -> None:
    a, b = Histogram.from_values([1000, 2000]), Histogram.from_values([3000])
    assert merge_histograms([a, b.to_bytes(), None]).count == 3
    assert merge_histograms([]).count == 0 and np.isnan(merge_histograms([]).percentile(50))
    assert sum([a, b]).max == 3.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        Histogram.from_values(np.array([5, -1]))
    with pytest.raises(ValueError, match="magic"):
        Histogram.from_bytes(b"nope")
    with pytest.raises(ValueError, match=r"0\.\.100"):
        Histogram.from_values([1]).percentile(101)


def test_hdrhistogram_text_formats(tmp_path) -> None:
    h = Histogram.from_values(np.arange(1, 10_001) * 1000)  # 1 .. 10000 µs
    text = h.hgrm()
    rows = [line.split() for line in text.splitlines()[2:] if line and not line.startswith("#")]
    assert rows[-1][:3] == ["10000.000", "1.000000000000", "10000"]
    assert [float(r[1]) for r in rows] == sorted(float(r[1]) for r in rows)
    assert "#[Max     =    10000.000, Total count    =        10000]" in text
    pytest.importorskip("hdrh")
    from hdrh.histogram import HdrHistogram
    from hdrh.log import HistogramLogReader

    out = io.StringIO()
    write_hlog(out, [(0.0, 1.0, h)], tag="cell")
    log = tmp_path / "cell.hlog"
    log.write_text(out.getvalue())
    back = HistogramLogReader(str(log), HdrHistogram(1, 10**12, 3)).get_next_interval_histogram()
    assert back.get_total_count() == h.count
    assert back.get_value_at_percentile(50) / 1000 == pytest.approx(h.percentile(50), rel=PRECISION)
