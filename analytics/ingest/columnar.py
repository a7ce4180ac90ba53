"""Accepted events as one Arrow table in the `events` table's layout, built column by column.

A commit holds thousands of events of up to nine types. Per type, msgspec turns each
metric into a tuple and `zip` transposes the tuples into columns, so the cost per
event is a couple of calls in C rather than a Python call per column; a column the
type does not use gets nulls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, get_args

import msgspec
import pyarrow as pa
from msgspec.structs import astuple

from analytics.ingest.events import WidgetEvent
from analytics.ingest.intake import AcceptedEvent
from analytics.storage.table import COLUMNS, TYPE_COLUMNS

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}
ARROW_SCHEMA = pa.schema(
    [(name, _ARROW_TYPES[sql_type.removesuffix(" NOT NULL")]) for name, sql_type in COLUMNS.items()]
)


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
    """The events of one request by type, each with the time it was received: `to_arrow_table`'s input."""
    by_type: dict[str, list[tuple[AcceptedEvent, int]]] = defaultdict(list)
    for event in events:
        by_type[event.type].append((event, received_us))
    return by_type


def row_event_ids(by_type: ByType) -> list[str | None]:
    """The eventIds in the row order of `to_arrow_table(by_type)` (by type, not as sent)."""
    return [event.metric.eventId for pairs in by_type.values() for event, _ in pairs]


def row_sent_index(events: Sequence[AcceptedEvent], by_type: ByType) -> list[int]:
    """For each row of `to_arrow_table(by_type)`, the index its event had in `events` (as sent).

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
    """One request's accepted events as a table, with what the dedupe needs of its rows."""

    table: pa.Table  # rows grouped by type
    event_ids: list[str | None]  # in row order
    sent_index: list[int] | None  # each row's place in the request, when an eventId repeats


def request_columns(events: Sequence[AcceptedEvent], received_us: int) -> RequestColumns:
    """The events of one request as columns: the table, its eventIds in row order, and
    (only when an eventId repeats, so that the copy sent first is the one kept) the order
    the rows were sent in.

    >>> from analytics.ingest.intake import read_body
    >>> memory = '{"type": "memory", "metric": {"usedJSHeapSize": 1, "eventId": "m"}}'
    >>> render = '{"type": "render", "metric": {"renderTime": 2, "eventId": "r"}}'
    >>> events = read_body(f"[{memory}, {render}, {memory}]".encode(), received_us=10**15 * 2).accepted
    >>> columns = request_columns(events, 10**15 * 2)
    >>> columns.table.num_rows, columns.event_ids, columns.sent_index
    (3, ['m', 'm', 'r'], [0, 2, 1])
    """
    by_type = group_by_type(events, received_us)
    ids = row_event_ids(by_type)
    sent = row_sent_index(events, by_type) if has_repeated_ids(ids) else None
    return RequestColumns(to_arrow_table(by_type), ids, sent)


def to_arrow_table(by_type: ByType) -> pa.Table:
    """One Arrow table of `(event, received_us)` pairs grouped by type.

    >>> from analytics.ingest.intake import read_body
    >>> intake = read_body(b'{"type": "render", "metric": {"renderTime": 4.5}}', received_us=10**15 * 2)
    >>> table = to_arrow_table({"render": [(intake.accepted[0], 10**15 * 2)]})
    >>> table.num_rows, table.column("render_time").to_pylist(), table.column("duration").to_pylist()
    (1, [4.5], [None])
    """
    # One list per column across all types, and one pa.array call per column: that costs
    # less than an array per type and column, as a mixed commit holds nine types.
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
    # pa.nulls costs a fraction of converting a list of None.
    arrays = [
        pa.array(columns[field.name], field.type) if field.name in filled else pa.nulls(total, field.type)
        for field in ARROW_SCHEMA
    ]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


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
