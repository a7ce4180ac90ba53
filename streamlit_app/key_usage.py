"""The Ingest keys page's data: each key's usage as a frame, the keys worth a look, and its chart.

`keys` is the answer of `GET /api/monitoring/keys` (an unscoped admin's): each key with its
`usage` since the API server started (docs/metrics.md). Plain functions, tested without Streamlit.

>>> may_list_keys({"role": "admin", "customerId": None}), may_list_keys({"role": "viewer"})
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import pandas as pd
from pandas.io.formats.style import Styler

from streamlit_app.charts import ON_CANVAS
from streamlit_app.session import scoped_customer

# A share of rejected events or of 429 answers from which a key is listed to look at: a
# healthy widget sends valid events at a pace its key allows, so one in ten is no accident.
HIGH_SHARE = 0.10

# The table's columns, in order (the chart's outcomes are named after them).
COLUMNS = (
    "key",
    "customer",
    "status",
    "requests",
    "accepted",
    "rejected",
    "invalid",
    "too old",
    "wrong customer",
    "rejected %",
    "429",
    "429 %",
    "403 origin",
    "look at",
)
# (outcome, the column counting it, colour): events, then requests, stacked in this order.
EVENT_OUTCOMES = (
    ("accepted", "accepted", "#2ca02c"),
    ("rejected: invalid", "invalid", "#ff7f0e"),
    ("rejected: too old", "too old", "#bcbd22"),
    ("rejected: wrong customer", "wrong customer", "#d62728"),
)
REQUEST_OUTCOMES = (
    ("answered", "answered", "#1f77b4"),
    ("429: requests/s", "429 requests", "#9467bd"),
    ("429: events/s", "429 events", "#e377c2"),
    ("403: origin not allowed", "403 origin", "#8c1c13"),
)


def may_list_keys(whoami: Mapping[str, Any]) -> bool:
    """Keys are listed to an admin with no customer scope (the API's rule for /keys)."""
    return whoami.get("role") == "admin" and scoped_customer(whoami) is None


def usage_frame(keys: Sequence[Mapping[str, Any]], customer_id: str | None = None) -> pd.DataFrame:
    """One row per key (of `customer_id` if given), the busiest first: its counters and shares."""
    rows = [_row(key) for key in keys if customer_id is None or key.get("customerId") == customer_id]
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "answered", "429 requests", "429 events"])
    return frame.sort_values(["requests", "key"], ascending=[False, True], ignore_index=True)


def _row(key: Mapping[str, Any]) -> dict[str, Any]:
    usage = key.get("usage") or {}
    by_reason = usage.get("rejectedBy") or {}
    by_limit = usage.get("throttledBy") or {}
    requests, accepted = int(usage.get("requests", 0)), int(usage.get("eventsAccepted", 0))
    rejected, throttled = int(usage.get("eventsRejected", 0)), int(usage.get("throttled", 0))
    row: dict[str, Any] = {
        "key": str(key["id"]),
        "customer": str(key.get("customerId")),
        "status": "revoked" if key.get("revokedAt") else "active",
        "requests": requests,
        "accepted": accepted,
        "rejected": rejected,
        "invalid": int(by_reason.get("invalid", 0)),
        "too old": int(by_reason.get("too_old", 0)),
        "wrong customer": int(by_reason.get("wrong_customer", 0)),
        "rejected %": _percent(rejected, accepted + rejected),
        "429": throttled,
        "429 %": _percent(throttled, requests),
        "403 origin": int(usage.get("originRefused", 0)),
        "answered": requests - throttled,
        "429 requests": int(by_limit.get("requests", 0)),
        "429 events": int(by_limit.get("events", 0)),
    }
    row["look at"] = "; ".join(_concerns(row))
    return row


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100.0 * part / whole, 1)


def _concerns(row: Mapping[str, Any]) -> list[str]:
    """Why a key is worth a look, strongest sign of a leaked key first.

    >>> _concerns({"wrong customer": 2, "403 origin": 0, "rejected %": 40.0, "429 %": 5.0})
    ['events named another customer', '40.0 % of its events rejected']
    """
    found = []
    if row["wrong customer"]:
        found.append("events named another customer")
    if row["403 origin"]:
        found.append("requests from an origin it does not allow")
    if (row["rejected %"] or 0) >= 100 * HIGH_SHARE:
        found.append(f"{row['rejected %']} % of its events rejected")
    if (row["429 %"] or 0) >= 100 * HIGH_SHARE:
        found.append(f"{row['429 %']} % of its requests answered 429")
    return found


def table(frame: pd.DataFrame) -> Styler:
    """The table's columns, with the rows of keys worth a look shaded."""

    def shade(row: pd.Series) -> list[str]:
        colour = "background-color: rgba(214, 39, 40, 0.15)" if row["look at"] else ""
        return [colour] * len(row)

    return frame[list(COLUMNS)].style.apply(shade, axis=1).format(precision=1, na_rep="–")


def outcomes_frame(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Long form for the chart: `key`, `outcome`, `count`, `order` of the `events` or `requests` outcomes."""
    outcomes = EVENT_OUTCOMES if measure == "events" else REQUEST_OUTCOMES
    rows = [
        {
            "key": f"{row['key']} · {row['customer']}",
            "outcome": outcome,
            "count": int(row[column]),
            "order": i,
        }
        for _, row in frame.iterrows()
        for i, (outcome, column, _) in enumerate(outcomes)
    ]
    long = pd.DataFrame(rows, columns=["key", "outcome", "count", "order"])
    busy = long.groupby("key")["count"].transform("sum") > 0
    return long[busy].reset_index(drop=True)  # a key with nothing to show is no bar at all


def usage_chart(long: pd.DataFrame, measure: str) -> alt.Chart:
    """Horizontal stacked bars per key: how its events (or requests) were answered."""
    outcomes = EVENT_OUTCOMES if measure == "events" else REQUEST_OUTCOMES
    colour = alt.Color(
        "outcome:N",
        title=None,
        legend=alt.Legend(orient="bottom", columns=2),
        scale=alt.Scale(domain=[o[0] for o in outcomes], range=[o[2] for o in outcomes]),
    )
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title=measure, stack="zero", axis=alt.Axis(tickMinStep=1, format="~s")),
            y=alt.Y("key:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
            color=colour,
            order=alt.Order("order:Q"),
            tooltip=["key:N", "outcome:N", alt.Tooltip("count:Q", format=",")],
        )
        .properties(height=alt.Step(30), usermeta=ON_CANVAS)
    )
