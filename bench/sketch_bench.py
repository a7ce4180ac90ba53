"""The rollup sketch (analytics/rollups/sketch.py) beside its references, in one run.

    .venv/bin/python bench/sketch_bench.py            # about 20 seconds

For lognormal "render times" (n values): the time to build the sketch in numpy and in
DuckDB SQL (bucket index + GROUP BY, as rollups are written), against DDSketch's own Python
package (the oracle, value by value) and DuckDB's exact `quantile_cont`; and the largest
relative error of p50/p95/p99 against numpy's exact quantiles, beside DuckDB's
`approx_quantile` (a t-digest with no stated bound). Medians of --rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
from ddsketch import DDSketch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.rollups.sketch import ALPHA, Sketch, bucket_sql

QS = (0.5, 0.95, 0.99)


def timed(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def worst(estimates: list[float], exact: list[float]) -> float:
    return max(abs(e - x) / x for e, x in zip(estimates, exact, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    values = np.random.default_rng(42).lognormal(2.3, 0.8, args.n)
    exact = [float(np.quantile(values, q)) for q in QS]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT v FROM (SELECT unnest($v) AS v)", {"v": values.tolist()})

    ours = Sketch.of(values)
    t_numpy = timed(lambda: Sketch.of(values), args.rounds)
    bucket_rows = f"SELECT {bucket_sql('v')} AS k, count(*) AS n FROM t WHERE v > 0 GROUP BY ALL"
    t_sql = timed(lambda: con.execute(bucket_rows).fetchall(), args.rounds)
    t_exact = timed(
        lambda: con.execute("SELECT quantile_cont(v, [0.5, 0.95, 0.99]) FROM t").fetchall(), args.rounds
    )
    approx = con.execute("SELECT approx_quantile(v, [0.5, 0.95, 0.99]) FROM t").fetchone()[0]

    sample = values[: min(100_000, args.n)]

    def ddsketch_add() -> DDSketch:
        sketch = DDSketch(relative_accuracy=ALPHA)
        for v in sample:
            sketch.add(float(v))
        return sketch

    t_dd = timed(ddsketch_add, 1) * args.n / sample.size
    sql_sketch = Sketch.from_rows(
        con.execute(bucket_rows).fetchall(),
        zeros=0,
        count=int(values.size),
        total=float(values.sum()),
        low=float(values.min()),
        high=float(values.max()),
    )
    print(f"{args.n:,} lognormal values; α = {ALPHA:.4%}; medians of {args.rounds}\n")
    print("| what | time per million values | worst relative error of p50/p95/p99 |")
    print("|---|---:|---:|")
    per_m = 1000 * 1e6 / args.n
    rows = [
        (
            "sketch, numpy (`Sketch.of`)",
            f"{t_numpy * per_m:,.0f} ms",
            f"{worst(ours.quantiles(QS), exact):.3%}",
        ),
        (
            "sketch, DuckDB SQL (bucket rows, as rollups)",
            f"{t_sql * per_m:,.0f} ms",
            f"{worst(sql_sketch.quantiles(QS), exact):.3%}",
        ),
        ("DDSketch Python package, value by value", f"{t_dd * per_m:,.0f} ms", "–"),
        ("DuckDB exact `quantile_cont`", f"{t_exact * per_m:,.0f} ms", "0"),
        ("DuckDB `approx_quantile` (t-digest, no stated bound)", "–", f"{worst(list(approx), exact):.3%}"),
    ]
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nbuckets used: {len(ours.buckets)}; guarantee: {ALPHA:.3%}")


if __name__ == "__main__":
    main()
