"""The Parquet lake: where closed UTC days of events live once they leave DuckDB.

Layout 2 (`lake/LAYOUT.json` says so), under `<data_dir>/lake/`:

    events/day=YYYY-MM-DD/<type>.<n>.parquet       what outside readers glob (`events/*/*.parquet`):
                                                   one file per day and type
    generations/day=YYYY-MM-DD/<type>.<n>.parquet  every generation n of those files, which the server reads
    snapshots/day=YYYY-MM-DD/<k>/                  what `events/day=…` is a symbolic link to: hard
                                                   links to the day's current generations

A day moves once it has closed and its hours are in the rollups (`move_closed_days`): the rows
of each of its types are copied into a new generation of the day's file for that type (the
rows it held already merged with the new ones, sorted by time, zstd), and in one DuckDB
transaction they are deleted from `events` and the manifest (`lake_files`) names the new
generation. Then the day is published again: a new snapshot directory, and the day's link
renamed over to it.

- Nothing is lost or counted twice whatever step the process dies after: a generation the
  manifest does not name is left over from a move that did not commit (its rows are still in
  `events`) and is deleted at start-up (`reconcile`), which also publishes every day as the
  manifest says. An empty manifest beside published days (its database lost or replaced)
  names them again first; a named file that is gone leaves the manifest (logged).
- The server reads the generations the manifest names in the same transaction as the hot rows
  (`events_source` on a reader's snapshot): hot data and the lake are one table.
- An outside reader globbing `events/*/*.parquet` sees each day and type once, in the old
  snapshot or the new one. A file never changes once written, and a new generation has a new
  name: a reader that lists a day and opens its files again later (DuckDB and polars both do)
  gets an error if the day was swapped in between, never another file's rows. Read again.
- Late events for a moved day land in `events` and are merged into a new generation at the next
  move: never overwritten. Each day and type is always one file: nothing small to compact.
- A superseded generation stays readable a while for readers that listed it (`lake_retired`).

Layout 1 (`events/day=*/events.parquet`, a copy of DuckDB's rows) is removed at the first move.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from analytics.ingest.events import EVENT_TYPES
from analytics.transaction import count_of, transaction
from analytics.window import HOUR_OF_TS

LAKE_SUBDIR = Path("lake") / "events"  # the published files, under the data dir
GENERATIONS = "generations"  # beside LAKE_SUBDIR
SNAPSHOTS = "snapshots"
LAYOUT_VERSION = 2
RETIRED_KEEP = timedelta(minutes=10)  # a superseded generation stays readable this long
DAY = timedelta(days=1)

# Steps of a move, reported to `step` (tests kill the process at each).
WRITTEN, COMMITTED, PUBLISHED = "written", "committed", "published"

_MANIFEST_SQL = (
    """
    CREATE TABLE IF NOT EXISTS lake_files (
      day DATE NOT NULL,
      type VARCHAR NOT NULL,
      generation INTEGER NOT NULL,
      rows BIGINT NOT NULL,
      newest_received_at TIMESTAMPTZ,
      oldest_received_at TIMESTAMPTZ,
      moved_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (day, type)
    )
    """,
    "CREATE TABLE IF NOT EXISTS lake_retired (path VARCHAR PRIMARY KEY, retired_at TIMESTAMPTZ NOT NULL)",
)

# Rows the rollups have counted (received before their watermark, hour not pending): the
# ones that may leave DuckDB, so that rolling an hour up again reads them from the lake.
COUNTED_SQL = (
    "received_at <= (SELECT watermark FROM rollup_state WHERE id = 1) "
    f"AND {HOUR_OF_TS} NOT IN (SELECT hour FROM rollup_pending)"
)


@dataclass(frozen=True, slots=True)
class LakeFile:
    """One day and type of the lake, at the generation the manifest names."""

    day: date
    type: str
    generation: int
    rows: int
    path: Path  # the published name
    moved_at: datetime

    def to_dict(self) -> dict[str, object]:
        return {
            "day": self.day.isoformat(),
            "type": self.type,
            "rows": self.rows,
            "generation": self.generation,
            "path": str(self.path),
            "movedAt": self.moved_at.isoformat().replace("+00:00", "Z"),
        }


def published_path(lake_dir: Path, day: date, type_: str, generation: int) -> Path:
    return lake_dir / f"day={day.isoformat()}" / _file_name(type_, generation)


def generation_path(lake_dir: Path, day: date, type_: str, generation: int) -> Path:
    return lake_dir.parent / GENERATIONS / f"day={day.isoformat()}" / _file_name(type_, generation)


def _file_name(type_: str, generation: int) -> str:
    """`<type>.<generation>.parquet`: a manifest row naming anything else (a tampered backup's
    `../..`) never becomes a path."""
    if type_ not in EVENT_TYPES or generation < 0:
        raise ValueError(f"the lake's manifest names no event type and generation: {type_!r}, {generation}")
    return f"{type_}.{generation}.parquet"


def foreign_entries(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """The manifest's (type, generation) pairs that name no file of the lake (none but in a
    tampered database)."""
    rows = cur.execute(
        "SELECT DISTINCT type, generation FROM lake_files "
        "WHERE generation < 0 OR type NOT IN (SELECT unnest($types::VARCHAR[])) ORDER BY ALL",
        {"types": list(EVENT_TYPES)},
    ).fetchall()
    return [(str(type_), int(generation)) for type_, generation in rows]


def ensure_manifest(cur: duckdb.DuckDBPyConnection) -> None:
    for sql in _MANIFEST_SQL:
        cur.execute(sql)


def has_manifest(cur: duckdb.DuckDBPyConnection) -> bool:
    """Whether the database holds the lake's manifest (one an earlier release wrote may not)."""
    row = cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'lake_files' "
        "AND database_name = current_database()"
    ).fetchone()
    return row == (1,)


