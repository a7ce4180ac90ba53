"""The lake over HTTP: export on demand, then list what is there."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient


def test_export_then_list(client: TestClient, data_dir: Path) -> None:
    events = [
        {"type": "api", "metric": {"duration": 120.0, "success": True, "timestamp": "2024-05-01T08:00:00Z"}},
        {"type": "api", "metric": {"duration": 80.0, "success": False, "timestamp": "2024-05-01T09:00:00Z"}},
        {"type": "api", "metric": {"duration": 50.0, "success": True, "timestamp": "2024-05-02T09:00:00Z"}},
    ]
    assert client.post("/api/monitoring/widget", json=events).status_code == 200
    exported = client.post("/api/monitoring/lake/export").json()
    assert [(p["day"], p["rows"]) for p in exported["data"]] == [("2024-05-01", 2), ("2024-05-02", 1)]
    listed = client.get("/api/monitoring/lake").json()
    assert listed["count"] == 2
    first = pl.read_parquet(Path(listed["data"][0]["path"]))
    assert sorted(first["duration"].to_list()) == [80.0, 120.0]
    assert Path(listed["path"]) == data_dir / "lake" / "events"
