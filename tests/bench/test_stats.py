"""Bootstrap intervals of ratios: coverage on synthetic samples of known spread, verdicts, histograms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zlab.bench import stats

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("n", [5, 20])
def test_interval_covers_the_true_ratio_at_about_the_stated_rate(n: int):
    # Two groups with the same lognormal spread, true medians 20 and 10 (ratio 2); 300 trials, each seeded.
    rng = np.random.default_rng(1234)
    trials, covered, widths = 300, 0, []
    for i in range(trials):
        a = 20 * rng.lognormal(0.0, 0.2, n)
        b = 10 * rng.lognormal(0.0, 0.2, n)
        ci = stats.ratio_ci(a, b, confidence=0.95, n_boot=1000, seed=i)
        covered += ci.lo <= 2.0 <= ci.hi
        widths.append(ci.half_width())
    # The (expanded) percentile bootstrap of a median is somewhat conservative for small groups; a 95 %
    # interval that covered under 90 % would be too narrow. With 300 trials the binomial sd is ~1.3 %.
    assert 0.90 <= covered / trials <= 0.998
    # ... and not conservative by being useless: two groups of spread 0.2 (lognormal sigma)
    assert np.median(widths) < (0.6 if n == 5 else 0.2)


def test_interval_is_deterministic_by_seed_and_narrows_with_more_samples():
    rng = np.random.default_rng(7)
    a, b = 20 * rng.lognormal(0, 0.2, 40), 10 * rng.lognormal(0, 0.2, 40)
    assert stats.ratio_ci(a, b, seed=3) == stats.ratio_ci(a, b, seed=3)
    wide = stats.ratio_ci(a[:5], b[:5], seed=3)
    narrow = stats.ratio_ci(a, b, seed=3)
    assert narrow.hi - narrow.lo < wide.hi - wide.lo
    assert narrow.ratio == pytest.approx(np.median(a) / np.median(b))


def test_small_groups_get_expanded_intervals():
    assert stats._t_quantile(0.05, 4) == pytest.approx(2.7764, abs=1e-3)
    assert stats._t_quantile(0.01, 9) == pytest.approx(3.2498, abs=1e-3)
    assert stats._t_quantile(0.05, 1) == pytest.approx(12.706, abs=1e-2)
    assert stats.expanded_tail(0.95, 1000) == pytest.approx(0.05, abs=0.002)
    assert stats.expanded_tail(0.95, 5) < 0.005
    a, b = [10.0, 11.0, 12.0, 10.5, 11.5], [10.2, 11.1, 12.3, 10.4, 11.7]
    assert stats.ratio_ci(a, b, expand=False).hi - stats.ratio_ci(a, b, expand=False).lo < (
        stats.ratio_ci(a, b).hi - stats.ratio_ci(a, b).lo
    )


def test_a_percentile_other_than_the_median():
    a, b = np.arange(1, 101, dtype=float), np.arange(1, 101, dtype=float) * 2
    ci = stats.ratio_ci(a, b, q=0.99)
    assert ci.ratio == pytest.approx(0.5)
    assert ci.lo <= 0.5 <= ci.hi


def test_fewer_than_two_samples_give_no_interval_and_never_a_difference():
    ci = stats.ratio_ci([10.0], [20.0, 21.0])
    assert ci.ratio == pytest.approx(10 / 20.5) and not ci.resolved
    assert stats.verdict(ci, "lat_p50_us") == "same"
    assert ci.text() == "0.49 [n/a]"
    empty = stats.ratio_ci([], [1.0, 2.0])
    assert math.isnan(empty.ratio) and empty.text() == "-"


def test_verdict_follows_the_metric_direction():
    lower = stats.RatioCI(0.8, 0.7, 0.9, 0.95, 5, 5)
    assert stats.verdict(lower, "lat_p50_us") == "faster"
    assert stats.verdict(lower, "msgs_per_s") == "slower"
    higher = stats.RatioCI(1.3, 1.1, 1.5, 0.95, 5, 5)
    assert stats.verdict(higher, "lat_p99_us") == "slower"
    assert stats.verdict(higher, "mb_per_s") == "faster"
    straddles = stats.RatioCI(1.3, 0.9, 1.5, 0.95, 5, 5)
    assert stats.verdict(straddles, "lat_p99_us") == "same"
    assert stats.verdict(higher, "lat_p99_us", min_effect=0.5) == "same"
    with pytest.raises(ValueError, match="direction"):
        stats.verdict(higher, "n_msgs")


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="quantile"):
        stats.ratio_ci([1, 2], [1, 2], q=1.5)
    with pytest.raises(ValueError, match="confidence"):
        stats.ratio_ci([1, 2], [1, 2], confidence=1.0)


def _hist(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values, counts = np.unique(np.round(x, 1), return_counts=True)
    return values, counts


def test_histogram_bootstrap_covers_the_true_ratio():
    # Three repeats per side, each with a small run-to-run shift and 2000 samples, as histograms.
    rng = np.random.default_rng(99)
    trials, covered = 40, 0
    for i in range(trials):
        a = [_hist(20 * rng.lognormal(rng.normal(0, 0.02), 0.3, 2000)) for _ in range(3)]
        b = [_hist(10 * rng.lognormal(rng.normal(0, 0.02), 0.3, 2000)) for _ in range(3)]
        ci = stats.ratio_ci_counts(a, b, n_boot=400, seed=i)
        covered += ci.lo <= 2.0 <= ci.hi
    assert covered / trials >= 0.8  # three repeats per side: the run-to-run level is coarse


def test_one_long_histogram_per_side_still_gets_an_interval_from_its_samples():
    rng = np.random.default_rng(5)
    a = [_hist(20 * rng.lognormal(0, 0.3, 5000))]
    b = [_hist(20 * rng.lognormal(0, 0.3, 5000))]
    ci = stats.ratio_ci_counts(a, b, n_boot=400)
    assert ci.resolved and ci.lo <= ci.ratio <= ci.hi and 0 < ci.half_width() < 0.05
    merged = stats.ratio_ci_counts(a, [(b[0][0], b[0][1] * 0)])
    assert math.isnan(merged.ratio)


def test_mann_whitney():
    assert stats.mann_whitney_p([1, 2, 3, 4, 5, 6, 7, 8], [11, 12, 13, 14, 15, 16, 17, 18]) < 0.002
    assert stats.mann_whitney_p([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert math.isnan(stats.mann_whitney_p([], [1.0]))


def test_cli_defaults_match_the_runner():
    from zlab import cli
    from zlab.bench import runner

    assert cli.RUNNER_NOISY_PCT == runner.NOISY_PCT and cli.RUNNER_MAX_RERUNS == runner.MAX_RERUNS
    args = cli.build_parser().parse_args(
        ["bench", "--noisy-pct", "off", "--max-reruns", "0", "--variants", "2"]
    )
    assert args.noisy_pct is None and args.max_reruns == 0 and args.variants == 2
