"""How long a Trends chart takes to compute, next to the summary and a pandas reference.

Fills a temporary store with N render and api events spread over 30 days (3 widget
versions, 20 customers) and times, median of R runs, each on the same store:

- summary: `summarize_window` over the 30 days (one aggregate, what GET /api/monitoring/widget runs);
- timeseries p95, 1h buckets x 3 versions over the 30 days (2,160 series points);
- timeseries error rate, 15m buckets over the last 7 days, one customer;
- pandas reference: read ts, version and render time into pandas, then `groupby(...).quantile(0.95)`
  per hour and version (what one would write by hand), checked equal to the timeseries answer.

    .venv/bin/python bench/timeseries_bench.py [--events 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from analytics.queries.summary import Window, summarize_window
from analytics.queries.timeseries import compute_timeseries, series_query
from analytics.storage.store import EventStore

_FILL = """
INSERT INTO events BY NAME
SELECT
    CASE WHEN i % 2 = 0 THEN 'render' ELSE 'api' END AS type,
    $start::TIMESTAMPTZ + to_microseconds(CAST(random() * $span_us AS BIGINT)) AS ts,
    $start::TIMESTAMPTZ AS received_at,
    false AS ts_clamped,
    'customer-' || (i % 20) AS customer_id,
    ['2.3.1', '2.4.0', '2.5.0'][1 + i % 3] AS widget_version,
    CASE WHEN i % 2 = 0 THEN exp(2 + 0.4 * sqrt(-2 * ln(random())) * cos(6.283 * random())) END
        AS render_time,
    CASE WHEN i % 2 = 1 THEN 100 + 300 * random() END AS duration,
    CASE WHEN i % 2 = 1 THEN random() > 0.01 END AS success
FROM range($n) t(i)
"""


def median_ms(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    end = datetime(2026, 6, 1, tzinfo=UTC)
    start = end - timedelta(days=30)
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore.open(tmp)
        with store.cursor() as cur:
            span_us = int((end - start).total_seconds() * 1e6)
            cur.execute(_FILL, {"start": start, "span_us": span_us, "n": args.events})
            cur.execute("CHECKPOINT")
            hourly = series_query(
                "render.renderTime", stat="p95", bucket="1h", start=start, end=end, group_by="widgetVersion"
            )
            errors = series_query(
                "api.errorRate",
                bucket="15m",
                start=end - timedelta(days=7),
                end=end,
                customer_id="customer-3",
            )

            def pandas_reference() -> pd.Series:
                frame = cur.execute(
                    "SELECT ts, widget_version, render_time FROM events WHERE type = 'render'"
                ).df()
                frame["hour"] = frame["ts"].dt.floor("h")
                return frame.groupby(["widget_version", "hour"])["render_time"].quantile(0.95)

            rows = [
                ("summary over 30 days (reference)", lambda: summarize_window(cur, Window(start, end))),
                ("timeseries p95, 1h x 3 versions, 30 days", lambda: compute_timeseries(cur, hourly)),
                ("timeseries error rate, 15m, 7 days, 1 customer", lambda: compute_timeseries(cur, errors)),
                ("pandas: read + groupby quantile (reference)", pandas_reference),
            ]
            results = {}
            print(f"{args.events:,} events over 30 days, median of {args.runs} runs")
            base = None
            for name, fn in rows:
                ms, result = median_ms(fn, args.runs)
                results[name] = result
                base = base or ms
                print(f"  {name:<50} {ms:9.1f} ms   {ms / base:5.2f}x summary")
            ours = results[rows[1][0]]
            theirs = results[rows[3][0]]
            got = np.array([p["value"] for p in ours["points"]])
            assert len(got) == len(theirs) and np.allclose(np.sort(got), np.sort(theirs.to_numpy()))
            print(f"  timeseries answer equals the pandas reference ({len(got)} points)")
        store.close()


if __name__ == "__main__":
    main()
