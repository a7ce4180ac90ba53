"""Turning a POSTed body into accepted events and precise rejections.

The whole body is decoded in one msgspec call; only when that fails is the array
decoded element by element, so that a batch with a few poison pills still stores
its good events and says exactly which indexes were refused and why.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, get_args, get_type_hints

import msgspec

from analytics.errors import BadRequest, InvalidEvents, PayloadTooLarge
from analytics.ingest.events import (
    EVENT_TYPES,
    IDENTIFIER_PATHS,
    PersistenceMetric,
    WidgetEvent,
    body_decoder,
    event_decoder,
    raw_list_decoder,
)
from analytics.ingest.identifiers import CONTROL_MESSAGE, has_control

# 2000-01-01T00:00:00Z: an earlier event time is a client bug (performance.now() sent
# as a timestamp, an unset clock), not a real measurement.
MIN_TIMESTAMP_US = 946_684_800_000_000
_YEAR_2100_US = 4_102_444_800_000_000

# A \uD800-\uDBFF escape not followed by a \uDC00-\uDFFF one, or the low half alone:
# JSON text that names no unicode character (msgspec's own message for it is vague).
_LONE_SURROGATE = re.compile(
    rb"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
_NON_FINITE = re.compile(rb"-?(?:NaN|Infinity)")
_AT_BYTE = re.compile(r"\(byte (\d+)\)")
_INVALID_VALUE = re.compile(r"Invalid value '(.*)'$")

_TYPE_TAG: dict[type, str] = {cls: cls.__struct_config__.tag for cls in get_args(WidgetEvent)}


class AcceptedEvent(msgspec.Struct, frozen=True, gc=False):
    """A validated event with its time resolved to epoch microseconds (UTC).

    A Struct rather than a dataclass: a batch creates a thousand of them, and the
    store turns them into columns with `msgspec.structs.astuple` (field order matters).
    """

    type: str
    metric: Any
    ts_us: int
    clamped: bool


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why the event at `index` (0 for a single-event body) was refused."""

    index: int
    path: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "path": self.path, "message": self.message}


@dataclass(frozen=True, slots=True)
class _Rules:
    """What the sender may post: the limits of `read_body`, resolved once per body."""

    received_us: int
    max_events: int
    max_future_skew_us: int
    customer_id: str | None
    oldest_us: int  # earliest timestamp taken
    max_age_us: int | None
    kept_from_us: int | None  # raw retention's cut: an older event would be dropped uncounted
    # Whether a string in the body can hold a control character: only through a `\` escape
    # (raw ones are not JSON) or, for C1 and U+2028/9, beyond ASCII.
    may_hold_controls: bool

    def too_old(self, ts_us: int) -> str:
        """Why a timestamp before `oldest_us` is refused: the bound it broke."""
        if (
            ts_us >= MIN_TIMESTAMP_US
            and self.max_age_us is not None
            and ts_us < self.received_us - self.max_age_us
        ):
            return (
                f"timestamp is more than {self.max_age_us / 86_400e6:g} days old: an ingest key posts "
                "recent events only (backfill with an admin token)"
            )
        if ts_us >= MIN_TIMESTAMP_US and self.kept_from_us is not None and ts_us < self.kept_from_us:
            cut = datetime.fromtimestamp(self.kept_from_us / 1e6, UTC).date().isoformat()
            return (
                f"timestamp is before {cut}: older raw events are dropped by retention "
                "(WIDGET_MONITOR_RAW_RETENTION_DAYS) and this one could not be counted"
            )
        if MIN_TIMESTAMP_US <= ts_us * 1000 < _YEAR_2100_US:  # a number of seconds, read as milliseconds
            return (
                "timestamp is before 2000-01-01: as epoch seconds it would not be; send milliseconds "
                "(Date.now())"
            )
        return "timestamp is before 2000-01-01"


@dataclass(slots=True)
class Intake:
    """The outcome of reading one body."""

    accepted: list[AcceptedEvent] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    clamped: int = 0
    is_batch: bool = False


