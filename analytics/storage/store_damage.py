"""A damaged DuckDB file or WAL found at open: kept aside, reported, and the store opened anyway.

Corruption on disk is the one loss no acknowledgement prevents, so it is never silent:
before DuckDB replays a WAL it is read entry by entry (`wal_file`); a damaged one is
copied to `<data_dir>/damaged/<UTC time>/` and cut after its last whole commit, so that
DuckDB replays exactly those. When DuckDB refuses the WAL, the database opens without
it; when it refuses the file itself, file and WAL move aside and an empty database
takes their place. Each time a `report.json` in that folder says which files, what
DuckDB said, what survived and what may be lost, until `widget-monitor recover`
(`store_recovery`) salvages what it can and marks it resolved. Nothing is deleted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import duckdb

from analytics.storage.wal_file import WalFormatUnknown, WalReading, read_wal

log = logging.getLogger(__name__)

DAMAGED_SUBDIR = "damaged"
REPORT_FILENAME = "report.json"
RECOVER_COMMAND = "widget-monitor recover --data-dir {data_dir}"

# What DuckDB says about a file it cannot read (anything else, e.g. a lock held by
# another process or a full disk, is not damage: it is raised as it is).
_DAMAGE_SIGNS = (
    "not a valid DuckDB database file",
    "Could not read enough bytes",
    "Corrupt database file",
    "Corrupt WAL file",
    "Failure while replaying WAL",
    "WAL does not match",
)
# ...and of these, the ones that blame the WAL rather than the database file.
_WAL_SIGNS = ("Failure while replaying WAL", "Corrupt WAL file", "WAL does not match")
# Files DuckDB may keep beside the database during and after a checkpoint.
_SIDE_SUFFIXES = (".wal", ".wal.checkpoint", ".wal.recovery")


def looks_damaged(said: str) -> bool:
    """Whether DuckDB's error message `said` tells of a damaged file."""
    return any(sign in said for sign in _DAMAGE_SIGNS)


Store = TypeVar("Store")


@dataclass(frozen=True, slots=True)
class KeptFile:
    """A damaged file as found, and where it is kept (relative to the data dir)."""

    name: str
    bytes: int
    modified_at: datetime
    kept_as: str

    def to_wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "bytes": self.bytes,
            "modifiedAt": _iso(self.modified_at),
            "keptAs": self.kept_as,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> KeptFile:
        return cls(wire["name"], wire["bytes"], _parse(wire["modifiedAt"]), wire["keptAs"])


