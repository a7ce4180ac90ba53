"""How long an alert check takes, next to the summary query the API already runs.

Fills a temporary store with synthetic events (a busy 5-minute window, plus the same hour
on each of the previous 7 days for the rolling baseline), then times, median of N runs:

- reference: `summarize_window` over the 5-minute window (what GET /api/monitoring/widget runs);
- check: `AlertingSystem.check` global only, with the rolling baseline cached (the usual case);
- check, cold: the same with the rolling baseline recomputed (once every 5 minutes);
- check per customer: global + every customer, rolling baseline cached.

    .venv/bin/python bench/alerts_bench.py [--events 200000] [--history 50000] [--customers 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.queries.summary import Window, summarize_window
from analytics.storage.store import EventStore

TYPES = ["persistence", "render", "scroll", "memory", "tabSync", "api", "bundle", "restoration", "navigation"]

_FILL = """
INSERT INTO events BY NAME
SELECT
    ['persistence','render','scroll','memory','tabSync','api','bundle','restoration','navigation'][1 + i % 9]
        AS type,
    $start::TIMESTAMPTZ + to_microseconds(CAST(random() * $span_us AS BIGINT)) AS ts,
    $start::TIMESTAMPTZ AS received_at,
    false AS ts_clamped,
    'customer-' || (i % $customers) AS customer_id,
    'session-' || (i % 5000) AS session_id,
    random() > 0.02 AS success,
    random() * 300 AS duration,
    random() * 20 AS render_time,
    50 + random() * 10 AS avg_fps,
    random() * 12 AS jank_percentage,
    CAST(20e6 + random() * 40e6 AS BIGINT) AS used_js_heap_size,
    random() * 60 AS latency,
    random() > 0.4 AS cached,
    random() * 900 AS load_time,
    CAST(random() * 200000 AS BIGINT) AS bundle_size,
    'chunk-' || (i % 7) AS bundle_name,
    random() > 0.9999 AS data_loss,
    random() > 0.0001 AS data_preserved
FROM range($n) t(i)
"""


def fill(store: EventStore, start: datetime, span: timedelta, n: int, customers: int) -> None:
    with store.cursor() as cur:
        cur.execute(
            _FILL,
            {"start": start, "span_us": span.total_seconds() * 1e6, "n": n, "customers": customers},
        )


def median_ms(run: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events in the 5-minute window")
    parser.add_argument("--history", type=int, default=50_000, help="events in each past hour")
    parser.add_argument("--customers", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        store = EventStore.open(tmp)
        fill(store, now - timedelta(minutes=5), timedelta(minutes=5), args.events, args.customers)
        for day in range(1, 8):
            fill(store, now - timedelta(days=day, hours=1), timedelta(hours=1), args.history, args.customers)
        total = store.count()
        global_only = AlertingSystem(store, config=parse_config({"channels": []}))
        window = Window(now - timedelta(minutes=5), now + timedelta(seconds=60))

        def summary() -> object:
            with store.cursor() as cur:
                return summarize_window(cur, window)

        def cold() -> object:
            global_only._rolling = None  # force the rolling baseline to be measured again
            return global_only.check(now=now)

        global_only.check(now=now)
        reference = median_ms(summary, args.repeat)
        rows = [
            ("summary query (reference)", reference),
            ("check, global", median_ms(lambda: global_only.check(now=now), args.repeat)),
            ("check, global, rolling baseline cold", median_ms(cold, args.repeat)),
        ]
        # last: once customers have open alerts, every check judges their scopes too
        per_customer = AlertingSystem(store, config=parse_config({"channels": [], "perCustomer": True}))
        per_customer.check(now=now)
        label = f"check, global + {args.customers} customers"
        rows.append((label, median_ms(lambda: per_customer.check(now=now), args.repeat)))
        store.close()

    print(
        f"{total:,} events in the store; {args.events:,} in the 5-minute window; median of {args.repeat} runs"
    )
    print(f"{'':42} {'ms':>9} {'x summary':>10}")
    for name, ms in rows:
        print(f"{name:42} {ms:9.1f} {ms / reference:10.2f}")


if __name__ == "__main__":
    main()
