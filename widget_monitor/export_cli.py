"""`widget-monitor export FILE`: the events of [--from, --to) to Parquet, CSV or JSONL, with a progress bar.

Through `GET /api/monitoring/events/export` when a server answers, otherwise from the data
dir of a stopped server (docs/export-import.md).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from analytics.errors import MonitorError
from analytics.ingest.wire_rows import (
    FILE_FORMATS,
    FIRST_MOMENT,
    LAST_MOMENT,
    copy_statement,
    event_lines,
    export_window,
    wire_timestamp,
)
from analytics.storage.lake import events_source, has_manifest
from analytics.storage.store import DB_FILENAME
from analytics.window import Window
from widget_monitor.api_auth import api_headers, refusal
from widget_monitor.progress import Progress
from widget_monitor.transfer import (
    ROWS_PER_READ,
    TransferFailed,
    UsageError,
    offline_dir,
    read_only,
    server_answers,
)


def export_events(args: argparse.Namespace) -> int:
    file_format = args.format or args.file.suffix.lower().removeprefix(".")
    if file_format not in FILE_FORMATS:
        raise UsageError(f"{args.file.name!r} does not say the format: add --format {'|'.join(FILE_FORMATS)}")
    try:
        window = export_window(args.start, args.end, args.customer_id or None)
    except MonitorError as exc:
        raise UsageError(exc.message) from None
    if not args.file.parent.is_dir():
        raise UsageError(f"no directory {args.file.parent} to write {args.file.name} in")
    os.umask(0o077)  # the rows may hold personal data: the file is the user's alone (0600)
    if server_answers(args.api_url):
        progress = _export_online(args.api_url, window, file_format, args.file)
    else:
        progress = _export_offline(offline_dir(args), window, file_format, args.file)
    progress.done(f"exported {progress.total} events to {args.file} ({file_format})")
    return 0


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """A partial file beside `path`, moved onto it once complete (and removed if not)."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def _export_online(api_url: str, window: Window, file_format: str, dest: Path) -> Progress:
    url = api_url.rstrip("/") + "/api/monitoring/events/export"
    params = {"format": file_format}
    if window.start != FIRST_MOMENT:  # unbounded: the server's defaults (every event)
        params["from"] = wire_timestamp(window.start)
    if window.end != LAST_MOMENT:
        params["to"] = wire_timestamp(window.end)
    if window.customer_id is not None:
        params["customerId"] = window.customer_id
    try:
        with (
            httpx.Client(timeout=httpx.Timeout(600, connect=10), headers=api_headers()) as client,
            client.stream("GET", url, params=params) as answer,
        ):
            if answer.status_code != 200:
                answer.read()
                raise TransferFailed(refusal(url, answer, admin=False))
            progress = Progress("exporting", int(answer.headers.get("x-export-events", "0")))
            size = max(1, int(answer.headers.get("content-length") or 0))
            received = lines = 0
            with _replacing(dest) as partial, partial.open("wb") as out:
                for chunk in answer.iter_bytes():
                    out.write(chunk)
                    received += len(chunk)
                    lines += chunk.count(b"\n")
                    # JSONL has a line per event; Parquet and CSV go in proportion to their bytes
                    progress.show(lines if file_format == "jsonl" else progress.total * received // size)
    except httpx.TransportError as exc:
        raise TransferFailed(f"the export from {url} broke off: {exc}") from exc
    return progress


def _export_offline(data_dir: Path, window: Window, file_format: str, dest: Path) -> Progress:
    with read_only(data_dir / DB_FILENAME) as con:
        con.begin()  # one snapshot (the server is stopped, but a read-only open costs nothing)
        # (a store an earlier release wrote has no lake manifest)
        events = events_source(con, window.start, window.end) if has_manifest(con) else "events"
        found = con.execute(f"SELECT count(*) FROM {events} WHERE {window.where}", window.params()).fetchone()
        progress = Progress("exporting", int(found[0]) if found else 0)
        with _replacing(dest) as partial:
            if file_format != "jsonl":
                con.execute(*copy_statement(window, partial, file_format, events))
                return progress
            # JSONL: the rows in Parquet first (one snapshot), then a line per row
            rows = partial.with_name(partial.name + ".parquet")
            try:
                con.execute(*copy_statement(window, rows, "jsonl", events))
                with partial.open("wb") as out:
                    done = 0
                    for batch in pq.ParquetFile(rows).iter_batches(batch_size=ROWS_PER_READ):
                        out.write(event_lines(batch))
                        done += batch.num_rows
                        progress.show(done)
            finally:
                rows.unlink(missing_ok=True)
    return progress