def events_source(
    cur: duckdb.DuckDBPyConnection,
    start: datetime | None = None,
    end: datetime | None = None,
    types: Iterable[str] | None = None,
    *,
    spans: Iterable[tuple[datetime, datetime]] | None = None,
) -> str:
    """A relation of every event, hot and moved, for a FROM clause: `events` and the lake's
    files that may hold rows of [start, end) (or of any of `spans`) and of `types` (None: any).

    Call it on the cursor that runs the query, inside its transaction (`EventStore.snapshot`),
    so the hot rows and the files are of one moment. The database needs the manifest
    (`ensure_manifest`; `EventStore.open` makes it).
    """
    wanted = None if types is None else set(types)
    lake_dir, entries = manifest_of(cur)
    picked: dict[int, tuple[date, str, int]] = {}  # by place: spans that overlap name a file once
    for a, b in [(start, end)] if spans is None else spans:
        first = date.min if a is None else a.astimezone(UTC).date()
        last = date.max if b is None else (b.astimezone(UTC) - timedelta(microseconds=1)).date()
        # each span's days found by bisection of the entries, sorted by day (`_ENTRIES_SQL`): a
        # long lake holds days x types entries, and a summary asks for a dozen relations (a scan
        # of every entry each time: ~4.5 ms a summary on the 90-day bench store)
        for place in range(bisect_left(entries, first, key=_day), bisect_right(entries, last, key=_day)):
            if wanted is None or entries[place][1] in wanted:
                picked[place] = entries[place]
    return relation_of(lake_dir, [picked[place] for place in sorted(picked)])


def _day(entry: tuple[date, str, int]) -> date:
    return entry[0]


def manifest_of(cur: duckdb.DuckDBPyConnection) -> tuple[Path, list[tuple[date, str, int]]]:
    """The lake's directory and its (day, type, generation) entries, as `cur`'s snapshot sees
    them (no entries: an in-memory database, or nothing moved yet). A generation's file never
    changes once named: the same entries are the same rows."""
    held = _HELD.get(id(cur))
    if held is not None:  # the manifest as this snapshot sees it, read once at its start
        return held
    # one query: what a reader outside a snapshot pays for the lake
    rows = cur.execute(
        "SELECT (SELECT path FROM duckdb_databases() WHERE database_name = current_database()), "
        f"{_ENTRIES_SQL}"
    ).fetchall()
    if not rows or not rows[0][0]:
        return Path(), []
    return Path(rows[0][0]).parent / LAKE_SUBDIR, [(d, t, g) for _, d, t, g in rows]


def files_of(lake_dir: Path, entries: Iterable[tuple[date, str, int]]) -> str | None:
    """The generations of the entries as one relation (None: no entry), without `events`."""
    files = ", ".join(f"'{quote(generation_path(lake_dir, d, t, g))}'" for d, t, g in entries)
    return f"read_parquet([{files}], union_by_name = true)" if files else None


