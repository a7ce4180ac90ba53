"""`widget-monitor backup DEST` (from a running server, by its API) and `restore SRC` (into a stopped one).

    widget-monitor backup backups/2026-12-02 --api-url http://127.0.0.1:8000
    widget-monitor restore backups/2026-12-02 --data-dir /var/lib/widget-monitor [--force]

The backup is a directory (docs/backup.md): checked file by file against its manifest once
received, and again before a restore. The admin token comes from WIDGET_MONITOR_ADMIN_TOKEN.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx

from analytics.errors import MonitorError
from analytics.storage import backup
from analytics.storage.file_modes import restrict_data_dir
from widget_monitor.api_auth import admin_headers, refusal
from widget_monitor.data_dir import add_data_dir
from widget_monitor.progress import Progress, megabytes


def add_backup_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backup` and `restore` on the `widget-monitor` parser."""
    taking = commands.add_parser("backup", help="snapshot a running server into the directory DEST")
    taking.add_argument("dest", type=Path, help="a new (or empty) directory")
    taking.add_argument("--api-url", default="http://127.0.0.1:8000", help="default: http://127.0.0.1:8000")
    taking.set_defaults(handler=_backup)
    putting = commands.add_parser("restore", help="restore the backup SRC into a stopped data dir")
    putting.add_argument("src", type=Path, help="a directory written by `widget-monitor backup`")
    add_data_dir(putting)
    putting.add_argument(
        "--force", action="store_true", help="move the data dir's current contents aside (never deleted)"
    )
    putting.set_defaults(handler=_restore)


def _backup(args: argparse.Namespace) -> int:
    dest: Path = args.dest
    if dest.exists() and any(dest.iterdir()):
        print(f"widget-monitor backup: {dest} is not empty", file=sys.stderr)
        return 2
    made = not dest.exists()
    restrict_data_dir(dest)  # a backup holds every customer's events and the credentials' hashes
    try:
        manifest = _received(args.api_url.rstrip("/") + "/api/monitoring/backup", dest)
    except _Failed as exc:
        _discard(dest, made)  # nothing half-received is left to be taken for a backup
        print(f"\nwidget-monitor backup: {exc}", file=sys.stderr)
        return 1
    print(
        f"\nbacked up {manifest.events:,} events, {manifest.lake_days} lake days, {len(manifest.files)} "
        f"files ({manifest.total_bytes / 1e6:,.1f} MB) to {dest}; every checksum matches",
        file=sys.stderr,
    )
    return 0


class _Failed(Exception):
    """The server refused, could not be reached, or sent a backup that does not check out."""


def _received(url: str, dest: Path) -> backup.Manifest:
    """The server's backup, unpacked into `dest` and checked against its manifest."""
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(600, connect=10), headers=admin_headers()) as client,
            client.stream("POST", url, json={}) as answer,
        ):
            if answer.status_code != 200:
                answer.read()
                raise _Failed(refusal(url, answer, admin=True))
            progress = Progress(
                "receiving", int(answer.headers.get("x-backup-bytes", "0")), counted=megabytes
            )
            with tarfile.open(fileobj=_Reader(_shown(answer.iter_raw(), progress)), mode="r|") as archive:
                archive.extractall(dest, filter="data")
    except httpx.TransportError as exc:
        raise _Failed(f"cannot reach {url}: {exc}") from exc
    except tarfile.TarError as exc:
        raise _Failed(f"the backup from {url} is not a whole archive: {exc}") from exc
    except OSError as exc:
        raise _Failed(f"cannot write the backup into {dest}: {exc}") from exc
    try:
        return backup.verify(dest)
    except MonitorError as exc:
        raise _Failed(exc.message) from exc


def _discard(dest: Path, made: bool) -> None:
    """Empty `dest` (it was empty or absent before), and remove it if this command made it."""
    for child in dest.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    if made:
        dest.rmdir()


def _restore(args: argparse.Namespace) -> int:
    try:
        restored = backup.restore(args.src, args.data_dir, force=args.force)
    except MonitorError as exc:
        print(f"widget-monitor restore: {exc.message}", file=sys.stderr)
        return 2
    restrict_data_dir(restored.data_dir)
    aside = f"; what was there is in {restored.kept_aside}" if restored.kept_aside else ""
    print(
        f"restored {restored.events:,} events and {restored.lake_days} lake days "
        f"into {restored.data_dir}{aside}"
    )
    return 0


def _shown(chunks: Iterator[bytes], progress: Progress) -> Iterator[bytes]:
    """The chunks, counted on the progress bar (its total: the files' bytes, as the server says)."""
    done = 0
    for chunk in chunks:
        done += len(chunk)
        progress.show(done)
        yield chunk


class _Reader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (what tarfile's stream mode reads)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._left = chunk
        size = min(len(buffer), len(self._left))
        buffer[:size] = self._left[:size]
        self._left = self._left[size:]
        return size