@dataclass(slots=True)
class DamageReport:
    """One damage found at open: `damaged/<id>/report.json`.

    `what` is "wal" (the database file opened, with the WAL's whole commits before the
    damage, or without the WAL) or "database" (the file could not be read: an empty one
    replaced it). `wal` describes the WAL as read (commits, replayed, whole ones after
    the damage); `lost_*` the window in which events may be missing. `recovery` is set
    once `widget-monitor recover` ran.
    """

    id: str
    folder: Path
    detected_at: datetime
    what: Literal["wal", "database"]
    problem: str
    duckdb_said: str | None
    files: list[KeptFile]
    opened: str
    wal: dict[str, int] | None = None
    events_after_open: int | None = None
    lost_from: datetime | None = None
    lost_to: datetime | None = None
    lost_note: str = ""
    recovery: dict[str, Any] | None = None

    @property
    def resolved(self) -> bool:
        return self.recovery is not None

    def kept(self, name: str) -> Path | None:
        """The kept copy of the file called `name` (e.g. the WAL), if this report kept one."""
        for kept in self.files:
            if kept.name == name:
                return self.folder.parent.parent / kept.kept_as
        return None

    def headline(self) -> str:
        """One line for the log: what was damaged, what the server did, what may be lost."""
        if self.what == "database":
            window = f"events up to {_iso(self.lost_to)} may be lost" if self.lost_to else ""
        elif self.lost_to:
            start = _iso(self.lost_from) if self.lost_from else "the start"
            window = f"events received from {start} to {_iso(self.lost_to)} may be lost"
        else:
            window = "nothing is known to be lost"
        files = ", ".join(f.name for f in self.files)
        return (
            f"store damage {self.id}: {files}: {self.problem}; {self.opened}; {window}"
            + (f" ({self.lost_note})" if self.lost_note else "")
            + f". Kept in {self.folder}; with the server stopped, run "
            f"`{RECOVER_COMMAND.format(data_dir=self.folder.parent.parent)}`"
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "folder": str(self.folder),
            "detectedAt": _iso(self.detected_at),
            "what": self.what,
            "problem": self.problem,
            "duckdbSaid": self.duckdb_said,
            "files": [f.to_wire() for f in self.files],
            "opened": self.opened,
            "wal": self.wal,
            "eventsAfterOpen": self.events_after_open,
            "mayBeLost": {
                "from": _iso(self.lost_from) if self.lost_from else None,
                "to": _iso(self.lost_to) if self.lost_to else None,
                "note": self.lost_note,
            },
            "recover": RECOVER_COMMAND.format(data_dir=self.folder.parent.parent),
            "recovery": self.recovery,
        }

    @classmethod
    def from_wire(cls, folder: Path, wire: dict[str, Any]) -> DamageReport:
        lost = wire.get("mayBeLost") or {}
        return cls(
            id=wire["id"],
            folder=folder,
            detected_at=_parse(wire["detectedAt"]),
            what=wire["what"],
            problem=wire["problem"],
            duckdb_said=wire.get("duckdbSaid"),
            files=[KeptFile.from_wire(f) for f in wire["files"]],
            opened=wire["opened"],
            wal=wire.get("wal"),
            events_after_open=wire.get("eventsAfterOpen"),
            lost_from=_parse(lost["from"]) if lost.get("from") else None,
            lost_to=_parse(lost["to"]) if lost.get("to") else None,
            lost_note=lost.get("note", ""),
            recovery=wire.get("recovery"),
        )

    def save(self) -> None:
        """Write report.json in its folder (whole or not at all)."""
        target = self.folder / REPORT_FILENAME
        temporary = target.with_name(f".{target.name}.tmp")
        temporary.write_text(json.dumps(self.to_wire(), indent=2) + "\n")
        os.replace(temporary, target)

    def record_survivors(self, events: int, newest: datetime | None) -> None:
        """Note what the opened store holds: events may be lost from its newest one on."""
        self.events_after_open = events
        if self.what == "wal":
            self.lost_from = newest
        try:
            self.save()
        except OSError as exc:
            log.error("cannot write %s: %s", self.folder / REPORT_FILENAME, exc)


@dataclass
class _Finding:
    """A damage report in the making, while the store is being opened."""

    data_dir: Path
    folder: Path | None = None
    files: list[KeptFile] = field(default_factory=list)

    def keep(self, path: Path, *, copy: bool) -> None:
        """Copy (fsynced, before the original is cut) or move `path` into the damaged folder."""
        if self.folder is None:
            self.folder = _new_folder(self.data_dir / DAMAGED_SUBDIR)
        stat = path.stat()
        target = self.folder / path.name
        if copy:
            try:
                shutil.copy2(path, target)
                _fsync(target)
            except OSError:
                target.unlink(missing_ok=True)  # our own partial copy; the original is untouched
                raise
        else:
            os.replace(path, target)
        _fsync(self.folder)
        modified = datetime.fromtimestamp(stat.st_mtime, UTC)
        relative = str(target.relative_to(self.data_dir))
        self.files.append(KeptFile(path.name, stat.st_size, modified, relative))

    def report(self, **facts: Any) -> DamageReport:
        assert self.folder is not None
        lost_to = max((f.modified_at for f in self.files), default=None)
        report = DamageReport(
            id=self.folder.name,
            folder=self.folder,
            detected_at=datetime.now(UTC),
            files=self.files,
            lost_to=lost_to,
            **facts,
        )
        try:
            report.save()
        except OSError as exc:  # e.g. a full disk: the store opens all the same, the report is logged
            log.error("cannot write %s: %s", report.folder / REPORT_FILENAME, exc)
        return report


