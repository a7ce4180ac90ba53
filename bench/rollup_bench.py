"""Time series over weeks from the hourly rollups, beside the same series from raw events, in one run.

    .venv/bin/python bench/rollup_bench.py              # about two minutes
    .venv/bin/python bench/rollup_bench.py --events 10000000

A real store (`EventStore`) gets --events renders and as many API calls spread over 30 days
(40 customers, 3 widget versions, lognormal render times), written with SQL. Then:

- rolling up the whole history once (what a data dir from before rollups gets at its first
  start), and one hour of it again (what the job does every minute at most);
- each series from raw events (`exact=true`, the reference) and from the rollups, alternating,
  medians of --rounds, with the largest relative difference of any point (within α for
  quantiles, 0 for rates).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.queries.timeseries import compute_timeseries, series_query
from analytics.rollups import maintain
from analytics.rollups.hourly import roll_up
from analytics.rollups.sketch import ALPHA
from analytics.storage.store import EventStore

END = datetime(2026, 11, 30, tzinfo=UTC)
START = END - timedelta(days=30)
SERIES = (
    ("30-day daily render p95", "render.renderTime", "p95", "1d", 30, None),
    ("7-day hourly render p95 per widget version", "render.renderTime", "p95", "1h", 7, "widgetVersion"),
    ("30-day daily render p95 per widget version", "render.renderTime", "p95", "1d", 30, "widgetVersion"),
    ("30-day daily API error rate per customer", "api.errorRate", "rate", "1d", 30, "customerId"),
)


def fill(store: EventStore, n: int) -> None:
    """n renders and n API calls, uniformly over [START, END), straight into the events table."""
    span_s = (END - START).total_seconds()
    with store.cursor() as cur:
        for kind, column, value in (
            (
                "render",
                "render_time",
                "exp(2.3 + 0.7 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))",
            ),
            ("api", "duration", "100 + 400 * random()"),
        ):
            success = ", random() > 0.02" if kind == "api" else ""
            cur.execute(
                f"INSERT INTO events (type, ts, received_at, ts_clamped, customer_id, widget_version, "
                f"{column}{', success' if success else ''}) "
                f"SELECT '{kind}', t, t, false, 'customer-' || (i % 40), "
                f"['2.14.0', '2.14.1', '2.15.0'][i % 3 + 1], {value}{success} "
                f"FROM (SELECT i, $start + to_microseconds(CAST(random() * $span * 1e6 AS BIGINT)) AS t "
                f"FROM range($n) r(i)) ORDER BY t",
                {"start": START, "span": span_s, "n": n},
            )


def timed(fn: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000_000, help="renders (and as many API calls)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    store = EventStore.open(tempfile.mkdtemp(prefix="rollup-bench-"))
    print(f"writing {2 * args.events:,} events over 30 days ...", flush=True)
    fill(store, args.events)
    with store.cursor() as cur:
        print("rolling up the whole history (720 hours) ...", flush=True)
        history_s, report = timed(
            lambda: maintain.advance(cur, safe_until=END + timedelta(hours=1), now=END, max_hours=10_000)
        )
        assert report.rolled == 720, report
        hour = END - timedelta(hours=5)
        one_hour_s = statistics.median(
            timed(lambda: roll_up(cur, hour, hour + timedelta(hours=1)))[0] for _ in range(3)
        )
        rows = cur.execute("SELECT count(*) FROM rollup_stats").fetchone()[0]
        buckets = cur.execute("SELECT count(*) FROM rollup_buckets").fetchone()[0]
    print(
        f"history: {history_s:.1f} s for 720 hours; one hour again: {one_hour_s * 1000:.0f} ms; "
        f"{rows:,} stats rows and {buckets:,} bucket rows for {2 * args.events:,} events"
    )
    lines = [
        "| series | raw (exact) | rollups | raw / rollups | largest difference |",
        "|---|---:|---:|---:|---:|",
    ]
    for title, metric, stat, bucket, days, group in SERIES:
        raw_s: list[float] = []
        rolled_s: list[float] = []
        worst = 0.0
        for _ in range(args.rounds):
            for exact, into in ((True, raw_s), (False, rolled_s)):
                query = series_query(
                    metric,
                    stat=stat,
                    bucket=bucket,
                    start=END - timedelta(days=days),
                    end=END,
                    group_by=group,
                    exact=exact,
                )
                with store.cursor() as cur:
                    elapsed, answer = timed(lambda: compute_timeseries(cur, query))  # noqa: B023
                into.append(elapsed)
                if exact:
                    truth = {(p["group"], p["t"]): p["value"] for p in answer["points"]}
                else:
                    assert answer["source"] == "rollup"
                    for p in answer["points"]:
                        exact_value = truth[p["group"], p["t"]]
                        difference = abs(p["value"] - exact_value)
                        worst = max(worst, difference / abs(exact_value) if exact_value else difference)
        raw, rolled = statistics.median(raw_s), statistics.median(rolled_s)
        ratio = raw / rolled
        lines.append(
            f"| {title} | {raw * 1000:.0f} ms | {rolled * 1000:.0f} ms | {ratio:.2f}× | {100 * worst:.3f} % |"
        )
        print(lines[-1], flush=True)
    store.close()
    print(f"\nα = {100 * ALPHA:.3f} %; medians of {args.rounds} alternating rounds.\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
