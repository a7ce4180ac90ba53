"""Hourly rollups from raw events: exact totals, quantiles within α, hours replaced whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pytest

from analytics.figures import measure_named
from analytics.rollups.hourly import create_tables, hours_of, read_rollup, roll_up
from analytics.rollups.sketch import ALPHA
from analytics.storage.lake import ensure_manifest
from analytics.storage.table import create_table_sql

T0 = datetime(2026, 3, 10, 9, tzinfo=UTC)


def store() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(create_table_sql())
    ensure_manifest(con)  # the lake's, empty: every event in `events`
    create_tables(con)
    return con


def add_renders(
    con: duckdb.DuckDBPyConnection, times: np.ndarray, at: list[datetime], customers: list[str | None]
) -> None:
    con.executemany(
        "INSERT INTO events (type, ts, received_at, ts_clamped, customer_id, widget_version, render_time) "
        "VALUES ('render', ?, ?, false, ?, '2.0', ?)",
        [(t, t, c, float(v)) for v, t, c in zip(times, at, customers, strict=True)],
    )


def test_a_rollup_holds_exact_totals_and_quantiles_within_alpha() -> None:
    rng = np.random.default_rng(11)
    times = np.r_[rng.lognormal(2.3, 0.7, 900), np.zeros(20)]
    at = [T0 + timedelta(seconds=float(s)) for s in rng.uniform(0, 3 * 3600, times.size)]
    customers = [("acme", "globex", None)[i % 3] for i in range(times.size)]
    con = store()
    add_renders(con, times, at, customers)
    assert roll_up(con, T0, T0 + timedelta(hours=3)) > 0

    rolled = read_rollup(con, measure_named("render.renderTime"), T0, T0 + timedelta(hours=3))
    assert rolled.stat("count") == times.size
    assert rolled.stat("avg") == pytest.approx(times.mean())
    assert (rolled.stat("min"), rolled.stat("max")) == (times.min(), times.max())
    for stat, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        exact = float(np.quantile(times, q))
        value = rolled.stat(stat)
        assert value is not None and abs(value - exact) <= ALPHA * exact, stat
        assert rolled.error_bound(stat) == ALPHA
    # one customer, one hour
    mask = np.array(
        [
            c == "acme" and T0 + timedelta(hours=1) <= t < T0 + timedelta(hours=2)
            for c, t in zip(customers, at, strict=True)
        ]
    )
    one = read_rollup(
        con,
        measure_named("render.renderTime"),
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
        customer_id="acme",
    )
    assert one.stat("count") == mask.sum()
    assert one.stat("max") == times[mask].max()
    # a rate from the same hours: slow renders (> 16 ms) among all renders
    slow = read_rollup(con, measure_named("render.slowRenderRate"), T0, T0 + timedelta(hours=3))
    assert slow.stat("rate") == pytest.approx(100.0 * (times > 16).sum() / times.size)


def test_late_events_are_counted_once_when_their_hour_is_rolled_up_again() -> None:
    con = store()
    first = np.array([5.0, 10.0, 20.0])
    add_renders(con, first, [T0 + timedelta(minutes=m) for m in (1, 2, 3)], ["acme"] * 3)
    roll_up(con, T0, T0 + timedelta(hours=1))
    late = np.array([40.0, 80.0])
    add_renders(con, late, [T0 + timedelta(minutes=50), T0 + timedelta(minutes=59)], ["acme"] * 2)
    roll_up(con, T0 + timedelta(minutes=50), T0 + timedelta(minutes=51))  # the hour is rewritten whole
    rolled = read_rollup(con, measure_named("render.renderTime"), T0, T0 + timedelta(hours=1))
    assert rolled.stat("count") == 5
    assert rolled.stat("avg") == pytest.approx(np.r_[first, late].mean())
    rows = con.execute("SELECT count(*) FROM rollup_stats WHERE measure = 'render.renderTime'").fetchone()
    assert rows == (1,)


def test_an_hour_without_events_has_no_figures() -> None:
    con = store()
    roll_up(con, T0, T0 + timedelta(hours=1))
    rolled = read_rollup(con, measure_named("render.renderTime"), T0, T0 + timedelta(hours=1))
    assert (rolled.stat("count"), rolled.stat("p95"), rolled.stat("avg")) == (0.0, None, None)
    assert read_rollup(con, measure_named("api.errorRate"), T0, T0 + timedelta(hours=1)).stat("rate") is None


def test_the_hours_rewritten_cover_the_range() -> None:
    assert hours_of(T0 + timedelta(minutes=5), T0 + timedelta(hours=1, minutes=1)) == (
        T0,
        T0 + timedelta(hours=2),
    )
    assert hours_of(T0, T0 + timedelta(hours=1)) == (T0, T0 + timedelta(hours=1))


def test_rows_are_stored_in_key_order_and_the_old_level_over_versions_is_dropped() -> None:
    rng = np.random.default_rng(5)
    times = rng.lognormal(2.3, 0.9, 600)
    at = [T0 + timedelta(seconds=float(s)) for s in rng.uniform(0, 2 * 3600, times.size)]
    con = store()
    add_renders(con, times, at, [("globex", "acme", None)[i % 3] for i in range(times.size)])
    roll_up(con, T0, T0 + timedelta(hours=2))
    key = "hour, measure, customer_id, widget_version, k"
    for table, columns in (("rollup_buckets", key), ("rollup_buckets_by_version_daily", "measure, k")):
        # the table's own order (a scan, rowid) is its key's order: what its compression gains from
        stored = con.execute(f"SELECT {columns} FROM {table} ORDER BY rowid").fetchall()
        assert len(stored) > 50 and stored == sorted(stored), table
    # a store written by the release that also summed over versions: those tables go at start
    for table in (
        "rollup_stats_all",
        "rollup_buckets_all",
        "rollup_stats_all_daily",
        "rollup_buckets_all_daily",
    ):
        con.execute(f"CREATE TABLE {table} (hour TIMESTAMPTZ, measure VARCHAR, n BIGINT)")
    create_tables(con)
    left = con.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '%\\_all%' ESCAPE '\\'")
    assert left.fetchall() == []
    rolled = read_rollup(con, measure_named("render.renderTime"), T0, T0 + timedelta(hours=2))
    assert rolled.stat("count") == times.size
