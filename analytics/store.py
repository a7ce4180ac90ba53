"""The DuckDB file that holds every acknowledged event.

One process owns the file (DuckDB allows a single writer, and while it is held even
read-only opens from other processes fail); in that process a single writer thread
appends through `EventStore.append`, and readers take their own cursor.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from analytics.dedupe import RecentEventIds
from analytics.intake import AcceptedEvent
from analytics.table import COLUMNS, TYPE_COLUMNS, create_table_sql

DB_FILENAME = "widget-monitor.duckdb"

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "DOUBLE": pa.float64(),
    "BIGINT": pa.int64(),
    "INTEGER": pa.int32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
}
_ARROW_OF_COLUMN: dict[str, pa.DataType] = {
    name: _ARROW_TYPES[sql_type.removesuffix(" NOT NULL")] for name, sql_type in COLUMNS.items()
}


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """The accepted events of one request, with the time the server received it."""

    events: Sequence[AcceptedEvent]
    received_us: int


class EventStore:
    """The `events` table in `<data_dir>/widget-monitor.duckdb`.

    Examples
    --------
    >>> import tempfile
    >>> store = EventStore.open(tempfile.mkdtemp())
    >>> store.count()
    0
    >>> store.close()
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection, path: Path, dedupe_horizon_s: float):
        self._con = connection
        self.path = path
        self._write_lock = threading.Lock()
        self.recent_ids = RecentEventIds(horizon_s=dedupe_horizon_s)

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        dedupe_horizon_s: float = 86_400,
        memory_limit: str | None = None,
    ) -> EventStore:
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / DB_FILENAME
        con = duckdb.connect(str(path))
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        if memory_limit:
            con.execute(f"SET GLOBAL memory_limit = '{memory_limit}'")
        con.execute(create_table_sql())
        for name, sql_type in COLUMNS.items():  # columns added by newer versions
            con.execute(
                f"ALTER TABLE events ADD COLUMN IF NOT EXISTS {name} {sql_type.removesuffix(' NOT NULL')}"
            )
        store = cls(con, path, dedupe_horizon_s)
        store._load_recent_ids()
        return store

    def _load_recent_ids(self) -> None:
        rows = self._con.execute(
            "SELECT event_id, epoch_us(received_at) FROM events "
            "WHERE event_id IS NOT NULL AND received_at >= now() - to_seconds(?) "
            "ORDER BY received_at",
            [self.recent_ids.horizon_s],
        ).fetchall()
        for event_id, received_us in rows:
            self.recent_ids.add(event_id, received_us)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for a reader thread."""
        return self._con.cursor()

    def count(self) -> int:
        with self.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    def append(self, batches: Sequence[IngestBatch]) -> list[int]:
        """Commit the batches in one transaction; return each batch's count of duplicates.

        An event whose `eventId` was already stored (within the dedupe horizon), or that
        appears earlier in the same commit, is counted as a duplicate and not stored again.
        """
        with self._write_lock:
            seen: set[str] = set()
            duplicates: list[int] = []
            by_type: dict[str, list[tuple[AcceptedEvent, int]]] = defaultdict(list)
            for batch in batches:
                dup = 0
                for event in batch.events:
                    event_id = event.metric.eventId
                    if event_id is not None:
                        if event_id in seen or event_id in self.recent_ids:
                            dup += 1
                            continue
                        seen.add(event_id)
                    by_type[event.type].append((event, batch.received_us))
                duplicates.append(dup)
            tables = [_to_arrow(kind, items) for kind, items in by_type.items()]
            con = self._con
            con.begin()
            try:
                for table in tables:
                    con.register("incoming", table)
                    con.execute("INSERT INTO events BY NAME SELECT * FROM incoming")
                    con.unregister("incoming")
                con.commit()
            except BaseException:
                con.rollback()
                raise
            newest = max((b.received_us for b in batches), default=0)
            for event_id in seen:
                self.recent_ids.add(event_id, newest)
            return duplicates

    def checkpoint(self) -> None:
        with self._write_lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        with self._write_lock:
            self._con.close()


def _to_arrow(kind: str, items: list[tuple[AcceptedEvent, int]]) -> pa.Table:
    metrics = [event.metric for event, _ in items]
    columns: dict[str, pa.Array] = {
        "event_id": pa.array([m.eventId for m in metrics], pa.string()),
        "type": pa.array([kind] * len(items), pa.string()),
        "ts": pa.array([event.ts_us for event, _ in items], _ARROW_OF_COLUMN["ts"]),
        "received_at": pa.array([received for _, received in items], _ARROW_OF_COLUMN["ts"]),
        "ts_clamped": pa.array([event.clamped for event, _ in items], pa.bool_()),
    }
    for column, read in TYPE_COLUMNS[kind].items():
        columns[column] = pa.array([read(m) for m in metrics], _ARROW_OF_COLUMN[column])
    return pa.table(columns)
