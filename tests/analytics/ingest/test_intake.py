"""Validation of posted bodies: every type, good and bad, batches with poison pills, timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from analytics.errors import BadRequest, InvalidEvents, PayloadTooLarge
from analytics.ingest.intake import Intake, read_body
from tests.support.events import COMMON, FULL_METRICS, REQUIRED, event, without

# 2026-06-01T12:00:00Z, the time the server "received" each body.
RECEIVED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
RECEIVED_US = 1_780_315_200 * 1_000_000
assert RECEIVED.timestamp() * 1_000_000 == RECEIVED_US


def read(body: Any, **kwargs: Any) -> Intake:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return read_body(raw, received_us=RECEIVED_US, **kwargs)


def rejection_of(body: Any) -> dict[str, Any]:
    """The one rejection of a single-event body that must fail validation."""
    with pytest.raises(InvalidEvents) as caught:
        read(body)
    rejected = caught.value.details["rejected"]
    assert len(rejected) == 1
    assert rejected[0]["index"] == 0
    return dict(rejected[0])


# --- good events ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(FULL_METRICS))
def test_a_full_event_of_each_type_is_accepted_with_every_field(kind: str) -> None:
    body = event(kind, **COMMON, timestamp="2026-06-01T11:59:00.250Z")
    intake = read(body)
    assert intake.rejected == []
    [accepted] = intake.accepted
    assert accepted.type == kind
    assert accepted.ts_us == RECEIVED_US - 59_750_000
    assert not accepted.clamped
    for name, value in {**FULL_METRICS[kind], **COMMON}.items():
        got = getattr(accepted.metric, name)
        if isinstance(value, dict):  # persistence metadata
            assert {k: getattr(got, k) for k in value} == value
        else:
            assert got == value, name


@pytest.mark.parametrize("kind", list(FULL_METRICS))
def test_only_the_required_fields_are_enough(kind: str) -> None:
    metric = {name: FULL_METRICS[kind][name] for name in REQUIRED[kind]}
    [accepted] = read({"type": kind, "metric": metric}).accepted
    assert accepted.ts_us == RECEIVED_US  # no timestamp: the time received
    assert accepted.metric.eventId is None


def test_data_loss_defaults_to_false() -> None:
    body = {"type": "persistence", "metric": {"operation": "sync", "success": True, "duration": 3}}
    assert read(body).accepted[0].metric.dataLoss is False


def test_unknown_fields_are_ignored_in_the_metric_and_the_envelope() -> None:
    body = event("render", futureField={"nested": [1, 2]}, renderTimeV2=9)
    body["schemaVersion"] = 7
    [accepted] = read(body).accepted
    assert accepted.metric.renderTime == 12.3
    assert not hasattr(accepted.metric, "futureField")


@pytest.mark.parametrize("operation", ["save", "restore", "sync", "delete", "clear"])
def test_every_persistence_operation_of_the_seed_is_accepted(operation: str) -> None:
    assert read(event("persistence", operation=operation)).accepted[0].metric.operation == operation


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        pytest.param("render", "renderTime", 0, id="duration-0"),
        pytest.param("render", "renderTime", 3_600_000, id="duration-1h"),
        pytest.param("scroll", "avgFps", 1000, id="fps-1000"),
        pytest.param("scroll", "jankPercentage", 100, id="percent-100"),
        pytest.param("memory", "usedJSHeapSize", 2**40, id="bytes-2^40"),
        pytest.param("render", "renderTime", 7, id="integer-for-float"),
    ],
)
def test_values_at_the_edges_of_their_range_are_accepted(kind: str, field: str, value: float) -> None:
    assert getattr(read(event(kind, **{field: value})).accepted[0].metric, field) == value


# --- bad events ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        pytest.param(kind, field, id=f"{kind}-{field}")
        for kind, fields in REQUIRED.items()
        for field in fields
    ],
)
def test_a_missing_required_field_is_rejected_by_name(kind: str, field: str) -> None:
    rejection = rejection_of(without(kind, field))
    assert rejection["path"] == "$.metric"
    assert rejection["message"] == f"Object missing required field `{field}`"


# (type, field, wrong value) where a number or a boolean belongs: never coerced.
WRONG_TYPES = [
    ("persistence", "duration", "42.5"),
    ("persistence", "duration", True),
    ("persistence", "success", "true"),
    ("persistence", "success", 1),
    ("persistence", "dataLoss", "false"),
    ("restoration", "duration", "152"),
    ("restoration", "messagesRestored", "8"),
    ("restoration", "messagesRestored", 8.5),
    ("navigation", "dataPreserved", "yes"),
    ("navigation", "duration", False),
    ("render", "renderTime", "12.3"),
    ("render", "renderTime", True),
    ("render", "contentLength", "256"),
    ("render", "hasMarkdown", "true"),
    ("scroll", "avgFps", "58"),
    ("scroll", "minFps", True),
    ("scroll", "jankPercentage", "3%"),
    ("memory", "usedJSHeapSize", "28639232"),
    ("memory", "usedJSHeapSize", True),
    ("memory", "usedJSHeapSize", 28639232.5),
    ("tabSync", "latency", "32ms"),
    ("tabSync", "tabCount", False),
    ("api", "duration", "285"),
    ("api", "success", "false"),
    ("api", "status", "200"),
    ("api", "cached", 0),
    ("bundle", "loadTime", "425"),
    ("bundle", "size", "448KB"),
    ("bundle", "cached", "yes"),
]


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [pytest.param(k, f, v, id=f"{k}-{f}-{type(v).__name__}") for k, f, v in WRONG_TYPES],
)
def test_a_wrong_field_type_is_rejected_not_coerced(kind: str, field: str, value: Any) -> None:
    rejection = rejection_of(event(kind, **{field: value}))
    assert rejection["path"] == f"$.metric.{field}"
    assert f"got `{type(value).__name__}`" in rejection["message"]


def test_a_wrong_type_inside_persistence_metadata_names_the_nested_path() -> None:
    body = event("persistence", metadata={"messageCount": 3, "dataSize": "8 KB"})
    rejection = rejection_of(body)
    assert rejection["path"] == "$.metric.metadata.dataSize"
    assert "got `str`" in rejection["message"]


OUT_OF_RANGE = [
    ("persistence", "duration", -0.001, ">= 0"),
    ("persistence", "duration", 3_600_000.5, "<= 3600000"),
    ("restoration", "duration", -5, ">= 0"),
    ("restoration", "messagesRestored", -1, ">= 0"),
    ("navigation", "duration", 86_400_000, "<= 3600000"),
    ("render", "renderTime", -1, ">= 0"),
    ("render", "renderTime", 3_600_001, "<= 3600000"),
    ("scroll", "avgFps", 1000.5, "<= 1000"),
    ("scroll", "avgFps", -1, ">= 0"),
    ("scroll", "minFps", 5000, "<= 1000"),
    ("scroll", "jankPercentage", 100.5, "<= 100"),
    ("scroll", "jankPercentage", -0.1, ">= 0"),
    ("memory", "usedJSHeapSize", 2**40 + 1, "<= 1099511627776"),
    ("memory", "usedJSHeapSize", -1, ">= 0"),
    ("memory", "totalJSHeapSize", 2**41, "<= 1099511627776"),
    ("memory", "jsHeapSizeLimit", -4096, ">= 0"),
    ("tabSync", "latency", -2, ">= 0"),
    ("tabSync", "latency", 4_000_000, "<= 3600000"),
    ("api", "duration", -10, ">= 0"),
    ("api", "duration", 3_600_000.01, "<= 3600000"),
    ("bundle", "loadTime", 10_000_000, "<= 3600000"),
    ("bundle", "size", 2**40 + 1, "<= 1099511627776"),
    ("bundle", "size", -1, ">= 0"),
]


@pytest.mark.parametrize(
    ("kind", "field", "value", "bound"),
    [pytest.param(k, f, v, b, id=f"{k}-{f}-{v}") for k, f, v, b in OUT_OF_RANGE],
)
def test_negative_and_absurd_values_are_rejected(kind: str, field: str, value: float, bound: str) -> None:
    rejection = rejection_of(event(kind, **{field: value}))
    assert rejection["path"] == f"$.metric.{field}"
    assert bound in rejection["message"]


def test_a_byte_size_over_2_to_the_40_in_metadata_is_rejected() -> None:
    rejection = rejection_of(event("persistence", metadata={"dataSize": 2**40 + 1}))
    assert rejection["path"] == "$.metric.metadata.dataSize"


def test_a_number_too_large_for_a_double_is_rejected() -> None:
    rejection = rejection_of(b'{"type": "render", "metric": {"renderTime": 1e400}}')
    assert rejection["path"] == "$.metric.renderTime"
    assert "out of range" in rejection["message"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_refused_with_their_position(literal: str) -> None:
    body = b'{"type": "render", "metric": {"renderTime": ' + literal.encode() + b"}}"
    at = body.index(literal.encode())
    with pytest.raises(BadRequest, match=rf"NaN and Infinity are not JSON numbers \(byte {at}\)"):
        read(body)


def test_an_unknown_persistence_operation_is_rejected() -> None:
    rejection = rejection_of(event("persistence", operation="nuke"))
    assert rejection["path"] == "$.metric.operation"
    assert "'nuke'" in rejection["message"]


@pytest.mark.parametrize(
    ("body", "path", "says"),
    [
        pytest.param({"type": "heatmap", "metric": {}}, "$.type", "unknown type", id="unknown-type"),
        pytest.param({"type": "Render", "metric": {}}, "$.type", "unknown type", id="type-is-case-sensitive"),
        pytest.param({"metric": {"renderTime": 1}}, "$", "missing required field `type`", id="no-type"),
        pytest.param({"type": "render"}, "$", "missing required field `metric`", id="no-metric"),
        pytest.param({"type": "render", "metric": None}, "$.metric", "got `null`", id="null-metric"),
        pytest.param(
            {"type": "render", "metric": {"renderTime": None}}, "$.metric.renderTime", "null", id="null-field"
        ),
        pytest.param(42, "$", "Expected `object`", id="number-body"),
    ],
)
def test_a_malformed_envelope_is_rejected(body: Any, path: str, says: str) -> None:
    rejection = rejection_of(body)
    assert rejection["path"] == path
    assert says in rejection["message"]
    if says == "unknown type":
        assert "persistence, restoration, navigation" in rejection["message"]


def test_a_type_key_repeated_with_another_type_says_so_not_unknown_type() -> None:
    """Regression: {"type": "render", "type": "api"} was answered "unknown type 'api'"."""
    body = b'{"type": "render", "type": "api", "metric": {"renderTime": 5}}'
    with pytest.raises(InvalidEvents) as refused:
        read_body(body, received_us=RECEIVED_US)
    [rejection] = refused.value.details["rejected"]
    assert rejection["path"] == "$.type"
    assert rejection["message"] == "`type` is given more than once ('api' among them): send it once"


# --- timestamps ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stamp", "expected_us"),
    [
        pytest.param("2026-06-01T11:00:00Z", RECEIVED_US - 3_600_000_000, id="iso-Z"),
        pytest.param("2026-06-01T11:00:00.123Z", RECEIVED_US - 3_600_000_000 + 123_000, id="iso-ms"),
        pytest.param("2026-06-01T11:00:00.000007Z", RECEIVED_US - 3_600_000_000 + 7, id="iso-us"),
        pytest.param("2026-06-01T13:00:00+02:00", RECEIVED_US - 3_600_000_000, id="iso-offset"),
        pytest.param("2026-06-01T11:00:00", RECEIVED_US - 3_600_000_000, id="naive-iso-is-utc"),
        pytest.param(1_780_311_600_000, RECEIVED_US - 3_600_000_000, id="epoch-ms"),
        pytest.param(1_780_311_600_000.5, RECEIVED_US - 3_600_000_000 + 500, id="epoch-ms-fraction"),
        pytest.param("2000-01-01T00:00:00Z", 946_684_800_000_000, id="exactly-2000"),
        pytest.param("2026-06-01T12:00:59.999Z", RECEIVED_US + 59_999_000, id="59.999s-ahead-kept"),
        pytest.param("2026-06-01T12:01:00Z", RECEIVED_US + 60_000_000, id="60s-ahead-kept"),
    ],
)
def test_timestamps_are_read_as_utc(stamp: str | float, expected_us: int) -> None:
    intake = read(event("render", timestamp=stamp))
    [accepted] = intake.accepted
    assert accepted.ts_us == expected_us
    assert not accepted.clamped and intake.clamped == 0


@pytest.mark.parametrize(
    "stamp",
    [
        pytest.param("2026-06-01T12:01:00.001Z", id="60.001s-ahead"),
        pytest.param("2031-01-01T00:00:00Z", id="years-ahead"),
        pytest.param(99_999_999_999_999, id="epoch-ms-far-future"),
    ],
)
def test_timestamps_over_60s_ahead_are_clamped_to_receive_time_and_counted(stamp: str | float) -> None:
    intake = read([event("render", timestamp=stamp), event("render", timestamp=stamp), event("render")])
    assert [a.ts_us for a in intake.accepted] == [RECEIVED_US] * 3
    assert [a.clamped for a in intake.accepted] == [True, True, False]
    assert intake.clamped == 2


@pytest.mark.parametrize(
    ("stamp", "says"),
    [
        pytest.param("yesterday", "ISO 8601", id="words"),
        pytest.param("2026-06-01", "ISO 8601", id="date-only"),
        pytest.param("2026-13-01T00:00:00Z", "ISO 8601", id="month-13"),
        pytest.param("1780311600000", "ISO 8601", id="epoch-as-string"),
        pytest.param(True, "got `bool`", id="bool"),
        pytest.param(-1, "", id="negative-epoch"),
        pytest.param("1999-12-31T23:59:59.999Z", "before 2000-01-01", id="before-2000"),
        pytest.param(
            1_780_311_600, "as epoch seconds it would not be; send milliseconds", id="epoch-seconds"
        ),
        pytest.param(86_400_000, "timestamp is before 2000-01-01", id="epoch-ms-of-1970"),
    ],
)
def test_unparseable_or_implausible_timestamps_are_rejected(stamp: Any, says: str) -> None:
    rejection = rejection_of(event("render", timestamp=stamp))
    assert rejection["path"] == "$.metric.timestamp"
    assert says in rejection["message"]


# --- unreadable bodies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "says"),
    [
        pytest.param(b"", "empty body", id="empty"),
        pytest.param(b"  \n\t ", "empty body", id="whitespace"),
        pytest.param(b"[]", "empty batch", id="empty-array"),
        pytest.param(b"[ ]", "empty batch", id="empty-array-spaced"),
        pytest.param(b"hello", "not valid JSON", id="not-json"),
        pytest.param(b'{"type": "render", "metric": {"renderTime": 1}', "not valid JSON", id="truncated"),
        pytest.param(b'{"type": "render", "metric": {"renderTime": 1}} x', "not valid JSON", id="trailing"),
        pytest.param(
            b'[{"type": "render", "metric": {"renderTime": 1}}, {oops}]', "not valid JSON", id="batch"
        ),
    ],
)
def test_unreadable_bodies_are_400(body: bytes, says: str) -> None:
    with pytest.raises(BadRequest, match=says):
        read(body)


@pytest.mark.parametrize(
    ("body", "bad"),
    [
        pytest.param(
            b'{"type": "render", "metric": {"renderTime": 1, "sessionId": "\xff"}}', b"\xff", id="single"
        ),
        pytest.param(
            b'{"type": "render", "metric": {"renderTime": 1, "sessionId": "caf\xc3"}}', b"\xc3", id="cut"
        ),
        pytest.param(
            b'[{"type": "render", "metric": {"renderTime": 1}},'
            b' {"type": "render", "metric": {"renderTime": 2, "sessionId": "\xed\xa0\x80"}}]',
            b"\xed",
            id="batch-encoded-surrogate",
        ),
        pytest.param(
            b'[{"type": "render", "metric": {"renderTime": 1}},'
            b' {"type": "render", "metric": {"renderTime": 2, "notAField": "\x80"}}]',
            b"\x80",
            id="batch-in-an-ignored-field",
        ),
    ],
)
def test_invalid_utf8_is_400_naming_the_byte(body: bytes, bad: bytes) -> None:
    # Regression: msgspec 0.23 reports invalid UTF-8 without a position, and not at all in fields
    # it skips or elements it keeps raw; the whole body is refused either way, naming the first bad byte.
    at = body.index(bad)
    with pytest.raises(BadRequest, match=rf"body is not valid UTF-8: .* at byte {at}$"):
        read(body)


def test_utf8_text_beyond_ascii_is_stored_as_sent() -> None:
    # The UTF-8 check runs only on bodies that are not plain ASCII: these must still pass it.
    names = ["café", "日本語", "emoji 😀", "\u00a0non-breaking"]
    body = json.dumps(
        [{"type": "render", "metric": {"renderTime": 1, "customerId": n}} for n in names], ensure_ascii=False
    ).encode("utf-8")
    assert not body.isascii()
    intake = read(body)
    assert [e.metric.customerId for e in intake.accepted] == names
    assert intake.rejected == []


@pytest.mark.parametrize(
    "escape",
    [
        pytest.param(r"\ud800", id="lone-high"),
        pytest.param(r"\udc00", id="lone-low"),
        pytest.param(r"\ud800x", id="high-then-char"),
        pytest.param(r"\ude00\ud83d", id="reversed-pair"),
    ],
)
def test_lone_surrogate_escapes_are_400_invalid_unicode(escape: str) -> None:
    body = b'{"type": "render", "metric": {"renderTime": 1, "sessionId": "' + escape.encode() + b'"}}'
    at = body.index(b"\\u")
    with pytest.raises(BadRequest, match=rf"invalid unicode: lone surrogate escape .* at byte {at}"):
        read(body)
    # in a batch it is that event's rejection, not the whole body's
    with pytest.raises(InvalidEvents, match="invalid unicode") as refused:
        read(b"[" + body + b"]")
    assert refused.value.details["rejected"][0]["index"] == 0


def test_a_lone_surrogate_rejects_only_its_event_in_a_batch() -> None:
    good = b'{"type": "render", "metric": {"renderTime": 3}}'
    bad = rb'{"type": "render", "metric": {"renderTime": 4, "messageId": "\ud800"}}'
    intake = read(b"[" + good + b"," + bad + b"," + good + b"]")
    assert [e.metric.renderTime for e in intake.accepted] == [3.0, 3.0]
    assert [(r.index, r.path) for r in intake.rejected] == [(1, "$[1]")]
    assert "invalid unicode" in intake.rejected[0].message


def test_a_surrogate_pair_escape_is_valid_unicode() -> None:
    body = rb'{"type": "render", "metric": {"renderTime": 1, "sessionId": "\ud83d\ude00"}}'
    assert read(body).accepted[0].metric.sessionId == "\U0001f600"


# --- batches -------------------------------------------------------------------------------


def test_a_batch_of_1000_is_accepted_and_1001_is_413() -> None:
    batch = [event("render", renderTime=float(i % 50)) for i in range(1000)]
    assert len(read(batch).accepted) == 1000
    with pytest.raises(PayloadTooLarge, match="1001 events is over the limit of 1000"):
        read([*batch, event("render")])


def test_an_oversized_batch_with_poison_pills_is_still_413() -> None:
    batch = [event("render") if i % 2 else {"type": "nope"} for i in range(1200)]
    with pytest.raises(PayloadTooLarge):
        read(batch)


def test_a_batch_with_poison_pills_keeps_the_good_events_and_says_where_each_bad_one_failed() -> None:
    batch = [
        event("render", renderTime=1.0),  # 0 good
        without("api", "success"),  # 1 missing field
        event("memory", usedJSHeapSize=2**40),  # 2 good
        {"type": "heatmap", "metric": {}},  # 3 unknown type
        event("scroll", avgFps="60"),  # 4 string for a number
        event("tabSync", latency=10.0, timestamp="2026-06-01T11:59:00Z"),  # 5 good
        event("render", timestamp="1999-01-01T00:00:00Z"),  # 6 before 2000
        event("bundle", size=-1),  # 7 negative
        event("navigation", timestamp="2027-01-01T00:00:00Z"),  # 8 good, clamped
        "render",  # 9 not an object
    ]
    intake = read(batch)
    assert [(a.type, a.ts_us) for a in intake.accepted] == [
        ("render", RECEIVED_US),
        ("memory", RECEIVED_US),
        ("tabSync", RECEIVED_US - 60_000_000),
        ("navigation", RECEIVED_US),
    ]
    assert intake.clamped == 1
    rejected = [(r.index, r.path) for r in intake.rejected]
    assert rejected == [
        (1, "$[1].metric"),
        (3, "$[3].type"),
        (4, "$[4].metric.avgFps"),
        (6, "$[6].metric.timestamp"),
        (7, "$[7].metric.size"),
        (9, "$[9]"),
    ]
    messages = {r.index: r.message for r in intake.rejected}
    assert messages[1] == "Object missing required field `success`"
    assert "unknown type" in messages[3]
    assert "got `str`" in messages[4]
    assert "before 2000-01-01" in messages[6]
    assert ">= 0" in messages[7]


def test_a_batch_with_no_good_event_is_rejected_with_every_index() -> None:
    batch = [without("render", "renderTime"), event("api", duration=-1), {"type": 5}]
    with pytest.raises(
        InvalidEvents, match=r"no valid event: .* at \$\[0\]\.metric \(and 2 more\)"
    ) as caught:
        read(batch)
    assert [r["index"] for r in caught.value.details["rejected"]] == [0, 1, 2]
    assert [r["path"] for r in caught.value.details["rejected"]] == [
        "$[0].metric",
        "$[1].metric.duration",
        "$[2].type",
    ]


def test_a_batch_of_one_event_is_still_a_batch() -> None:
    intake = read([event("render")])
    assert intake.is_batch and len(intake.accepted) == 1
    with pytest.raises(InvalidEvents) as caught:
        read([event("render", renderTime=-1)])
    assert caught.value.details["rejected"][0]["path"] == "$[0].metric.renderTime"


IDENTIFIER_FIELDS = [
    ("render", "customerId"),
    ("render", "widgetVersion"),
    ("render", "sessionId"),
    ("render", "tabId"),
    ("render", "messageId"),
    ("persistence", "conversationId"),
    ("persistence", "errorType"),
]
CONTROL_CHARACTERS = [
    pytest.param("acme\r\n2026-01-01 INFO forged", id="crlf"),
    pytest.param("acme\n", id="trailing-lf"),
    pytest.param("a\tb", id="tab"),
    pytest.param("a\x00b", id="nul"),
    pytest.param("a\x7fb", id="del"),
    pytest.param("a\x85b", id="c1-next-line"),
    pytest.param("a\u2028b", id="line-separator"),
    pytest.param("a\u2029b", id="paragraph-separator"),
    # invisible marks: one name shown as another (`acme\u202egnp.exe` reads acmeexe.png)
    pytest.param("acme\u202egnp.exe", id="right-to-left-override"),
    pytest.param("ac\u200bme", id="zero-width-space"),
    pytest.param("\u2066acme\u2069", id="bidi-isolate"),
    pytest.param("\ufeffacme", id="byte-order-mark"),
]


def _with(kind: str, field: str, value: str) -> dict[str, Any]:
    base = {
        "render": {"renderTime": 1.0},
        "persistence": {"operation": "save", "success": False, "duration": 1.0},
    }[kind]
    return {"type": kind, "metric": {**base, field: value}}


@pytest.mark.parametrize(("kind", "field"), IDENTIFIER_FIELDS)
@pytest.mark.parametrize("value", CONTROL_CHARACTERS)
def test_an_identifier_with_a_control_character_is_rejected_by_index(
    kind: str, field: str, value: str
) -> None:
    good = _with(kind, field, "acme-eu 🚀 café")
    intake = read([good, _with(kind, field, value), good])
    assert [getattr(e.metric, field) for e in intake.accepted] == ["acme-eu 🚀 café"] * 2
    assert [r.to_dict() for r in intake.rejected] == [
        {
            "index": 1,
            "path": f"$[1].metric.{field}",
            "message": "holds a control character (C0 such as CR, LF, TAB; DEL; C1; U+2028/9) or an "
            "invisible mark (zero-width, bidirectional): one line of visible text only",
        }
    ]


def test_free_text_may_hold_several_lines_and_is_stored_as_sent() -> None:
    text = "save failed\nQuotaExceededError: the quota has been exceeded\r\n\tat save (widget.js:10)"
    intake = read(_with("persistence", "errorMessage", text))
    assert intake.accepted[0].metric.errorMessage == text
    too_long = read(
        [_with("persistence", "errorMessage", "x" * 4097), _with("persistence", "errorMessage", "ok")]
    )
    assert [r.index for r in too_long.rejected] == [0]


def test_an_identifier_is_capped_at_256_characters() -> None:
    intake = read([render_with_customer("x" * 256), render_with_customer("x" * 257)])
    assert len(intake.accepted) == 1 and [r.index for r in intake.rejected] == [1]


def render_with_customer(customer: str) -> dict[str, Any]:
    return _with("render", "customerId", customer)


def test_an_empty_customer_id_is_rejected_by_index() -> None:
    """No customer is a missing `customerId`: an empty one would be the global scope's own key."""
    intake = read([_with("render", "customerId", ""), _with("render", "customerId", "acme")])
    assert [e.metric.customerId for e in intake.accepted] == ["acme"]
    assert [r.to_dict() for r in intake.rejected] == [
        {
            "index": 0,
            "path": "$[0].metric.customerId",
            "message": "customerId is empty: leave it out for an event of no customer",
        }
    ]


def test_an_unknown_persistence_operation_says_which_are_known() -> None:
    rejection = rejection_of(event("persistence", operation="load"))
    assert rejection["path"] == "$.metric.operation"
    expected = "Invalid enum value 'load': expected one of save, restore, sync, delete, clear"
    assert rejection["message"] == expected


def test_a_byte_order_mark_is_named() -> None:
    with pytest.raises(BadRequest, match="starts with a byte order mark"):
        read_body(b'\xef\xbb\xbf{"type": "render", "metric": {"renderTime": 4.5}}', received_us=10**15 * 2)
