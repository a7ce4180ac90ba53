"""`widget-monitor import FILE`: the events of a JSONL or Parquet file stored, validated and
deduplicated by `eventId` as the API does (the backfill path), with a progress bar.

Through `POST /api/monitoring/widget` when a server answers, otherwise into the data dir of a
stopped server (docs/export-import.md).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from analytics.errors import BadRequest, InvalidEvents, PayloadTooLarge
from analytics.ingest.intake import read_body
from analytics.ingest.wire_rows import event_of_row
from analytics.storage.file_modes import restrict_data_dir
from analytics.storage.store import DB_FILENAME, EventStore, IngestBatch
from ingest_api.settings import Settings
from widget_monitor.api_auth import answer_text, api_headers, refusal
from widget_monitor.progress import Progress
from widget_monitor.transfer import (
    ROWS_PER_READ,
    TransferFailed,
    UsageError,
    offline_dir,
    read_only,
    server_answers,
)

BATCH_EVENTS = 1000  # the API's limit per request
BATCH_BYTES = 512 * 1024  # half its default body limit (a batch refused as too big is split)
SHOWN_REJECTIONS = 5
_RETRIES = 8  # 429 and 503 store nothing: the batch is sent again after Retry-After
_IN_BATCH = re.compile(r"^\$(\[\d+\])?\.?")  # `$[3].metric.x` -> `metric.x`


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


def import_events(args: argparse.Namespace) -> int:
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
    if server_answers(args.api_url):
        with httpx.Client(timeout=httpx.Timeout(120, connect=10), headers=api_headers()) as client:
            _send_all(_Api(client, args.api_url), items, total, tally)
    else:
        settings = Settings()
        with _opened_store(offline_dir(args), settings) as store:
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
        for batch in source.iter_batches(batch_size=ROWS_PER_READ):
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
                raise Refused(answer_text(answer))
            if answer.status_code not in (429, 503):
                raise TransferFailed(refusal(self.url, answer, admin=True))
            time.sleep(min(10.0, float(answer.headers.get("retry-after") or 1)))
        raise TransferFailed(f"{self.url} stayed overloaded: {answer_text(answer)}")


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
        read_only(data_dir / DB_FILENAME).close()  # says so when a server holds the lock
    restrict_data_dir(data_dir)
    store = EventStore.open(
        data_dir, dedupe_horizon_s=settings.dedupe_horizon_hours * 3600, limits=settings.duckdb_limits
    )
    try:
        yield store
    finally:
        store.close()
