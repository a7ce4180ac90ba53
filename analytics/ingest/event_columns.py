"""Accepted events as the `events` table's columns, in Arrow's memory layout, built without pyarrow.

A commit holds thousands of events of up to nine types. Per type, msgspec turns each
metric into a tuple and `zip` transposes the tuples into columns, so the cost per
event is a couple of calls in C rather than a Python call per column; a column the
type does not use gets nulls.

Each filled column is then packed into the buffers Arrow keeps it in (a validity bitmap,
the values, and for text their offsets), with the standard library's `array` and `bytes`.
The decoder processes build these and send them to the server as they are (a pickle of a few
byte strings), where `analytics.ingest.columnar.to_arrow` wraps them as Arrow arrays
without a copy. So a decoder never loads pyarrow and numpy: ~32 MB of resident memory
at rest against ~75 MB with them (docs/history.md#memory).
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NamedTuple, get_args

import msgspec
from msgspec.structs import astuple

from analytics.ingest.events import WidgetEvent
from analytics.ingest.intake import AcceptedEvent
from analytics.storage.table import COLUMNS, TYPE_COLUMNS

# The value buffer's layout per SQL type: an `array` typecode of a fixed width, "bits" (one
# bit per value, Arrow's booleans) or "text" (UTF-8 bytes and int32 offsets).
_PACKING: dict[str, str] = {
    "VARCHAR": "text",
    "BOOLEAN": "bits",
    "DOUBLE": "d",
    "BIGINT": "q",
    "INTEGER": "i",
    "TIMESTAMPTZ": "q",  # µs since the epoch
}
PACKING: dict[str, str] = {name: _PACKING[sql.removesuffix(" NOT NULL")] for name, sql in COLUMNS.items()}
assert array("i").itemsize == 4 and array("q").itemsize == 8 and array("d").itemsize == 8


@dataclass(frozen=True, slots=True)
class PackedColumn:
    """One column's Arrow buffers: `validity` (None: no nulls), `values`, and for text `offsets`."""

    null_count: int
    validity: bytes | None
    values: bytes
    offsets: bytes | None = None


@dataclass(frozen=True, slots=True)
class EventColumns:
    """`rows` events as the `events` table's columns; a column left out is all null."""

    rows: int
    filled: dict[str, PackedColumn]

    def values(self, name: str) -> list[Any]:
        """A column's values as Python objects (timestamps as epoch µs): for tests and doctests.

        >>> EventColumns(2, {"seq": pack([1, None], "q")}).values("seq"), EventColumns(1, {}).values("seq")
        ([1, None], [None])
        """
        column = self.filled.get(name)
        if column is None:
            return [None] * self.rows
        present = _unbits(column.validity, self.rows) if column.validity is not None else [True] * self.rows
        packing = PACKING[name]
        if packing == "text":
            assert column.offsets is not None
            ends = array("i", column.offsets)
            got: list[Any] = [column.values[ends[i] : ends[i + 1]].decode() for i in range(self.rows)]
        elif packing == "bits":
            got = _unbits(column.values, self.rows)
        else:
            got = array(packing, column.values).tolist()
        return [value if ok else None for value, ok in zip(got, present, strict=True)]


def pack(values: Sequence[Any], packing: str) -> PackedColumn:
    """`values` (None: null) in Arrow's buffers for `packing` (`PACKING`'s kinds).

    >>> pack([True, None, False], "bits")
    PackedColumn(null_count=1, validity=b'\\x05', values=b'\\x01', offsets=None)
    >>> text = pack(["é", None, "ab"], "text")
    >>> text.values, list(array("i", text.offsets))
    (b'\\xc3\\xa9ab', [0, 2, 2, 4])
    """
    nulls = sum(1 for value in values if value is None)
    validity = _bits(value is not None for value in values) if nulls else None
    if packing == "text":
        encoded = [b"" if value is None else value.encode() for value in values]
        offsets = array("i", accumulate((len(chunk) for chunk in encoded), initial=0))
        return PackedColumn(nulls, validity, b"".join(encoded), offsets.tobytes())
    if packing == "bits":
        return PackedColumn(nulls, validity, _bits(bool(value) for value in values))
    filler = 0.0 if packing == "d" else 0  # under a null: any value of the width
    packed = array(packing, [filler if value is None else value for value in values])
    return PackedColumn(nulls, validity, packed.tobytes())


