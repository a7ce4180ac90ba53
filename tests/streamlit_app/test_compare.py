"""The Compare page's statistics: bootstrap intervals and the Mann-Whitney U test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from streamlit_app.compare import CompareFigure, bootstrap_diff_ci, compare_samples, mann_whitney_u

RENDER_P95 = CompareFigure("Render p95", "render.renderTime", "p95", "ms", False)
SUCCESS = CompareFigure("Success", "persistence.successRate", "rate", "%", True)


def test_mann_whitney_matches_a_hand_worked_example_with_ties() -> None:
    a, b = np.array([1.0, 2.0, 2.0, 5.0]), np.array([2.0, 3.0, 4.0])
    # pooled ranks: 1→1, the three 2s→3 each, 3→5, 4→6, 5→7; R_a = 1 + 3 + 3 + 7 = 14
    u, p = mann_whitney_u(a, b)
    assert u == 14 - 4 * 5 / 2  # 4.0
    n1, n2, n = 4, 3, 7
    variance = n1 * n2 / 12 * ((n + 1) - (3**3 - 3) / (n * (n - 1)))
    z = (abs(4.0 - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)))


def test_bootstrap_interval_covers_a_known_shift_and_excludes_zero() -> None:
    rng = np.random.default_rng(1)
    a = rng.normal(10, 2, 3000)
    b = rng.normal(11, 2, 3000)
    diff, low, high = bootstrap_diff_ci(a, b, "avg", n_boot=800, seed=3)
    assert diff == pytest.approx(b.mean() - a.mean())
    assert low < 1.0 < high and low > 0
    # the normal-theory standard error of a difference of means: the interval is about ±1.96 of it
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    assert (high - low) == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_two_samples_of_one_distribution_are_called_different_about_5_percent_of_the_time() -> None:
    called = 0
    for trial in range(60):
        rng = np.random.default_rng(1000 + trial)
        a, b = rng.lognormal(2.0, 0.35, 300), rng.lognormal(2.0, 0.35, 300)
        called += (
            compare_samples(list(a), list(b), RENDER_P95, n_boot=400, seed=trial).verdict != "within noise"
        )
    # a 95% interval: about 3 of 60 by chance; more than 9 would be a badly calibrated interval
    assert called <= 9


def test_a_render_regression_is_worse() -> None:
    rng = np.random.default_rng(2)
    base = rng.lognormal(2.0, 0.35, 2000)
    slower = rng.lognormal(2.6, 0.35, 2000)
    worse = compare_samples(list(base), list(slower), RENDER_P95)
    assert worse.verdict == "B worse"
    assert worse.a == pytest.approx(np.percentile(base, 95))
    assert worse.p_value is not None and worse.p_value < 1e-6


def test_higher_success_rate_is_better_and_tiny_samples_say_so() -> None:
    a = [100.0] * 900 + [0.0] * 100  # 90 %
    b = [100.0] * 990 + [0.0] * 10  # 99 %
    result = compare_samples(a, b, SUCCESS)
    assert result.verdict == "B better"
    assert result.diff == pytest.approx(9.0)
    assert result.p_value is None  # a rate is judged by its interval only
    assert compare_samples([1.0, 2.0], [3.0] * 50, RENDER_P95).verdict == "not enough data"
