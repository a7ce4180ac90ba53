"""A read that needs more memory than DuckDB may use is a clear 422, and the server goes on:
smaller reads answer exactly, and ingest stores events, in the same process.

A real server on a data dir of 3M render events over 52 days, with DuckDB held to 32 MB:
an exact p95 over all of them needs their 24 MB of values in memory, and more while the
values grow (a percentile cannot spill to disk).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa

from analytics.storage.store import EventStore
from tests.support.events import event
from tests.support.server import ServerProcess

SUMMARY = "/api/monitoring/widget"
EVENTS = 3_000_000
STEP_MS = 1_500  # one event every 1.5 s, back from now: 52 days
DAY_MS = 86_400_000


def test_a_read_over_the_memory_limit_is_a_422_and_the_server_goes_on(tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    values = np.round(np.random.default_rng(7).gamma(2.0, 6.0, EVENTS), 3)
    store = EventStore.open(tmp_path / "data")
    with store.cursor() as cur:  # event k = 1, 2, ... is stamped k * 1.5 s before now
        cur.register("generated", pa.table({"k": np.arange(1, EVENTS + 1), "render_time": values}))
        cur.execute(
            "INSERT INTO events (type, ts, received_at, ts_clamped, customer_id, widget_version, "
            "render_time) SELECT 'render', $now - to_milliseconds(k * $step), $now, false, 'acme', "
            "'2.4.0', render_time FROM generated",
            {"now": now, "step": STEP_MS},
        )
    store.close()
    env = {  # nothing moves or rolls up in the background: the reads are the only load
        "WIDGET_MONITOR_DUCKDB_MEMORY_LIMIT": "32MB",
        "WIDGET_MONITOR_ROLLUP_INTERVAL_S": "0",
        "WIDGET_MONITOR_LAKE_EXPORT_INTERVAL_S": "0",
        "WIDGET_MONITOR_RETENTION_INTERVAL_S": "0",
    }
    fresh = {"Cache-Control": "no-cache"}
    until = {"end": now.isoformat().replace("+00:00", "Z")}
    with ServerProcess(tmp_path / "data", env=env) as server:
        everything = httpx.get(
            f"{server.url}{SUMMARY}", params={"window": 60 * DAY_MS, **until}, headers=fresh, timeout=60
        )
        assert everything.status_code == 422, everything.text
        assert everything.json()["error"] == "invalid_query"
        assert "WIDGET_MONITOR_DUCKDB_MEMORY_LIMIT" in everything.json()["message"]
        duckdb_memory = httpx.get(f"{server.url}/healthz").json()["memory"]["duckdb"]
        assert duckdb_memory["memoryLimit"] == "32MB" and duckdb_memory["usedBytes"] <= 32 * 2**20

        # [now - 1 h, now) holds events k = 1..2400
        hour = httpx.get(f"{server.url}{SUMMARY}", params={"window": 3_600_000, **until}, headers=fresh)
        assert hour.status_code == 200, hour.text
        renders = hour.json()["performance"]["renders"]
        assert renders["count"] == 2400
        assert renders["p95Time"] == round(float(np.percentile(values[:2400], 95)), 2)

        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        posted = httpx.post(
            f"{server.url}{SUMMARY}",
            json=[event("render", renderTime=7.25, customerId="beta", timestamp=stamp)],
        )
        assert posted.status_code == 200 and posted.json()["stored"] == 1
        beta = httpx.get(f"{server.url}{SUMMARY}", params={"customerId": "beta"}, headers=fresh).json()
        assert beta["performance"]["renders"]["count"] == 1
        assert beta["performance"]["renders"]["p95Time"] == 7.25
