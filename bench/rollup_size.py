"""Bytes of one day of hourly rollups as zstd Parquet, in three row orders, beside each other.

    .venv/bin/python bench/rollup_size.py DATA_DIR [--day-offset 40]

DATA_DIR is a stopped server's data dir (e.g. kept by `bench/history_bench.py --keep`). One
day is measured, not all of them: the history bench copies one template day, so across days
zstd would find each day's rows again and flatter any order. Orders: as the table holds them,
(hour, measure, customer, version, k) as `roll_up` now inserts them, and key-first.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import duckdb

KEY = ("hour", "measure", "customer_id", "widget_version", "k")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--day-offset", type=int, default=40, help="days after the first rolled-up hour")
    args = parser.parse_args()
    con = duckdb.connect(str(args.data_dir / "widget-monitor.duckdb"), read_only=True)
    row = con.execute(f"SELECT min(hour) + INTERVAL {args.day_offset} DAY FROM rollup_buckets").fetchone()
    day = row[0] if row else None
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE table_name SIMILAR TO 'rollup_(stats|buckets).*' "
            "AND table_name NOT LIKE '%daily' ORDER BY 1"
        ).fetchall()
    ]
    totals = [0, 0, 0]
    with tempfile.TemporaryDirectory() as tmp:
        for table in tables:
            columns = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
            keys = [c for c in KEY if c in columns]
            key_first = [*keys[1:-1], "hour", *keys[-1:]] if "k" in keys else [*keys[1:], "hour"]
            rows = f"FROM {table} WHERE hour >= $d AND hour < $d + INTERVAL 1 DAY"
            sizes = []
            for n, order in enumerate(
                ("", f" ORDER BY {', '.join(keys)}", f" ORDER BY {', '.join(key_first)}")
            ):
                path = Path(tmp) / f"{table}.{n}.parquet"
                con.execute(
                    f"COPY (SELECT * {rows}{order}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)",
                    {"d": day},
                )
                sizes.append(path.stat().st_size)
            count = con.execute(f"SELECT count(*) {rows}", {"d": day}).fetchone()
            print(
                f"{table:34s} {count[0] if count else 0:>8,} rows "
                + " ".join(f"{s / 1e3:8.1f} kB" for s in sizes)
            )
            totals = [t + s for t, s in zip(totals, sizes, strict=True)]
    print(f"{'all hourly tables, ' + str(day)[:10]:43s} " + " ".join(f"{t / 1e3:8.1f} kB" for t in totals))
    print("columns: as stored, hour-first (as inserted now), key-first")


if __name__ == "__main__":
    main()
