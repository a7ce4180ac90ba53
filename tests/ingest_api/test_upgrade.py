"""A data dir written by an earlier release (before rollups, retention and the compact dedupe:
tests/fixtures/datadir-4e73767.tar.gz) opens with this one, is migrated at start, and answers
as it did: its events, lake, keys and tokens, with its history rolled up in the background."""

from __future__ import annotations

import json
import tarfile
import time
from collections import defaultdict
from pathlib import Path

import duckdb
import httpx
import numpy as np
import pytest

from analytics.rollups.sketch import ALPHA
from tests.fixtures.make_datadir_fixture import fixture_events
from tests.support.server import ServerProcess

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RELEASE = json.loads((FIXTURES / "datadir-4e73767.json").read_text())


def test_a_data_dir_of_the_release_before_rollups_upgrades_in_place(tmp_path: Path) -> None:
    with tarfile.open(FIXTURES / "datadir-4e73767.tar.gz") as archive:
        archive.extractall(tmp_path, filter="data")
    env = {
        "WIDGET_MONITOR_ADMIN_TOKEN": RELEASE["adminToken"],
        "WIDGET_MONITOR_ROLLUP_INTERVAL_S": "0.2",
        "WIDGET_MONITOR_LAKE_EXPORT_INTERVAL_S": "0.5",
    }
    admin = {"Authorization": f"Bearer {RELEASE['adminToken']}"}
    viewer = {"Authorization": f"Bearer {RELEASE['viewerToken']}"}
    sent = fixture_events()
    assert RELEASE["events"] == len(sent)
    per_day: dict[str, list[float]] = defaultdict(list)
    for e in sent:
        if e["type"] == "render":
            per_day[e["metric"]["timestamp"][:10]].append(e["metric"]["renderTime"])

    with ServerProcess(tmp_path / "data", env=env) as server:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the whole history is rolled up in the background
            rollups = httpx.get(f"{server.url}/healthz", headers=admin).json().get("rollups", {})
            if rollups.get("hoursPending") == 0 and not rollups["watermark"].startswith("1970"):
                break
            time.sleep(0.2)
        assert rollups["hoursPending"] == 0
        for exact, source, tolerance in ((True, "raw", 1e-9), (False, "rollup", ALPHA)):
            series = httpx.get(
                f"{server.url}/api/monitoring/widget/timeseries",
                params={
                    "metric": "render.renderTime",
                    "stat": "p95",
                    "bucket": "1d",
                    "from": "2026-11-28T00:00:00Z",
                    "to": "2026-12-02T00:00:00Z",
                    "exact": str(exact).lower(),
                },
                headers=viewer,  # the earlier release's token still reads
            ).json()
            assert series["source"] == source
            got = {p["t"][:10]: (p["value"], p["events"]) for p in series["points"]}
            assert sorted(got) == sorted(per_day)
            for day, values in per_day.items():
                assert got[day][1] == len(values)
                assert got[day][0] == pytest.approx(float(np.quantile(values, 0.95)), rel=tolerance)
        # the closed days move to the lake's layout 2, and layout 1's copies go
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            lake = httpx.get(f"{server.url}/api/monitoring/lake", headers=viewer).json()
            if sum(p["rows"] for p in lake["data"]) == len(sent):
                break
            time.sleep(0.2)
        assert sorted({p["day"] for p in lake["data"]}) == RELEASE["lakeDays"]
        assert sum(p["rows"] for p in lake["data"]) == len(sent)
        published = tmp_path / "data" / "lake" / "events"
        assert not list(published.glob("*/events.parquet"))
        assert duckdb.sql(f"SELECT count(*) FROM '{published}/*/*.parquet'").fetchall() == [(len(sent),)]
        # the earlier release's ingest key still posts, for its own customer
        fresh = {"type": "render", "metric": {"renderTime": 4.0, "eventId": "after-upgrade"}}
        answer = httpx.post(f"{server.url}/api/monitoring/widget?key={RELEASE['ingestKey']}", json=[fresh])
        assert answer.status_code == 200 and answer.json()["stored"] == 1
        health = httpx.get(f"{server.url}/healthz", headers=admin).json()
        assert health["retention"]["rawDays"] == 90 and health["memory"]["duckdb"]["memoryLimit"] == "256MB"
