"""The DuckDB file that holds every acknowledged event.

One process owns the file (DuckDB allows a single writer, and while it is held even
read-only opens from other processes fail); in that process a single writer appends
(`EventStore.append` on its thread, or `append_now` on the event loop for small groups),
one commit at a time under the store's write lock, and readers take their own cursor.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from analytics.ingest.columnar import to_arrow
from analytics.ingest.dedupe import RecentEventIds
from analytics.ingest.event_columns import event_columns, request_columns
from analytics.ingest.intake import AcceptedEvent
from analytics.rollups import backfill, maintain, tabs
from analytics.storage import lake
from analytics.storage.store_damage import DamageReport, damage_reports, looks_damaged, open_checked
from analytics.storage.table import COLUMNS, create_table_sql

log = logging.getLogger(__name__)
DB_FILENAME = "widget-monitor.duckdb"


def store_files(data_dir: Path) -> list[Path]:
    """The files a stopped store is held in: the database file and, beside it, the WAL of the
    commits since the last checkpoint (a server leaves them there when it stops: `_connect`)."""
    database = data_dir / DB_FILENAME
    return [p for p in (database, database.with_name(database.name + ".wal")) if p.exists()]


# DuckDB checkpoints (compresses the WAL into the file) once the WAL passes this size.
# At its default of 16 MB a steady stream of events rewrites the same half-full row
# group at every checkpoint (64 MB measured a third less CPU per stored event) and stalls
# reads; but until a checkpoint the new rows sit uncompressed in DuckDB's memory, ~1.2x
# the WAL. 32 MB: 20-35 MB less at the peak of a 1M-event load than 64 MB, ingest and
# summaries within the noise (docs/benchmarks.md). A restart after a crash replays at
# most this much WAL.
CHECKPOINT_BYTES = 32 * 1024 * 1024

# `append_now` leaves to `append` a commit once the WAL is this close to the checkpoint
# threshold. DuckDB decides to checkpoint from the WAL's size before a commit plus an
# estimate of the new rows that leaves string contents out: under 1 MB for the groups of
# fewer than 1000 events that come here (their WAL may be bigger; the next commit then
# checkpoints, on the writer's thread).
_CHECKPOINT_MARGIN = 4 * 1024 * 1024


# A request with at least this many events turns them into columns itself (on the
# event loop, or in a decoder process), rather than leaving it to the single writer
# thread, which then mostly commits. Single events are left to the writer: columns
# cost a fixed ~0.2 ms per table.
PREBUILD_MIN_EVENTS = 100

# eventIds reloaded at start-up are read in slices of this many.
_RELOAD_SLICE = 100_000

# A candidate eventId (its hash matched) is looked up among the events received from this
# long before the second its hash was stored: a commit's events were received before it, by
# as long as a request waits for the writer under load.
_QUEUED_S = 300


DEFAULT_MEMORY_LIMIT = "256MB"
ALLOCATOR_FLUSH_BYTES = 16 << 20


@dataclass(frozen=True, slots=True)
class DuckDBLimits:
    """How much memory and how many threads DuckDB may use.

    DuckDB's own default is 80 % of RAM and every core: on a shared machine its buffer
    pool grows toward the first. `DEFAULT_MEMORY_LIMIT` holds the hot columns of millions of
    events (bigger sorts, joins and aggregates spill to `<db>.tmp/`) and an exact
    percentile over about 15M values (a percentile keeps its values in memory: a query
    over more is refused with `duckdb.OutOfMemoryException`, which the API answers 422);
    the server, its decoder and the dedupe stay within a few hundred MB more.
    """

    memory_limit: str = DEFAULT_MEMORY_LIMIT
    threads: int = field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))

    def to_wire(self) -> dict[str, object]:
        return {"memoryLimit": self.memory_limit, "threads": self.threads}


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """The accepted events of one request, with the time the server received it.

    Either `events` (the writer turns them into columns) or `table` (columns built
    already, in the request or in a decoder process); `event_ids` in both cases, in
    row order, for the dedupe. A table's rows are grouped by type; when the batch
    repeats an eventId, `sent_index` gives each row's place in the body, so that the
    copy sent first is the one stored.
    """

    received_us: int
    event_ids: Sequence[str | None]
    events: Sequence[AcceptedEvent] = ()
    table: pa.Table | None = None
    sent_index: Sequence[int] | None = None

    @classmethod
    def of_events(cls, events: Sequence[AcceptedEvent], received_us: int) -> IngestBatch:
        """The batch, with its columns already built when it is big enough to be worth it."""
        if len(events) < PREBUILD_MIN_EVENTS:
            return cls(received_us, [event.metric.eventId for event in events], events)
        columns, ids, sent = request_columns(events, received_us)
        return cls.of_table(to_arrow(columns), ids, received_us, sent)

    @classmethod
    def of_table(
        cls,
        table: pa.Table,
        event_ids: Sequence[str | None],
        received_us: int,
        sent_index: Sequence[int] | None = None,
    ) -> IngestBatch:
        if len(event_ids) != table.num_rows or (sent_index is not None and len(sent_index) != len(event_ids)):
            raise ValueError(f"{len(event_ids)} eventIds for a table of {table.num_rows} rows")
        return cls(received_us, event_ids, table=table, sent_index=sent_index)

    def __len__(self) -> int:
        return len(self.event_ids)

    def dedupe_keys(self) -> list[str | None]:
        """Each row's key in the dedupe (`dedupe_key`), in row order; None without an eventId."""
        if self.table is not None:
            customers = self.table.column("customer_id").to_pylist()
        else:
            customers = [event.metric.customerId for event in self.events]
        return [
            None if event_id is None else dedupe_key(customer, event_id)
            for customer, event_id in zip(customers, self.event_ids, strict=True)
        ]


