"""DELETE /api/monitoring/customers/{id}/data: the customer leaves raw events, the lake and every
rollup level; the others' figures are what they would be had it never posted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.server import LOCAL

WIDGET = "/api/monitoring/widget"
ADMIN_TOKEN = "erasure-admin-token-0123456789abcdef"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = datetime.now(UTC)
FRESH = 20  # failed saves each customer posts just now, within the alert rules' window


def persistence(customer: str, at: datetime, n: int) -> dict[str, Any]:
    return {
        "type": "persistence",
        "metric": {
            "operation": "save",
            "success": False,
            "duration": 4.0 + n,
            "errorType": "quota",
            "errorMessage": f"could not save the chat of jane.doe+{n}@example.com",  # personal data
            "customerId": customer,
            "widgetVersion": "2.0",
            "timestamp": at.isoformat(),
            "eventId": f"{customer}-{at.timestamp()}-{n}",
        },
    }


@pytest.fixture
def secured(settings: Settings) -> Iterator[TestClient]:
    app = create_app(
        settings.model_copy(update={"admin_token": SecretStr(ADMIN_TOKEN), "rollup_interval_s": 0})
    )
    with TestClient(base_url=LOCAL, app=app) as client:
        yield client


def post_days(client: TestClient) -> dict[str, int]:
    """acme and globex, over the last three days; the events each posted."""
    posted = {"acme": 0, "globex": 0}
    for days_back, per in ((2, 5), (1, 3), (0, 2)):
        at = (NOW - timedelta(days=days_back)).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
        for customer, extra in (("acme", 0), ("globex", 1)):
            body = [persistence(customer, at + timedelta(minutes=i), i) for i in range(per + extra)]
            answer = client.post(WIDGET, json=body, headers=ADMIN)
            assert answer.status_code == 200 and answer.json()["stored"] == len(body), answer.text
            posted[customer] += len(body)
    return posted


def rows(client: TestClient, sql: str) -> list[tuple[Any, ...]]:
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.store.cursor() as cur:
        return cur.execute(sql).fetchall()


def counts_by_hour(client: TestClient, table: str, where: str = "") -> dict[Any, int]:
    return dict(rows(client, f"SELECT hour, sum(events) FROM {table} {where} GROUP BY hour"))


def test_a_customer_is_erased_everywhere_and_the_rest_is_untouched(secured: TestClient) -> None:
    runtime = secured.app.state.runtime  # type: ignore[attr-defined]
    posted = post_days(secured)
    runtime.roll_up()
    runtime.roll_up()  # the hours that closed are rolled up
    assert runtime.export_lake()  # the closed days are in the lake
    globex_only = counts_by_hour(secured, "rollup_stats", "WHERE customer_id = 'globex'")
    before_lake = duckdb.sql(
        f"SELECT customer_id, count(*) FROM read_parquet('{runtime.lake_dir}/*/*.parquet') GROUP BY 1"
    ).fetchall()
    in_lake = dict(before_lake)
    assert in_lake["acme"] > 0 and in_lake["globex"] > 0
    # alerts per customer (every save failed: each one's success rate fires), and baselines
    for customer in ("acme", "globex"):
        fresh = [persistence(customer, NOW - timedelta(seconds=30 + i), 100 + i) for i in range(FRESH)]
        assert secured.post(WIDGET, json=fresh, headers=ADMIN).json()["stored"] == FRESH
        posted[customer] += FRESH
    assert (
        secured.put("/api/monitoring/alerts/config", json={"perCustomer": True}, headers=ADMIN).status_code
        == 200
    )
    assert secured.post("/api/monitoring/alerts/check", json={}, headers=ADMIN).status_code == 200
    alerts = secured.get("/api/monitoring/alerts", headers=ADMIN).json()["data"]
    acme_alerts = [a["id"] for a in alerts if a["customerId"] == "acme"]
    globex_alerts = sorted(a["id"] for a in alerts if a["customerId"] == "globex")
    assert acme_alerts and globex_alerts
    for customer in ("acme", "globex", None):
        captured = secured.post("/api/monitoring/baseline", json={"customerId": customer}, headers=ADMIN)
        assert captured.status_code == 201, captured.text

    answer = secured.delete("/api/monitoring/customers/acme/data", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["customerId"] == "acme"
    assert report["lakeRows"] == in_lake["acme"]  # the closed days' events, moved to the lake
    assert report["rawEvents"] + report["lakeRows"] == posted["acme"] == 10 + FRESH  # and today's, in DuckDB
    assert report["rollupRows"] > 0 and len(report["lakeDays"]) >= 1
    assert (report["alerts"], report["alertBaselines"]) == (len(acme_alerts), 1)

    # nothing of acme anywhere: raw, lake, any rollup table
    assert rows(secured, "SELECT count(*) FROM events WHERE customer_id = 'acme'") == [(0,)]
    after_lake = dict(
        duckdb.sql(
            f"SELECT customer_id, count(*) FROM read_parquet('{runtime.lake_dir}/*/*.parquet') GROUP BY 1"
        ).fetchall()
    )
    assert after_lake == {"globex": in_lake["globex"]}
    for table in ("rollup_stats", "rollup_buckets"):
        assert rows(secured, f"SELECT count(*) FROM {table} WHERE customer_id = 'acme'") == [(0,)]
    # the summed levels now hold globex alone, hour by hour
    assert counts_by_hour(secured, "rollup_stats_by_version") == globex_only
    # its alerts (titles and messages name it), their history and its baseline are gone; the others stay
    left = secured.get("/api/monitoring/alerts", headers=ADMIN).json()["data"]
    assert not any(a["customerId"] == "acme" for a in left)
    assert sorted(a["id"] for a in left if a["customerId"] == "globex") == globex_alerts
    for alert_id in acme_alerts:
        assert secured.get(f"/api/monitoring/alerts/{alert_id}/history", headers=ADMIN).status_code == 404
    assert rows(
        secured, f"SELECT count(*) FROM alert_transitions WHERE alert_id IN {tuple([*acme_alerts, ''])}"
    ) == [(0,)]
    assert rows(secured, "SELECT customer_id FROM alert_baselines ORDER BY ALL") == [("globex",), (None,)]
    # and the lake's manifest agrees with its files
    listed = secured.get("/api/monitoring/lake", headers=ADMIN).json()
    assert sum(p["rows"] for p in listed["data"]) == in_lake["globex"]
    # the summary over every customer counts globex's events only
    summary = secured.get(
        WIDGET, params={"window": 4 * 86_400_000}, headers=ADMIN | {"Cache-Control": "no-cache"}
    )
    assert summary.json()["persistence"]["operations"]["total"] == posted["globex"]

    again = secured.delete("/api/monitoring/customers/acme/data", headers=ADMIN).json()
    assert (again["rawEvents"], again["lakeRows"], again["rollupRows"], again["alerts"]) == (0, 0, 0, 0)
    audit = secured.get("/api/monitoring/audit", headers=ADMIN).json()["data"]
    assert [e["action"] for e in audit[:2]] == ["customer.erase", "customer.erase"]
    assert audit[1]["target"] == "acme" and audit[1]["detail"] == report


def test_only_an_unscoped_admin_may_erase_and_the_id_must_be_an_identifier(secured: TestClient) -> None:
    made = secured.post(
        "/api/monitoring/tokens", json={"name": "ed", "role": "editor", "customerId": None}, headers=ADMIN
    )
    editor = {"Authorization": f"Bearer {made.json()['token']}"}
    assert secured.delete("/api/monitoring/customers/acme/data", headers=editor).status_code == 403
    assert secured.delete("/api/monitoring/customers/acme/data").status_code == 401
    bad = secured.delete("/api/monitoring/customers/acme%0D%0Aforged/data", headers=ADMIN)
    assert bad.status_code == 422 and "control character" in bad.text
    too_long = secured.delete(f"/api/monitoring/customers/{'x' * 300}/data", headers=ADMIN)
    assert too_long.status_code == 422
