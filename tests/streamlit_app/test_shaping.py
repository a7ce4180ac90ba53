"""Shaping API answers for the pages, without Streamlit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest

from streamlit_app.filters import ALL_CUSTOMERS, custom_filters, filters_for
from streamlit_app.layout import comparison_window
from streamlit_app.registry import Registry
from streamlit_app.shaping import (
    Figure,
    alert_stats,
    alerts_for_customer,
    auto_bucket,
    bucket_options,
    category_scores,
    errors_frame,
    figure_view,
    has_data,
    series_frame,
    sort_alerts,
    status_badge,
    status_of,
    telemetry_view,
    with_derived_figures,
)

SUCCESS = Figure("Success", ("persistence", "operations", "successRate"), "%", True)
RENDER = Figure("Render p95", ("performance", "renders", "p95Time"), "ms", False)
OPS = Figure("Operations", ("persistence", "operations", "total"), "", None)
# what the API's figure registry answers (GET /api/monitoring/figures), written out by hand
BUCKETS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21_600, "1d": 86_400, "1w": 604_800}
MAX_BUCKETS = 2000
BANDS = {"healthy": 90, "degraded": 70}


def _summary(success: float | None, p95: float | None, total: int) -> dict[str, object]:
    return {
        "persistence": {"operations": {"successRate": success, "total": total}},
        "performance": {"renders": {"p95Time": p95, "count": total}},
    }


def test_figure_delta_is_the_change_since_the_previous_window_with_the_right_colour_rule() -> None:
    now, before = _summary(99.5, 14.0, 120), _summary(98.25, 18.5, 100)
    success = figure_view(SUCCESS, now, before)
    assert (success.value, success.delta, success.delta_color) == ("99.50%", "+1.25 pp", "normal")
    render = figure_view(RENDER, now, before)
    assert (render.value, render.delta, render.delta_color) == ("14.00 ms", "-4.50 ms", "inverse")
    ops = figure_view(OPS, now, before)
    assert (ops.value, ops.delta, ops.delta_color) == ("120", "+20", "off")


def test_no_delta_when_either_window_lacks_the_figure_and_zero_change_is_zero() -> None:
    assert figure_view(RENDER, _summary(99, None, 1), _summary(99, 10, 1)).delta is None
    assert figure_view(RENDER, _summary(99, 10, 1), None).delta is None
    assert figure_view(SUCCESS, _summary(99, 10, 1), _summary(99, 10, 1)).delta == 0
    assert figure_view(RENDER, _summary(99, None, 1), None).value is None


@pytest.mark.parametrize(
    ("score", "badge"),
    [
        pytest.param(95.0, ("Healthy", "green"), id="healthy"),
        pytest.param(90.0, ("Healthy", "green"), id="edge-90"),
        pytest.param(89.99, ("Degraded", "yellow"), id="degraded"),
        pytest.param(70.0, ("Degraded", "yellow"), id="edge-70"),
        pytest.param(69.9, ("Unhealthy", "red"), id="unhealthy"),
        pytest.param(None, ("No data", "gray"), id="none"),
    ],
)
def test_status_badge_follows_the_seed(score: float | None, badge: tuple[str, str]) -> None:
    assert status_badge(status_of(score, BANDS)) == badge


def test_status_follows_the_bands_it_is_given() -> None:
    bands = {"healthy": 95, "degraded": 40}
    assert [status_of(s, bands) for s in (95.0, 94.9, 40.0, 39.9)] == [
        "healthy",
        "degraded",
        "degraded",
        "unhealthy",
    ]


def test_has_data_is_false_for_an_empty_window_and_true_for_one_memory_snapshot() -> None:
    empty = _summary(None, None, 0)
    assert not has_data(empty)
    assert has_data({**empty, "performance": {"memory": {"peak": {"bytes": 1000}}}})


def test_category_scores_errors_and_alert_helpers() -> None:
    summary = {
        "health": {"scores": {"persistence": 50.0, "performance": None, "api": 97.0}},
        "persistence": {"reliability": {"errorsByType": {"Quota": 2, "Storage": 9}}},
    }
    assert category_scores(summary) == [("Persistence", 50.0), ("Performance", None), ("API", 97.0)]
    assert errors_frame(summary).to_dict("list") == {"errorType": ["Storage", "Quota"], "count": [9, 2]}
    alerts = [
        {"id": "1", "severity": "warning", "category": "api", "createdAt": "2026-01-01T02:00:00Z"},
        {"id": "2", "severity": "critical", "category": "persistence", "createdAt": "2026-01-01T01:00:00Z"},
        {
            "id": "3",
            "severity": "warning",
            "category": "api",
            "createdAt": "2026-01-01T03:00:00Z",
            "resolved": True,
        },
    ]
    assert [a["id"] for a in sort_alerts(alerts)] == ["2", "3", "1"]
    assert alert_stats(alerts) == {
        "total": 3,
        "unresolved": 2,
        "bySeverity": {"warning": 2, "critical": 1},
        "byCategory": {"api": 2, "persistence": 1},
    }


def test_telemetry_is_shown_only_when_the_summary_has_it() -> None:
    assert telemetry_view({"health": {}}) is None
    overall, frame = telemetry_view(
        {
            "telemetry": {
                "expected": 10,
                "received": 9,
                "lost": 1,
                "completeness": 90.0,
                "byCustomer": {"acme": {"expected": 10, "received": 9, "lost": 1, "completeness": 90.0}},
            }
        }
    )  # type: ignore[misc]
    assert overall == {"expected": 10, "received": 9, "lost": 1, "completeness": 90.0}
    assert frame.to_dict("records") == [
        {"customerId": "acme", "expected": 10, "received": 9, "lost": 1, "completeness": 90.0}
    ]


def test_series_frame_labels_ungrouped_points_with_the_metric() -> None:
    frame = series_frame(
        {
            "label": "Render time",
            "points": [
                {"t": "2026-01-01T00:00:00.000Z", "group": None, "value": 3.5, "events": 2},
                {"t": "2026-01-01T01:00:00.000Z", "group": None, "value": 4.5, "events": 1},
            ],
        }
    )
    assert list(frame["series"]) == ["Render time", "Render time"]
    assert frame["time"].iloc[1] == pd.Timestamp("2026-01-01T01:00:00Z")


@pytest.mark.parametrize(
    ("span", "bucket"),
    [
        pytest.param(timedelta(minutes=15), "1m", id="15m"),
        pytest.param(timedelta(hours=1), "1m", id="1h"),  # 60 points
        pytest.param(timedelta(hours=24), "15m", id="24h"),  # 96 points
        pytest.param(timedelta(days=3), "1h", id="3d"),  # 72 points
        pytest.param(timedelta(days=30), "6h", id="30d"),  # 120 points
    ],
)
def test_auto_bucket_keeps_charts_near_120_points(span: timedelta, bucket: str) -> None:
    assert auto_bucket(span, BUCKETS) == bucket
    assert bucket in bucket_options(span, BUCKETS, MAX_BUCKETS)


def test_bucket_options_exclude_too_fine_and_too_coarse_buckets() -> None:
    # 30 days: 2880 buckets of 15m (over 2000), 720 of 1h, 4.3 of 1w
    assert bucket_options(timedelta(days=30), BUCKETS, MAX_BUCKETS) == ["1h", "6h", "1d", "1w"]
    assert bucket_options(timedelta(hours=1), BUCKETS, MAX_BUCKETS) == ["1m", "5m", "15m"]
    # a registry with a lower cap: 30 days are 720 buckets of 1h, past a cap of 500
    assert bucket_options(timedelta(days=30), BUCKETS, 500) == ["6h", "1d", "1w"]


def test_filters_previous_window_and_customer_choice() -> None:
    now = datetime(2026, 1, 2, 12, 0, 30, 999, tzinfo=UTC)
    f = filters_for("Last 6 hours", ALL_CUSTOMERS, now=now)
    assert f.customer_id is None and f.window_ms == 6 * 3_600_000
    assert f.previous().end == f.start == datetime(2026, 1, 2, 6, 0, 30, tzinfo=UTC)
    assert filters_for("Last hour", "acme", now=now).customer_id == "acme"


@pytest.mark.parametrize(
    ("label", "exact_span_s", "ends"),
    [
        pytest.param("Last 30 days", 86_400, datetime(2025, 12, 3, 12, 0, tzinfo=UTC), id="30d-on-the-hour"),
        pytest.param("Last 3 days", 86_400, datetime(2025, 12, 30, 12, 0, tzinfo=UTC), id="3d-on-the-hour"),
        pytest.param(
            "Last 24 hours", 86_400, datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC), id="24h-just-before"
        ),
        pytest.param(
            "Last 30 days", None, datetime(2025, 12, 3, 12, 0, 30, tzinfo=UTC), id="api-says-nothing"
        ),
    ],
)
def test_the_arrows_compare_a_long_window_with_the_same_span_ending_on_the_hour(
    label: str, exact_span_s: int | None, ends: datetime
) -> None:
    now = datetime(2026, 1, 2, 12, 0, 30, 999, tzinfo=UTC)
    chosen = filters_for(label, ALL_CUSTOMERS, now=now)
    answer = {"buckets": {}, "maxBuckets": 1, "statusBands": {}, "exactSpanSeconds": exact_span_s}
    before = comparison_window(chosen, Registry.from_answer(answer))
    assert before.end == ends and before.span == chosen.span and before.end <= chosen.start


def test_custom_range_covers_whole_utc_days_and_at_most_90_of_them() -> None:
    week = custom_filters(date(2026, 1, 1), date(2026, 1, 7), "acme")
    assert (week.start, week.end) == (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC))
    assert week.customer_id == "acme" and week.span == timedelta(days=7)
    swapped = custom_filters(date(2026, 1, 7), date(2026, 1, 1), None)
    assert (swapped.start, swapped.end) == (week.start, week.end)
    year = custom_filters(date(2025, 1, 1), date(2025, 12, 31), None)
    assert year.span == timedelta(days=90) and year.end == datetime(2026, 1, 1, tzinfo=UTC)
    assert week.shifted(timedelta(days=7)).end == datetime(2026, 1, 1, tzinfo=UTC)


def test_average_bundle_size_is_derived_and_absent_without_loads() -> None:
    summary = {"performance": {"bundles": {"totalLoaded": 3, "totalSize": {"bytes": 3 * 150 * 1024}}}}
    assert with_derived_figures(summary)["performance"]["bundles"]["avgSize"] == {"kb": 150.0}
    empty = {"performance": {"bundles": {"totalLoaded": 0, "totalSize": {"bytes": None}}}}
    assert with_derived_figures(empty)["performance"]["bundles"]["avgSize"] == {"kb": None}
    assert summary["performance"]["bundles"].get("avgSize") is None  # the input is left alone


def test_a_customer_sees_its_own_alerts_and_those_over_all_customers() -> None:
    alerts = [
        {"id": "all", "customerId": None},
        {"id": "a1", "customerId": "a"},
        {"id": "b1", "customerId": "b"},
    ]
    assert [x["id"] for x in alerts_for_customer(alerts, "a")] == ["all", "a1"]
    assert alerts_for_customer(alerts, None) == alerts
