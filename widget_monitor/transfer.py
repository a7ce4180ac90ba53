"""What `export` and `import` share: where the events are (a server, else a data dir), and how they fail."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
ROWS_PER_READ = 5000  # rows of a Parquet file read at a time


class TransferFailed(RuntimeError):
    """The server or the store refused, or could not be reached (exit 1)."""


class UsageError(ValueError):
    """The command line asks for something that cannot be done (exit 2)."""


def server_answers(api_url: str) -> bool:
    """Whether a server listens at `api_url` (one that is there but slow is not taken for none)."""
    try:
        httpx.get(api_url.rstrip("/") + "/healthz", timeout=httpx.Timeout(30, connect=3))
    except httpx.ConnectError:
        return False
    except httpx.TransportError as exc:
        raise TransferFailed(f"the server at {api_url} does not answer: {exc}") from exc
    return True


def offline_dir(args: argparse.Namespace) -> Path:
    data_dir: Path = args.data_dir
    print(f"no server answers at {args.api_url}: working on {data_dir} directly", file=sys.stderr)
    return data_dir


def read_only(db: Path) -> duckdb.DuckDBPyConnection:
    if not db.exists():
        raise TransferFailed(f"no event store at {db}")
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise TransferFailed(
                f"{db.parent} is in use by a running server: pass that server's --api-url"
            ) from None
        raise TransferFailed(f"cannot open {db}: {exc}") from None
    con.execute("SET TimeZone = 'UTC'")  # CSV writes times in the session's zone
    con.execute("SET enable_progress_bar = false")
    return con
