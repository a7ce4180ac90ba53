"""Backups: a consistent snapshot of a running server's data dir, and restoring one into a stopped one.

A backup is a directory (or a tar stream of one, as the API serves it):

    backup.json                 what is in it: format version, when, events, every file's size and sha256
    duckdb/                     the DuckDB database as `EXPORT DATABASE` writes it (schema.sql,
                                load.sql, one Parquet file per table): one transaction, so events,
                                rollups, alert state and the lake's manifest agree; readable by any
                                DuckDB version, not only the one that wrote it
    access.sqlite3              keys, tokens and the audit log (SQLite's online backup)
    lake/generations/day=*/...  the lake's files at the generations the manifest names

`take_snapshot` runs in the server (nothing else may open its DuckDB file); the caller holds
off lake rewrites meanwhile (the runtime's maintenance lock). Lake files are hard links where
the file system allows: a later rewrite renames a new file into place and leaves the link
alone. `restore` builds the new data dir beside the target, checks every checksum and the
event count, and only then moves it into place.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

import duckdb

from analytics.errors import Conflict
from analytics.storage import lake
from analytics.storage.lake import LAKE_SUBDIR
from analytics.storage.store import DB_FILENAME, store_files
from analytics.transaction import count_of, transaction

FORMAT = "widget-monitor-backup"
VERSION = 1
MANIFEST = "backup.json"
DUCKDB_SUBDIR = "duckdb"
CREDENTIALS = "access.sqlite3"
_CHUNK = 1 << 20
_HEADROOM = 256 * 1024 * 1024  # left free beyond a snapshot's size, for ingest meanwhile


class BackupError(Conflict):
    """A backup that cannot be taken, verified or restored as asked (said in the message)."""

    code = "backup_refused"


class NoRoomForBackup(BackupError):
    """The data dir's disk lacks the room a snapshot needs."""

    status = 507
    code = "insufficient_storage"


@dataclass(frozen=True, slots=True)
class Manifest:
    created_at: str
    events: int
    lake_days: int
    duckdb_version: str
    files: dict[str, dict[str, object]]  # relative path -> {"bytes", "sha256"}

    def to_wire(self) -> dict[str, object]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "createdAt": self.created_at,
            "events": self.events,
            "lakeDays": self.lake_days,
            "duckdbVersion": self.duckdb_version,
            "files": self.files,
        }

    @property
    def total_bytes(self) -> int:
        return sum(int(f["bytes"]) for f in self.files.values())  # type: ignore[call-overload]

    @classmethod
    def read(cls, backup: Path) -> Manifest:
        try:
            wire = json.loads((backup / MANIFEST).read_text())
        except (OSError, ValueError) as exc:
            raise BackupError(f"{backup} is not a widget-monitor backup: no readable {MANIFEST}") from exc
        if wire.get("format") != FORMAT or wire.get("version") != VERSION:
            raise BackupError(
                f"{backup / MANIFEST} is format {wire.get('format')!r} version {wire.get('version')!r}; "
                f"this release reads {FORMAT!r} version {VERSION}"
            )
        return cls(
            wire["createdAt"],
            int(wire["events"]),
            int(wire["lakeDays"]),
            wire["duckdbVersion"],
            wire["files"],
        )


def take_snapshot(
    cur: duckdb.DuckDBPyConnection, data_dir: Path, into: Path, backup_credentials: Callable[[Path], None]
) -> Manifest:
    """Write a backup of the server's data into the empty directory `into`; return its manifest.

    Refused (`NoRoomForBackup`) when the disk has less room than the database file takes, and
    its export about as much: a full disk would stop ingest. Removed again if it fails.
    """
    needed = sum(p.stat().st_size for p in store_files(data_dir))
    free = shutil.disk_usage(data_dir).free
    if free < needed + _HEADROOM:
        raise NoRoomForBackup(
            f"a backup needs about {needed / 1e6:,.0f} MB in the data dir's file system and "
            f"{free / 1e6:,.0f} MB are free (ingest needs room too)"
        )
    into.mkdir(parents=True)
    try:
        return _snapshot(cur, data_dir, into, backup_credentials)
    except BaseException:
        shutil.rmtree(into, ignore_errors=True)
        raise


