"""`widget-monitor export FILE` and `import FILE`: events out to Parquet, CSV or JSONL, and back in.

    widget-monitor export events.parquet --from 2026-11-01 --to 2026-12-01 [--customer-id acme]
    widget-monitor import events.jsonl

Through the API when a server answers at `--api-url` (the token: WIDGET_MONITOR_TOKEN, else
WIDGET_MONITOR_ADMIN_TOKEN; importing needs an admin); otherwise on `--data-dir` directly,
with the validation and `eventId` dedupe of the API (docs/export-import.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from analytics.ingest.wire_rows import FILE_FORMATS
from analytics.window import as_utc
from widget_monitor.data_dir import add_data_dir
from widget_monitor.export_cli import export_events
from widget_monitor.import_cli import import_events
from widget_monitor.transfer import DEFAULT_API_URL, TransferFailed, UsageError


def add_transfer_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `export` and `import` on the `widget-monitor` parser."""
    out = commands.add_parser("export", help="write the events of [--from, --to) to Parquet, CSV or JSONL")
    out.add_argument("file", type=Path, help="the file to write (replaced if it exists)")
    out.add_argument("--from", dest="start", type=_moment, help="ISO 8601 (UTC unless it says); default: all")
    out.add_argument("--to", dest="end", type=_moment, help="ISO 8601, excluded; default: all")
    out.add_argument("--format", choices=FILE_FORMATS, help="default: FILE's suffix (.parquet, .csv, .jsonl)")
    out.add_argument("--customer-id", help="one customer's events (default: every customer)")
    _add_location(out)
    out.set_defaults(handler=_guarded(export_events))
    into = commands.add_parser("import", help="store the events of a JSONL or Parquet file (backfill)")
    into.add_argument(
        "file", type=Path, help="JSONL in the ingest schema, or Parquet with the table's columns"
    )
    _add_location(into)
    into.set_defaults(handler=_guarded(import_events))


def _add_location(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url", default=DEFAULT_API_URL, help=f"a running server (default: {DEFAULT_API_URL})"
    )
    add_data_dir(parser, "when no server answers; ")


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