def open_checked(path: Path, open_store: Callable[[], Store]) -> tuple[Store, DamageReport | None]:
    """`open_store()` over the database at `path`, setting damaged files aside as needed.

    `open_store` opens the file, prepares it and reads from it, closing it again if that
    fails. A failure that is not damage (a lock, a full disk) is raised as it is.
    Returns the store and the report of the damage found now (None: none).
    """
    finding = _Finding(path.parent)
    wal = path.with_name(path.name + ".wal")
    reading = _check_wal(wal, finding)
    facts: dict[str, Any] = {}
    if reading is not None and reading.damaged:
        facts = _wal_facts(reading, replayed=len(reading.intact))
        facts["opened"] = (
            f"replayed the {len(reading.intact)} whole commits before the damage"
            if reading.intact
            else "opened the database without the WAL's commits (none is readable from its start)"
        )
    try:
        store = open_store()
    except duckdb.Error as exc:
        said = str(exc)
        if not looks_damaged(said):
            raise
        store, facts = _open_after_refusal(path, wal, said, reading, finding, open_store)
    if not finding.files:
        return store, None
    return store, finding.report(**facts)


def _check_wal(wal: Path, finding: _Finding) -> WalReading | None:
    """Read the WAL before DuckDB does; keep a damaged one aside and cut it after its whole commits."""
    try:
        if not wal.exists() or wal.stat().st_size == 0:
            return None
        reading = read_wal(wal)
    except WalFormatUnknown as exc:
        log.warning("%s: %s this version does not read; left to DuckDB unchecked", wal, exc)
        return None
    if reading.torn_tail:
        # DuckDB replays the whole commits and drops the rest, as it should: say so, keep nothing.
        log.warning(
            "%s ends in an unfinished commit (%d bytes from byte %s: %s), which a crash during a "
            "commit leaves and which was never acknowledged; its %d whole commits are replayed",
            wal,
            reading.size - reading.intact_end,
            reading.problem_at,
            reading.problem,
            len(reading.intact),
        )
        return None
    if reading.damaged:
        try:
            finding.keep(wal, copy=True)
        except OSError as exc:  # no room for the copy: leave the WAL to DuckDB as it is
            log.error("%s is damaged (%s) and cannot be copied aside: %s", wal, reading.problem, exc)
            return None
        # DuckDB would stop at the damage without a word, or refuse the whole file over
        # one bad checksum: cut there, and it replays exactly the commits before.
        os.truncate(wal, reading.intact_end if reading.intact else 0)
    return reading


def _open_after_refusal(
    path: Path,
    wal: Path,
    said: str,
    reading: WalReading | None,
    finding: _Finding,
    open_store: Callable[[], Store],
) -> tuple[Store, dict[str, Any]]:
    """DuckDB refused: open without the WAL if it is to blame, else start an empty database."""
    if wal.exists() and any(sign in said for sign in _WAL_SIGNS):
        _set_wal_aside(wal, finding)
        try:
            store = open_store()
        except duckdb.Error as exc:
            if not any(sign in str(exc) for sign in _DAMAGE_SIGNS):
                raise
            said = f"{said} (then, without the WAL: {exc})"
        else:
            facts = _wal_facts(reading, replayed=0) if reading is not None else {}
            return store, facts | {
                "what": "wal",
                "problem": reading.problem if reading and reading.problem else "DuckDB refused the WAL",
                "duckdb_said": said,
                "opened": "opened the database without its WAL",
            }
    for suffix in ("", *_SIDE_SUFFIXES):
        side = path.with_name(path.name + suffix)
        if side.exists():
            if suffix == ".wal" and finding.folder is not None and (finding.folder / side.name).exists():
                side.unlink()  # the cut WAL: a prefix of the copy kept already
            else:
                finding.keep(side, copy=False)
    store = open_store()
    return store, _replaced_facts(reading, "DuckDB cannot read the database file", said)


