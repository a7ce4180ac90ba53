"""analytics.ingest.intake.read_body (and the decoder processes' decode_body) over fuzzed bodies.

Whatever arrives, a body is either read, every event of it accepted or rejected by
index exactly once, or refused with one of analytics.errors' client errors; and a
valid event is taken as it was sent.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from analytics.errors import InvalidEvents, MonitorError, PayloadTooLarge
from analytics.ingest.body_columns import decode_body
from analytics.ingest.intake import read_body
from tests.fuzz.event_strategies import Body, bodies, events_in, valid_bodies

MAX_EVENTS = 8
SKEW_US = 60_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FUZZ = settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def expected_time(stamp: Any, received_us: int) -> tuple[int, bool]:
    """(epoch µs, clamped) of a valid `timestamp`, worked out apart from analytics.ingest.intake."""
    if stamp is None:
        return received_us, False
    if isinstance(stamp, str):
        moment = datetime.fromisoformat(stamp)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        us = (moment - EPOCH) // timedelta(microseconds=1)
    else:
        us = int((Decimal(repr(stamp)) * 1000).to_integral_value(ROUND_HALF_EVEN))
    if us > received_us + SKEW_US:
        return received_us, True
    return us, False


def holds(got: Any, sent: Any) -> bool:
    """Whether `got` (msgspec.to_builtins of a metric) has every field of `sent` unchanged."""
    if isinstance(sent, dict):
        return isinstance(got, dict) and all(holds(got.get(k), v) for k, v in sent.items())
    return type(got) is type(sent) and got == sent


@FUZZ
@given(body=valid_bodies(max_events=10))
def test_a_valid_event_is_taken_as_sent(body: Body) -> None:
    received_us = time.time_ns() // 1000
    intake = read_body(body.raw, received_us=received_us, max_events=10, max_future_skew_us=SKEW_US)

    sent = body.sent if isinstance(body.sent, list) else [body.sent]
    assert intake.rejected == []
    assert [a.type for a in intake.accepted] == [e["type"] for e in sent]
    for accepted, sent_event in zip(intake.accepted, sent, strict=True):
        fields = {k: v for k, v in sent_event["metric"].items() if k != "timestamp"}
        assert holds(msgspec.to_builtins(accepted.metric), fields)
        stamp = sent_event["metric"].get("timestamp")
        assert (accepted.ts_us, accepted.clamped) == expected_time(stamp, received_us)
    assert intake.clamped == sum(a.clamped for a in intake.accepted)


@FUZZ
@given(
    body=bodies(max_events=MAX_EVENTS),
    customer_id=st.none() | st.just("acme"),
    max_age_us=st.none() | st.just(7 * 86_400_000_000),
)
def test_any_body_is_read_by_index_or_refused_as_a_client_error(
    body: Body, customer_id: str | None, max_age_us: int | None
) -> None:
    limits: dict[str, Any] = {
        "received_us": time.time_ns() // 1000,
        "max_events": MAX_EVENTS,
        "max_future_skew_us": SKEW_US,
        "customer_id": customer_id,
        "max_age_us": max_age_us,
    }
    sent = events_in(body)
    try:
        intake = read_body(body.raw, **limits)
    except MonitorError as exc:
        event(f"refused: {type(exc).__name__}")
        assert type(exc) is not MonitorError and exc.status < 500, repr(exc)
        if body.valid and sent is not None and len(sent) > MAX_EVENTS:
            assert isinstance(exc, PayloadTooLarge)
        if isinstance(exc, InvalidEvents) and sent is not None:
            assert sorted(r["index"] for r in exc.details["rejected"]) == list(range(len(sent)))
        return

    assert sent is not None, "read a body that is not JSON"
    event("read, with rejections" if intake.rejected else "read, all taken")
    rejected = [r.index for r in intake.rejected]
    assert len(set(rejected)) == len(rejected)
    assert set(rejected) <= set(range(len(sent)))
    taken = [i for i in range(len(sent)) if i not in set(rejected)]
    assert len(intake.accepted) == len(taken)
    for index, accepted in zip(taken, intake.accepted, strict=True):
        if isinstance(sent[index], dict):
            assert accepted.type == sent[index].get("type")
        if customer_id is not None:
            assert accepted.metric.customerId == customer_id
    assert all(r.path.startswith("$") and r.message for r in intake.rejected)

    # The decoder processes' reading of the same body: the same events, as Arrow columns.
    decoded = decode_body(body.raw, **limits)
    assert decoded.table().num_rows == len(intake.accepted)
    assert [r.index for r in decoded.rejected] == rejected
