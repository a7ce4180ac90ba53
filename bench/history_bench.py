"""History at scale: 100M events over 90 days, measured beside DuckDB on a Parquet copy of the same events.

    .venv/bin/python bench/history_bench.py                      # 100M events: about 25 minutes
    .venv/bin/python bench/history_bench.py --events 5000000     # a quick look

The events are one day of the demo dataset (analytics/demo_data.py: its nine types, four
customers, three widget versions, its sessions) copied with new session, tab and event ids
until each of the 90 days holds `--events / 90`, written straight into a real store with SQL
(not through HTTP). Every event carries an SDK-style `eventId` (`tabId:seq`). Then:

1. the whole history is rolled up (hourly and daily), and every day moved to the lake (out of
   DuckDB: the store's raw reads then come from the lake), whose files the reference reads;
2. each query runs on the store (through `compute_timeseries`, as the API answers it) and,
   as the reference, as plain SQL in DuckDB over the lake's Parquet files, alternating,
   medians of --rounds;
3. every figure's p50/p95/p99 from the daily rollups per widget version is compared with
   the exact `quantile_cont` of the same events, for groups of at least 100 values;
4. sizes: the lake's bytes per event, and the rollup tables as zstd Parquet against the lake;
5. `widget-monitor serve` on the data dir takes 1M more events through its API (4 threads,
   1000 per request), then the 5-minute summary (with and without its `telemetry` section,
   `telemetry=false`, as the dashboard asks but for the Overview's window), an alert
   check and the 30- and 90-day summaries (from the rollups) are timed; its resident memory
   and its decoder's are sampled from /healthz throughout: the peak of their sum, overall
   and in each phase (the events coming in, the reads after them).
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb
import httpx
import pyarrow.parquet as pq
from ingest_bench import running

from analytics.demo_data import generate_demo
from analytics.figures import measures
from analytics.ingest.intake import read_body
from analytics.queries.timeseries import compute_timeseries, series_query
from analytics.rollups import maintain
from analytics.rollups.hourly import TABLES as ROLLUP_TABLES
from analytics.rollups.hourly import read_rollup
from analytics.storage import lake
from analytics.storage.store import EventStore, IngestBatch
from bench.alerts_bench import median_ms
from bench.ports import free_port

DAYS = 90
REPO = Path(__file__).resolve().parents[1]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def template(store: EventStore, day_end: datetime) -> int:
    """One demo day into the table `template` (through the API's intake); its row count."""
    events = generate_demo(end=day_end, days=1.0, seed=11)
    body = json.dumps(events).encode()
    received_us = int(day_end.timestamp() * 1e6)
    intake = read_body(body, received_us=received_us, max_events=len(events))
    assert not intake.rejected, intake.rejected[:3]
    store.append([IngestBatch.of_events(intake.accepted, received_us)])
    with store.cursor() as cur:
        cur.execute("CREATE TABLE template AS SELECT * FROM events")
        cur.execute("DELETE FROM events")
        return int(cur.execute("SELECT count(*) FROM template").fetchone()[0])  # type: ignore[index]


def fill(store: EventStore, first_day: datetime, per_day: int, rows: int) -> int:
    """`per_day` events for each of DAYS days, as copies of the template day; the total."""
    copies = max(1, round(per_day / rows))
    with store.cursor() as cur:
        for day in range(DAYS):
            cur.execute(
                "INSERT INTO events SELECT * EXCLUDE (c) REPLACE ("
                "  ts + to_days($day) AS ts, received_at + to_days($day) AS received_at,"
                "  session_id || '-' || c AS session_id, tab_id || '-' || $day || '-' || c AS tab_id,"
                "  tab_id || '-' || $day || '-' || c || ':' || coalesce(seq, 0) AS event_id"
                ") FROM template, range($copies) r(c) ORDER BY ts",
                {"day": day - (DAYS - 1), "copies": copies},
            )
            if day % 10 == 9:
                say(f"  {day + 1}/{DAYS} days written")
        cur.execute("DROP TABLE template")
        return int(cur.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]


def pair(
    label: str, ours: Callable[[], object], reference: Callable[[], object], rounds: int
) -> dict[str, Any]:
    a, b = [], []
    for _ in range(rounds):  # alternating: the machine's noise falls on both
        a.append(median_ms(ours, 1))
        b.append(median_ms(reference, 1))
    row = {"label": label, "ours_ms": statistics.median(a), "reference_ms": statistics.median(b)}
    say(f"  {label}: {row['ours_ms']:.0f} ms, reference {row['reference_ms']:.0f} ms")
    return row


def accuracy(
    cur: duckdb.DuckDBPyConnection,
    reference: duckdb.DuckDBPyConnection,
    glob: str,
    start: datetime,
    end: datetime,
) -> tuple[float, int]:
    """The largest relative error of a daily rollup quantile per version, and the groups compared
    (the exact quantiles from the lake by the reference connection, which has no memory limit)."""
    worst, groups = 0.0, 0
    for measure in measures():
        if measure.kind != "value":
            continue
        types = ", ".join(f"'{t}'" for t in measure.types)
        exact = reference.execute(
            f"SELECT time_bucket(INTERVAL 1 DAY, ts) AS day, widget_version, count({measure.expr}) AS n, "
            f"quantile_cont({measure.expr}, [0.5, 0.95, 0.99]) AS q FROM read_parquet('{glob}') "
            f"WHERE type IN ({types}) AND ts >= $start AND ts < $end GROUP BY ALL HAVING n >= 100",
            {"start": start, "end": end},
        ).fetchall()
        for day, version, _, qs in exact:
            rolled = read_rollup(cur, measure, day, day + timedelta(days=1), widget_version=version)
            for stat, value in zip(("p50", "p95", "p99"), qs, strict=True):
                got = rolled.stat(stat)
                if value and got is not None:
                    worst = max(worst, abs(got - value) / abs(value))
            groups += 1
    return worst, groups


def parquet_bytes(cur: duckdb.DuckDBPyConnection, tables: tuple[str, ...], into: Path) -> int:
    into.mkdir(parents=True, exist_ok=True)
    total = 0
    for table in tables:
        path = into / f"{table}.parquet"
        cur.execute(f"COPY {table} TO '{lake.quote(path)}' (FORMAT parquet, COMPRESSION zstd)")
        total += path.stat().st_size
    return total


def post_sdk_renders(url: str, events: int, spread_minutes: float = 0) -> int:
    """`events` SDK-style render events (each with an `eventId` `tabId:seq`, 1000 tabs of
    1000), stamped in the last minute, posted to the server at `url` by 4 threads, 1000 per
    request; returns how many were stored (the server's `stored`). The tab ids are new on
    every call: a data dir posted to within the dedupe horizon would store none of a repeat.

    With `spread_minutes`, each tab's events are spread evenly over that many minutes up to now
    instead (in `seq` order), as a page open that long sends them: a short window then cuts
    every tab's numbers, and telemetry looks for each tab's earlier ones."""
    now_ms = time.time() * 1000
    span_ms = spread_minutes * 60_000 if spread_minutes else 60_000
    step_ms = spread_minutes * 60_000 / 1000 if spread_minutes else 1
    run = secrets.token_hex(4)
    sent = [0]

    def post(worker: int) -> None:
        with httpx.Client(timeout=60) as client:
            for batch in range(worker, events // 1000, 4):
                body = [
                    {
                        "type": "render",
                        "metric": {
                            "renderTime": 5.0 + (i % 23),
                            "customerId": "acme",
                            "widgetVersion": "2.4.0",
                            "timestamp": now_ms - span_ms + i * step_ms,
                            "tabId": f"bench-{run}-{batch}",
                            "seq": i + 1,  # the SDK numbers a tab 1, 2, 3, ...
                            "eventId": f"bench-{run}-{batch}:{i + 1}",
                        },
                    }
                    for i in range(1000)
                ]
                response = client.post(f"{url}/api/monitoring/widget", json=body)
                if response.status_code == 200:
                    sent[0] += response.json()["stored"]

    workers = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sent[0]


def serve_and_load(data_dir: Path, extra: int, rounds: int) -> dict[str, Any]:
    """The server on the data dir: `extra` SDK-style events in through its API, timed reads, peak RSS."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [
        sys.executable,
        "-m",
        "widget_monitor.cli",
        "serve",
        "--data-dir",
        str(data_dir),
        "--port",
        str(port),
    ]
    peak, samples, stop = 0, [], threading.Event()
    phase_peaks = {"ingest": 0, "reads": 0}
    phase = ["at rest"]
    # a store of 100M events takes a while to open (its last day of eventIds is read back)
    with running("widget-monitor", [*argv, "--log-level", "warning"], f"{url}/healthz", data_dir.parent, 120):

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                try:
                    memory = httpx.get(f"{url}/healthz", timeout=5).json()["memory"]
                    peak = max(peak, int(memory["totalResidentBytes"]))
                    if phase[0] in phase_peaks:
                        phase_peaks[phase[0]] = max(phase_peaks[phase[0]], int(memory["totalResidentBytes"]))
                    samples.append(memory)
                except (httpx.HTTPError, KeyError):
                    pass
                stop.wait(0.5)

        sampler = threading.Thread(target=sample, daemon=True)  # gone with the process if a step fails
        sampler.start()
        while not samples and sampler.is_alive():
            time.sleep(0.1)
        at_rest = peak
        started = time.perf_counter()
        phase[0] = "ingest"
        sent = post_sdk_renders(url, extra)
        ingest_s = time.perf_counter() - started
        phase[0] = "reads"
        # One kept-alive client, as the dashboard keeps (streamlit_app/api_client.py): a new
        # httpx client per read costs ~20 ms of its own, more than some of the reads timed.
        with httpx.Client(base_url=url, timeout=120, headers={"Cache-Control": "no-cache"}) as client:
            summary_ms = median_ms(lambda: client.get("/api/monitoring/widget"), rounds)
            lean_ms = median_ms(  # the seed's sections alone: no count per tab
                lambda: client.get("/api/monitoring/widget", params={"telemetry": "false"}), rounds
            )
            check_ms = median_ms(lambda: client.post("/api/monitoring/alerts/check", json={}), rounds)
            long_ms = {  # from the rollups, with the live events' open hour from raw events
                days: median_ms(
                    lambda d=days: client.get("/api/monitoring/widget", params={"window": d * 86_400_000}),
                    rounds,
                )
                for days in (30, 90)
            }
        stop.set()
        sampler.join()
        last = samples[-1] if samples else {}
        return {
            "ingested": sent,
            "ingest_s": ingest_s,
            "summary_ms": summary_ms,
            "lean_ms": lean_ms,
            "check_ms": check_ms,
            "long_ms": long_ms,
            "peak_rss": peak,
            "phase_peaks": phase_peaks,
            "at_rest_rss": at_rest,
            "dedupe_ids": last.get("dedupeIds"),
            "dedupe_bytes": last.get("dedupeBytes"),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--live", type=int, default=1_000_000, help="events posted to the server at the end")
    parser.add_argument("--keep", type=Path, help="leave the data dir here")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="history-bench-"))
    data = root / "data"
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    today = now.replace(hour=0)
    store = EventStore.open(data)
    say("generating the template day ...")
    rows = template(store, today)
    say(f"writing {args.events:,} events over {DAYS} days ({rows:,} per template day) ...")
    started = time.perf_counter()
    total = fill(store, today - timedelta(days=DAYS - 1), args.events // DAYS, rows)
    write_s = time.perf_counter() - started
    store.checkpoint()
    say(f"  written in {time.perf_counter() - started:.0f} s; rolling up {DAYS * 24} hours ...")
    started = time.perf_counter()
    with store.cursor() as cur:
        while maintain.advance(cur, safe_until=now, now=now + timedelta(days=1), max_hours=10_000).pending:
            pass
    rollup_s = time.perf_counter() - started
    say(f"  rolled up in {rollup_s:.0f} s; moving the days to the lake ...")
    started = time.perf_counter()
    with store.cursor() as cur:  # every day moves (the reference reads the lake's files: the same events)
        partitions = lake.move_closed_days(cur, data / lake.LAKE_SUBDIR, now=now + timedelta(days=1))
    export_s = time.perf_counter() - started
    lake_bytes = sum(p.path.stat().st_size for p in partitions)
    lake_rows = sum(pq.ParquetFile(p.path).metadata.num_rows for p in partitions)
    glob = str(data / lake.LAKE_SUBDIR / "*" / "*.parquet")
    store.checkpoint()

    results = []
    reference = duckdb.connect()
    reference.execute("SET TimeZone = 'UTC'")
    for label, bucket, days in (
        ("90-day daily p95 per widget version", "1d", DAYS),
        ("7-day hourly p95 per widget version", "1h", 7),
    ):
        start, end = today + timedelta(days=1) - timedelta(days=days), today + timedelta(days=1)
        query = series_query(
            "render.renderTime", stat="p95", bucket=bucket, start=start, end=end, group_by="widgetVersion"
        )
        width = {"1d": "1 DAY", "1h": "1 HOUR"}[bucket]
        sql = (
            f"SELECT time_bucket(INTERVAL {width}, ts), widget_version, quantile_cont(render_time, 0.95) "
            f"FROM read_parquet('{glob}') WHERE type = 'render' AND ts >= $start AND ts < $end GROUP BY ALL"
        )

        def ours(q: Any = query) -> object:
            with store.cursor() as cur:
                return compute_timeseries(cur, q)

        results.append(
            pair(
                label,
                ours,
                lambda s=sql, a=start, b=end: reference.execute(s, {"start": a, "end": b}).fetchall(),
                args.rounds,
            )
        )
    with store.cursor() as cur:
        worst, groups = accuracy(cur, reference, glob, today - timedelta(days=DAYS - 1), today)
        rollup_bytes = parquet_bytes(cur, ROLLUP_TABLES, root / "rollup-parquet")
    store.close()
    live = serve_and_load(data, args.live, args.rounds)

    print(
        f"{total:,} events over {DAYS} days ({lake_rows:,} in the lake), every one with a tabId:seq eventId"
    )
    print(f"write {write_s:.0f} s, roll up {rollup_s:.0f} s, move to the lake {export_s:.0f} s")
    print(f"{'measure':45} {'ours':>10} {'DuckDB on Parquet':>18} {'ours/ref':>9}")
    for row in results:
        print(
            f"{row['label']:45} {row['ours_ms']:8.0f} ms {row['reference_ms']:15.0f} ms "
            f"{row['ours_ms'] / row['reference_ms']:8.2f}x"
        )
    print(f"5-minute summary over {live['ingested']:,} live events (API): {live['summary_ms']:.0f} ms")
    print(f"the same without its telemetry section (telemetry=false): {live['lean_ms']:.0f} ms")
    print(f"alert check (API): {live['check_ms']:.0f} ms")
    for days, ms in live["long_ms"].items():
        print(f"{days}-day summary (API, from the rollups): {ms:.0f} ms")
    print(f"lake: {lake_bytes / lake_rows:.1f} bytes per event ({lake_bytes / 1e6:,.0f} MB)")
    print(
        f"rollups as zstd Parquet: {rollup_bytes / 1e6:,.1f} MB, "
        f"{100 * rollup_bytes / lake_bytes:.2f} % of the lake"
    )
    print(
        f"rollup quantiles (p50/p95/p99, every value figure, per day and version, {groups} groups "
        ">= 100 values): "
        f"largest relative error {100 * worst:.3f} %"
    )
    print(
        f"server + decoder resident memory: at rest {live['at_rest_rss'] / 1e6:,.0f} MB, peak "
        f"{live['peak_rss'] / 1e6:,.0f} MB (while {live['ingested']:,} events came in, "
        f"{live['ingested'] / live['ingest_s']:,.0f}/s: {live['phase_peaks']['ingest'] / 1e6:,.0f} MB; "
        f"during the reads after: {live['phase_peaks']['reads'] / 1e6:,.0f} MB); "
        f"dedupe {live['dedupe_ids']:,} ids in {(live['dedupe_bytes'] or 0) / 1e6:,.1f} MB"
    )
    if args.keep:
        shutil.move(str(data), args.keep)
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
