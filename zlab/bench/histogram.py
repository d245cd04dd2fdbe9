# zlab.bench.histogram -- HdrHistogram-style latency histograms in numpy: bulk recording, exact merges.
"""Log-linear latency histograms with HdrHistogram's geometry, recorded in bulk from numpy arrays.

Owns: :class:`Histogram` (record, merge, percentiles, sampling, compact bytes for a Parquet column) and
the HdrHistogram text formats (the ``.hgrm`` percentile distribution, the ``.hlog`` interval log).

Values are recorded in **nanoseconds** (integers >= 0, e.g. differences of ``perf_counter_ns``);
everything read back (percentiles, min, max, mean, sampled values) is in **microseconds**.

Geometry (fixed, so any two histograms merge exactly by adding counts): HdrHistogram with a unit of
1 ns and 3 significant digits -- 2048 sub-buckets, the first 2048 values exact, then each power-of-two
range split into 1024 equal buckets, so a bucket is at most 1/1024 (< 0.1 %) of its value wide. There is
no upper limit short of int64 (2^62 ns, 146 years); the counts array grows to the largest value seen
(about 34 000 buckets, 270 KiB, for values up to an hour). This is exactly the bucketing of
``hdrh.histogram.HdrHistogram(1, highest, 3)``, so :meth:`Histogram.to_hdrh` converts without loss and
the interval log carries HdrHistogram's own compressed V2 blobs.

Why not the ``hdrhistogram`` package (``hdrh``) for recording: it records one value per Python call
(about 1 µs each, so 1 s of a 100k msg/s cell costs 0.1 s of recording and a million-sample cell a
second), its objects cannot be pickled (they cross process boundaries here), and merging re-checks the
geometry value by value. Numpy buckets a whole array in a few vectorised operations (about 20 ns a
value) and a histogram is two arrays, so it pickles, adds and serialises trivially. ``hdrh`` is used
only (optionally) to encode the interval log.

Percentiles follow HdrHistogram: the value at percentile ``p`` is the highest value equivalent to the
bucket holding the sample of rank ``ceil(p/100 * count)`` (at least 1), capped at the exact maximum,
so it lies within one bucket width (< 0.1 %) above the exact order statistic.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Iterable, Sequence
from typing import IO, Any

import numpy as np

SUB_BUCKET_BITS = 11  # 2048 sub-buckets: 3 significant digits
SUB_BUCKET_COUNT = 1 << SUB_BUCKET_BITS
SUB_BUCKET_HALF_BITS = SUB_BUCKET_BITS - 1
SUB_BUCKET_HALF = 1 << SUB_BUCKET_HALF_BITS
SUB_BUCKET_MASK = SUB_BUCKET_COUNT - 1
SIGNIFICANT_DIGITS = 3
NS_PER_US = 1000.0
MAX_VALUE_NS = (1 << 62) - 1

_MAGIC = b"ZLH1"
_HEADER = struct.Struct("<4sBBqqqI")  # magic, sub-bucket bits, unused, count, min_ns, max_ns, n_nonzero

#: The percentiles the lab reports for every latency cell (``lat_p50_us`` ... ``lat_p9999_us``).
REPORTED_PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9, 99.99)


def bucket_index(values_ns: np.ndarray) -> np.ndarray:
    """The counts index of every value (int64 ns >= 0), vectorised."""
    v = np.asarray(values_ns, dtype=np.int64)
    # floor(log2(v | mask)) + 1 via frexp: exact, since every value below 2^53 is exact in float64 and
    # larger ones only matter by their exponent, which float rounding cannot push past a power of two
    # except at 2^k - 1 for k > 53 (clamped by MAX_VALUE_NS being far above any latency).
    _, exp = np.frexp((v | SUB_BUCKET_MASK).astype(np.float64))
    bucket = exp.astype(np.int64) - SUB_BUCKET_BITS
    sub = v >> bucket
    return (bucket << SUB_BUCKET_HALF_BITS) + sub


def _lowest_ns(index: np.ndarray) -> np.ndarray:
    """Lowest value of each bucket (ns) and, below, the bucket widths."""
    index = np.asarray(index, dtype=np.int64)
    bucket = np.maximum(0, (index >> SUB_BUCKET_HALF_BITS) - 1)
    sub = index - (bucket << SUB_BUCKET_HALF_BITS)
    return sub << bucket


def _width_ns(index: np.ndarray) -> np.ndarray:
    index = np.asarray(index, dtype=np.int64)
    return np.int64(1) << np.maximum(0, (index >> SUB_BUCKET_HALF_BITS) - 1)


class Histogram:
    """A latency distribution: counts per log-linear bucket plus the exact count, minimum and maximum.

    Build with :meth:`from_values` (a numpy array of nanoseconds) or :meth:`from_bytes`; combine with
    :meth:`merge` or ``+`` (exact); read with :meth:`percentile` (µs). Histograms are plain picklable
    objects; an empty one (``Histogram()``) is the identity of ``+``.
    """

    __slots__ = ("_counts", "count", "max_ns", "min_ns")

    def __init__(self) -> None:
        self._counts = np.zeros(0, dtype=np.int64)
        self.count = 0
        self.min_ns = 0
        self.max_ns = 0

    # -- building ---------------------------------------------------------------------------------

    @classmethod
    def from_values(cls, values_ns: np.ndarray | Sequence[int]) -> Histogram:
        """A histogram of ``values_ns`` (integer nanoseconds >= 0; floats are rounded), in bulk."""
        h = cls()
        h.record(values_ns)
        return h

    def record(self, values_ns: np.ndarray | Sequence[int]) -> None:
        """Add every value of an array (integer nanoseconds >= 0) in a few vectorised steps."""
        arr = np.asarray(values_ns)
        if arr.size == 0:
            return
        if arr.dtype.kind == "f":
            if not np.isfinite(arr).all():
                raise ValueError("histogram values must be finite")
            arr = np.rint(arr)
        v = arr.astype(np.int64, copy=False).ravel()
        lo, hi = int(v.min()), int(v.max())
        if lo < 0:
            raise ValueError(f"histogram values must be >= 0 ns, got {lo}")
        if hi > MAX_VALUE_NS:
            raise ValueError(f"histogram values must be <= {MAX_VALUE_NS} ns, got {hi}")
        binned = np.bincount(bucket_index(v))
        self._add_counts(binned)
        self.min_ns = lo if self.count == 0 else min(self.min_ns, lo)
        self.max_ns = hi if self.count == 0 else max(self.max_ns, hi)
        self.count += int(v.size)

    def _add_counts(self, counts: np.ndarray) -> None:
        if len(counts) > len(self._counts):
            grown = np.zeros(len(counts), dtype=np.int64)
            grown[: len(self._counts)] = self._counts
            self._counts = grown
        self._counts[: len(counts)] += counts

    @classmethod
    def from_counts(cls, index: np.ndarray, counts: np.ndarray, min_ns: int, max_ns: int) -> Histogram:
        """A histogram from sparse bucket counts (as :meth:`sparse` gives) and the exact extremes."""
        h = cls()
        index = np.asarray(index, dtype=np.int64)
        counts = np.asarray(counts, dtype=np.int64)
        if len(index) != len(counts) or (len(counts) and (counts.min() < 0 or index.min() < 0)):
            raise ValueError("bucket indices and counts must be non-negative arrays of one length")
        if len(index):
            dense = np.zeros(int(index.max()) + 1, dtype=np.int64)
            np.add.at(dense, index, counts)
            h._counts = dense
        h.count = int(counts.sum())
        h.min_ns, h.max_ns = (int(min_ns), int(max_ns)) if h.count else (0, 0)
        return h

    def copy(self) -> Histogram:
        """An independent copy."""
        h = Histogram()
        h._counts = self._counts.copy()
        h.count, h.min_ns, h.max_ns = self.count, self.min_ns, self.max_ns
        return h

    # -- merging ----------------------------------------------------------------------------------

    def merge(self, other: Histogram) -> Histogram:
        """Add ``other``'s counts into this histogram (exact: one geometry); returns self."""
        if not isinstance(other, Histogram):
            raise TypeError(f"can only merge a Histogram, not {type(other).__name__}")
        if other.count == 0:
            return self
        self._add_counts(other._counts)
        self.min_ns = other.min_ns if self.count == 0 else min(self.min_ns, other.min_ns)
        self.max_ns = other.max_ns if self.count == 0 else max(self.max_ns, other.max_ns)
        self.count += other.count
        return self

    def __add__(self, other: Histogram) -> Histogram:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.copy().merge(other)

    def __radd__(self, other: Any) -> Histogram:
        if other == 0:  # sum(histograms) starts from 0
            return self.copy()
        if isinstance(other, Histogram):
            return other.copy().merge(self)
        return NotImplemented

    @classmethod
    def merged(cls, histograms: Iterable[Histogram | None]) -> Histogram:
        """The sum of many histograms (None entries, e.g. from failed cells, are skipped)."""
        out = cls()
        for h in histograms:
            if h is not None:
                out.merge(h)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        a, b = self.sparse(), other.sparse()
        return (
            (self.count, self.min_ns, self.max_ns) == (other.count, other.min_ns, other.max_ns)
            and np.array_equal(a[0], b[0])
            and np.array_equal(a[1], b[1])
        )

    __hash__ = None  # type: ignore[assignment]  # mutable

    # -- reading ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        if not self.count:
            return "Histogram(empty)"
        p50, p99 = self.percentile(50), self.percentile(99)
        return f"Histogram(count={self.count}, min={self.min:g} us, p50={p50:g} us, p99={p99:g} us, max={self.max:g} us)"

    @property
    def min(self) -> float:
        """Smallest value recorded, µs (exact); NaN when empty."""
        return self.min_ns / NS_PER_US if self.count else math.nan

    @property
    def max(self) -> float:
        """Largest value recorded, µs (exact); NaN when empty."""
        return self.max_ns / NS_PER_US if self.count else math.nan

    def sparse(self) -> tuple[np.ndarray, np.ndarray]:
        """(bucket indices, counts) of the non-empty buckets, ascending."""
        nz = np.flatnonzero(self._counts)
        return nz.astype(np.int64), self._counts[nz].copy()

    def values_and_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """(representative value in µs, count) of every non-empty bucket, ascending: the distribution
        to bootstrap from (the value is the bucket's midpoint, clamped to the exact min and max)."""
        index, counts = self.sparse()
        mid = _lowest_ns(index) + (_width_ns(index) - 1) / 2.0
        mid = np.clip(mid, self.min_ns, self.max_ns)
        return mid / NS_PER_US, counts

    def sample(self, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
        """``n`` values (µs) drawn with replacement from the distribution (bucket midpoints)."""
        if self.count == 0:
            raise ValueError("cannot sample an empty histogram")
        rng = rng if rng is not None else np.random.default_rng()
        values, counts = self.values_and_counts()
        return rng.choice(values, size=n, p=counts / counts.sum())

    def percentile(self, p: float) -> float:
        """The value (µs) at percentile ``p`` (0..100): HdrHistogram's rule, see the module docstring."""
        if not 0.0 <= p <= 100.0:
            raise ValueError(f"percentile must be within 0..100, not {p}")
        if self.count == 0:
            return math.nan
        if p >= 100.0:
            return self.max
        rank = max(1, math.ceil(p / 100.0 * self.count - 1e-9))
        cum = np.cumsum(self._counts)
        idx = int(np.searchsorted(cum, rank))
        one = np.array([idx], dtype=np.int64)
        top = int(_lowest_ns(one)[0] + _width_ns(one)[0] - 1)
        return min(max(top, self.min_ns), self.max_ns) / NS_PER_US

    def percentiles(self, ps: Iterable[float] = REPORTED_PERCENTILES) -> dict[float, float]:
        """``{p: value_us}`` for several percentiles at once."""
        return {float(p): self.percentile(float(p)) for p in ps}

    def mean(self) -> float:
        """Mean (µs) from the bucket midpoints (within the bucket precision); NaN when empty."""
        if not self.count:
            return math.nan
        values, counts = self.values_and_counts()
        return float(np.dot(values, counts) / counts.sum())

    def std(self) -> float:
        """Standard deviation (µs) from the bucket midpoints; NaN when empty."""
        if not self.count:
            return math.nan
        values, counts = self.values_and_counts()
        mean = np.dot(values, counts) / counts.sum()
        return float(math.sqrt(np.dot((values - mean) ** 2, counts) / counts.sum()))

    def count_at_or_below(self, value_us: float) -> int:
        """How many recorded values are in buckets at or below ``value_us``'s bucket."""
        if not self.count:
            return 0
        idx = int(bucket_index(np.array([max(0, round(value_us * NS_PER_US))]))[0])
        return int(self._counts[: idx + 1].sum())

    # -- bytes (a Parquet binary column) ----------------------------------------------------------

    def to_bytes(self) -> bytes:
        """Compact bytes: a fixed header and the zlib-compressed sparse buckets (delta indices, counts).
        A typical latency cell takes a few hundred bytes to a few KiB."""
        index, counts = self.sparse()
        header = _HEADER.pack(_MAGIC, SUB_BUCKET_BITS, 0, self.count, self.min_ns, self.max_ns, len(index))
        deltas = np.diff(index, prepend=0).astype("<u4")
        body = zlib.compress(deltas.tobytes() + counts.astype("<u8").tobytes(), 6)
        return header + body

    @classmethod
    def from_bytes(cls, data: bytes | memoryview) -> Histogram:
        """The histogram :meth:`to_bytes` wrote; ValueError for anything else."""
        data = bytes(data)
        if len(data) < _HEADER.size or data[:4] != _MAGIC:
            raise ValueError("not a zlab histogram (bad magic)")
        _, bits, _, count, min_ns, max_ns, n = _HEADER.unpack_from(data)
        if bits != SUB_BUCKET_BITS:
            raise ValueError(f"histogram geometry {bits} sub-bucket bits, expected {SUB_BUCKET_BITS}")
        try:
            body = zlib.decompress(data[_HEADER.size :])
        except zlib.error as exc:
            raise ValueError(f"corrupt histogram body: {exc}") from None
        if len(body) != 12 * n:
            raise ValueError(f"corrupt histogram body: {len(body)} bytes for {n} buckets")
        index = np.cumsum(np.frombuffer(body[: 4 * n], dtype="<u4").astype(np.int64))
        counts = np.frombuffer(body[4 * n :], dtype="<u8").astype(np.int64)
        h = cls.from_counts(index, counts, min_ns, max_ns)
        if h.count != count:
            raise ValueError(f"corrupt histogram: counts sum to {h.count}, header says {count}")
        return h

    def __reduce__(self) -> tuple[Any, ...]:
        return (Histogram.from_bytes, (self.to_bytes(),))

    # -- HdrHistogram formats ---------------------------------------------------------------------

    def to_hdrh(self) -> Any:
        """The same histogram as an ``hdrh.histogram.HdrHistogram`` in ns (needs ``pip install
        hdrhistogram``): one call per non-empty bucket, lossless (same geometry)."""
        try:
            from hdrh.histogram import HdrHistogram
        except ImportError:  # pragma: no cover - depends on the machine
            raise ImportError(
                "HdrHistogram export needs the hdrhistogram package: pip install hdrhistogram"
            ) from None
        h = HdrHistogram(1, max(2, self.max_ns, 2 * SUB_BUCKET_COUNT), SIGNIFICANT_DIGITS)
        index, counts = self.sparse()
        for value, n in zip(_lowest_ns(index).tolist(), counts.tolist(), strict=True):
            h.record_value(value, n)
        return h

    def percentile_levels(self, ticks_per_half_distance: int = 5) -> list[float]:
        """HdrHistogram's reporting percentiles: ``ticks`` steps per halving of the distance to 100 %."""
        levels, p = [0.0], 0.0
        while p < 100.0:
            ticks = ticks_per_half_distance * 2 ** (int(math.log2(100.0 / (100.0 - p))) + 1)
            p += 100.0 / ticks
            if 100.0 - p < 1e-10 or (self.count and (100.0 - p) / 100.0 * self.count < 0.5):
                break
            levels.append(p)
        levels.append(100.0)
        return levels

    def hgrm(self, ticks_per_half_distance: int = 5, decimals: int = 3) -> str:
        """HdrHistogram's percentile-distribution text (``.hgrm``), values in µs (HdrHistogram's
        ``outputPercentileDistribution`` with a value-unit ratio of 1000 ns)."""
        lines = [f"{'Value':>12} {'Percentile':>14} {'TotalCount':>10} {'1/(1-Percentile)':>14}", ""]
        cum = np.cumsum(self._counts) if self.count else np.zeros(1, dtype=np.int64)
        for p in self.percentile_levels(ticks_per_half_distance) if self.count else []:
            value = self.percentile(p) if p > 0 else self.min
            idx = int(bucket_index(np.array([round(value * NS_PER_US)]))[0])
            total = int(cum[min(idx, len(cum) - 1)])
            if total >= self.count or p >= 100.0:
                break
            frac = total / self.count
            lines.append(f"{value:12.{decimals}f} {frac:2.12f} {total:10d} {1 / (1 - frac):14.2f}")
        if self.count:
            lines.append(f"{self.max:12.{decimals}f} {1.0:2.12f} {self.count:10d}")
        n_buckets = max(1, (len(self._counts) >> SUB_BUCKET_HALF_BITS))
        lines.append(
            f"#[Mean    = {self.mean():12.{decimals}f}, StdDeviation   = {self.std():12.{decimals}f}]"
        )
        lines.append(f"#[Max     = {self.max:12.{decimals}f}, Total count    = {self.count:12d}]")
        lines.append(f"#[Buckets = {n_buckets:12d}, SubBuckets     = {SUB_BUCKET_COUNT:12d}]")
        return "\n".join(lines) + "\n"

    def write_hgrm(self, out: IO[str], **kwargs: Any) -> None:
        """Write :meth:`hgrm` to a text stream."""
        out.write(self.hgrm(**kwargs))


def write_hlog(
    out: IO[str],
    intervals: Iterable[tuple[float, float, Histogram]],
    *,
    start_time_s: float = 0.0,
    tag: str | None = None,
) -> None:
    """HdrHistogram's interval log (format 1.3, values in ns, Interval_Max in ms) from ``(start_s, length_s, histogram)``
    intervals: readable by ``HistogramLogProcessor`` and ``hdrh.log``. Needs ``hdrhistogram``."""
    out.write("#[Histogram log format version 1.3]\n")
    out.write(f"#[StartTime: {start_time_s:.3f} (seconds since epoch)]\n")
    out.write('"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"\n')
    for start, length, h in intervals:
        blob = h.to_hdrh().encode().decode()
        prefix = f"Tag={tag}," if tag else ""
        out.write(f"{prefix}{start:.3f},{length:.3f},{h.max_ns / 1e6:.3f},{blob}\n")


def merge_histograms(items: Any) -> Histogram:
    """One histogram from many: a frame with a ``histogram`` column (as :func:`load_histograms`
    returns), a Series, or an iterable of :class:`Histogram` / bytes. Missing entries are skipped."""
    if hasattr(items, "columns") and "histogram" in items.columns:
        items = items["histogram"]
    out = Histogram()
    for h in items:
        if h is None or (isinstance(h, float) and math.isnan(h)):
            continue
        out.merge(h if isinstance(h, Histogram) else Histogram.from_bytes(h))
    return out
