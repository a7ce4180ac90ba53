"""Rejected events counted by reason: the reasons read from the intake's real rejections."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analytics.access.key_usage import REJECTION_REASONS, KeyUsage, rejection_reason
from analytics.ingest.intake import read_body

RECEIVED_US = 1_780_315_200 * 1_000_000  # 2026-06-01T12:00:00Z
DAY_MS = 86_400_000
NOW_MS = RECEIVED_US // 1000


def render(**metric: Any) -> dict[str, Any]:
    return {"type": "render", "metric": {"renderTime": 4.0, **metric}}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        pytest.param(render(customerId="globex"), "wrong_customer", id="another-customer"),
        pytest.param(render(timestamp=NOW_MS - 8 * DAY_MS), "too_old", id="older-than-the-max-age"),
        pytest.param(render(timestamp=1000.0), "too_old", id="before-2000"),
        pytest.param(render(renderTime="slow"), "invalid", id="wrong-type"),
        pytest.param({"type": "render", "metric": {}}, "invalid", id="missing-field"),
        pytest.param({"type": "teleport", "metric": {}}, "invalid", id="unknown-type"),
        pytest.param(render(timestamp="yesterday"), "invalid", id="unreadable-timestamp"),
        pytest.param(render(customerId="acme\nINFO forged"), "invalid", id="control-in-customer"),
        pytest.param(render(timestamp=True), "invalid", id="boolean-timestamp"),
    ],
)
def test_each_rejection_of_the_intake_gets_its_reason(event: dict[str, Any], reason: str) -> None:
    # a good event first, so that the body is accepted and the bad one rejected by index
    body = json.dumps([render(), event]).encode()
    intake = read_body(body, received_us=RECEIVED_US, customer_id="acme", max_age_us=7 * DAY_MS * 1000)
    [rejection] = intake.rejected
    assert rejection_reason(rejection) == reason


def test_the_total_of_rejected_events_is_the_sum_over_reasons() -> None:
    body = json.dumps(
        [render(), render(customerId="globex"), render(renderTime="x"), render(renderTime=None), render()]
    ).encode()
    intake = read_body(body, received_us=RECEIVED_US, customer_id="acme")
    usage = KeyUsage()
    usage.reject(intake.rejected)
    assert usage.rejected_by == {"invalid": 2, "too_old": 0, "wrong_customer": 1}
    assert usage.events_rejected == 3
    assert set(usage.to_wire()["rejectedBy"]) == set(REJECTION_REASONS)  # type: ignore[arg-type]
