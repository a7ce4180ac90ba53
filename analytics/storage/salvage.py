"""What damaged store files still hold, read as Arrow tables (for `store_recovery`).

A kept file is never written to: a repair (a main header rebuilt, a missing end
zero-filled) is made on a scratch copy, and a WAL's commits are replayed into a
scratch database. Measured with DuckDB 2.0 (docs/recovery.md): a damaged block fails
only the queries that read it, so the `events` table is read a row group at a time.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from analytics.storage.wal_file import Commit, wal_of_commits

# DuckDB's rows per row group: the most one damaged block can take with it.
ROW_GROUP_ROWS = 122_880
_MAIN_HEADER_BYTES = 4096
_SHORT_READ = re.compile(r"attempted to read (\d+) bytes from location (\d+)")
_ROW_GROUP_SQL = "SELECT * FROM events WHERE rowid >= $1 AND rowid < $2"


@dataclass(frozen=True, slots=True)
class UnreadableRows:
    """A row group of the kept file that could not be read, and the time its rows span if known."""

    rows: int
    first_ts: datetime | None = None
    last_ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class OpenedCopy:
    """A read-only connection to a kept database file (None: unreadable, `error` says why)."""

    con: duckdb.DuckDBPyConnection | None
    repairs: tuple[str, ...]
    error: str | None


@contextlib.contextmanager
def opened_database(kept: Path, scratch: Path) -> Iterator[OpenedCopy]:
    """The kept database file opened read-only without its WAL, repaired on a copy if it must be."""
    scratch.mkdir(parents=True, exist_ok=True)
    opened = _open_repaired(kept, scratch)
    try:
        yield opened
    finally:
        if opened.con is not None:
            opened.con.close()


def _open_repaired(kept: Path, scratch: Path) -> OpenedCopy:
    # Under another name DuckDB looks for that name's WAL: the kept WAL is salvaged on its
    # own, from its whole commits. (A hard link: DuckDB follows a symbolic one to the WAL.)
    link = scratch / "kept.duckdb"
    try:
        os.link(kept, link)
    except OSError:
        shutil.copyfile(kept, link)
    try:
        return OpenedCopy(duckdb.connect(str(link), read_only=True), (), None)
    except duckdb.Error as exc:
        error = str(exc)
    copy = scratch / "repaired.duckdb"
    shutil.copyfile(kept, copy)
    repairs: list[str] = []
    for _ in range(4):  # each open may stop at another missing read
        if "not a valid DuckDB database file" in error and not repairs:
            copy_header = _fresh_main_header(scratch)
            with copy.open("r+b") as file:
                file.write(copy_header)
            repairs.append("rebuilt its main header")
        elif short := _SHORT_READ.search(error):
            needed = int(short[1]) + int(short[2])
            missing = needed - copy.stat().st_size
            with copy.open("ab") as file:
                file.write(bytes(missing))
            repairs.append(f"zero-filled {missing} missing bytes at its end")
        else:
            break
        try:
            return OpenedCopy(duckdb.connect(str(copy), read_only=True), tuple(repairs), None)
        except duckdb.Error as exc:
            error = str(exc)
    return OpenedCopy(None, tuple(repairs), error)


def _fresh_main_header(scratch: Path) -> bytes:
    """The main header of a new database: magic bytes and versions, nothing of the data."""
    path = scratch / "header-donor.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CHECKPOINT")
    con.close()
    return path.read_bytes()[:_MAIN_HEADER_BYTES]


def event_row_groups(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[int, int, pa.Table | UnreadableRows]]:
    """(group number, groups in all, its rows or what could not be read) for the `events` table."""
    # (fetchall: DuckDB 2 keeps a connection busy until its result is read to the end)
    total = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    groups = range(0, total, ROW_GROUP_ROWS)
    for number, start in enumerate(groups, start=1):
        bounds = [start, start + ROW_GROUP_ROWS]
        try:
            rows = con.sql(_ROW_GROUP_SQL, params=bounds)
            yield number, len(groups), rows.to_arrow_table()
        except duckdb.Error:
            yield number, len(groups), _unreadable(con, bounds, min(ROW_GROUP_ROWS, total - start))


def _unreadable(con: duckdb.DuckDBPyConnection, bounds: list[int], rows: int) -> UnreadableRows:
    """The lost group's time span, when its `ts` column can still be read."""
    try:
        ((first, last),) = con.execute(
            "SELECT min(ts), max(ts) FROM events WHERE rowid >= ? AND rowid < ?", bounds
        ).fetchall()
    except duckdb.Error:
        return UnreadableRows(rows)
    return UnreadableRows(rows, first, last)


def first_unreadable(con: duckdb.DuckDBPyConnection) -> str | None:
    """What DuckDB says of the first block of the file it cannot read (None: every row reads)."""
    for _, _, rows in other_tables(con):
        if isinstance(rows, str):
            return rows
    total = int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    for start in range(0, total, ROW_GROUP_ROWS):
        try:
            con.sql(_ROW_GROUP_SQL, params=[start, start + ROW_GROUP_ROWS]).to_arrow_table()
        except duckdb.Error as exc:
            return str(exc)
    return None


def other_tables(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str, pa.Table | str]]:
    """(name, CREATE statement, rows or why they cannot be read) of every main table but `events`."""
    tables = con.execute(
        "SELECT table_name, sql FROM duckdb_tables() "
        "WHERE schema_name = 'main' AND table_name <> 'events' ORDER BY table_name"
    ).fetchall()
    for name, sql in tables:
        try:
            yield name, sql, con.sql(f'SELECT * FROM "{name}"').to_arrow_table()
        except duckdb.Error as exc:
            yield name, sql, str(exc)


def sequence_statements(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The CREATE statements of the file's sequences (alert transitions number themselves)."""
    return [sql for (sql,) in con.execute("SELECT sql FROM duckdb_sequences()").fetchall()]


def replay_event_commits(
    data: bytes, commits: Sequence[Commit], events_sql: str, scratch: Path
) -> tuple[list[pa.Table], int]:
    """The rows of `commits` (of WAL bytes `data`), replayed into scratch databases whose
    `events` table `events_sql` creates; and how many commits would not replay.

    All at once when they can; when DuckDB refuses, each half again, down to single commits.
    """
    if not commits:
        return [], 0
    scratch.mkdir(parents=True, exist_ok=True)
    path = scratch / f"replay-{commits[0].start}-{len(commits)}.duckdb"
    con = duckdb.connect(str(path))
    con.execute(events_sql)
    con.execute("CHECKPOINT")
    con.close()
    path.with_name(path.name + ".wal").write_bytes(wal_of_commits(data, commits))
    try:
        replayed = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        if len(commits) == 1:
            return [], 1
        half = len(commits) // 2
        first, failed_first = replay_event_commits(data, commits[:half], events_sql, scratch)
        second, failed_second = replay_event_commits(data, commits[half:], events_sql, scratch)
        return first + second, failed_first + failed_second
    with replayed:
        return [replayed.sql("SELECT * FROM events").to_arrow_table()], 0