def read_body(
    body: bytes,
    *,
    received_us: int,
    max_events: int = 1000,
    max_future_skew_us: int = 60_000_000,
    customer_id: str | None = None,
    max_age_us: int | None = None,
    kept_from_us: int | None = None,
) -> Intake:
    """Validate a body holding one event or an array of events.

    With `customer_id` (the sender's ingest key names it), an event without a
    `customerId` gets that one, and an event naming another customer is rejected.
    With `max_age_us`, an event stamped earlier than that before `received_us` is
    rejected (ingest keys; an admin backfills older events). With `kept_from_us` (raw
    retention's cut), an event stamped before it is rejected, whoever sends it.

    Raises `BadRequest` for an unreadable body, `PayloadTooLarge` for too many events
    and `InvalidEvents` when not a single event is acceptable.

    >>> i = read_body(b'{"type": "render", "metric": {"renderTime": 4.5}}', received_us=10**15 * 2)
    >>> (len(i.accepted), i.accepted[0].metric.renderTime)
    (1, 4.5)
    """
    if not body.strip():
        raise BadRequest("empty body: send one event or a JSON array of events")
    ascii_only = body.isascii()
    if not ascii_only:
        _check_utf8(body)
    may_hold_controls = not ascii_only or b"\\" in body
    rules = _rules(
        received_us, max_events, max_future_skew_us, customer_id, max_age_us, kept_from_us, may_hold_controls
    )
    intake = Intake()
    try:
        _read(intake, body, rules)
    except RecursionError:  # msgspec and json recurse per level: nesting of any depth is a 400
        raise BadRequest(
            "body is nested too deeply: an event is an object of fields, a batch an array of events"
        ) from None
    if not intake.accepted:
        if not intake.rejected:
            raise BadRequest("empty batch: send at least one event")
        raise InvalidEvents(_summary(intake.rejected), rejected=[r.to_dict() for r in intake.rejected])
    return intake


def _read(intake: Intake, body: bytes, rules: _Rules) -> None:
    try:
        decoded = body_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        decoded = None
    if decoded is not None:
        events = decoded if isinstance(decoded, list) else [decoded]
        intake.is_batch = isinstance(decoded, list)
        _check_batch_size(len(events), rules.max_events)
        for index, event in enumerate(events):
            _accept(intake, index, event, rules)
    else:
        _read_one_by_one(intake, body, rules)


def _rules(
    received_us: int,
    max_events: int,
    max_future_skew_us: int,
    customer_id: str | None,
    max_age_us: int | None,
    kept_from_us: int | None,
    may_hold_controls: bool,
) -> _Rules:
    oldest_us = MIN_TIMESTAMP_US
    if max_age_us is not None:
        oldest_us = max(oldest_us, received_us - max_age_us)
    if kept_from_us is not None:
        oldest_us = max(oldest_us, kept_from_us)
    return _Rules(
        received_us,
        max_events,
        max_future_skew_us,
        customer_id,
        oldest_us,
        max_age_us,
        kept_from_us,
        may_hold_controls,
    )


def _read_one_by_one(intake: Intake, body: bytes, rules: _Rules) -> None:
    raw_items: Sequence[msgspec.Raw | bytes | None]
    try:
        raw_items = raw_list_decoder.decode(body)
    except msgspec.ValidationError:
        # Not an array: a single event that failed validation, or not JSON at all.
        intake.rejected.append(_single_event_error(body, index=0, prefix="$"))
        return
    except msgspec.DecodeError as exc:
        elements = _split_around_lone_surrogates(body)
        if elements is None:
            raise _unreadable(body, exc) from exc
        raw_items = elements
    intake.is_batch = True
    _check_batch_size(len(raw_items), rules.max_events)
    for index, raw in enumerate(raw_items):
        if raw is None:
            message = "invalid unicode: a lone surrogate escape (\\ud800-\\udfff) names no character"
            intake.rejected.append(Rejection(index, f"$[{index}]", message))
            continue
        try:
            event = event_decoder.decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError):
            intake.rejected.append(_single_event_error(raw, index=index, prefix=f"$[{index}]"))
            continue
        _accept(intake, index, event, rules)


def _check_utf8(body: bytes) -> None:
    """A 400 naming the first byte that is not UTF-8: such a body is unreadable as a whole.

    Checked here rather than left to msgspec: its report changed between releases (0.23
    says only "Invalid UTF-8 encoded string", without a position), and it never looks
    inside fields it skips (unknown keys) or elements it keeps raw. Python's strict
    codec also refuses encoded surrogates (ED A0 80), as RFC 3629 does. Only bodies
    that are not plain ASCII pay for the decode.
    """
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest(f"body is not valid UTF-8: {exc.reason} at byte {exc.start}") from exc


def _split_around_lone_surrogates(body: bytes) -> list[bytes | None] | None:
    """The array's elements as JSON text, None for those holding a lone surrogate escape.

    Such an escape is valid JSON syntax but names no character, and msgspec refuses the
    whole array for it; the standard library's parser takes it, so the other events of
    the batch can still be judged one by one. None when that is not the problem.
    """
    if _LONE_SURROGATE.search(body) is None:
        return None
    try:
        items = json.loads(body, parse_constant=_no_constant)
    except ValueError:
        return None
    if not isinstance(items, list):
        return None
    elements: list[bytes | None] = []
    for item in items:
        try:
            elements.append(json.dumps(item, ensure_ascii=False).encode("utf-8"))
        except UnicodeEncodeError:
            elements.append(None)
    return elements


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _single_event_error(raw: bytes | msgspec.Raw, *, index: int, prefix: str) -> Rejection:
    try:
        event_decoder.decode(raw)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: test it first
        message, _, path = str(exc).partition(" - at `")
        path = prefix + path.rstrip("`").removeprefix("$") if path else prefix
        return Rejection(index, path, _explain(message, path))
    except msgspec.DecodeError as exc:
        if prefix == "$":
            raise _unreadable(bytes(raw), exc) from exc
        return Rejection(index, prefix, f"not valid JSON: {exc}")
    raise AssertionError("an event that failed validation once passed the second time")


