"""A small disk of its own for a test: a tmpfs it mounts, fills and unmounts."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["fill_leaving", "free_bytes", "mounted_tmpfs"]


@contextmanager
def mounted_tmpfs(directory: Path, *, size: str = "64m") -> Iterator[Path]:
    """A tmpfs of `size` mounted on `directory` (created), unmounted on the way out.

    Fails the test, with the reason, when it cannot be mounted (not root, no
    CAP_SYS_ADMIN, no `mount`): a test that needs a full disk must not pass without one.
    """
    directory.mkdir(parents=True, exist_ok=True)
    try:
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except OSError as exc:
        pytest.fail(f"cannot run mount to make a {size} tmpfs at {directory}: {exc}")
    if mounted.returncode != 0:
        pytest.fail(
            f"cannot mount a {size} tmpfs at {directory} (needs root or CAP_SYS_ADMIN): "
            f"mount exited {mounted.returncode}: {mounted.stderr.strip() or mounted.stdout.strip()}"
        )
    try:
        if not os.path.ismount(directory):
            pytest.fail(f"mount said yes but {directory} is not a mount point")
        yield directory
    finally:
        unmounted = subprocess.run(["umount", str(directory)], capture_output=True, text=True, timeout=10)
        if unmounted.returncode != 0:
            # still busy (a process left behind holds a file): a mount must not outlive the test
            subprocess.run(["umount", "--lazy", str(directory)], capture_output=True, timeout=10)
            pytest.fail(f"umount {directory} failed, unmounted lazily: {unmounted.stderr.strip()}")


def free_bytes(path: Path) -> int:
    """What an unprivileged writer may still put on the filesystem holding `path`."""
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def fill_leaving(filler: Path, leave: int) -> int:
    """Grow `filler` until at most `leave` bytes are free (or the disk is full); its size.

    Others may be writing at the same time: running out of space before the target is
    reached is the point, not an error.
    """
    chunk = b"\xa5" * (1 << 20)
    with filler.open("ab", buffering=0) as out:
        while (room := free_bytes(filler.parent) - leave) > 0:
            try:
                out.write(chunk[: min(room, len(chunk))])
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                break
    return filler.stat().st_size