def _snapshot(
    cur: duckdb.DuckDBPyConnection, data_dir: Path, into: Path, backup_credentials: Callable[[Path], None]
) -> Manifest:
    with transaction(cur):  # one snapshot: the count and the export see the same events
        events = count_of(cur, _EVENTS_SQL)  # in DuckDB and in the lake
        cur.execute(
            f"EXPORT DATABASE '{lake.quote(into / DUCKDB_SUBDIR)}' (FORMAT parquet, COMPRESSION zstd)"
        )
        generations = lake.manifest_generations(cur, data_dir / LAKE_SUBDIR)
    backup_credentials(into / CREDENTIALS)
    days = set()
    for path in generations:  # (the published names are links to these: made again at start-up)
        if not path.exists():
            raise BackupError(f"{path} is named in the lake's manifest and is gone: restart the server")
        target = into / path.relative_to(data_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:  # another file system, or no hard links: a copy
            shutil.copy2(path, target)
        days.add(path.parent.name)
    manifest = Manifest(
        datetime.now(UTC).isoformat(),
        events,
        len(days),
        duckdb.__version__,
        {rel: {"bytes": (into / rel).stat().st_size, "sha256": _sha256(into / rel)} for rel in _files(into)},
    )
    (into / MANIFEST).write_text(json.dumps(manifest.to_wire(), indent=2))
    return manifest


def tar_stream(backup: Path) -> Iterator[bytes]:
    """The backup directory as an uncompressed tar (its manifest first), in chunks.

    The files are compressed already (zstd Parquet, SQLite pages seldom compress much).
    """
    for rel in [MANIFEST, *_files(backup)]:
        path = backup / rel
        info = tarfile.TarInfo(rel)
        info.size = path.stat().st_size
        info.mtime = int(path.stat().st_mtime)
        info.mode = 0o600
        yield info.tobuf(format=tarfile.GNU_FORMAT)
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                yield chunk
        if info.size % tarfile.BLOCKSIZE:
            yield b"\0" * (tarfile.BLOCKSIZE - info.size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)  # the end of the archive


def verify(backup: Path) -> Manifest:
    """The backup's manifest, once every file it lists is there with its size and checksum.

    A backup comes from a server or from storage that may have been tampered with: every path
    must stay inside it (no absolute path, no `..`, no symbolic link), and every file in it
    must be listed, so that nothing unchecked is read at restore.
    """
    manifest = Manifest.read(backup)
    root = backup.resolve()
    listed = set()
    for rel in manifest.files:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or "\\" in rel:
            raise BackupError(f"{backup}: {rel!r} is not a path inside the backup")
        listed.add(PurePosixPath(rel))
    for path in backup.rglob("*"):
        rel_path = PurePosixPath(path.relative_to(backup).as_posix())
        if path.is_symlink() or not (path.is_file() or path.is_dir()):
            raise BackupError(f"{backup}: {rel_path} is not a plain file or directory")
        if path.is_file() and rel_path != PurePosixPath(MANIFEST) and rel_path not in listed:
            raise BackupError(f"{backup}: {rel_path} is not in {MANIFEST}")
    for rel, expected in manifest.files.items():
        path = backup / rel
        if not path.is_file() or not path.resolve().is_relative_to(root):
            raise BackupError(f"{backup}: {rel} is missing")
        if path.stat().st_size != expected["bytes"] or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{backup}: {rel} does not match its checksum (damaged or changed)")
    for required in (f"{DUCKDB_SUBDIR}/schema.sql", f"{DUCKDB_SUBDIR}/load.sql", CREDENTIALS):
        if required not in manifest.files:
            raise BackupError(f"{backup}: {required} is missing")
    return manifest


@dataclass(frozen=True, slots=True)
class Restored:
    data_dir: Path
    events: int
    lake_days: int
    kept_aside: Path | None  # where the data dir's former contents went (--force)


def restore(backup: Path, data_dir: Path, *, force: bool = False) -> Restored:
    """Restore `backup` into `data_dir`, which no server may be using.

    A data dir that holds data is refused unless `force`; then its contents are moved
    aside to `<data_dir>.before-restore-<time>/` (never deleted).
    """
    manifest = verify(backup)
    _refuse_if_in_use(data_dir)
    holds_data = data_dir.exists() and any(data_dir.iterdir())
    if holds_data and not force:
        raise BackupError(
            f"{data_dir} holds data; restore into an empty dir, or pass --force to move it aside"
        )
    building = data_dir.with_name(f".{data_dir.name}.restoring-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    try:
        con = duckdb.connect(str(building / DB_FILENAME))
        try:
            con.execute("SET TimeZone = 'UTC'")
            # IMPORT DATABASE runs the backup's schema.sql: let it read the export and nothing
            # else (no other file, no extension), whatever that file says
            exported = (backup / DUCKDB_SUBDIR).resolve()
            con.execute("SET allowed_directories = $dirs", {"dirs": [str(exported)]})
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
            try:
                con.execute(f"IMPORT DATABASE '{lake.quote(exported)}'")
            except duckdb.Error as exc:
                raise BackupError(f"{backup}: its database cannot be imported: {exc}") from exc
            if lake.has_manifest(con) and (foreign := lake.foreign_entries(con)):
                raise BackupError(f"{backup}: its lake manifest names files no lake holds: {foreign[:3]}")
            counted = _EVENTS_SQL if lake.has_manifest(con) else "SELECT count(*) FROM events"
            row = con.execute(counted).fetchone()  # (an earlier release's backup has no manifest)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        if (int(row[0]) if row else 0) != manifest.events:
            raise BackupError(f"{backup}: restored {row} events, the manifest says {manifest.events}")
        shutil.copy2(backup / CREDENTIALS, building / CREDENTIALS)
        lake_files = [rel for rel in manifest.files if rel.startswith(str(LAKE_SUBDIR.parent) + "/")]
        for rel in lake_files:
            (building / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(backup / rel, building / rel)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    aside = None
    if holds_data:
        aside = data_dir.with_name(f"{data_dir.name}.before-restore-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        data_dir.rename(aside)
    elif data_dir.exists():
        data_dir.rmdir()
    building.rename(data_dir)
    return Restored(data_dir, manifest.events, manifest.lake_days, aside)


_EVENTS_SQL = "SELECT (SELECT count(*) FROM events) + (SELECT coalesce(sum(rows), 0) FROM lake_files)"


def _refuse_if_in_use(data_dir: Path) -> None:
    path = data_dir / DB_FILENAME
    if not path.exists():
        return
    try:
        # read-only: the probe neither replays the WAL into the file nor checkpoints it on close
        # (a small last row group the server's next checkpoint would merge, docs/history.md#memory)
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.IOException as exc:
        raise BackupError(f"{path} is in use (a running server?): stop it before restoring") from exc


def _files(root: Path) -> list[str]:
    """Every file under `root` but the manifest, as sorted relative paths."""
    return sorted(
        str(path.relative_to(root)) for path in root.rglob("*") if path.is_file() and path.name != MANIFEST
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
