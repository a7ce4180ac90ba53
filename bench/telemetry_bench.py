"""What the summary's `telemetry` section costs, beside the seed's summary in the same run.

Fills a DuckDB store with synthetic sequenced events (tabs of 1..N events over a day, one in
a thousand lost), rolls up its closed hours as a running server does (telemetry reads their
per-tab numbers), and times `telemetry_section` and `summarize_window` over a 5-minute and a
24-hour window, median of several runs.

Usage: .venv/bin/python bench/telemetry_bench.py [--events 2000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from analytics.queries.summary import Window, summarize_window
from analytics.queries.telemetry import telemetry_section
from analytics.rollups import maintain
from analytics.storage.store import EventStore

FILL_SQL = """
INSERT INTO events (event_id, type, ts, received_at, ts_clamped, customer_id, tab_id, seq, render_time)
SELECT 'tab' || (i // 200) || ':' || (i % 200 + 1),
       'render',
       $end - to_milliseconds(($events - i) * $span_ms / $events),
       $end, false,
       'customer-' || (i // 200 % 50),
       'tab' || (i // 200),
       i % 200 + 1,
       (i % 37)::DOUBLE
FROM range($events) t(i)
WHERE i % 1000 <> 999  -- one event in a thousand lost on the way
"""


def median_ms(run: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    end = datetime.now(UTC).replace(microsecond=0)
    store = EventStore.open(tempfile.mkdtemp())
    with store.cursor() as cur:
        cur.execute(FILL_SQL, {"events": args.events, "end": end, "span_ms": 86_400_000})
        maintain.advance(cur, safe_until=end, now=end)
        stored = cur.execute("SELECT count(*) FROM events").fetchone()
    print(f"{stored[0] if stored else 0:,} events in tabs of 200, over 24 h; median of {args.runs} runs, ms")
    print(f"{'window':<10} {'seed summary':>13} {'telemetry':>10} {'ratio':>6}")
    for label, span in (("5 min", timedelta(minutes=5)), ("24 h", timedelta(hours=24))):
        window = Window(end - span, end + timedelta(seconds=1))
        with store.cursor() as cur:
            seed = median_ms(lambda cur=cur, w=window: summarize_window(cur, w), args.runs)
            telemetry = median_ms(lambda cur=cur, w=window: telemetry_section(cur, w), args.runs)
        print(f"{label:<10} {seed:>13.1f} {telemetry:>10.1f} {telemetry / seed:>6.2f}")
    store.close()


if __name__ == "__main__":
    main()
