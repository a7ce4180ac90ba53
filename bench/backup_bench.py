"""How long a backup and a restore take, and their size, beside copying the DuckDB file (the reference).

    .venv/bin/python bench/backup_bench.py --events 5000000      # renders and as many API calls

A store filled as bench/rollup_bench.py fills it (30 days, rolled up), then, alternating over
--rounds: `backup.take_snapshot` (EXPORT DATABASE in one transaction, what `POST /backup`
does), `backup.restore` into an empty dir (IMPORT DATABASE, checksums checked), and the
reference: `shutil.copy` of the checkpointed database file (what a backup of a stopped
server amounts to). Medians of wall time.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.access.credential_store import CredentialStore
from analytics.rollups import maintain
from analytics.storage import backup
from analytics.storage.store import DB_FILENAME, EventStore
from bench.rollup_bench import fill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="backup-bench-"))
    data = root / "data"
    store = EventStore.open(data)
    credentials = CredentialStore.open(data)
    print(f"filling {2 * args.events:,} events ...", file=sys.stderr, flush=True)
    fill(store, args.events)
    with store.cursor() as cur:
        now = datetime(2026, 12, 1, tzinfo=UTC)
        while maintain.advance(cur, safe_until=now, now=now, max_hours=100_000).pending:
            pass
    store.checkpoint()
    db_bytes = (data / DB_FILENAME).stat().st_size
    took: dict[str, list[float]] = {"backup": [], "restore": [], "copy": []}
    size = 0
    for round_no in range(args.rounds):
        into, restored, copied = root / f"b{round_no}", root / f"r{round_no}", root / f"c{round_no}.duckdb"
        started = time.perf_counter()
        with store.cursor() as cur:
            manifest = backup.take_snapshot(cur, data, into, credentials.backup_to)
        took["backup"].append(time.perf_counter() - started)
        size = manifest.total_bytes
        started = time.perf_counter()
        backup.restore(into, restored)
        took["restore"].append(time.perf_counter() - started)
        started = time.perf_counter()
        shutil.copy(data / DB_FILENAME, copied)
        took["copy"].append(time.perf_counter() - started)
        shutil.rmtree(into), shutil.rmtree(restored), copied.unlink()
        print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    med = {k: statistics.median(v) for k, v in took.items()}
    print(f"{2 * args.events:,} events; database file {db_bytes / 1e6:,.0f} MB, backup {size / 1e6:,.0f} MB")
    print(
        f"backup (server running) {med['backup']:.1f} s, restore {med['restore']:.1f} s, "
        f"copying the stopped file {med['copy']:.1f} s; backup / copy {med['backup'] / med['copy']:.1f}x"
    )
    store.close()
    credentials.close()
    shutil.rmtree(root)


if __name__ == "__main__":
    main()
