"""DuckDB's write-ahead log read entry by entry: which commits are whole, and where damage starts.

DuckDB replays a WAL up to the first entry it cannot read and drops the rest without a
word when that entry is cut short or its size field is garbage; it refuses to open the
database when an entry's checksum fails (measured with DuckDB 2.0, docs/recovery.md).
Reading the file first tells which case it is, and which commits DuckDB will replay.

The format (WAL version 2, DuckDB 1.1 to 2.x): a header object in DuckDB's binary
serialization (fields `[u16 id][value]`, ending 0xFFFF: 100 the entry type, 101 the
version, 102 the database's identifier, 103 its checkpoint iteration), then entries of
`[u64 size][u64 checksum][payload]`, whose payload starts with field 100, the entry type.
A commit is the entries up to and including a WAL_FLUSH entry.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SUPPORTED_VERSION = 2

# WALType values (duckdb/common/enums/wal_type.hpp)
USE_TABLE = 25
INSERT_TUPLE = 26
WAL_VERSION = 98
WAL_FLUSH = 100

_ENTRY_HEAD = struct.Struct("<QQ")
_TYPE_FIELD = b"\x64\x00"  # field 100, the entry type, opens every payload
# A USE_TABLE payload: type 25, field 103 holding field 100: a list of [schema, table].
_USE_TABLE_PREFIX = b"\x64\x00\x19\x67\x00\x64\x00"
# No entry this server makes comes near this; a larger size field is garbage.
_MAX_ENTRY_BYTES = 1 << 32
_CHECKSUM_WORD = np.uint64(0xBF58476D1CE4E5B9)
_M64 = (1 << 64) - 1


class WalFormatUnknown(Exception):
    """A WAL whose header this module does not know (another version): it is not checked."""


@dataclass(frozen=True, slots=True)
class Commit:
    """One commit of the WAL: bytes `[start, end)`, the tables it names and its entry types."""

    start: int
    end: int
    tables: tuple[str, ...]
    entry_types: frozenset[int]

    @property
    def appends_events(self) -> bool:
        """Only appends rows to `main.events` (which replay into any database with that table)."""
        return self.tables == ("main.events",) and self.entry_types <= {USE_TABLE, INSERT_TUPLE, WAL_FLUSH}


@dataclass(frozen=True, slots=True)
class WalReading:
    """What a WAL file holds.

    `intact` are the commits DuckDB will replay (every one before the first damage);
    `problem` says what is wrong from byte `problem_at` (None: the file is whole);
    `later` are whole commits found beyond the damage, which DuckDB will not replay.
    """

    size: int
    header_end: int
    intact: tuple[Commit, ...]
    problem: str | None = None
    problem_at: int | None = None
    later: tuple[Commit, ...] = ()

    @property
    def damaged(self) -> bool:
        return self.problem is not None

    @property
    def torn_tail(self) -> bool:
        """The only problem is an unfinished last commit: what a crash in the middle of a
        commit leaves (kill -9 between DuckDB's writes of one commit). That commit never
        returned, so none of its events was acknowledged, and DuckDB replays every commit
        before it: not damage."""
        return (
            self.problem is not None
            and self.problem_at is not None
            and self.problem_at >= self.header_end > 0
            and not self.later
            and any(sign in self.problem for sign in _CUT_SHORT)
        )

    @property
    def intact_end(self) -> int:
        """The offset at which the whole commits before the damage end."""
        return self.intact[-1].end if self.intact else self.header_end


# The problems of a file that simply ends too soon (`_entry_at`, `_commits_from`).
_CUT_SHORT = ("ends inside an entry header", "is cut short", "the last commit is incomplete")


def read_wal(path: Path) -> WalReading:
    """Read the WAL at `path` entry by entry, checking every entry's checksum.

    Raises `WalFormatUnknown` for a header of another WAL version (DuckDB is left to it).

    Examples
    --------
    >>> import tempfile
    >>> wal = Path(tempfile.mkdtemp()) / "x.wal"
    >>> _ = wal.write_bytes(b"not a WAL at all")
    >>> read_wal(wal).problem
    'the header is not a WAL header'
    """
    data = path.read_bytes()
    intact: list[Commit] = []
    problem: str | None
    problem_at: int | None
    try:
        header_end = _header_end(data)
    except ValueError as exc:
        header_end, problem, problem_at = 0, str(exc), 0
    else:
        intact, problem, problem_at = _commits_from(data, header_end)
    later: list[Commit] = []
    position = problem_at
    while position is not None:
        resumed = _next_commit_start(data, position + 1)
        if resumed is None:
            break
        found, _, position = _commits_from(data, resumed)
        later.extend(found)
    return WalReading(len(data), header_end, tuple(intact), problem, problem_at, tuple(later))


def wal_of_commits(data: bytes, commits: Iterable[Commit]) -> bytes:
    """A WAL holding `commits` (byte ranges of `data`) that any database with their tables replays.

    Its header names no database identifier nor checkpoint iteration, which DuckDB then
    does not check.
    """
    header = _TYPE_FIELD + bytes([WAL_VERSION]) + b"\x65\x00" + bytes([SUPPORTED_VERSION]) + b"\xff\xff"
    return header + b"".join(data[c.start : c.end] for c in commits)


def _header_end(data: bytes) -> int:
    """The offset after the header object; ValueError when it is not a WAL header."""
    if not data.startswith(_TYPE_FIELD + bytes([WAL_VERSION])):
        raise ValueError("the header is not a WAL header")
    try:
        position, version = _header_fields(data)
    except (IndexError, struct.error):
        raise ValueError("the header is cut short") from None
    if version != SUPPORTED_VERSION:
        raise WalFormatUnknown(f"WAL version {version}")
    return position


def _header_fields(data: bytes) -> tuple[int, int | None]:
    """The offset after the header's fields, and its version (IndexError when cut short)."""
    position = 3
    version: int | None = None
    while True:
        (field,) = struct.unpack_from("<H", data, position)
        position += 2
        if field == 0xFFFF:
            break
        if field == 102:  # the database identifier: a list of bytes
            count, position = _varint(data, position)
            for _ in range(count):
                _, position = _varint(data, position)
        elif field in (101, 103):
            value, position = _varint(data, position)
            if field == 101:
                version = value
        else:
            raise WalFormatUnknown(f"WAL header field {field}")
    return position, version


def _commits_from(data: bytes, position: int) -> tuple[list[Commit], str | None, int | None]:
    """The whole commits from `position` on, and the first problem after them (with its offset)."""
    commits: list[Commit] = []
    start = position
    tables: list[str] = []
    types: set[int] = set()
    while position < len(data):
        entry = _entry_at(data, position)
        if isinstance(entry, str):
            return commits, entry, start
        payload_start, end, entry_type = entry
        types.add(entry_type)
        if entry_type == USE_TABLE:
            tables.append(_table_name(data[payload_start:end]))
        position = end
        if entry_type == WAL_FLUSH:
            commits.append(Commit(start, end, tuple(dict.fromkeys(tables)), frozenset(types)))
            start, tables, types = end, [], set()
    if start < len(data):  # entries that no WAL_FLUSH closes
        return commits, f"the last commit is incomplete ({len(data) - start} bytes)", start
    return commits, None, None


def _entry_at(data: bytes, position: int) -> tuple[int, int, int] | str:
    """(payload start, entry end, entry type) of the entry at `position`, or what is wrong with it."""
    if position + _ENTRY_HEAD.size > len(data):
        return f"the file ends inside an entry header at byte {position}"
    size, stored = _ENTRY_HEAD.unpack_from(data, position)
    payload_start = position + _ENTRY_HEAD.size
    if size > _MAX_ENTRY_BYTES:
        return f"byte {position} does not start an entry (size field {size})"
    if payload_start + size > len(data):
        return f"the entry at byte {position} is cut short ({len(data) - payload_start} of {size} bytes)"
    if _checksum(data, payload_start, size) != stored:
        return f"the entry at byte {position} fails its checksum"
    if size < 3 or data[payload_start : payload_start + 2] != _TYPE_FIELD:
        return f"the entry at byte {position} has no entry type"
    entry_type, _ = _varint(data, payload_start + 2)
    return payload_start, payload_start + size, entry_type


def _next_commit_start(data: bytes, position: int) -> int | None:
    """The next offset at or after `position` where a whole USE_TABLE entry starts (every
    commit of rows starts with one), or None."""
    while True:
        found = data.find(_USE_TABLE_PREFIX, position + _ENTRY_HEAD.size)
        if found < 0:
            return None
        candidate = found - _ENTRY_HEAD.size
        if not isinstance(_entry_at(data, candidate), str):
            return candidate
        position = candidate + 1


def _table_name(payload: bytes) -> str:
    """`schema.table` of a USE_TABLE payload ("?" when it is not laid out as expected)."""
    if not payload.startswith(_USE_TABLE_PREFIX):
        return "?"
    try:
        count, position = _varint(payload, len(_USE_TABLE_PREFIX))
        names: list[str] = []
        for _ in range(count):
            length, position = _varint(payload, position)
            names.append(payload[position : position + length].decode())
            position += length
    except (IndexError, UnicodeDecodeError):
        return "?"
    return ".".join(names)


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """An unsigned LEB128 value at `position`, and the offset after it (IndexError past the end)."""
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
        if shift > 63:
            raise IndexError("varint longer than 64 bits")


def _checksum(data: bytes, start: int, size: int) -> int:
    """DuckDB's block and WAL checksum (common/checksum.cpp): the 8-byte words each times a
    constant, XORed, and the last 0-7 bytes through MurmurHash64A."""
    words = size // 8
    result = 5381 ^ int(
        np.bitwise_xor.reduce(np.frombuffer(data, dtype="<u8", count=words, offset=start) * _CHECKSUM_WORD)
        if words
        else 0
    )
    rest = size - words * 8
    if rest:
        result ^= _murmur_tail(data[start + words * 8 : start + size])
    return result


def _murmur_tail(tail: Sequence[int]) -> int:
    """MurmurHash64A (seed 0xe17a1465) of fewer than 8 bytes."""
    m, r = 0xC6A4A7935BD1E995, 47
    h = (0xE17A1465 ^ (len(tail) * m)) & _M64
    for i in reversed(range(len(tail))):
        h ^= tail[i] << (8 * i)
    h = (h * m) & _M64
    h ^= h >> r
    h = (h * m) & _M64
    return h ^ (h >> r)
