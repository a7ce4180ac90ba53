"""Reading DuckDB's WAL entry by entry, on WALs DuckDB itself wrote; and what DuckDB does with
a damaged one (the behaviour the store's open path builds on, docs/recovery.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from analytics.storage.wal_file import read_wal, wal_of_commits

COMMITS = 6
ROWS = 50  # per commit


@pytest.fixture(scope="module")
def crashed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with 100 checkpointed rows and COMMITS commits of ROWS rows left in its WAL
    by a process that died without closing it."""
    folder = tmp_path_factory.mktemp("wal")
    script = f"""
import os, duckdb
con = duckdb.connect({str(folder / "db.duckdb")!r})
con.execute("CREATE TABLE events (event_id VARCHAR, n INTEGER)")
con.execute("INSERT INTO events SELECT 'old-' || i, i FROM range(100) t(i)")
con.execute("CHECKPOINT")
for c in range({COMMITS}):
    con.execute(f"INSERT INTO events SELECT 'c{{c}}-' || i, i FROM range({ROWS}) t(i)")
os._exit(0)
"""
    subprocess.run([sys.executable, "-c", script], check=True)
    return folder


def _copy(crashed: Path, tmp_path: Path) -> tuple[Path, Path]:
    shutil.copytree(crashed, tmp_path / "copy")
    return tmp_path / "copy" / "db.duckdb", tmp_path / "copy" / "db.duckdb.wal"


def _rows(db: Path) -> int:
    con = duckdb.connect(str(db))
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchall()[0][0])
    finally:
        con.close()


def test_a_whole_wal_reads_as_its_commits(crashed: Path) -> None:
    reading = read_wal(crashed / "db.duckdb.wal")
    assert not reading.damaged
    assert len(reading.intact) == COMMITS
    assert all(commit.appends_events for commit in reading.intact)
    assert reading.intact_end == (crashed / "db.duckdb.wal").stat().st_size


def test_a_cut_wal_duckdb_replays_up_to_the_cut_without_a_word(crashed: Path, tmp_path: Path) -> None:
    db, wal = _copy(crashed, tmp_path)
    os.truncate(wal, wal.stat().st_size - 20)  # inside the last commit
    reading = read_wal(wal)
    assert reading.damaged and reading.torn_tail and len(reading.intact) == COMMITS - 1
    assert _rows(db) == 100 + (COMMITS - 1) * ROWS  # DuckDB: no error, the last commit gone


def test_garbage_after_the_last_commit_is_found_and_nothing_is_lost(crashed: Path, tmp_path: Path) -> None:
    db, wal = _copy(crashed, tmp_path)
    size = wal.stat().st_size
    with wal.open("ab") as file:
        file.write(os.urandom(3000))
    reading = read_wal(wal)
    assert (
        reading.damaged
        and not reading.torn_tail
        and reading.problem_at == size
        and len(reading.intact) == COMMITS
    )
    assert _rows(db) == 100 + COMMITS * ROWS


def test_a_wal_of_garbage_duckdb_ignores_it(crashed: Path, tmp_path: Path) -> None:
    db, wal = _copy(crashed, tmp_path)
    wal.write_bytes(os.urandom(wal.stat().st_size))
    reading = read_wal(wal)
    assert reading.problem == "the header is not a WAL header" and not reading.intact
    assert _rows(db) == 100  # DuckDB: no error, none of the WAL


def test_a_failed_checksum_duckdb_refuses_and_the_reader_finds_the_commits_after_it(
    crashed: Path, tmp_path: Path
) -> None:
    db, wal = _copy(crashed, tmp_path)
    data = bytearray(wal.read_bytes())
    at = data.index(b"c2-7")  # a string of the third commit's rows, stored as it is
    data[at : at + 4] = b"XXXX"
    wal.write_bytes(bytes(data))
    reading = read_wal(wal)
    assert "checksum" in (reading.problem or "")
    assert len(reading.intact) == 2 and len(reading.later) == COMMITS - 3
    with pytest.raises(duckdb.Error, match="Corrupt WAL file"):
        _rows(db)


def test_the_commits_beyond_the_damage_replay_into_another_database(crashed: Path, tmp_path: Path) -> None:
    _, wal = _copy(crashed, tmp_path)
    data = bytearray(wal.read_bytes())
    at = data.index(b"c2-7")
    data[at : at + 4] = b"XXXX"
    reading_data = bytes(data)
    wal.write_bytes(reading_data)
    later = read_wal(wal).later
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE events (event_id VARCHAR, n INTEGER)")
    con.execute("CHECKPOINT")
    con.close()
    other.with_name(other.name + ".wal").write_bytes(wal_of_commits(reading_data, later))
    con = duckdb.connect(str(other), read_only=True)
    prefixes = con.execute("SELECT DISTINCT split_part(event_id, '-', 1) FROM events ORDER BY 1").fetchall()
    con.close()
    assert [p for (p,) in prefixes] == [f"c{c}" for c in range(3, COMMITS)]
