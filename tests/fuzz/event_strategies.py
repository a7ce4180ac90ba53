"""Hypothesis strategies for ingest bodies, read off the msgspec Structs of analytics.ingest.events.

`events()` draws valid events of the nine types from each field's type and Meta bounds
(`msgspec.inspect`), so a new field or a changed bound is fuzzed without editing this
file. `bodies()` breaks them the ways a buggy or hostile sender would: wrong types,
numbers out of range, missing `type`, unknown fields, deep nesting, huge strings,
control characters, invalid UTF-8, lone surrogate escapes, NaN literals, truncation.
"""

from __future__ import annotations

import functools
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

import msgspec.inspect as mi
from hypothesis import strategies as st

from analytics.ingest.events import WidgetEvent
from analytics.ingest.identifiers import MAX_IDENTIFIER_LENGTH, has_control
from analytics.ingest.intake import MIN_TIMESTAMP_US

EVENT_STRUCTS: dict[str, mi.StructType] = {
    cls.__struct_config__.tag: mi.type_info(cls) for cls in get_args(WidgetEvent)
}
OLDEST = datetime.fromtimestamp(MIN_TIMESTAMP_US / 1e6, UTC) + timedelta(days=1)  # room for any UTC offset
_STAMP = next(f.type for f in EVENT_STRUCTS["render"].fields[0].type.fields if f.name == "timestamp")
EPOCH_MS_MAX: float = next(m.le for m in _STAMP.types if isinstance(m, mi.FloatType))
CONTROL_CHARACTERS = ("\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x85", "\x9f", "\u2028", "\u2029")


def moments(start: datetime = OLDEST, end: datetime = datetime(9999, 1, 1, tzinfo=UTC)) -> st.SearchStrategy:
    """A `timestamp` as widgets send it, between `start` and `end`: ISO 8601 or epoch ms."""
    offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))

    def instants(until: datetime = end) -> st.SearchStrategy[datetime]:
        return st.datetimes(start.replace(tzinfo=None), until.replace(tzinfo=None), timezones=st.just(UTC))

    iso = st.one_of(
        instants().map(lambda t: t.isoformat().replace("+00:00", "Z")),
        instants().map(lambda t: t.replace(tzinfo=None).isoformat()),  # naive: read as UTC
        st.tuples(instants(), offsets).map(lambda p: p[0].astimezone(p[1]).isoformat()),
    )
    last_ms = min(end, datetime.fromtimestamp(EPOCH_MS_MAX / 1000, UTC) - timedelta(seconds=1))
    epoch_ms = instants(last_ms).map(lambda t: round(t.timestamp() * 1000, 3))
    return st.one_of(iso, epoch_ms)


def for_type(t: mi.Type, *, timestamps: st.SearchStrategy) -> st.SearchStrategy[Any]:
    """Valid wire values of the msgspec type `t` (within its Meta bounds)."""
    if isinstance(t, mi.Metadata):
        return for_type(t.type, timestamps=timestamps)
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, (mi.IntType, mi.FloatType)):
        if t.gt is not None or t.lt is not None or t.multiple_of is not None:
            raise TypeError(f"teach tests/fuzz/event_strategies.py exclusive bounds: {t!r}")
        if isinstance(t, mi.IntType):
            return st.integers(t.ge, t.le)
        return st.floats(t.ge, t.le, allow_nan=False, allow_infinity=False)
    if isinstance(t, mi.StrType):
        return _strings(t)
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.UnionType):
        if any(isinstance(m, mi.DateTimeType) for m in t.types):
            return st.none() | timestamps  # the time forms: intake also bounds them (2000-01-01 on)
        return st.one_of([for_type(m, timestamps=timestamps) for m in t.types])
    if isinstance(t, mi.StructType):
        return _objects(t, timestamps)
    raise TypeError(f"teach tests/fuzz/event_strategies.py the msgspec type {t!r}")


def _strings(t: mi.StrType) -> st.SearchStrategy[str]:
    limit = t.max_length if t.max_length is not None else 10_000
    if t.pattern is not None:
        some = st.from_regex(t.pattern).filter(lambda s: len(s) <= limit)
    elif limit == MAX_IDENTIFIER_LENGTH:  # an identifier: one line of text (intake checks it)
        some = st.text(max_size=64).filter(lambda s: not has_control(s))
    else:
        some = st.text(max_size=min(limit, 64))
    longest = st.sampled_from(["a", "é", "🚀"]).map(lambda c: c * limit)  # at the bound exactly
    return some | longest