def dedupe_key(customer_id: str | None, event_id: str) -> str:
    """An eventId within its customer: one customer's ids never make another's events duplicates,
    nor tell whether another holds them (identifiers hold no control character: `\\x1f` parts them).

    >>> dedupe_key("acme", "tab-1:7") == dedupe_key("globex", "tab-1:7")
    False
    """
    return f"{customer_id or ''}\x1f{event_id}"


# The same key in SQL, over the `events` table's columns
_DEDUPE_KEY_SQL = "coalesce(customer_id, '') || chr(31) || event_id"


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

    def __init__(
        self,
        connection: duckdb.DuckDBPyConnection,
        path: Path,
        dedupe_horizon_s: float,
        limits: DuckDBLimits | None = None,
    ):
        self._con = connection
        self.path = path
        self.limits = limits or DuckDBLimits()
        self._invalidated = False  # DuckDB gave up on the database; reopened at the next failed commit
        self._wal_path = path.with_name(path.name + ".wal")
        self.lake_dir = path.parent / lake.LAKE_SUBDIR
        self._write_lock = threading.Lock()
        self.recent_ids = RecentEventIds(horizon_s=dedupe_horizon_s)
        self.damage: list[DamageReport] = []  # unresolved damage reports (store_damage)
        # Called with each committed table (duplicates left out), on the writer's thread,
        # after the commit: they must only take the reference (`Distributions.add`).
        self.stored_listeners: list[Callable[[pa.Table], None]] = []

    @classmethod
    def open(
        cls,
        data_dir: str | Path,
        *,
        dedupe_horizon_s: float = 86_400,
        limits: DuckDBLimits | None = None,
    ) -> EventStore:
        """The store in `data_dir`, opened even when its file or WAL is damaged.

        Damaged files are kept aside under `<data_dir>/damaged/` and reported
        (`store_damage`); `damage` lists the reports not yet resolved by
        `widget-monitor recover`, this start's included.
        """
        directory = Path(data_dir)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / DB_FILENAME
        store, found = open_checked(
            path, lambda: cls._open_file(path, dedupe_horizon_s, limits or DuckDBLimits())
        )
        if found is not None:
            found.record_survivors(store.count(), store.newest_received_at())
        store.damage = damage_reports(directory)
        if found is not None and found.id not in {report.id for report in store.damage}:
            store.damage.append(found)  # its report.json could not be written (a full disk)
        return store

    @classmethod
    def _open_file(cls, path: Path, dedupe_horizon_s: float, limits: DuckDBLimits) -> EventStore:
        """Open and prepare the file, closing it again if that fails (so it can be set aside)."""
        con = _connect(path, limits)
        try:
            con.execute(create_table_sql())
            for name, sql_type in COLUMNS.items():  # columns added by newer versions
                con.execute(
                    f"ALTER TABLE events ADD COLUMN IF NOT EXISTS {name} {sql_type.removesuffix(' NOT NULL')}"
                )
            maintain.prepare(con)  # the hourly rollups' tables (a data dir from before gets them now)
            lake.ensure_manifest(con)
            store = cls(con, path, dedupe_horizon_s, limits)
            # before any reader: what a killed move left is finished or undone
            missing = lake.reconcile(con, store.lake_dir)
            if missing:
                log.error(
                    "lake files the manifest named are gone, their events lost: %s", ", ".join(missing[:10])
                )
            store._roll_up_new_measures()
            # Reads the last day's rows: a damaged block there shows now, not at the first query.
            store._load_recent_ids()
        except BaseException:
            con.close()
            raise
        return store

    def _roll_up_new_measures(self) -> None:
        """The measures new to this store, over the history it rolled up without them, and the
        per-tab numbers of the last days (`tabs.cover`) for a store without them. On a
        failure the store opens anyway (its other rollups and raw events are whole) and the
        next start tries again."""
        try:
            with self._write_lock:
                filled = backfill.roll_up_new_measures(self._con)
                if tabs.cover(self._con, datetime.now(UTC), maintain.watermark(self._con)) or filled:
                    # the rows written stay in DuckDB's memory until a checkpoint (on the
                    # 101M-event bench store: DuckDB 75 -> 51 MB, the process 379 -> 340 MB)
                    self._con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            if looks_damaged(str(exc)):
                raise  # the file is set aside and reported (`open_checked`), not just logged
            log.exception("rolling up the measures new to this store failed; the next start tries again")

    def _load_recent_ids(self) -> None:
        # One id per row (the latest time it was stored), read in slices: the strings of a
        # day of ids are never all in memory at once, only their hashes (analytics.ingest.dedupe).
        # Wherever the first copy lives now: in `events`, or moved to the lake.
        horizon_s = float(self.recent_ids.horizon_s)
        with self._read_transaction() as cur:
            reader = cur.sql(
                f"SELECT {_DEDUPE_KEY_SQL} AS key, max(epoch_us(received_at)) AS stored_us "
                f"FROM {_received_between(cur, self.lake_dir, int(time.time() - horizon_s), None)} "
                f"WHERE event_id IS NOT NULL AND received_at >= now() - to_seconds({horizon_s!r}) "
                "GROUP BY key"
            ).to_arrow_reader(_RELOAD_SLICE)
            for batch in reader:
                self.recent_ids.load(batch.column(0).to_pylist(), batch.column(1).to_numpy())

    def _stored_ids(self, candidates: list[str], earliest_s: int, latest_s: int) -> list[str]:
        """Which of the candidates (dedupe keys) are stored (exactly, by their string), among the
        events received around when their hashes were: a few seconds' row groups rather than a
        day's, in `events` and in the lake files whose receive times reach that far."""
        earliest, latest = earliest_s - _QUEUED_S, latest_s + 2
        with self._read_transaction() as cur:
            rows = cur.execute(
                f"SELECT DISTINCT {_DEDUPE_KEY_SQL} AS key "
                f"FROM {_received_between(cur, self.lake_dir, earliest, latest)} "
                "WHERE event_id IN (SELECT unnest($ids)) AND key IN (SELECT unnest($keys)) "
                "AND received_at >= to_timestamp($earliest) AND received_at < to_timestamp($latest)",
                {
                    "ids": [key.partition("\x1f")[2] for key in candidates],
                    "keys": candidates,
                    "earliest": earliest,
                    "latest": latest,
                },
            ).fetchall()
        return [key for (key,) in rows]

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own for a reader thread."""
        return self._con.cursor()

    @contextlib.contextmanager
    def _read_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor in a read transaction, without `snapshot`'s copy of the manifest (for one query)."""
        with self.cursor() as cur:
            cur.begin()
            try:
                yield cur
            finally:
                with contextlib.suppress(duckdb.Error):
                    cur.rollback()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor whose statements all read one moment (a read transaction, rolled back at the
        end): the hot rows and the lake's manifest agree (`lake.events_source`)."""
        with self._read_transaction() as cur, lake.held_manifest(cur, self.lake_dir):
            yield cur

    def duckdb_memory(self) -> dict[str, int]:
        """What DuckDB holds now: bytes in its buffer pool (within `limits.memory_limit`) and
        spilled to `<db>.tmp/`."""
        with self.cursor() as cur:
            row = cur.execute(
                "SELECT sum(memory_usage_bytes), sum(temporary_storage_bytes) FROM duckdb_memory()"
            ).fetchone()
        used, spilled = row if row else (0, 0)
        return {"usedBytes": int(used or 0), "spilledBytes": int(spilled or 0)}

    def count(self) -> int:
        with self.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    def newest_received_at(self) -> datetime | None:
        """When the newest stored event was received (None: no events)."""
        with self.cursor() as cur:
            row = cur.execute("SELECT max(received_at) FROM events").fetchone()
        return row[0] if row else None

    @property
    def awaiting_recovery(self) -> bool:
        """An empty database replaced an unreadable one, and `widget-monitor recover` has not run."""
        return any(report.what == "database" for report in self.damage)

    def append(self, batches: Sequence[IngestBatch]) -> list[int]:
        """Commit the batches in one transaction; return each batch's count of duplicates.

        An event whose `eventId` was already stored (within the dedupe horizon), or that
        appears earlier in the same commit, is counted as a duplicate and not stored again.
        """
        with self._write_lock:
            return self._append(batches)

    def append_now(self, batches: Sequence[IngestBatch]) -> list[int] | None:
        """`append`, if it can start at once and will not checkpoint; otherwise None.

        For a caller that must not wait long (the event loop): None when another
        thread holds the store, or when the WAL is close enough to its checkpoint
        threshold that this commit may compress it into the file (hundreds of ms).
        """
        if self._wal_bytes() + _CHECKPOINT_MARGIN >= CHECKPOINT_BYTES:
            return None
        if not self._write_lock.acquire(blocking=False):
            return None
        try:
            return self._append(batches)
        finally:
            self._write_lock.release()

    def _wal_bytes(self) -> int:
        try:
            return self._wal_path.stat().st_size
        except FileNotFoundError:
            return 0

    def _append(self, batches: Sequence[IngestBatch]) -> list[int]:
        """`append` with the write lock held."""
        keys = [batch.dedupe_keys() for batch in batches]
        ids = [key for batch_keys in keys for key in batch_keys if key is not None]
        new_ids = set(ids)
        stored = self.recent_ids.stored_among(new_ids, self._stored_ids) if new_ids else set()
        if len(new_ids) == len(ids) and not stored:
            duplicates = [0] * len(batches)
            table = _as_one_table(batches)
        else:  # some eventId repeats: sort the events out one by one
            kept, duplicates, new_ids = self._without_duplicates(batches, keys, stored)
            table = _as_one_table(kept)
        if table.num_rows:  # (every event a duplicate: nothing to write)
            # `incoming` is read by name in the INSERT (a DuckDB replacement scan),
            # which costs less than register/unregister on every commit.
            incoming = _without_empty_columns(table)  # noqa: F841
            # One statement in auto-commit mode is one transaction: all of it is on
            # disk when execute() returns, or none of it is. One call rather than
            # begin/insert/commit also means one wait for the GIL instead of three
            # while the event loop is busy.
            self._con.execute("INSERT INTO events BY NAME SELECT * FROM incoming")
            for listener in self.stored_listeners:
                listener(table)
        newest = max((b.received_us for b in batches), default=0)
        self.recent_ids.add_many(new_ids, newest)
        return duplicates

    @staticmethod
    def _without_duplicates(
        batches: Sequence[IngestBatch], keys: Sequence[Sequence[str | None]], stored: set[str]
    ) -> tuple[list[IngestBatch], list[int], set[str]]:
        """The batches without the events whose dedupe key (`keys`, batch by batch) is `stored` or
        repeats an earlier one."""
        seen: set[str] = set()
        duplicates: list[int] = []
        kept: list[IngestBatch] = []
        for batch, ids in zip(batches, keys, strict=True):
            keep = [True] * len(ids)
            rows = (
                range(len(ids))
                if batch.sent_index is None
                else sorted(range(len(ids)), key=batch.sent_index.__getitem__)
            )
            for row in rows:  # in the order sent: the first copy of an id is the one kept
                event_id = ids[row]
                if event_id is None:
                    continue
                if event_id in seen or event_id in stored:
                    keep[row] = False
                else:
                    seen.add(event_id)
            duplicates.append(keep.count(False))
            kept.append(_kept_rows(batch, keep))
        return kept, duplicates, seen

    def reopen_if_invalidated(self, exc: BaseException) -> bool:
        """After DuckDB invalidated the database (a write failed mid-checkpoint, e.g. on a full
        disk), open the file again: DuckDB replays its WAL, which holds every commit that was
        acknowledged. True once reopened; False if it was not that, or the file cannot be
        opened yet (the disk still full): the next failed commit tries again.
        """
        if not (self._invalidated or isinstance(exc, duckdb.FatalException) or "invalidated" in str(exc)):
            return False
        with self._write_lock:
            self._invalidated = True
            with contextlib.suppress(duckdb.Error):
                self._con.close()
            try:
                self._con = _connect(self.path, self.limits)
            except duckdb.Error:
                return False
            self._invalidated = False
        return True

    def checkpoint(self) -> None:
        with self._write_lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        with self._write_lock:
            self._con.close()