# The manifest's entries as every reader takes them: sorted by day (`events_source` bisects them).
_ENTRIES_SQL = "day, type, generation FROM lake_files ORDER BY day, type"
# cursor id -> (lake dir, manifest entries) while `held_manifest` holds it
_HELD: dict[int, tuple[Path, list[tuple[date, str, int]]]] = {}


@contextlib.contextmanager
def held_manifest(cur: duckdb.DuckDBPyConnection, lake_dir: Path) -> Iterator[None]:
    """Read the manifest once for a read transaction on `cur`, for its `events_source` calls
    (a snapshot sees one manifest: a statement each time would cost ~1 ms apiece)."""
    rows = cur.execute(f"SELECT {_ENTRIES_SQL}").fetchall()
    _HELD[id(cur)] = (lake_dir, rows)
    try:
        yield
    finally:
        _HELD.pop(id(cur), None)


def relation_of(lake_dir: Path, entries: Iterable[tuple[date, str, int]]) -> str:
    """`events` and the generations of the (day, type, generation) entries, as one relation."""
    files = files_of(lake_dir, entries)
    return "events" if files is None else f"(SELECT * FROM events UNION ALL BY NAME SELECT * FROM {files})"


def list_files(cur: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[LakeFile]:
    """The lake's days and types, oldest first."""
    rows = cur.execute(
        "SELECT day, type, generation, rows, moved_at FROM lake_files ORDER BY day, type"
    ).fetchall()
    return [LakeFile(d, t, g, n, published_path(lake_dir, d, t, g), at) for d, t, g, n, at in rows]


def move_closed_days(
    cur: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    *,
    now: datetime | None = None,
    step: Callable[[str], None] | None = None,
    progress: Callable[[int, int, date], None] | None = None,
) -> list[LakeFile]:
    """Move the counted rows of every closed day out of `events` into the lake (see the module).

    Returns the files written; `progress(done, total, day)` after each.
    """
    now = now or datetime.now(UTC)
    _leave_layout_1(lake_dir)
    retire_expired(cur, lake_dir, now)
    today = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    todo = cur.execute(
        f"SELECT DISTINCT time_bucket(INTERVAL 1 DAY, ts) AS day, type FROM events "
        f"WHERE ts < $today AND {COUNTED_SQL} ORDER BY day, type",
        {"today": today},
    ).fetchall()
    written: list[LakeFile] = []
    if todo:
        _write_layout(lake_dir)
    for done, (day_start, type_) in enumerate(todo, start=1):
        day = day_start.astimezone(UTC).date()
        moved = _move(cur, lake_dir, day, type_, now, step or (lambda _: None))
        if moved is not None:
            written.append(moved)
        if progress is not None:
            progress(done, len(todo), day)
    return written


def _move(
    cur: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    day: date,
    type_: str,
    now: datetime,
    step: Callable[[str], None],
) -> LakeFile | None:
    start = datetime.combine(day, time(), tzinfo=UTC)
    params = {"start": start, "end": start + DAY, "type": type_}
    hot = f"FROM events WHERE type = $type AND ts >= $start AND ts < $end AND {COUNTED_SQL}"
    target: Path | None = None
    try:
        with transaction(cur):
            row = cur.execute(
                "SELECT generation, rows, newest_received_at, oldest_received_at FROM lake_files "
                "WHERE day = $day AND type = $type",
                {"day": day, "type": type_},
            ).fetchone()
            generation, held = (int(row[0]), int(row[1])) if row else (0, 0)
            current = generation_path(lake_dir, day, type_, generation)
            following = _next_generation(lake_dir, day, type_, generation)
            old = "" if row is None else f"SELECT * FROM read_parquet('{quote(current)}') UNION ALL BY NAME "
            target = generation_path(lake_dir, day, type_, following)
            _write(cur, f"{old}SELECT * {hot}", params, target)
            step(WRITTEN)
            stats = cur.execute(f"SELECT max(received_at), min(received_at) {hot}", params).fetchone()
            assert stats is not None
            moved = count_of(cur, f"DELETE {hot}", params)
            total = pq.ParquetFile(target).metadata.num_rows
            if moved == 0 or total != held + moved:  # another writer took them meanwhile
                raise _NothingToMove
            newest = max(t for t in (stats[0], row and row[2]) if t is not None)
            oldest = min(t for t in (stats[1], row and row[3]) if t is not None)
            cur.execute(
                "INSERT OR REPLACE INTO lake_files "
                "VALUES ($day, $type, $generation, $rows, $newest, $oldest, $now)",
                {
                    "day": day,
                    "type": type_,
                    "generation": following,
                    "rows": total,
                    "newest": newest,
                    "oldest": oldest,
                    "now": now,
                },
            )
            if row is not None:
                _retire(cur, current, now)
    except _NothingToMove:  # (rolled back before any commit)
        if target is not None:
            target.unlink(missing_ok=True)
        return None
    # Any other failure leaves the file: a commit that raised may still have reached the WAL,
    # and start-up (`reconcile`) deletes it if the manifest does not name it.
    step(COMMITTED)
    publish_day(cur, lake_dir, day)
    step(PUBLISHED)
    return LakeFile(day, type_, following, total, published_path(lake_dir, day, type_, following), now)


class _NothingToMove(Exception):
    pass


def rewrite(
    cur: duckdb.DuckDBPyConnection,
    lake_dir: Path,
    file: LakeFile,
    keep_sql: str,
    params: dict[str, object],
    *,
    now: datetime | None = None,
) -> int:
    """Replace a day and type's file by a new generation of its rows for which `keep_sql`
    holds (run outside any transaction); return how many rows left. No row left: the entry goes."""
    now = now or datetime.now(UTC)
    current = generation_path(lake_dir, file.day, file.type, file.generation)
    source = f"read_parquet('{quote(current)}')"
    following = _next_generation(lake_dir, file.day, file.type, file.generation)
    target = generation_path(lake_dir, file.day, file.type, following)
    key = {"day": file.day, "type": file.type}
    with transaction(cur):
        kept = count_of(cur, f"SELECT count(*) FROM {source} WHERE {keep_sql}", params)
        gone = file.rows - kept
        if gone == 0:
            return 0
        if kept:
            _write(cur, f"SELECT * FROM {source} WHERE {keep_sql}", params, target)
            cur.execute(
                "UPDATE lake_files SET generation = $generation, rows = $rows "
                "WHERE day = $day AND type = $type",
                {**key, "rows": kept, "generation": following},
            )
        else:
            cur.execute("DELETE FROM lake_files WHERE day = $day AND type = $type", key)
        _retire(cur, current, now)
    publish_day(cur, lake_dir, file.day)
    return gone


def drop_days_before(
    cur: duckdb.DuckDBPyConnection, lake_dir: Path, first_kept: date
) -> tuple[list[date], int]:
    """Remove the lake's days before `first_kept` (retention): the manifest rows in one transaction,
    then the published days; the generations are retired. Returns the days and their events."""
    now = datetime.now(UTC)
    with transaction(cur):
        gone = cur.execute(
            "SELECT day, type, generation, rows FROM lake_files WHERE day < $first ORDER BY day",
            {"first": first_kept},
        ).fetchall()
        cur.execute("DELETE FROM lake_files WHERE day < $first", {"first": first_kept})
        for day, type_, generation, _ in gone:
            _retire(cur, generation_path(lake_dir, day, type_, generation), now)
    days = {day for day, _, _, _ in gone}
    for link in lake_dir.glob("day=*"):
        day = _day_of(link)
        if day is not None and day < first_kept:
            days.add(day)
    for day in days:
        publish_day(cur, lake_dir, day)  # (nothing left: the day's link and snapshots go)
    return sorted(days), sum(int(rows) for *_, rows in gone)


def publish_day(cur: duckdb.DuckDBPyConnection, lake_dir: Path, day: date) -> None:
    """Show outside readers the day as the manifest has it: a new snapshot directory of links
    to its generations, and the day's link renamed over to it (none left: the link goes)."""
    entries = cur.execute(
        "SELECT type, generation FROM lake_files WHERE day = $day ORDER BY type", {"day": day}
    ).fetchall()
    link = lake_dir / f"day={day.isoformat()}"
    snapshots = lake_dir.parent / SNAPSHOTS / link.name
    wanted = sorted(f"{type_}.{generation}.parquet" for type_, generation in entries)
    if link.is_symlink() and link.exists() and sorted(p.name for p in link.iterdir()) == wanted:
        current = link.resolve()
    elif not wanted:
        current = None
        if link.is_dir() and not link.is_symlink():  # layout 1's, or a copy that followed the link
            shutil.rmtree(link)
        else:
            link.unlink(missing_ok=True)
    else:
        taken = [int(p.name) for p in snapshots.glob("*") if p.name.isdigit()]
        current = snapshots / str(max(taken, default=0) + 1)
        current.mkdir(parents=True)
        for type_, generation in entries:
            source = generation_path(lake_dir, day, type_, generation)
            target = current / f"{type_}.{generation}.parquet"
            try:
                os.link(source, target)
            except OSError:  # no hard links here: a copy
                shutil.copyfile(source, target)
        lake_dir.mkdir(parents=True, exist_ok=True)
        temporary = lake_dir / f".{link.name}.{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        os.symlink(os.path.relpath(current, lake_dir), temporary)
        if link.is_dir() and not link.is_symlink():
            # a copy of the data dir that followed the link (`cp -r`, `shutil.copytree`): the
            # manifest's generations are the rows; layout 1's are left to the first move
            shutil.rmtree(link)
        os.replace(temporary, link)
        current = current.resolve()
    for old in snapshots.glob("*"):
        if current is None or old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)
    with contextlib.suppress(OSError):
        snapshots.rmdir()  # only when empty


