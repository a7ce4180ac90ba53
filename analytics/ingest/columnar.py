"""Accepted events as one Arrow table in the `events` table's layout, the form DuckDB appends.

The columns are built by `analytics.ingest.event_columns` (in a decoder process, or here
for a small body), already in Arrow's memory layout; `to_arrow` wraps their buffers as
arrays without copying them.
"""

from __future__ import annotations

import pyarrow as pa

from analytics.ingest.event_columns import PACKING, EventColumns
from analytics.storage.table import COLUMNS

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


def to_arrow(columns: EventColumns) -> pa.Table:
    """The columns as one Arrow table of `ARROW_SCHEMA` (a column left out: all null).

    >>> from analytics.ingest.event_columns import pack
    >>> table = to_arrow(EventColumns(2, {"seq": pack([7, None], "q"), "type": pack(["render"] * 2, "text")}))
    >>> table.column("seq").to_pylist(), table.column("type").to_pylist(), table.column("tab_id").null_count
    ([7, None], ['render', 'render'], 2)
    """
    arrays = []
    for field in ARROW_SCHEMA:
        column = columns.filled.get(field.name)
        if column is None:
            arrays.append(pa.nulls(columns.rows, field.type))
            continue
        validity = None if column.validity is None else pa.py_buffer(column.validity)
        values = pa.py_buffer(column.values)
        if PACKING[field.name] == "text":
            assert column.offsets is not None
            buffers = [validity, pa.py_buffer(column.offsets), values]
        else:
            buffers = [validity, values]
        array = pa.Array.from_buffers(field.type, columns.rows, buffers, null_count=column.null_count)
        array.validate()  # the buffers' sizes against the length and type (constant time)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)
