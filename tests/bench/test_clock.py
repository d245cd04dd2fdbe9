"""The clock-offset estimate: min-RTT filtering, its bound, and refusing one-way figures it cannot support."""

from __future__ import annotations

import random
import threading
import time
from multiprocessing import Pipe

import pytest

from zlab.bench import clock
from zlab.bench.clock import ClockOffset, Sample


def _exchange(rng: random.Random, t: int, offset: int) -> tuple[Sample, int]:
    """A simulated ping: random delays out and back (queueing makes some much longer), stamped remotely."""
    out = 20_000 + int(rng.expovariate(1 / 30_000))
    back = 20_000 + int(rng.expovariate(1 / 30_000))
    sample = Sample(t, t + out + offset, t + out + back)
    return sample, t + out + back + 1000


@pytest.mark.parametrize("offset", [0, 123_456_789, -5_000_000_000_000])
def test_estimate_holds_the_true_offset_within_its_bound(offset: int) -> None:
    rng = random.Random(offset)
    t, samples = 10**12, []
    for _ in range(64):
        sample, t = _exchange(rng, t, offset)
        samples.append(sample)
    est = clock.estimate(samples)
    assert abs(est.offset_ns - offset) <= est.uncertainty_ns
    best = min(samples, key=lambda s: s.rtt_ns)
    assert est.rtt_min_ns == best.rtt_ns and est.n_samples == 64
    # the filter keeps the fastest exchanges: far tighter than the typical round trip
    median_rtt = sorted(s.rtt_ns for s in samples)[32]
    assert est.uncertainty_ns < median_rtt / 2


def test_asymmetric_queueing_on_slow_samples_does_not_move_the_estimate() -> None:
    # eight clean exchanges (10 us each way) and many where the reply queued 500 us: a mean would be
    # pulled 250 us off; the min-RTT filter is not
    clean = [Sample(t, t + 10_000 + 777, t + 20_000) for t in range(0, 8_000_000, 1_000_000)]
    queued = [Sample(t, t + 10_000 + 777, t + 520_000) for t in range(10**8, 10**8 + 56 * 10**6, 10**6)]
    est = clock.estimate(clean + queued)
    assert est.offset_ns == 777 and est.uncertainty_ns == 10_000


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError, match="no clock samples"):
        clock.estimate([])
    with pytest.raises(ValueError, match="received before it was sent"):
        clock.estimate([Sample(100, 50, 90)])


def test_between_two_hosts_adds_the_doubts() -> None:
    a, b = ClockOffset(1_000.0, 30.0), ClockOffset(-4_000.0, 50.0)
    rel = clock.between(a, b)
    assert rel.offset_ns == -5_000.0 and rel.uncertainty_ns == 80.0
    assert str(ClockOffset(12_345.0, 6_000.0)) == "+12.3 ± 6.0 us"


def test_one_way_figures_are_corrected_or_refused() -> None:
    rel = ClockOffset(offset_ns=1_000_000.0, uncertainty_ns=20_000.0)  # receiver 1 ms ahead, ± 20 us
    assert clock.one_way_ns(1_150_000.0, rel) == 150_000.0
    assert clock.one_way_ns(1_015_000.0, rel) is None  # 15 us measured with a 20 us doubt: not reported
    assert clock.one_way_ns(10_000.0, clock.SAME_CLOCK) == 10_000.0


@pytest.mark.timeout(10)
def test_ping_and_serve_over_a_connection_with_a_shifted_clock() -> None:
    here, there = Pipe()
    shift = 7_000_000_000  # the other side's clock is 7 s ahead

    def remote_clock() -> int:
        return time.perf_counter_ns() + shift

    server = threading.Thread(target=clock.serve, args=(there, remote_clock))
    server.start()
    est = clock.ping(here, 16)
    server.join(5)
    assert not server.is_alive()
    assert est.n_samples == 16
    assert abs(est.offset_ns - shift) <= est.uncertainty_ns


def test_one_way_columns_of_a_frame_are_corrected_or_refused() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            # receiver binds; sender's host clock runs 1000 us ahead of the receiver's
            "clock_offset_us": [1000.0, 1000.0, None, 0.0],
            "clock_offset_err_us": [20.0, 20.0, None, 0.0],
            "lat_p50_us": [-850.0, -990.0, 40.0, 35.0],
        }
    )
    out = clock.correct_one_way_columns(frame, ["lat_p50_us"])
    assert out["lat_p50_us"].iloc[0] == 150.0  # -850 measured, +1000 of clock: 150 us
    assert pd.isna(out["lat_p50_us"].iloc[1])  # 10 us with a 20 us doubt: refused
    assert out["lat_p50_us"].iloc[2:].tolist() == [40.0, 35.0]  # local and one-host rows untouched
    assert frame["lat_p50_us"].iloc[0] == -850.0  # the stored rows are never edited
    flipped = clock.correct_one_way_columns(frame, ["lat_p50_us"], receiver_binds=False)
    assert flipped["lat_p50_us"].iloc[0] == -1850.0


def test_a_cross_host_load_cell_is_corrected_by_its_offset_or_refused() -> None:
    """The cluster launcher's hook for open-loop one-way figures (pushpull: the receiver binds)."""
    pytest.importorskip("distributed")
    from zlab.bench.cluster import _correct_one_way
    from zlab.bench.coordinator import CellOutcome

    # the sender's (connecting) clock runs 300 us ahead of the receiver's, known to +-20 us: every
    # one-way figure read on two clocks comes out 300 us too short
    columns = {"lat_p50_us": -250.0, "lat_p99_us": 100.0, "uncorrected_p50_us": -270.0}
    outcome = CellOutcome(
        "ok",
        {**columns, "clock_offset_us": 300.0, "clock_offset_err_us": 20.0},
        histograms={"latency": object(), "send_lag": object()},
    )
    _correct_one_way(outcome, receiver_binds=True)
    assert outcome.columns["lat_p50_us"] == pytest.approx(50.0)
    assert outcome.columns["lat_p99_us"] == pytest.approx(400.0)
    assert outcome.columns["uncorrected_p50_us"] == pytest.approx(30.0)
    assert set(outcome.histograms) == {"send_lag"}  # two-clock histograms are not stored uncorrected
    # an offset known only to +-100 us cannot support a 50 us figure: not reported
    refused = CellOutcome(
        "ok", {"lat_p50_us": -250.0, "clock_offset_us": 300.0, "clock_offset_err_us": 100.0}
    )
    _correct_one_way(refused, receiver_binds=True)
    assert refused.columns["lat_p50_us"] is None and "not reported" in (refused.notes or "")
    # one host: no offset, nothing changes
    local = CellOutcome("ok", {"lat_p50_us": 42.0, "clock_offset_us": None})
    _correct_one_way(local, receiver_binds=True)
    assert local.columns["lat_p50_us"] == 42.0