def _received_between(
    cur: duckdb.DuckDBPyConnection, lake_dir: Path, earliest_s: int, latest_s: int | None
) -> str:
    """`events`, and the lake files holding events received in [earliest_s, latest_s)."""
    rows = cur.execute(
        "SELECT day, type, generation FROM lake_files WHERE newest_received_at >= to_timestamp($earliest) "
        "AND ($latest IS NULL OR oldest_received_at < to_timestamp($latest))",
        {"earliest": earliest_s, "latest": latest_s},
    ).fetchall()
    return lake.relation_of(lake_dir, rows)


def _connect(path: Path, limits: DuckDBLimits) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path))
    con.execute("SET GLOBAL TimeZone = 'UTC'")
    # DuckDB's own progress bar would print to the server's stdout (a long rollup, a backup)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET GLOBAL checkpoint_threshold = '{CHECKPOINT_BYTES}B'")
    # Closing leaves the last commits in the WAL (at most CHECKPOINT_BYTES), replayed at the next
    # open as after a crash, rather than checkpointing them into a small last row group: the first
    # checkpoint after a restart would merge that one with the three before it (DuckDB's vacuum
    # rewrites row groups that fit in fewer), ~340K rows held uncompressed at once, +100-145 MB on
    # the 101M-event bench store (docs/history.md#memory).
    con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.execute("SET GLOBAL memory_limit = $limit", {"limit": limits.memory_limit})
    con.execute(f"SET GLOBAL threads = {int(limits.threads)}")
    # DuckDB's allocator keeps up to 128 MB of freed memory for reuse by default; these give it back
    # after each task and from a background thread (docs/history.md#memory)
    con.execute(f"SET GLOBAL allocator_flush_threshold = '{ALLOCATOR_FLUSH_BYTES}B'")
    con.execute("SET GLOBAL allocator_background_threads = true")
    return con


