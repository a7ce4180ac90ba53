"""BackupSlot: one backup at a time, and a stream that stalls gives its snapshot up."""

from __future__ import annotations

from pathlib import Path

import pytest

import ingest_api.backup_slot as backup_slot
from ingest_api.backup_slot import BackupSlot


def test_one_backup_at_a_time_until_its_stream_stalls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(backup_slot.time, "monotonic", lambda: clock[0])
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    (first / "events.parquet").write_bytes(b"x")
    slot = BackupSlot()
    assert slot.claim(first)
    clock[0] += backup_slot.STALE_S - 1
    slot.moved()  # its client reads on
    clock[0] += backup_slot.STALE_S - 1
    assert not slot.claim(second) and first.exists()  # busy: the second waits (409)
    clock[0] += 2  # the stream has not moved for STALE_S: abandoned
    assert slot.claim(second) and not first.exists()
    second.mkdir()
    slot.release(second)
    assert not second.exists() and slot.claim(first)


def test_releasing_an_old_folder_leaves_the_new_holder_alone(tmp_path: Path) -> None:
    slot, old, new = BackupSlot(), tmp_path / "old", tmp_path / "new"
    assert slot.claim(old)
    slot.release(old)
    assert slot.claim(new)
    slot.release(old)  # late: the old stream's cleanup ran after the new one took the slot
    assert not slot.claim(tmp_path / "third")  # the new one still holds it


def test_the_sweep_removes_a_snapshot_nobody_streams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [50.0]
    monkeypatch.setattr(backup_slot.time, "monotonic", lambda: clock[0])
    folder = tmp_path / "snapshot"
    folder.mkdir()
    slot = BackupSlot()
    assert slot.claim(folder)
    slot.sweep()
    assert folder.exists()  # fresh: kept
    clock[0] += backup_slot.STALE_S
    slot.sweep()
    assert not folder.exists() and slot.claim(tmp_path / "next")
