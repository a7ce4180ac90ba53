"""Time query parameters out of any plausible range are a clear 422, never a 500; the router's own
404 and 405 come in the API's error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    ("path", "params", "name"),
    [
        pytest.param(
            "/api/monitoring/widget", {"end": "0001-01-01T00:00:00Z"}, "end", id="summary-end-year-1"
        ),
        pytest.param(
            "/api/monitoring/widget/timeseries",
            {"metric": "render.renderTime", "to": "0001-01-01T05:00:00Z"},
            "to",
            id="timeseries-to-year-1",
        ),
        pytest.param(
            "/api/monitoring/widget/timeseries",
            {"metric": "render.renderTime", "from": "9999-12-31T00:00:00Z"},
            "from",
            id="timeseries-from-year-9999",
        ),
        pytest.param(
            "/api/monitoring/widget/samples",
            {"metric": "render.renderTime", "to": "0001-01-01T05:00:00Z"},
            "to",
            id="samples-to-year-1",
        ),
        # offsets that carry a time past the calendar's ends in UTC (Python cannot hold it there)
        pytest.param(
            "/api/monitoring/widget", {"end": "9999-12-31T23:59:59-14:00"}, "end", id="summary-end-past-9999"
        ),
        pytest.param(
            "/api/monitoring/widget/samples",
            {"metric": "render.renderTime", "from": "0001-01-01T00:00:00+14:00"},
            "from",
            id="samples-from-before-year-1",
        ),
        pytest.param(
            "/api/monitoring/events/export",
            {"to": "9999-12-31T23:59:59-14:00"},
            "to",
            id="export-to-past-9999",
        ),
    ],
)
def test_implausible_times_are_422(client: TestClient, path: str, params: dict[str, str], name: str) -> None:
    answer = client.get(path, params=params)
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"] == "invalid_parameters"
    assert name in body["message"] and "2000-01-01" in body["message"]


def test_a_plausible_end_still_works(client: TestClient) -> None:
    answer = client.get("/api/monitoring/widget", params={"end": "2024-05-01T00:00:00Z", "window": 3_600_000})
    assert answer.status_code == 200
    assert answer.json()["health"]["status"] == "no_data"


@pytest.mark.parametrize(
    ("method", "path", "status", "error", "says"),
    [
        ("PUT", "/api/monitoring/widget", 405, "method_not_allowed", "does not take PUT (Allow: POST)"),
        ("DELETE", "/healthz", 405, "method_not_allowed", "does not take DELETE (Allow: GET)"),
        ("GET", "/api/monitoring/nothing-here", 404, "not_found", "there is no /api/monitoring/nothing-here"),
    ],
)
def test_the_router_s_own_refusals_are_in_the_api_s_error_shape(
    client: TestClient, method: str, path: str, status: int, error: str, says: str
) -> None:
    answer = client.request(method, path)
    assert answer.status_code == status
    assert answer.json()["error"] == error and says in answer.json()["message"]