def _replaced_facts(reading: WalReading | None, problem: str, said: str) -> dict[str, Any]:
    facts = _wal_facts(reading, replayed=0) if reading is not None else {}
    return facts | {
        "what": "database",
        "problem": problem,
        "duckdb_said": said,
        "opened": "started an empty database in its place",
        "lost_note": (
            "every event in the file is unavailable until `widget-monitor recover` salvages "
            "what it can (the days moved to the Parquet lake are not in it, and still read)"
        ),
    }


def set_aside_database(path: Path, problem: str, said: str) -> DamageReport:
    """Keep the database file at `path` and its WAL aside as damaged, e.g. when a block in
    it fails its checksum (which DuckDB says only to the queries that read that block).

    The next open starts an empty database; `widget-monitor recover` salvages the rest.
    """
    finding = _Finding(path.parent)
    wal = path.with_name(path.name + ".wal")
    reading = None
    if wal.exists() and wal.stat().st_size:
        with contextlib.suppress(WalFormatUnknown):
            reading = read_wal(wal)
    for suffix in ("", *_SIDE_SUFFIXES):
        side = path.with_name(path.name + suffix)
        if side.exists():
            finding.keep(side, copy=False)
    return finding.report(**_replaced_facts(reading, problem, said))


def _set_wal_aside(wal: Path, finding: _Finding) -> None:
    if finding.folder is not None and (finding.folder / wal.name).exists():
        wal.unlink()  # the cut WAL: a prefix of the copy kept already
    else:
        finding.keep(wal, copy=False)


def _wal_facts(reading: WalReading | None, *, replayed: int) -> dict[str, Any]:
    """The report's facts about the WAL as read: what was replayed, what was not."""
    if reading is None:
        return {}
    unread = reading.size - reading.intact_end
    if replayed < len(reading.intact):
        note = f"none of the WAL's {len(reading.intact)} whole commits could be replayed"
    else:
        note = f"{unread} bytes after the last whole commit could not be replayed"
    if reading.later:
        note += f"; {len(reading.later)} whole commits found beyond the damage"
    if reading.problem and "incomplete" in reading.problem:
        note += "; if the server stopped in the middle of that commit, it was never acknowledged"
    return {
        "what": "wal",
        "problem": reading.problem or "",
        "duckdb_said": None,
        "wal": {
            "bytes": reading.size,
            "wholeCommits": len(reading.intact),
            "replayedCommits": replayed,
            "unreadableBytes": unread if reading.damaged else 0,
            "wholeCommitsAfterDamage": len(reading.later),
        },
        "lost_note": note if reading.damaged or replayed < len(reading.intact) else "",
    }


def damage_reports(data_dir: Path, *, unresolved_only: bool = True) -> list[DamageReport]:
    """The damage reports under `<data_dir>/damaged/`, oldest first."""
    reports: list[DamageReport] = []
    for file in sorted((data_dir / DAMAGED_SUBDIR).glob(f"*/{REPORT_FILENAME}")):
        try:
            report = DamageReport.from_wire(file.parent, json.loads(file.read_text()))
        except (OSError, ValueError, KeyError) as exc:
            log.error("unreadable damage report %s: %s", file, exc)
            continue
        if not (unresolved_only and report.resolved):
            reports.append(report)
    return reports


def _new_folder(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        folder = parent / (stamp if n == 1 else f"{stamp}-{n}")
        with contextlib.suppress(FileExistsError):
            folder.mkdir()
            return folder
    raise FileExistsError(f"{parent}/{stamp}: too many damage folders this second")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