def _kept_rows(batch: IngestBatch, keep: list[bool]) -> IngestBatch:
    """The batch without the rows whose `keep` is False."""
    if all(keep):
        return batch
    ids = [event_id for event_id, k in zip(batch.event_ids, keep, strict=True) if k]
    if batch.table is not None:
        sent = (
            None
            if batch.sent_index is None
            else [i for i, k in zip(batch.sent_index, keep, strict=True) if k]
        )
        return IngestBatch.of_table(batch.table.filter(pa.array(keep)), ids, batch.received_us, sent)
    events = [event for event, k in zip(batch.events, keep, strict=True) if k]
    return IngestBatch(batch.received_us, ids, events)


def _without_empty_columns(table: pa.Table) -> pa.Table:
    """The table without its all-null columns, which the INSERT ... BY NAME fills with NULL.

    A commit of single events holds two or three types and so leaves half the columns
    empty; DuckDB's cost per commit grows with the columns it is handed (~8 % less for a
    commit of 236 single events measured). Mixed batches fill every column: nothing to drop.
    """
    empty = [
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if column.null_count == len(column)
    ]
    return table.drop_columns(empty) if empty else table


def _as_one_table(batches: Sequence[IngestBatch]) -> pa.Table:
    """All events of the batches as one table, reusing the columns that requests built."""
    tables = [batch.table for batch in batches if batch.table is not None]
    by_type: dict[str, list[tuple[AcceptedEvent, int]]] = defaultdict(list)
    for batch in batches:
        if batch.table is None:
            for event in batch.events:
                by_type[event.type].append((event, batch.received_us))
    if by_type or not tables:
        tables.append(to_arrow(event_columns(by_type)))
    if len(tables) == 1:
        return tables[0]
    # One record batch rather than one per request: DuckDB scans Arrow batches in
    # parallel, and on a busy 2-core machine splitting a commit across its threads
    # cost more CPU than the copy (medians of 7 paired runs: ~5 % more events/s).
    return pa.concat_tables(tables).combine_chunks()
