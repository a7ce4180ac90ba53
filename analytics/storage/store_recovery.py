"""`widget-monitor recover`: put back what damaged files still hold, and say what remains lost.

Run with the server stopped: DuckDB lets one process hold the file. For each damage
report not yet resolved (`store_damage`), in this order:

1. the kept database file, read without its WAL (repaired on a scratch copy if need
   be), a row group at a time: a damaged block loses only the rows of its group;
2. the kept WAL's whole commits that DuckDB did not replay and that only append events,
   replayed into a scratch database with the same `events` table;
3. the days of the Parquet lake in the window that may be lost (every day, when the
   database file was replaced) for which the store holds fewer rows than the lake.

A row goes in only when the store lacks it: an event with an eventId when no stored
event has that id, one without when no stored row equals it in every column (counted
with multiplicity, so that two identical events stay two). Tables other than `events`
(alerts, their history, baselines, the alerting config, the lake manifest) come back
from the kept file by primary key. Then the report is marked resolved.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from analytics.errors import StoreInUse
from analytics.storage import lake, salvage
from analytics.storage.lake import LAKE_SUBDIR
from analytics.storage.store import DB_FILENAME, EventStore
from analytics.storage.store_damage import DamageReport, set_aside_database
from analytics.storage.wal_file import WalFormatUnknown, read_wal
from analytics.window import iso

Progress = Callable[[str], None]


@dataclass
class Restored:
    """What one source gave back: events read and inserted, and what it could not give."""

    source: str
    read: int = 0
    restored: int = 0
    lost_events: int = 0  # rows known to be in the source and unreadable
    notes: list[str] = field(default_factory=list)
    # the WAL: bytes in no whole commit, whether whole commits follow them, and the
    # oldest receive time among the rows of those that do
    unreadable_bytes: int = 0
    commits_follow: bool = False
    first_after: datetime | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "read": self.read,
            "restored": self.restored,
            "lostEvents": self.lost_events,
            "notes": self.notes,
        }


@dataclass
class Recovery:
    """The outcome for one damage report."""

    report: DamageReport
    sources: list[Restored]
    still_lost: str

    @property
    def restored(self) -> int:
        return sum(source.restored for source in self.sources)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.report.id,
            "restored": self.restored,
            "sources": [s.to_wire() for s in self.sources],
            "stillLost": self.still_lost,
        }


def recover(
    data_dir: Path, *, verify: bool = False, progress: Progress = lambda line: None
) -> list[Recovery]:
    """Salvage every unresolved damage report of the store in `data_dir`; mark each resolved.

    With `verify`, every row of the database file is read first; a block that fails its
    checksum has the file kept aside as damaged, and salvaged like one DuckDB refused.
    Raises `StoreInUse` while another process (a running server) holds the store.
    """
    if verify:
        _verify(data_dir / DB_FILENAME, progress)
    store = _open_alone(data_dir)
    try:
        recoveries = []
        for report in store.damage:
            progress(f"{report.id}: {report.problem}")
            with store.cursor() as cur:
                recovery = _recover_one(cur, report, data_dir / LAKE_SUBDIR, progress)
            report.recovery = {
                "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                **recovery.to_wire(),
            }
            report.save()
            recoveries.append(recovery)
        store.checkpoint()
    finally:
        store.close()
    return recoveries


def _open_alone(data_dir: Path) -> EventStore:
    try:
        return EventStore.open(data_dir)
    except duckdb.IOException as exc:
        raise _in_use(data_dir / DB_FILENAME, exc) from exc


def _in_use(path: Path, exc: duckdb.IOException) -> Exception:
    if "Could not set lock" not in str(exc):
        return exc
    return StoreInUse(
        f"{path} is held by another process (a running server?): stop it, then run recover again",
        duckdb=str(exc),
    )


def _verify(path: Path, progress: Progress) -> None:
    """Read every row of the file (its WAL replayed in memory); keep it aside if a block fails."""
    if not path.exists():
        return
    progress(f"verify: reading every row of {path}")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.IOException as exc:
        if "Could not set lock" in str(exc):
            raise _in_use(path, exc) from exc
        return  # a file DuckDB refuses: the open that follows keeps it aside
    except duckdb.Error:
        return
    try:
        said = salvage.first_unreadable(con)
    finally:
        con.close()
    if said is not None:
        report = set_aside_database(path, "a block of the database file fails its checksum", said)
        progress(f"verify: {said}; the file is kept in {report.folder}")


def _recover_one(
    cur: duckdb.DuckDBPyConnection, report: DamageReport, lake_dir: Path, progress: Progress
) -> Recovery:
    scratch = report.folder / "salvage"
    sources: list[Restored] = []
    try:
        # first: the events moved to the lake are the lake's, and not restored into `events`
        sources.append(_from_lake(cur, lake_dir, progress))
        kept_db = report.kept(DB_FILENAME)
        if kept_db is not None:
            sources.append(_from_database(cur, kept_db, scratch / "database", progress))
        kept_wal = report.kept(f"{DB_FILENAME}.wal")
        if kept_wal is not None:
            replayed = (report.wal or {}).get("replayedCommits", 0)
            sources.append(_from_wal(cur, kept_wal, replayed, scratch / "wal", progress))

    finally:
        shutil.rmtree(scratch, ignore_errors=True)  # scratch copies only: the kept files stay
    return Recovery(report, sources, _still_lost(report, sources))


def _from_database(cur: duckdb.DuckDBPyConnection, kept: Path, scratch: Path, progress: Progress) -> Restored:
    result = Restored("database")
    with salvage.opened_database(kept, scratch) as opened:
        if opened.con is None:
            result.notes.append(f"the file cannot be read: {opened.error}")
            return result
        result.notes.extend(opened.repairs)
        for number, groups, rows in salvage.event_row_groups(opened.con):
            if isinstance(rows, salvage.UnreadableRows):
                result.lost_events += rows.rows
                span = f" ({_span(rows.first_ts, rows.last_ts)})" if rows.first_ts else ""
                result.notes.append(f"row group {number}: {rows.rows} events unreadable{span}")
            else:
                result.read += rows.num_rows
                result.restored += merge_events(cur, rows)
            progress(f"  database: row group {number}/{groups}, {result.restored} events restored")
        for statement in salvage.sequence_statements(opened.con):
            cur.execute(statement.replace("CREATE SEQUENCE", "CREATE SEQUENCE IF NOT EXISTS", 1))
        for name, create, table in salvage.other_tables(opened.con):
            if isinstance(table, str):
                result.notes.append(f"table {name} cannot be read: {table}")
                continue
            cur.execute(create.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
            added = merge_table(cur, name, table)
            if added:
                result.notes.append(f"table {name}: {added} rows restored")
    return result


def _from_wal(
    cur: duckdb.DuckDBPyConnection, kept: Path, replayed: int, scratch: Path, progress: Progress
) -> Restored:
    result = Restored("wal")
    try:
        reading = read_wal(kept)
    except WalFormatUnknown as exc:
        result.notes.append(f"not read: {exc}")
        return result
    whole = [*reading.intact, *reading.later]
    result.unreadable_bytes = reading.size - reading.header_end - sum(c.end - c.start for c in whole)
    result.commits_follow = bool(reading.later)
    pending = whole[replayed:]
    appends = [commit for commit in pending if commit.appends_events]
    if len(appends) < len(pending):
        result.notes.append(
            f"{len(pending) - len(appends)} commits other than appends of events (alert state, "
            "schema) are not replayed"
        )
    if not appends:
        return result
    progress(f"  WAL: replaying {len(appends)} commits")
    events_sql = cur.execute(
        "SELECT sql FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'events' "
        "AND database_name = current_database()"
    ).fetchall()[0][0]
    tables, failed = salvage.replay_event_commits(kept.read_bytes(), appends, events_sql, scratch)
    if failed:
        result.notes.append(f"{failed} commits would not replay")
    for rows in tables:
        result.read += rows.num_rows
        result.restored += merge_events(cur, rows)
        if rows.num_rows:
            oldest = pc.min(rows["received_at"]).as_py()
            result.first_after = min(oldest, result.first_after or oldest)
    result.notes.insert(0, f"{len(appends) - failed} commits replayed")
    return result


def _from_lake(cur: duckdb.DuckDBPyConnection, lake_dir: Path, progress: Progress) -> Restored:
    """The lake's files the manifest lost (with the database that held it), named in it again."""
    result = Restored("lake")
    added = lake.register_published(cur, lake_dir)
    result.read = result.restored = sum(file.rows for file in added)
    for file in added:
        result.notes.append(
            f"{file.day.isoformat()} {file.type}: {file.rows} events named in the manifest again"
        )
    progress(f"  lake: {len(added)} files named in the manifest again")
    return result


