"""The lake over HTTP: move the closed days on demand, then list what is there."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL

# closed days within the raw retention (90 days): older ones are not exported
FIRST, SECOND = (datetime.now(UTC).date() - timedelta(days=back) for back in (3, 2))


def test_export_then_list(client: TestClient, data_dir: Path) -> None:
    events = [
        {"type": "api", "metric": {"duration": 120.0, "success": True, "timestamp": f"{FIRST}T08:00:00Z"}},
        {"type": "api", "metric": {"duration": 80.0, "success": False, "timestamp": f"{FIRST}T09:00:00Z"}},
        {"type": "api", "metric": {"duration": 50.0, "success": True, "timestamp": f"{SECOND}T09:00:00Z"}},
    ]
    assert client.post("/api/monitoring/widget", json=events).status_code == 200
    exported = client.post("/api/monitoring/lake/export", json={}).json()
    assert [(p["day"], p["type"], p["rows"]) for p in exported["data"]] == [
        (str(FIRST), "api", 2),
        (str(SECOND), "api", 1),
    ]
    listed = client.get("/api/monitoring/lake").json()
    assert listed["count"] == 2
    assert [p["path"] for p in listed["data"]] == [p["path"] for p in exported["data"]]
    first = pl.read_parquet(Path(listed["data"][0]["path"]))
    assert sorted(first["duration"].to_list()) == [80.0, 120.0]
    assert Path(listed["path"]) == data_dir / "lake" / "events"


def test_the_server_exports_closed_days_on_its_own_schedule(tmp_path: Path) -> None:
    """Regression: the periodic export was never scheduled (an early return in Runtime.start)."""
    settings = Settings(data_dir=tmp_path / "data", summary_cache_seconds=0, lake_export_interval_s=0.2)
    event = {"type": "render", "metric": {"renderTime": 7.5, "timestamp": f"{SECOND}T12:00:00Z"}}
    with TestClient(base_url=LOCAL, app=create_app(settings)) as client:
        assert client.post("/api/monitoring/widget", json=event).status_code == 200
        target = tmp_path / "data" / "lake" / "events" / f"day={SECOND}" / "render.1.parquet"
        deadline = time.monotonic() + 10
        while not target.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert target.exists()
        assert pl.read_parquet(target)["render_time"].to_list() == [7.5]