def _bits(flags: Iterable[bool]) -> bytes:
    """Arrow's bitmap: bit i of byte i // 8 (least significant first) is flag i."""
    digits = "".join("1" if flag else "0" for flag in flags)
    return int(digits[::-1] or "0", 2).to_bytes((len(digits) + 7) // 8, "little")


def _unbits(bitmap: bytes, n: int) -> list[bool]:
    number = int.from_bytes(bitmap, "little")
    return [bool(number >> i & 1) for i in range(n)]


@dataclass(frozen=True, slots=True)
class _Nested:
    """Columns read from a struct-valued field (persistence `metadata`)."""

    index: int  # of the field in the metric's tuple
    width: int  # fields of the nested struct
    columns: tuple[tuple[str, int], ...]  # (column, index in the nested struct's tuple)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where one metric type's columns sit in `astuple(metric)`."""

    event_id: int
    direct: tuple[tuple[str, int], ...]
    nested: tuple[_Nested, ...]


def _layout(kind: str, metric_type: type[msgspec.Struct]) -> _Layout:
    info = {f.name: f for f in msgspec.structs.fields(metric_type)}
    index = {name: i for i, name in enumerate(metric_type.__struct_fields__)}
    direct: list[tuple[str, int]] = []
    nested: dict[str, list[tuple[str, str]]] = {}
    for column, source in TYPE_COLUMNS[kind].items():
        if source.within is None:
            direct.append((column, index[source.name]))
        else:
            nested.setdefault(source.within, []).append((column, source.name))
    nested_layouts = []
    for within, columns in nested.items():
        inner: Any = next(t for t in get_args(info[within].type) if isinstance(t, type))
        inner_index = {name: i for i, name in enumerate(inner.__struct_fields__)}
        named = tuple((column, inner_index[name]) for column, name in columns)
        nested_layouts.append(_Nested(index[within], len(inner_index), named))
    return _Layout(index["eventId"], tuple(direct), tuple(nested_layouts))


_LAYOUTS: dict[str, _Layout] = {
    event_type.__struct_config__.tag: _layout(
        event_type.__struct_config__.tag, msgspec.structs.fields(event_type)[0].type
    )
    for event_type in get_args(WidgetEvent)
}


ByType = Mapping[str, Sequence[tuple[AcceptedEvent, int]]]


def group_by_type(
    events: Sequence[AcceptedEvent], received_us: int
) -> dict[str, list[tuple[AcceptedEvent, int]]]:
    """The events of one request by type, each with the time it was received: `event_columns`' input."""
    by_type: dict[str, list[tuple[AcceptedEvent, int]]] = defaultdict(list)
    for event in events:
        by_type[event.type].append((event, received_us))
    return by_type


def row_event_ids(by_type: ByType) -> list[str | None]:
    """The eventIds in the row order of `event_columns(by_type)` (by type, not as sent)."""
    return [event.metric.eventId for pairs in by_type.values() for event, _ in pairs]


def row_sent_index(events: Sequence[AcceptedEvent], by_type: ByType) -> list[int]:
    """For each row of `event_columns(by_type)`, the index its event had in `events` (as sent).

    >>> from analytics.ingest.intake import read_body
    >>> memory = '{"type": "memory", "metric": {"usedJSHeapSize": 1}}'
    >>> render = '{"type": "render", "metric": {"renderTime": 2}}'
    >>> events = read_body(f"[{memory}, {render}, {memory}]".encode(), received_us=10**15 * 2).accepted
    >>> row_sent_index(events, group_by_type(events, 0))
    [0, 2, 1]
    """
    sent = {id(event): index for index, event in enumerate(events)}
    return [sent[id(event)] for pairs in by_type.values() for event, _ in pairs]


def has_repeated_ids(event_ids: Sequence[str | None]) -> bool:
    """Whether an eventId occurs twice (then which copy is kept depends on the order sent)."""
    present = [event_id for event_id in event_ids if event_id is not None]
    return len(set(present)) != len(present)


class RequestColumns(NamedTuple):
    """One request's accepted events as columns, with what the dedupe needs of its rows."""

    columns: EventColumns  # rows grouped by type
    event_ids: list[str | None]  # in row order
    sent_index: list[int] | None  # each row's place in the request, when an eventId repeats


def request_columns(events: Sequence[AcceptedEvent], received_us: int) -> RequestColumns:
    """The events of one request as columns, their eventIds in row order, and (only when an
    eventId repeats, so that the copy sent first is the one kept) the order the rows were sent in.

    >>> from analytics.ingest.intake import read_body
    >>> memory = '{"type": "memory", "metric": {"usedJSHeapSize": 1, "eventId": "m"}}'
    >>> render = '{"type": "render", "metric": {"renderTime": 2, "eventId": "r"}}'
    >>> events = read_body(f"[{memory}, {render}, {memory}]".encode(), received_us=10**15 * 2).accepted
    >>> columns = request_columns(events, 10**15 * 2)
    >>> columns.columns.rows, columns.event_ids, columns.sent_index
    (3, ['m', 'm', 'r'], [0, 2, 1])
    """
    by_type = group_by_type(events, received_us)
    ids = row_event_ids(by_type)
    sent = row_sent_index(events, by_type) if has_repeated_ids(ids) else None
    return RequestColumns(event_columns(by_type), ids, sent)


def event_columns(by_type: ByType) -> EventColumns:
    """The `(event, received_us)` pairs, grouped by type, as one set of columns.

    >>> from analytics.ingest.intake import read_body
    >>> intake = read_body(b'{"type": "render", "metric": {"renderTime": 4.5}}', received_us=10**15 * 2)
    >>> columns = event_columns({"render": [(intake.accepted[0], 10**15 * 2)]})
    >>> columns.rows, columns.values("render_time"), columns.values("duration")
    (1, [4.5], [None])
    """
    # One list per column across all types, packed once: that costs less than a buffer per
    # type and column, as a mixed commit holds nine types.
    columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    filled: set[str] = set()
    total = 0
    for kind, pairs in by_type.items():
        if not pairs:
            continue
        values = _type_columns(kind, pairs)
        nulls = [None] * len(pairs)
        for name, column_values in columns.items():
            column_values.extend(values.get(name, nulls))
        filled.update(values)
        total += len(pairs)
    # Commits of single events hold two or three types, so most columns are all null:
    # those are left out (Arrow makes a column of nulls from its length alone).
    packed = {name: pack(columns[name], PACKING[name]) for name in COLUMNS if name in filled}
    return EventColumns(total, {name: column for name, column in packed.items() if column.null_count < total})


def _type_columns(kind: str, pairs: Sequence[tuple[AcceptedEvent, int]]) -> dict[str, Sequence[Any]]:
    """The columns one type fills, each a sequence of values in the order of `pairs`."""
    layout = _LAYOUTS[kind]
    events, received = zip(*pairs, strict=True)
    _, metrics, ts_us, clamped = zip(*map(astuple, events), strict=True)
    fields = list(zip(*map(astuple, metrics), strict=True))
    values: dict[str, Sequence[Any]] = {
        "event_id": fields[layout.event_id],
        "type": [kind] * len(pairs),
        "ts": ts_us,
        "received_at": received,
        "ts_clamped": clamped,
    }
    for column, index in layout.direct:
        values[column] = fields[index]
    for nested in layout.nested:
        absent = (None,) * nested.width
        rows = [absent if s is None else astuple(s) for s in fields[nested.index]]
        inner = list(zip(*rows, strict=True))
        for column, index in nested.columns:
            values[column] = inner[index]
    return values