def _unreadable(body: bytes, exc: msgspec.DecodeError) -> BadRequest:
    """A 400 that says what is wrong with the JSON text, and where."""
    if body.startswith(b"\xef\xbb\xbf"):  # what some editors and Windows tools put first
        return BadRequest("body is not valid JSON: it starts with a byte order mark (EF BB BF): leave it out")
    lone = _LONE_SURROGATE.search(body)
    if lone is not None:
        escape = lone.group().decode()
        return BadRequest(
            f"body is not valid JSON: invalid unicode: lone surrogate escape {escape} at byte {lone.start()}"
        )
    at = _AT_BYTE.search(str(exc))
    if at is not None:
        start = int(at.group(1))
        start -= body[start - 1 : start] == b"-"
        if _NON_FINITE.match(body, start):
            return BadRequest(f"body is not valid JSON: NaN and Infinity are not JSON numbers (byte {start})")
    return BadRequest(f"body is not valid JSON: {exc}")


_OPERATIONS = get_args(get_type_hints(PersistenceMetric)["operation"])  # the one enum of the schema


def _explain(message: str, path: str) -> str:
    if path.endswith(".type") and message.startswith("Invalid value"):
        named = _INVALID_VALUE.match(message)
        if named is not None and named.group(1) in EVENT_TYPES:
            # msgspec read the tag, then met a second `type` key naming another type.
            return f"`type` is given more than once ({named.group(1)!r} among them): send it once"
        return f"{message}: unknown type, expected one of {', '.join(EVENT_TYPES)}"
    if path.endswith(".metric.operation") and message.startswith("Invalid enum value"):
        return f"{message}: expected one of {', '.join(_OPERATIONS)}"
    if path.endswith(".timestamp"):
        return f"{message}: send ISO 8601 (2025-11-03T10:00:00.000Z) or epoch milliseconds"
    if message == "Object missing required field `type`":
        return f"{message}: expected one of {', '.join(EVENT_TYPES)}"
    return message


def _accept(intake: Intake, index: int, event: WidgetEvent, rules: _Rules) -> None:
    metric = event.metric
    if rules.may_hold_controls:
        path = _control_in_identifier(metric)
        if path is not None:
            prefix = f"$[{index}]" if intake.is_batch else "$"
            intake.rejected.append(Rejection(index, f"{prefix}.metric.{path}", CONTROL_MESSAGE))
            return
    if metric.customerId == "":  # no customer is None: "" would read as the global scope's key
        prefix = f"$[{index}]" if intake.is_batch else "$"
        message = "customerId is empty: leave it out for an event of no customer"
        intake.rejected.append(Rejection(index, f"{prefix}.metric.customerId", message))
        return
    customer_id = rules.customer_id
    if customer_id is not None and metric.customerId != customer_id:
        if metric.customerId is not None:
            prefix = f"$[{index}]" if intake.is_batch else "$"
            message = f"customerId {metric.customerId!r} is not this key's customer {customer_id!r}"
            intake.rejected.append(Rejection(index, f"{prefix}.metric.customerId", message))
            return
        metric = msgspec.structs.replace(metric, customerId=customer_id)
    stamp = metric.timestamp
    clamped = False
    if stamp is None:
        ts_us = rules.received_us
    else:
        ts_us = _epoch_us(stamp)
        if ts_us < rules.oldest_us:
            prefix = f"$[{index}]" if intake.is_batch else "$"
            intake.rejected.append(Rejection(index, f"{prefix}.metric.timestamp", rules.too_old(ts_us)))
            return
        if ts_us > rules.received_us + rules.max_future_skew_us:
            ts_us = rules.received_us
            clamped = True
            intake.clamped += 1
    intake.accepted.append(AcceptedEvent(_TYPE_TAG[type(event)], metric, ts_us, clamped))


def _control_in_identifier(metric: Any) -> str | None:
    """The path of the first identifier holding a control character, if any."""
    for path in IDENTIFIER_PATHS[type(metric)]:
        value = metric
        for name in path:
            value = getattr(value, name)
            if value is None:
                break
        if value is not None and has_control(value):
            return ".".join(path)
    return None


def _epoch_us(stamp: datetime | float) -> int:
    if isinstance(stamp, float):
        return round(stamp * 1000)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return round(stamp.timestamp() * 1_000_000)


def _check_batch_size(count: int, max_events: int) -> None:
    if count > max_events:
        raise PayloadTooLarge(f"batch of {count} events is over the limit of {max_events}; split it")


def _summary(rejected: list[Rejection]) -> str:
    first = rejected[0]
    more = f" (and {len(rejected) - 1} more)" if len(rejected) > 1 else ""
    return f"no valid event: {first.message} at {first.path}{more}"