def _objects(t: mi.StructType, timestamps: st.SearchStrategy) -> st.SearchStrategy[dict[str, Any]]:
    required = {f.encode_name: for_type(f.type, timestamps=timestamps) for f in t.fields if f.required}
    optional = {f.encode_name: for_type(f.type, timestamps=timestamps) for f in t.fields if not f.required}
    if "customerId" in optional:  # no customer is a missing one: "" is refused (the global scope's key)
        optional["customerId"] = optional["customerId"].filter(lambda value: value != "")
    return st.fixed_dictionaries(required, optional=optional)


@functools.cache
def events(
    kinds: tuple[str, ...] = tuple(EVENT_STRUCTS), timestamps: st.SearchStrategy | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid events `{"type": ..., "metric": {...}}` of the given types (built once per arguments)."""
    when = moments() if timestamps is None else timestamps
    return st.one_of(
        [
            st.fixed_dictionaries({"type": st.just(kind), "metric": for_type(metric.type, timestamps=when)})
            for kind in kinds
            for metric in EVENT_STRUCTS[kind].fields  # the one field of an event: `metric`
        ]
    )


# ---- breaking them ---------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
ODD_VALUES = st.one_of(
    JSON_VALUES,
    st.sampled_from([float("nan"), float("inf"), float("-inf"), -1, -0.5, 2**63, 2**64, -(2**63) - 1]),
    st.sampled_from(["\ud800", "x\udfff", "\udbff", "1", "true", "null", "2025-13-45T99:00:00Z"]),
    st.integers(-(2**70), 2**70),
    st.floats(-1e308, 1e308),
)


# A stand-in value that `encode` replaces by JSON text nested this deep (json.dumps would recurse).
_DEEP = re.compile(rb'"@deep (list|dict) (\d+)@"')


def _nested(match: re.Match[bytes]) -> bytes:
    depth = int(match.group(2))
    if match.group(1) == b"list":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


NON_FINITE = st.sampled_from([float("nan"), float("inf"), float("-inf")])
ODD_TYPES = st.sampled_from(["", "Render", "renders", "tabsync", "__proto__"]) | ODD_VALUES
# Each costs the event its place in the batch; the last three may cost the whole body, so are rarer.
BREAKAGES = st.sampled_from(
    [
        "drop type",
        "odd type",
        "drop metric",
        "odd metric",
        "drop field",
        "odd field",
        "unknown field",
        "huge string",
        "control character",
    ]
    * 3
    + ["deep", "lone surrogate", "not a number"]
)


@st.composite
def broken_events(draw: st.DrawFn, timestamps: st.SearchStrategy | None = None) -> Any:
    """A valid event changed in one to three of the ways a sender gets it wrong."""
    event = draw(events(timestamps=timestamps))
    metric = event["metric"]
    for _ in range(draw(st.integers(1, 3))):
        how = draw(BREAKAGES)
        fields = sorted(metric) if isinstance(metric, dict) else []
        if how == "drop type":
            event.pop("type", None)
        elif how == "odd type":
            event["type"] = draw(ODD_TYPES)
        elif how == "drop metric":
            event.pop("metric", None)
        elif how == "odd metric":
            event["metric"] = metric = draw(ODD_VALUES)
        elif how == "drop field" and fields:
            metric.pop(draw(st.sampled_from(fields)))
        elif how == "odd field" and fields:
            metric[draw(st.sampled_from(fields))] = draw(ODD_VALUES)
        elif how == "unknown field":
            target = metric if isinstance(metric, dict) and draw(st.booleans()) else event
            target[draw(st.text(max_size=12))] = draw(JSON_VALUES)
        elif how == "deep":
            depth = draw(st.sampled_from([64, 1_000, 10_000, 100_000]))
            target = metric if isinstance(metric, dict) and draw(st.booleans()) else event
            target["deep"] = f"@deep {draw(st.sampled_from(['list', 'dict']))} {depth}@"
        elif how == "huge string" and fields:
            size = draw(st.sampled_from([257, 4_097, 300_000]))
            metric[draw(st.sampled_from(fields))] = "x" * size
        elif how == "control character" and fields:
            text = draw(st.text(max_size=4))
            at = draw(st.integers(0, len(text)))
            char = draw(st.sampled_from(CONTROL_CHARACTERS))
            metric[draw(st.sampled_from(fields))] = text[:at] + char + text[at:]
        elif how == "lone surrogate" and fields:
            metric[draw(st.sampled_from(fields))] = draw(st.sampled_from(["\ud800", "a\udc00b", "\udfff"]))
        elif how == "not a number" and fields:
            metric[draw(st.sampled_from(fields))] = draw(NON_FINITE)
    return event


class Body:
    """A body to post, and what the test knows about it."""

    __slots__ = ("raw", "sent", "valid")

    def __init__(self, raw: bytes, sent: Any, valid: bool) -> None:
        self.raw = raw
        self.sent = sent  # the Python value encoded (None when the bytes were broken after encoding)
        self.valid = valid  # every event in it is valid (a batch may still be too long)

    def __repr__(self) -> str:  # hypothesis prints this for a failing example
        return f"Body({self.raw[:2000]!r}{'...' if len(self.raw) > 2000 else ''}, valid={self.valid})"


def events_in(body: Body) -> list[Any] | None:
    """The events the body holds as Python's own JSON parser sees them (None: not JSON to it)."""
    value = body.sent
    if value is None:
        try:
            value = json.loads(body.raw)
        except (ValueError, RecursionError):
            return None
    return value if isinstance(value, list) else [value]


def encode(value: Any, *, ascii_only: bool) -> bytes:
    """JSON text of `value` as Python writes it: NaN literals and lone surrogates kept as such."""
    text = json.dumps(value, ensure_ascii=ascii_only, allow_nan=True)
    raw = text.encode("utf-8", "surrogatepass")  # a lone surrogate unescaped: invalid UTF-8 (ED A0 80)
    return _DEEP.sub(_nested, raw)


def valid_bodies(max_events: int, timestamps: st.SearchStrategy | None = None) -> st.SearchStrategy[Body]:
    """A single valid event or a batch of 1 to `max_events` of them, as JSON text."""
    one = events(timestamps=timestamps)
    values = one | st.lists(one, min_size=1, max_size=max_events)
    return st.builds(lambda v, a: Body(encode(v, ascii_only=a), v, True), values, st.booleans())


# How often each kind of body comes: mixed batches most, since they take every path of intake.
SHAPES = ["valid", "batch", "batch", "batch", "events", "batch size", "top level", "bytes", "bytes"]
BYTE_DAMAGE = [b"\xff", b"\xc3", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00", b"NaN", b"}"]


@st.composite
def bodies(draw: st.DrawFn, max_events: int, timestamps: st.SearchStrategy | None = None) -> Body:
    """Valid bodies, and bodies broken at the event, the array or the byte level."""
    shape = draw(st.sampled_from(SHAPES))
    if shape == "valid":
        return draw(valid_bodies(max_events, timestamps))
    if shape == "top level":
        raw = draw(
            st.sampled_from(
                [b"", b" ", b"null", b"1", b'"render"', b"true", b"{}", b"[]", b"[[]]", b"[null]", b"[1,2]"]
            )
            | st.binary(max_size=64)
        )
        return Body(raw, None, False)
    if shape == "batch size":
        too_many = st.lists(events(timestamps=timestamps), min_size=max_events + 1, max_size=max_events + 3)
        value = draw(too_many)
        return Body(encode(value, ascii_only=True), value, True)  # valid events, too many of them
    element = events(timestamps=timestamps) | broken_events(timestamps)
    if shape == "batch":  # good and bad events side by side: the bad ones are rejected by index
        value = draw(st.lists(element, min_size=2, max_size=max_events))
        return Body(encode(value, ascii_only=True), value, False)
    value = draw(element | st.lists(element, min_size=1, max_size=max_events))
    raw = encode(value, ascii_only=draw(st.booleans()))
    if shape == "events":
        return Body(raw, value, False)
    at = draw(st.integers(0, len(raw)))
    damage = draw(st.sampled_from(["truncate", "insert", "duplicate type", "bom", "trailing"]))
    if damage == "truncate":
        raw = raw[:at]
    elif damage == "insert":
        raw = raw[:at] + draw(st.sampled_from(BYTE_DAMAGE)) + raw[at:]
    elif damage == "duplicate type":
        raw = raw.replace(b'"type": ', b'"type": "scroll", "type": ', 1)
    elif damage == "bom":
        raw = b"\xef\xbb\xbf" + raw
    else:
        raw = raw + draw(st.sampled_from([b" ", b"\n", b",", b"]", b"x", b"\x00"]))
    return Body(raw, None, False)