def merge_events(cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> int:
    """Insert the rows of `rows` that the `events` table lacks; return how many.

    Examples
    --------
    >>> import tempfile, pyarrow as pa
    >>> store = EventStore.open(tempfile.mkdtemp())
    >>> moment = datetime(2025, 1, 1, tzinfo=UTC)
    >>> rows = pa.table({"event_id": ["a", None, None], "type": ["render"] * 3,
    ...     "ts": [moment] * 3, "received_at": [moment] * 3, "ts_clamped": [False] * 3})
    >>> with store.cursor() as cur:
    ...     merge_events(cur, rows), merge_events(cur, rows)
    (3, 0)
    """
    live = {name for (name,) in cur.execute("SELECT column_name FROM (DESCRIBE events)").fetchall()}
    listed = ", ".join(f'"{name}"' for name in rows.column_names if name in live)
    cur.register("salvaged_rows", rows)
    span = cur.execute("SELECT min(ts), max(ts) FROM salvaged_rows").fetchone()
    # what is stored already: in `events`, or moved to the lake
    stored = (
        lake.events_source(cur, span[0], span[1] + timedelta(microseconds=1))
        if span and span[0]
        else "events"
    )
    try:
        with_id = cur.execute(
            f"INSERT INTO events BY NAME SELECT {listed} FROM salvaged_rows s "
            "WHERE s.event_id IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {stored} e WHERE e.event_id = s.event_id)"
        ).fetchall()
        # Identical rows share their ts: look for them among the rows of that span only.
        without_id = cur.execute(
            f"INSERT INTO events BY NAME (SELECT {listed} FROM salvaged_rows WHERE event_id IS NULL "
            f"EXCEPT ALL SELECT {listed} FROM {stored} WHERE event_id IS NULL "
            "AND ts BETWEEN (SELECT min(ts) FROM salvaged_rows) AND (SELECT max(ts) FROM salvaged_rows))"
        ).fetchall()
    finally:
        cur.unregister("salvaged_rows")
    return int(with_id[0][0]) + int(without_id[0][0])


def merge_table(cur: duckdb.DuckDBPyConnection, name: str, rows: pa.Table) -> int:
    """Insert the rows of `rows` whose primary key table `name` lacks (no key: rows it lacks)."""
    key = cur.execute(
        "SELECT constraint_column_names FROM duckdb_constraints() "
        "WHERE table_name = ? AND constraint_type = 'PRIMARY KEY' AND database_name = current_database()",
        [name],
    ).fetchall()
    live = {c for (c,) in cur.execute(f'SELECT column_name FROM (DESCRIBE "{name}")').fetchall()}
    listed = ", ".join(f'"{c}"' for c in rows.column_names if c in live)
    cur.register("salvaged_rows", rows)
    try:
        if key:
            same = " AND ".join(f't."{c}" = s."{c}"' for c in key[0][0])
            sql = (
                f'INSERT INTO "{name}" BY NAME SELECT {listed} FROM salvaged_rows s '
                f'WHERE NOT EXISTS (SELECT 1 FROM "{name}" t WHERE {same})'
            )
        else:
            sql = (
                f'INSERT INTO "{name}" BY NAME '
                f'(SELECT {listed} FROM salvaged_rows EXCEPT ALL SELECT {listed} FROM "{name}")'
            )
        added = cur.execute(sql).fetchall()
    finally:
        cur.unregister("salvaged_rows")
    _advance_sequences(cur, name)
    return int(added[0][0])


def _advance_sequences(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """Move each sequence numbering a column of `table` past the numbers restored into it."""
    numbered = cur.execute(
        "SELECT column_name, regexp_extract(column_default, 'nextval\\(''([^'']+)''\\)', 1) "
        "FROM duckdb_columns() WHERE table_name = ? AND column_default LIKE 'nextval(%' "
        "AND database_name = current_database()",
        [table],
    ).fetchall()
    for column, sequence in numbered:
        ((highest,),) = cur.execute(f'SELECT max("{column}") FROM "{table}"').fetchall()
        if highest is None:
            continue
        ((current,),) = cur.execute("SELECT nextval(?)", [sequence]).fetchall()
        if current < highest:
            cur.execute("SELECT max(nextval(?)) FROM range(?)", [sequence, highest - current]).fetchall()


def _still_lost(report: DamageReport, sources: list[Restored]) -> str:
    """What the salvage could not give back, in words."""
    by_source = {source.source: source for source in sources}
    parts: list[str] = []
    database = by_source.get("database")
    if database is not None:
        unreadable = next((n for n in database.notes if n.startswith("the file cannot be read")), None)
        if unreadable:
            parts.append(
                "the database file could not be read: its events are lost but for those the WAL "
                "and the lake gave back"
            )
        elif database.lost_events:
            parts.append(f"{database.lost_events} events in unreadable row groups of the database file")
    wal = by_source.get("wal")
    if wal is not None and wal.unreadable_bytes:
        if wal.commits_follow:  # damage between whole commits: what it held were commits
            end = wal.first_after or report.lost_to
            parts.append(
                f"the commits in the WAL's {wal.unreadable_bytes} unreadable bytes before the whole "
                f"ones restored (events received {_span(report.lost_from, end)})"
            )
        else:
            parts.append(
                f"whatever the WAL's last {wal.unreadable_bytes} bytes held (events received "
                f"{_span(report.lost_from, report.lost_to)}; nothing, if they were appended garbage)"
            )
    if wal is not None and any("would not replay" in note for note in wal.notes):
        parts.append("the events of WAL commits that would not replay")
    return "; ".join(parts) or "nothing"


def _span(first: datetime | None, last: datetime | None) -> str:
    def at(moment: datetime | None) -> str:
        return iso(moment) if moment else "?"

    return f"{at(first)} to {at(last)}"
