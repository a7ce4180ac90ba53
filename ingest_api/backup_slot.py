"""One backup at a time: the snapshot being streamed, and giving it up when its client has gone."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

# A snapshot whose stream has not moved for this long is abandoned (its client vanished, or
# never started reading): the next backup removes it and takes the slot.
STALE_S = 120.0


class BackupSlot:
    """Who holds the one backup allowed at a time, and when its stream last moved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folder: Path | None = None
        self._moved = 0.0

    def claim(self, folder: Path) -> bool:
        """Take the slot for `folder`; False while another backup's stream is moving."""
        with self._lock:
            if self._folder is not None:
                if time.monotonic() - self._moved < STALE_S:
                    return False
                shutil.rmtree(self._folder, ignore_errors=True)
            self._folder, self._moved = folder, time.monotonic()
            return True

    def sweep(self) -> None:
        """Remove an abandoned snapshot (its stream never started, or stalled): a periodic job."""
        with self._lock:
            if self._folder is not None and time.monotonic() - self._moved >= STALE_S:
                shutil.rmtree(self._folder, ignore_errors=True)
                self._folder = None

    def moved(self) -> None:
        self._moved = time.monotonic()

    def release(self, folder: Path) -> None:
        """Remove `folder` and free the slot (if it still holds that folder)."""
        shutil.rmtree(folder, ignore_errors=True)
        with self._lock:
            if self._folder == folder:
                self._folder = None
