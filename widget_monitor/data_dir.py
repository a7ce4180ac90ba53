"""`--data-dir` as every command takes it: WIDGET_MONITOR_DATA_DIR, else ./data, as `serve` reads it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ingest_api.settings import Settings

DATA_DIR_VARIABLE = f"{Settings.model_config['env_prefix']}DATA_DIR"


def default_data_dir() -> Path:
    """The data dir a command works on when it is given none.

    >>> os.environ[DATA_DIR_VARIABLE] = "/var/lib/widget-monitor"
    >>> default_data_dir()
    PosixPath('/var/lib/widget-monitor')
    >>> del os.environ[DATA_DIR_VARIABLE]
    >>> default_data_dir()
    PosixPath('data')
    """
    given = os.environ.get(DATA_DIR_VARIABLE)
    return Path(given) if given else Path(Settings.model_fields["data_dir"].default)


def add_data_dir(parser: argparse.ArgumentParser, used: str = "") -> None:
    """`--data-dir`; `used` says when the command uses it (e.g. "when no server answers; ")."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default_data_dir(),
        help=f"{used}default: {DATA_DIR_VARIABLE}, else ./data",
    )
