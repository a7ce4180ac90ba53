"""`widget-monitor export FILE` and `import FILE`: events out to Parquet, CSV or JSONL, and back in.

    widget-monitor export events.parquet --from 2026-11-01 --to 2026-12-01 [--customer-id acme]
    widget-monitor import events.jsonl

Through the API when a server answers at `--api-url` (the token: WIDGET_MONITOR_TOKEN, else
WIDGET_MONITOR_ADMIN_TOKEN; importing needs an admin); otherwise on `--data-dir` directly,
with the validation and `eventId` dedupe of the API (docs/export-import.md).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import httpx
import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.errors import BadRequest, InvalidEvents, MonitorError, PayloadTooLarge
from analytics.ingest.intake import read_body
from analytics.ingest.wire_rows import (
    FILE_FORMATS,
    FIRST_MOMENT,
    LAST_MOMENT,
    copy_statement,
    event_lines,
    event_of_row,
    export_window,
    wire_timestamp,
)
from analytics.storage.file_modes import restrict_data_dir
from analytics.storage.lake import events_source, has_manifest
from analytics.storage.store import DB_FILENAME, EventStore, IngestBatch
from analytics.window import Window, as_utc
from ingest_api.settings import Settings
from widget_monitor.demo_loader import admin_headers
from widget_monitor.progress import Progress

DEFAULT_API_URL = "http://127.0.0.1:8000"
BATCH_EVENTS = 1000  # the API's limit per request
BATCH_BYTES = 512 * 1024  # half its default body limit (a batch refused as too big is split)
SHOWN_REJECTIONS = 5
_RETRIES = 8  # 429 and 503 store nothing: the batch is sent again after Retry-After
_ROWS_PER_READ = 5000
_IN_BATCH = re.compile(r"^\$(\[\d+\])?\.?")  # `$[3].metric.x` -> `metric.x`


class TransferFailed(RuntimeError):
    """The server or the store refused, or could not be reached (exit 1)."""


class UsageError(ValueError):
    """The command line asks for something that cannot be done (exit 2)."""


def add_transfer_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `export` and `import` on the `widget-monitor` parser."""
    out = commands.add_parser("export", help="write the events of [--from, --to) to Parquet, CSV or JSONL")
    out.add_argument("file", type=Path, help="the file to write (replaced if it exists)")
    out.add_argument("--from", dest="start", type=_moment, help="ISO 8601 (UTC unless it says); default: all")
    out.add_argument("--to", dest="end", type=_moment, help="ISO 8601, excluded; default: all")
    out.add_argument("--format", choices=FILE_FORMATS, help="default: FILE's suffix (.parquet, .csv, .jsonl)")
    out.add_argument("--customer-id", help="one customer's events (default: every customer)")
    _add_location(out)
    out.set_defaults(handler=_guarded(_export))
    into = commands.add_parser("import", help="store the events of a JSONL or Parquet file (backfill)")
    into.add_argument(
        "file", type=Path, help="JSONL in the ingest schema, or Parquet with the table's columns"
    )
    _add_location(into)
    into.set_defaults(handler=_guarded(_import))


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url", default=DEFAULT_API_URL, help=f"a running server (default: {DEFAULT_API_URL})"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="when no server answers; default: WIDGET_MONITOR_DATA_DIR, else ./data"
    )