def reconcile(cur: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[str]:
    """At start-up, before any reader: finish or undo what a killed move left (see the module).

    Publishes the generations the manifest names, deletes generations and published files it
    does not name, and the retired ones. Returns what it found missing (files the manifest
    names that are gone), for the log.
    """
    generations = lake_dir.parent / GENERATIONS
    if cur.execute("SELECT count(*) FROM lake_files").fetchone() == (0,):
        # an empty manifest beside published days: the database that held it was lost or
        # replaced (a damaged file set aside, a deleted one). The files are the rows: name them.
        register_published(cur, lake_dir)
    named: set[Path] = set()
    missing: list[str] = []
    entries = cur.execute("SELECT day, type, generation, rows FROM lake_files").fetchall()
    for day, type_, generation, rows in entries:
        path = generation_path(lake_dir, day, type_, generation)
        if path.exists():
            named.add(path)
            continue
        # gone (deleted by hand, a lost disk): its rows are lost; reading it would fail every
        # query over its day, so the manifest stops naming it
        missing.append(f"{day.isoformat()}/{type_} ({rows} events)")
        cur.execute("DELETE FROM lake_files WHERE day = $day AND type = $type", {"day": day, "type": type_})
    for path in generations.glob("day=*/*.parquet"):
        if path not in named:
            path.unlink(missing_ok=True)
    days = {day for day, *_ in entries}
    days |= {d for d in map(_day_of, lake_dir.glob("day=*")) if d is not None}
    days |= {d for d in map(_day_of, (lake_dir.parent / SNAPSHOTS).glob("day=*")) if d is not None}
    for day in sorted(days):
        if not (
            lake_dir / f"day={day.isoformat()}" / "events.parquet"
        ).exists():  # (layout 1: the first move)
            publish_day(cur, lake_dir, day)
    for leftover in [*lake_dir.glob(".*.tmp"), *generations.glob("day=*/.*.tmp")]:
        leftover.unlink(missing_ok=True)
    for directory in generations.glob("day=*"):
        with contextlib.suppress(OSError):
            directory.rmdir()  # only when empty
    cur.execute("DELETE FROM lake_retired")
    if lake_dir.parent.exists():
        _write_layout(lake_dir)
    return missing


def register_published(cur: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[LakeFile]:
    """Name in the manifest every published file it lacks (`widget-monitor recover`, after the
    database that held the manifest was lost), at the generation its name says."""
    known = {(d, t) for d, t in cur.execute("SELECT day, type FROM lake_files").fetchall()}
    added: list[LakeFile] = []
    now = datetime.now(UTC)
    for path in sorted(lake_dir.glob("day=*/*.*.parquet")):
        day, named = _day_of(path.parent), _numbered(path)
        if day is None or named is None or (day, named[0]) in known:
            continue
        type_, generation = named
        kept = generation_path(lake_dir, day, type_, generation)
        if not kept.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, kept)
        row = cur.execute(
            f"SELECT count(*), max(received_at), min(received_at) FROM read_parquet('{quote(path)}')"
        ).fetchone()
        assert row is not None
        cur.execute(
            "INSERT INTO lake_files VALUES ($day, $type, $generation, $rows, $newest, $oldest, $now)",
            {
                "day": day,
                "type": type_,
                "generation": generation,
                "rows": row[0],
                "newest": row[1],
                "oldest": row[2],
                "now": now,
            },
        )
        added.append(LakeFile(day, type_, generation, int(row[0]), path, now))
    return added


def retire_expired(cur: duckdb.DuckDBPyConnection, lake_dir: Path, now: datetime) -> None:
    """Delete the superseded generations retired more than `RETIRED_KEEP` ago."""
    expired = cur.execute(
        "SELECT path FROM lake_retired WHERE retired_at < $before", {"before": now - RETIRED_KEEP}
    ).fetchall()
    named = set(manifest_generations(cur, lake_dir))
    for (rel,) in expired:
        if lake_dir.parent / rel not in named:
            (lake_dir.parent / rel).unlink(missing_ok=True)
        cur.execute("DELETE FROM lake_retired WHERE path = $path", {"path": rel})


def manifest_generations(cur: duckdb.DuckDBPyConnection, lake_dir: Path) -> list[Path]:
    """The generation files the manifest names (what a backup copies)."""
    rows = cur.execute("SELECT day, type, generation FROM lake_files ORDER BY day, type").fetchall()
    return [generation_path(lake_dir, d, t, g) for d, t, g in rows]


def _next_generation(lake_dir: Path, day: date, type_: str, current: int) -> int:
    """A generation number of the day and type not used before: past the manifest's and any on disk
    (a day and type whose entry went, erased or dropped, may come back with late events)."""
    files = generation_path(lake_dir, day, type_, 0).parent.glob(f"{type_}.*.parquet")
    numbers = [named[1] for named in map(_numbered, files) if named is not None and named[0] == type_]
    return max([current, *numbers]) + 1


def _numbered(path: Path) -> tuple[str, int] | None:
    """(type, generation) from a file named `<type>.<n>.parquet` (None: another name)."""
    type_, _, number = path.name.removesuffix(".parquet").rpartition(".")
    return (type_, int(number)) if type_ and number.isdigit() else None


def _retire(cur: duckdb.DuckDBPyConnection, path: Path, now: datetime) -> None:
    rel = str(path.relative_to(path.parents[2]))  # generations/day=…/<type>.<n>.parquet
    cur.execute("INSERT OR REPLACE INTO lake_retired VALUES ($path, $now)", {"path": rel, "now": now})


def _write(cur: duckdb.DuckDBPyConnection, select: str, params: dict[str, object], target: Path) -> None:
    """COPY the rows of `select`, sorted by time, to `target` (written under a temporary name)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    cur.execute(
        f"COPY (SELECT * FROM ({select}) ORDER BY ts) TO '{quote(temporary)}' "
        "(FORMAT parquet, COMPRESSION zstd)",
        params,
    )
    os.replace(temporary, target)


def _leave_layout_1(lake_dir: Path) -> None:
    """Layout 1's files were copies of rows DuckDB still holds: they go before layout 2's appear."""
    for directory in lake_dir.glob("day=*"):
        if directory.is_dir() and not directory.is_symlink():
            shutil.rmtree(directory)


def _write_layout(lake_dir: Path) -> None:
    lake_dir.mkdir(parents=True, exist_ok=True)
    layout = lake_dir.parent / "LAYOUT.json"
    wanted = {
        "layout": LAYOUT_VERSION,
        "files": "events/day=YYYY-MM-DD/<type>.<generation>.parquet",
        "glob": "events/*/*.parquet",
        "partitioning": "hive (day)",
        "columns": "the events table's, snake_case (analytics/storage/table.py)",
    }
    if not layout.exists() or json.loads(layout.read_text() or "{}") != wanted:
        temporary = layout.with_name(".LAYOUT.json.tmp")
        temporary.write_text(json.dumps(wanted, indent=2) + "\n")
        os.replace(temporary, layout)


def _day_of(directory: Path) -> date | None:
    try:
        return date.fromisoformat(directory.name.removeprefix("day="))
    except ValueError:
        return None


def quote(path: Path) -> str:
    """A path inside a single-quoted SQL string literal."""
    return str(path).replace("'", "''")
