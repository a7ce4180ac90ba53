"""The logarithmic-bucket sketch: its quantiles are within α of numpy's exact ones, its buckets
are DDSketch's and Prometheus's (schema 6), and merging loses nothing."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pytest
from ddsketch.mapping import LogarithmicMapping
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from analytics.rollups.sketch import ALPHA, GAMMA, Sketch, bucket_of, bucket_sql

QS = (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0)


def test_the_base_is_prometheus_schema_6_and_the_error_under_one_percent() -> None:
    assert pytest.approx(2 ** (1 / 64)) == GAMMA
    assert pytest.approx((2 ** (1 / 64) - 1) / (2 ** (1 / 64) + 1)) == ALPHA
    assert ALPHA < 0.01
    # schema 6: 64 buckets per power of two, bucket k being (2^((k-1)/64), 2^(k/64)]
    assert bucket_of([1.0, 2.0, 4.0, 0.5]).tolist() == [0, 64, 128, -64]
    assert bucket_of([2.0 * 1.000001]).tolist() == [65]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param(np.random.default_rng(7).lognormal(2.5, 1.2, 50_000), id="lognormal render times"),
        pytest.param(np.random.default_rng(8).uniform(0, 1000, 20_000), id="uniform latencies"),
        pytest.param(np.r_[np.zeros(300), np.random.default_rng(9).exponential(40, 700)], id="30% zeros"),
        pytest.param(np.full(1000, 16.0), id="all equal"),
        pytest.param(np.array([3.0]), id="one value"),
        pytest.param(np.array([1e-6, 3_600_000.0]), id="the extremes of a duration"),
    ],
)
def test_quantiles_are_within_alpha_of_the_exact_ones(values: np.ndarray) -> None:
    sketch = Sketch.of(values)
    for q in QS:
        exact = float(np.quantile(values, q))  # linear between closest ranks, as quantile_cont
        estimate = sketch.quantile(q)
        assert estimate is not None
        assert abs(estimate - exact) <= ALPHA * exact + 1e-12, (q, estimate, exact)
    assert (sketch.count, sketch.low, sketch.high) == (len(values), values.min(), values.max())
    assert sketch.total == pytest.approx(values.sum())


@settings(max_examples=200, deadline=None)
@given(
    values=arrays(
        np.float64,
        st.integers(1, 400),
        elements=st.one_of(st.just(0.0), st.floats(1e-3, 3.6e6, allow_nan=False, allow_infinity=False)),
    ),
    q=st.floats(0, 1),
)
def test_any_quantile_of_any_durations_is_within_alpha(values: np.ndarray, q: float) -> None:
    exact = float(np.quantile(values, q))
    estimate = Sketch.of(values).quantile(q)
    assert estimate is not None
    assert abs(estimate - exact) <= ALPHA * exact * (1 + 1e-9) + 1e-12


def test_buckets_are_ddsketchs_logarithmic_mapping() -> None:
    """The same key as the reference implementation at the same relative accuracy."""
    mapping = LogarithmicMapping(relative_accuracy=ALPHA)
    assert mapping.gamma == pytest.approx(GAMMA, rel=1e-12)
    values = np.random.default_rng(3).lognormal(1, 3, 20_000)
    ours = bucket_of(values)
    theirs = np.array([mapping.key(v) for v in values])
    off_boundary = np.abs(np.log(values) / np.log(GAMMA) - np.round(np.log(values) / np.log(GAMMA))) > 1e-9
    assert np.array_equal(ours[off_boundary], theirs[off_boundary])


def test_the_sql_index_is_the_same_as_numpys() -> None:
    values = np.random.default_rng(4).lognormal(3, 2, 5000)
    with duckdb.connect() as con:
        con.execute("CREATE TABLE t AS SELECT unnest($v) AS v", {"v": values.tolist()})
        in_sql = [k for (k,) in con.execute(f"SELECT {bucket_sql('v')} FROM t").fetchall()]
    assert in_sql == bucket_of(values).tolist()


def test_merging_is_the_sketch_of_all_the_values() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.lognormal(2, 1, 3000), np.r_[np.zeros(10), rng.lognormal(4, 0.5, 2000)]
    merged, whole = Sketch.of(a).merge(Sketch.of(b)), Sketch.of(np.r_[a, b])
    assert (merged.buckets, merged.zeros, merged.count) == (whole.buckets, whole.zeros, whole.count)
    assert (merged.low, merged.high) == (whole.low, whole.high)
    assert merged.total == pytest.approx(whole.total)
    assert merged.quantile(0.95) == whole.quantile(0.95)


def test_rows_round_trip_and_an_empty_sketch_knows_nothing() -> None:
    s = Sketch.of([0.0, 5.0, 5.0, 80.0])
    again = Sketch.from_rows(
        sorted(s.buckets.items()), zeros=s.zeros, count=s.count, total=s.total, low=s.low, high=s.high
    )
    assert again == s
    empty = Sketch.of([])
    assert (empty.quantile(0.5), empty.mean, empty.count) == (None, None, 0)
    assert Sketch().merge(s) == s


@pytest.mark.parametrize("bad", [[-1.0], [math.nan], [math.inf]])
def test_negative_or_non_finite_values_are_refused(bad: list[float]) -> None:
    with pytest.raises(ValueError, match="non-negative, finite"):
        Sketch.of(bad)
