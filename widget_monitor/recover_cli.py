"""`widget-monitor recover --data-dir DIR`: salvage damaged store files back into the store.

Run it with the server stopped (it says so and stops if the store is held). It prints
what each damage report under `<data-dir>/damaged/` got back and what remains lost, and
marks the reports resolved; progress goes to stderr (docs/recovery.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from analytics.errors import MonitorError
from analytics.storage.file_modes import restrict_data_dir
from analytics.storage.store import DB_FILENAME
from analytics.storage.store_damage import DAMAGED_SUBDIR, REPORT_FILENAME
from analytics.storage.store_recovery import Recovery, recover
from widget_monitor.data_dir import add_data_dir

PROG = "widget-monitor recover"
_PROGRESS_EVERY_S = 1.0


def add_recover_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `recover` on the `widget-monitor` parser."""
    parser = commands.add_parser(
        "recover", help="salvage damaged store files kept in <data-dir>/damaged (server stopped)"
    )
    add_data_dir(parser)
    parser.add_argument(
        "--verify",
        action="store_true",
        help="first read every row of the database file; keep it aside if a block fails its checksum",
    )
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")
    parser.set_defaults(handler=_recover)


def _recover(args: argparse.Namespace) -> int:
    data_dir: Path = args.data_dir
    if not (data_dir / DB_FILENAME).exists() and not (data_dir / DAMAGED_SUBDIR).exists():
        print(f"{PROG}: no store in {data_dir}", file=sys.stderr)
        return 2
    restrict_data_dir(data_dir)  # what it writes is as private as what the server writes
    try:
        recoveries = recover(data_dir, verify=args.verify, progress=_progress())
    except MonitorError as exc:
        print(f"{PROG}: {exc.message}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([r.to_wire() for r in recoveries], indent=2))
    elif not recoveries:
        print(f"nothing to recover: no unresolved damage report in {data_dir / DAMAGED_SUBDIR}")
    for recovery in [] if args.json else recoveries:
        print(_described(recovery))
    return 0


def _described(recovery: Recovery) -> str:
    report = recovery.report
    lines = [f"{report.id}: {report.problem} ({', '.join(f.name for f in report.files)})"]
    for source in recovery.sources:
        outcome = (
            f"{source.restored} events restored of {source.read} read"
            if source.read
            else "nothing to restore"
        )
        notes = f" ({'; '.join(source.notes)})" if source.notes else ""
        lines.append(f"  {source.source}: {outcome}{notes}")
    lines.append(f"  still lost: {recovery.still_lost}")
    lines.append(f"  report: {report.folder / REPORT_FILENAME} (resolved)")
    return "\n".join(lines)


def _progress() -> Callable[[str], None]:
    """Progress lines to stderr: each report's first line, the steps at most once a second."""
    last = 0.0

    def show(line: str) -> None:
        nonlocal last
        now = time.monotonic()
        if not line.startswith(" ") or now - last >= _PROGRESS_EVERY_S:
            print(line, file=sys.stderr, flush=True)
            last = now

    return show
