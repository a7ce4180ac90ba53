"""Raw retention at the API: nobody posts before its cut (the event would be dropped uncounted),
and /healthz says where the cut is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL

WIDGET = "/api/monitoring/widget"


@pytest.fixture
def five_days(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"raw_retention_days": 5, "rollup_retention_days": 30}))
    with TestClient(base_url=LOCAL, app=app) as client:
        yield client


def render(at: datetime, event_id: str) -> dict[str, object]:
    return {"type": "render", "metric": {"renderTime": 3.0, "timestamp": at.isoformat(), "eventId": event_id}}


def test_an_event_before_the_raw_cut_is_refused_even_from_an_admin(five_days: TestClient) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    cut = today - timedelta(days=5)
    body = [render(cut - timedelta(seconds=1), "before"), render(cut + timedelta(seconds=1), "after")]
    answer = five_days.post(WIDGET, json=body)  # open mode: an admin, who may backfill
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["stored"] == 1
    [refused] = result["rejected"]
    assert refused["index"] == 0 and refused["path"] == "$[0].metric.timestamp"
    assert f"before {cut.date().isoformat()}" in refused["message"]
    assert "WIDGET_MONITOR_RAW_RETENTION_DAYS" in refused["message"]
    health = five_days.get("/healthz").json()["retention"]
    assert health["rawFrom"] == cut.isoformat() and health["rollupDays"] == 30


def test_rollups_kept_shorter_than_raw_events_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="rollup_retention_days"):
        Settings(raw_retention_days=90, rollup_retention_days=30)
    assert Settings(raw_retention_days=90, rollup_retention_days=0).rollup_retention_days == 0
    assert Settings(raw_retention_days=0, rollup_retention_days=0).raw_retention_days == 0
