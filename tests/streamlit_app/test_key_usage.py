"""The Ingest keys page's shaping, without Streamlit: shares, the keys worth a look, the chart's rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from streamlit_app.key_usage import may_list_keys, outcomes_frame, usage_frame
from streamlit_app.session import NOBODY, UNGUARDED


def key(key_id: str, customer: str = "acme", revoked: bool = False, **usage: Any) -> dict[str, Any]:
    """A key as GET /api/monitoring/keys lists it."""
    rejected_by = {"invalid": 0, "too_old": 0, "wrong_customer": 0} | usage.pop("rejectedBy", {})
    throttled_by = {"requests": 0, "events": 0} | usage.pop("throttledBy", {})
    counts = {"requests": 0, "eventsAccepted": 0, "originRefused": 0} | usage
    return {
        "id": key_id,
        "customerId": customer,
        "revokedAt": "2026-01-01T00:00:00Z" if revoked else None,
        "usage": {
            **counts,
            "eventsRejected": sum(rejected_by.values()),
            "throttled": sum(throttled_by.values()),
            "rejectedBy": rejected_by,
            "throttledBy": throttled_by,
        },
    }


@pytest.mark.parametrize(
    ("whoami", "may"),
    [
        pytest.param({"role": "admin", "customerId": None, "openMode": False}, True, id="admin"),
        pytest.param({"role": "admin", "customerId": None, "openMode": True}, True, id="open-mode"),
        pytest.param(UNGUARDED, True, id="api-without-access-control"),
        pytest.param({"role": "admin", "customerId": "acme"}, False, id="scoped-admin"),
        pytest.param({"role": "editor", "customerId": None}, False, id="editor"),
        pytest.param({"role": "viewer", "customerId": None}, False, id="viewer"),
        pytest.param(NOBODY, False, id="nobody"),
    ],
)
def test_only_an_unscoped_admin_may_list_keys(whoami: dict[str, Any], may: bool) -> None:
    assert may_list_keys(whoami) is may


def test_shares_and_the_keys_worth_a_look() -> None:
    keys = [
        # 90 accepted, 10 rejected: 10 % exactly, which is flagged
        key("k-edge", requests=10, eventsAccepted=90, rejectedBy={"invalid": 10}),
        # 991 accepted, 9 rejected (0.9 %), 1 of 20 requests answered 429 (5 %): nothing to see
        key("k-fine", requests=20, eventsAccepted=991, rejectedBy={"too_old": 9}, throttledBy={"events": 1}),
        key(
            "k-leak",
            "globex",
            requests=4,
            eventsAccepted=4,
            rejectedBy={"wrong_customer": 1},
            originRefused=2,
        ),
        key("k-busy", requests=8, eventsAccepted=6, throttledBy={"requests": 2}),  # 2 of 8: 25 %
        key("k-gone", revoked=True),
    ]
    frame = usage_frame(keys).set_index("key")
    assert list(frame.index) == ["k-fine", "k-edge", "k-busy", "k-leak", "k-gone"]  # busiest first
    assert frame.loc["k-edge", "rejected %"] == 10.0
    assert frame.loc["k-fine", "rejected %"] == 0.9 and frame.loc["k-fine", "429 %"] == 5.0
    assert frame.loc["k-busy", "429 %"] == 25.0 and frame.loc["k-busy", "answered"] == 6
    assert frame.loc["k-leak", "rejected %"] == 20.0
    assert frame.loc["k-gone", "status"] == "revoked"
    assert pd.isna(frame.loc["k-gone", "rejected %"])  # no event: no share, shown as a dash
    assert frame["look at"].to_dict() == {
        "k-fine": "",
        "k-edge": "10.0 % of its events rejected",
        "k-busy": "25.0 % of its requests answered 429",
        "k-leak": "events named another customer; requests from an origin it does not allow; "
        "20.0 % of its events rejected",
        "k-gone": "",
    }


def test_a_customer_narrows_the_frame_to_its_keys() -> None:
    frame = usage_frame([key("a1"), key("g1", "globex"), key("a2")], "acme")
    assert sorted(frame["key"]) == ["a1", "a2"]
    assert usage_frame([key("g1", "globex")], "acme").empty


def test_the_chart_stacks_each_outcome_and_leaves_out_keys_with_nothing() -> None:
    frame = usage_frame(
        [
            key("k1", requests=3, eventsAccepted=5, rejectedBy={"invalid": 1}, throttledBy={"events": 1}),
            key("k2"),
        ]
    )
    events = outcomes_frame(frame, "events")
    assert events.to_dict("records") == [
        {"key": "k1 · acme", "outcome": "accepted", "count": 5, "order": 0},
        {"key": "k1 · acme", "outcome": "rejected: invalid", "count": 1, "order": 1},
        {"key": "k1 · acme", "outcome": "rejected: too old", "count": 0, "order": 2},
        {"key": "k1 · acme", "outcome": "rejected: wrong customer", "count": 0, "order": 3},
    ]
    requests = outcomes_frame(frame, "requests")
    assert dict(zip(requests["outcome"], requests["count"], strict=True)) == {
        "answered": 2,
        "429: requests/s": 0,
        "429: events/s": 1,
        "403: origin not allowed": 0,
    }
