"""The data directory is the server's alone: 0700 for it and its folders, 0600 for its files."""

from __future__ import annotations

import os
from pathlib import Path


def restrict_data_dir(data_dir: Path) -> None:
    """Make `data_dir` (created if missing) and everything in it private to this user.

    Also sets the process umask to 077, so that files made later (DuckDB's WAL, lake
    partitions, the access file) are created private rather than fixed afterwards.
    """
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    for root, dirs, files in os.walk(data_dir):
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o700)
        for name in files:
            path = os.path.join(root, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)