def _moment(text: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time (2026-11-01T00:00:00Z)") from None


def _guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except UsageError as exc:
            print(f"widget-monitor {args.command}: {exc}", file=sys.stderr)
            return 2
        except TransferFailed as exc:
            print(f"\nwidget-monitor {args.command}: {exc}", file=sys.stderr)
            return 1

    return handler


def api_headers(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """`Authorization` with WIDGET_MONITOR_TOKEN (any API token), else the admin token, else none."""
    token = environ.get("WIDGET_MONITOR_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else admin_headers(environ)


def _server_answers(api_url: str) -> bool:
    """Whether a server listens at `api_url` (one that is there but slow is not taken for none)."""
    try:
        httpx.get(api_url.rstrip("/") + "/healthz", timeout=httpx.Timeout(30, connect=3))
    except httpx.ConnectError:
        return False
    except httpx.TransportError as exc:
        raise TransferFailed(f"the server at {api_url} does not answer: {exc}") from exc
    return True


def _offline_dir(args: argparse.Namespace) -> Path:
    data_dir: Path = args.data_dir or Settings().data_dir
    print(f"no server answers at {args.api_url}: working on {data_dir} directly", file=sys.stderr)
    return data_dir


def _answer_text(answer: httpx.Response) -> str:
    try:
        return str(answer.json().get("message", answer.text))[:300]
    except ValueError:
        return answer.text[:300]


# -- export ---------------------------------------------------------------------------------
def _export(args: argparse.Namespace) -> int:
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
    if _server_answers(args.api_url):
        progress = _export_online(args.api_url, window, file_format, args.file)
    else:
        progress = _export_offline(_offline_dir(args), window, file_format, args.file)
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
                raise TransferFailed(f"{url} answered {answer.status_code}: {_answer_text(answer)}")
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


def _read_only(db: Path) -> duckdb.DuckDBPyConnection:
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


def _export_offline(data_dir: Path, window: Window, file_format: str, dest: Path) -> Progress:
    with _read_only(data_dir / DB_FILENAME) as con:
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
                    for batch in pq.ParquetFile(rows).iter_batches(batch_size=_ROWS_PER_READ):
                        out.write(event_lines(batch))
                        done += batch.num_rows
                        progress.show(done)
            finally:
                rows.unlink(missing_ok=True)
    return progress


# -- import ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Item:
    """One event of the file as JSON text, by its line or row (from 1); `problem` if it is not JSON."""

    number: int
    raw: bytes = b""
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a destination made of one batch: counts, and the rejections by index in the batch."""

    stored: int
    duplicates: int
    rejected: list[dict[str, Any]]


class Refused(Exception):
    """The destination refused a whole batch (too big, unreadable): it is split, or its one event rejected."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Destination(Protocol):
    def put(self, body: bytes) -> Answer: ...


@dataclass
class Tally:
    """The counts of an import, and the first rejections by their place in the file."""

    unit: str  # "line" or "row"
    stored: int = 0
    duplicates: int = 0
    rejected: int = 0
    first: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, number: int, reason: str) -> None:
        self.rejected += 1
        bisect.insort(self.first, (number, reason))
        del self.first[SHOWN_REJECTIONS:]

    def report(self, name: str) -> str:
        counts = f"{self.stored} stored, {self.duplicates} duplicates, {self.rejected} rejected"
        lines = [f"imported {name}: {counts}"]
        lines += [f"  {self.unit} {number}: {reason}" for number, reason in self.first]
        if self.rejected > len(self.first):
            lines.append(f"  (and {self.rejected - len(self.first)} more)")
        return "\n".join(lines)


def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    if not path.is_file():
        raise UsageError(f"no file {path}")
    if path.suffix.lower() == ".csv":
        raise UsageError("CSV is for spreadsheets only: import the JSONL or Parquet export")
    with path.open("rb") as head:
        is_parquet = head.read(4) == b"PAR1"
    try:
        total, items = _parquet_items(path) if is_parquet else _jsonl_items(path)
    except pa.ArrowException as exc:
        raise UsageError(f"{path} is not a Parquet file one can read: {exc}") from None
    tally = Tally("row" if is_parquet else "line")
    if _server_answers(args.api_url):
        with httpx.Client(timeout=httpx.Timeout(120, connect=10), headers=api_headers()) as client:
            _send_all(_Api(client, args.api_url), items, total, tally)
    else:
        settings = Settings()
        with _opened_store(_offline_dir(args), settings) as store:
            _send_all(_Store(store, settings), items, total, tally)
    print(tally.report(path.name), file=sys.stderr)
    return 1 if tally.rejected else 0


def _jsonl_items(path: Path) -> tuple[int, Iterator[Item]]:
    """The non-blank lines; one that is not JSON is rejected here (a batch of it is unreadable)."""
    with path.open("rb") as counting:
        total = sum(1 for line in counting if line.strip())

    def items() -> Iterator[Item]:
        with path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    msgspec.json.decode(line)
                except msgspec.DecodeError as exc:
                    yield Item(number, problem=f"not valid JSON: {exc}")
                    continue
                yield Item(number, line.strip())

    return total, items()


def _parquet_items(path: Path) -> tuple[int, Iterator[Item]]:
    """The rows as wire events (`wire_rows.event_of_row`), the intake judges them as any other."""
    source = pq.ParquetFile(path)
    encode = msgspec.json.Encoder().encode

    def items() -> Iterator[Item]:
        number = 0
        for batch in source.iter_batches(batch_size=_ROWS_PER_READ):
            for row in batch.to_pylist():
                number += 1
                yield Item(number, encode(event_of_row(row)))

    return source.metadata.num_rows, items()


def _send_all(to: Destination, items: Iterator[Item], total: int, tally: Tally) -> None:
    progress = Progress("importing", total)
    batch: list[Item] = []
    size = done = 0
    for item in items:
        if item.problem is not None:
            tally.reject(item.number, item.problem)
            done += 1
            continue
        if batch and (len(batch) == BATCH_EVENTS or size + len(item.raw) > BATCH_BYTES):
            _send(to, batch, tally)
            done += len(batch)
            progress.show(done)
            batch, size = [], 0
        batch.append(item)
        size += len(item.raw) + 1
    if batch:
        _send(to, batch, tally)
    progress.show(total)
    progress.out.write("\n")


def _send(to: Destination, batch: list[Item], tally: Tally) -> None:
    try:
        answer = to.put(b"[" + b",".join(item.raw for item in batch) + b"]")
    except Refused as exc:
        if len(batch) == 1:
            tally.reject(batch[0].number, exc.message)
            return
        half = len(batch) // 2
        _send(to, batch[:half], tally)
        _send(to, batch[half:], tally)
        return
    tally.stored += answer.stored
    tally.duplicates += answer.duplicates
    for rejection in answer.rejected:
        path = _IN_BATCH.sub("", rejection["path"])
        reason = f"{path}: {rejection['message']}" if path else rejection["message"]
        tally.reject(batch[rejection["index"]].number, reason)


class _Api:
    """POST /api/monitoring/widget, as the SDK does (an admin token: no age limit, any customer)."""

    def __init__(self, client: httpx.Client, api_url: str) -> None:
        self.client, self.url = client, api_url.rstrip("/") + "/api/monitoring/widget"

    def put(self, body: bytes) -> Answer:
        for _ in range(_RETRIES):
            try:
                answer = self.client.post(
                    self.url, content=body, headers={"Content-Type": "application/json"}
                )
            except httpx.TransportError as exc:
                raise TransferFailed(f"cannot reach {self.url}: {exc}") from exc
            if answer.status_code in (200, 422):  # 422: no event of the batch is valid
                got = answer.json()
                return Answer(got.get("stored", 0), got.get("duplicates", 0), got["rejected"])
            if answer.status_code in (400, 413):
                raise Refused(_answer_text(answer))
            if answer.status_code not in (429, 503):
                raise TransferFailed(f"{self.url} answered {answer.status_code}: {_answer_text(answer)}")
            time.sleep(min(10.0, float(answer.headers.get("retry-after") or 1)))
        raise TransferFailed(f"{self.url} stayed overloaded: {_answer_text(answer)}")


class _Store:
    """The store itself, through the API's intake as an admin token posts (no 7-day limit)."""

    def __init__(self, store: EventStore, settings: Settings) -> None:
        self.store, self.settings = store, settings

    def put(self, body: bytes) -> Answer:
        received_us = time.time_ns() // 1000
        # as the API: nothing older than raw retention's cut, whoever sends it
        kept_from = self.settings.retention.raw_from(datetime.now(UTC))
        try:
            intake = read_body(
                body,
                received_us=received_us,
                max_events=BATCH_EVENTS,
                max_future_skew_us=self.settings.max_future_skew_ms * 1000,
                kept_from_us=None if kept_from is None else int(kept_from.timestamp() * 1_000_000),
            )
        except InvalidEvents as exc:
            return Answer(0, 0, exc.details["rejected"])
        except (BadRequest, PayloadTooLarge) as exc:
            raise Refused(exc.message) from exc
        [duplicates] = self.store.append([IngestBatch.of_events(intake.accepted, received_us)])
        return Answer(len(intake.accepted) - duplicates, duplicates, [r.to_dict() for r in intake.rejected])


@contextlib.contextmanager
def _opened_store(data_dir: Path, settings: Settings) -> Iterator[EventStore]:
    """The store of a stopped server (refused while one runs: its WAL is being written)."""
    if (data_dir / DB_FILENAME).exists():
        _read_only(data_dir / DB_FILENAME).close()  # says so when a server holds the lock
    restrict_data_dir(data_dir)
    store = EventStore.open(
        data_dir, dedupe_horizon_s=settings.dedupe_horizon_hours * 3600, limits=settings.duckdb_limits
    )
    try:
        yield store
    finally:
        store.close()
