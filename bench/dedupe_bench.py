"""What remembering eventIds costs: bytes per id and time per commit, beside a plain set of strings.

    .venv/bin/python bench/dedupe_bench.py               # about half a minute
    .venv/bin/python bench/dedupe_bench.py --ids 5000000

SDK-style ids (`tabId:seq`, a 21-character tab id) arrive in commits of 1000. The
reference is what the store held before (analytics/ingest/dedupe.py up to stop 19): a
set of the id strings and a tuple per commit, checked with `set.isdisjoint`. The same
ids go to `RecentEventIds` (exact strings for the newest, then 8-byte hashes beside
4-byte times) checked with `stored_among`. Memory is what tracemalloc sees allocated
by each structure (the id strings included: they are held nowhere else); times are
medians of per-commit timings, checks on fresh ids and on a retried commit. The peak is the
most tracemalloc saw allocated at once while the ids came in (held plus a merge's scratch).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import tracemalloc
from collections import deque
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.ingest.dedupe import RecentEventIds

COMMIT = 1000


class StringSet:
    """The reference: the store's former dedupe (a set of strings, a tuple of them per commit)."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.commits: deque[tuple[int, tuple[str, ...]]] = deque()

    def add_many(self, ids: list[str], stored_us: int) -> None:
        added = tuple(ids)
        self.ids.update(added)
        self.commits.append((stored_us, added))

    def stored_among(self, ids: set[str]) -> set[str]:
        return set() if self.ids.isdisjoint(ids) else self.ids.intersection(ids)


def sdk_ids(start: int, count: int) -> list[str]:
    # 64 tabs a commit, each with its own sequence numbers (what the SDK sends)
    return [f"tab-{n // 64:017x}:{n % 64}" for n in range(start, start + count)]


def index_of(event_id: str) -> int:
    tab, seq = event_id.removeprefix("tab-").split(":")
    return int(tab, 16) * 64 + int(seq)


def measure(name: str, make, total: int) -> dict[str, float]:
    """Timings from one pass, memory from another under tracemalloc (which slows every allocation)."""
    holder, check = make()
    add_s: list[float] = []
    check_s: list[float] = []
    retry_s: list[float] = []
    now_us = int(time.time() * 1_000_000)
    for start in range(0, total, COMMIT):
        ids = sdk_ids(start, COMMIT)
        unique = set(ids)  # the store checks the set of a commit's ids
        began = time.perf_counter()
        found = check(unique)
        check_s.append(time.perf_counter() - began)
        assert not found, "a new id reported stored"
        began = time.perf_counter()
        holder.add_many(ids, now_us + start)
        add_s.append(time.perf_counter() - began)
        if start % (100 * COMMIT) == 0:
            began = time.perf_counter()
            assert len(check(unique)) == COMMIT, "a retried commit missed"
            retry_s.append(time.perf_counter() - began)
        if start % (500 * COMMIT) == 0:
            print(f"  {name}: {start + COMMIT:>9,} ids timed", file=sys.stderr, flush=True)
    del holder, check
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    holder, _ = make()
    for start in range(0, total, COMMIT):
        holder.add_many(sdk_ids(start, COMMIT), now_us + start)
    held, peak = (traced - base for traced in tracemalloc.get_traced_memory())
    tracemalloc.stop()
    print(f"  {name}: memory measured", file=sys.stderr, flush=True)
    return {
        "bytes_per_id": held / total,
        "peak_mb": peak / 1e6,
        "check_us": statistics.median(check_s) * 1e6,
        "add_us": statistics.median(add_s) * 1e6,
        "retry_us": statistics.median(retry_s) * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", type=int, default=3_000_000)
    args = parser.parse_args()

    def reference() -> tuple[StringSet, object]:
        held = StringSet()
        return held, held.stored_among

    def compact() -> tuple[object, object]:
        ids = RecentEventIds(horizon_s=86_400, max_ids=max(args.ids, 5_000_000))
        stored_below = 0  # ids are stored in order: the store's exact lookup as an oracle that holds nothing

        class Adding:
            def add_many(self, batch: list[str], stored_us: int) -> None:
                nonlocal stored_below
                ids.add_many(batch, stored_us)
                stored_below = index_of(batch[-1]) + 1

        def check(batch: set[str]) -> set[str]:
            return ids.stored_among(
                batch, confirm=lambda found, lo, hi: [c for c in found if index_of(c) < stored_below]
            )

        compact.last = ids  # type: ignore[attr-defined]
        return Adding(), check

    ref = measure("set of strings", reference, args.ids)
    compact_row = measure("RecentEventIds", compact, args.ids)
    last = compact.last  # type: ignore[attr-defined]
    print(f"{args.ids:,} SDK-style eventIds in commits of {COMMIT}, medians per commit")
    print(f"{'':>16} {'bytes/id':>9} {'peak MB':>8} {'check µs':>9} {'add µs':>8} {'retry µs':>9}")
    for label, row in (("set of strings", ref), ("RecentEventIds", compact_row)):
        print(
            f"{label:>16} {row['bytes_per_id']:9.1f} {row['peak_mb']:8.1f} {row['check_us']:9.0f} "
            f"{row['add_us']:8.0f} {row['retry_us']:9.0f}"
        )
    print(
        f"memory {compact_row['bytes_per_id'] / ref['bytes_per_id']:.3f}x the reference; "
        f"hashed arrays {last.nbytes / len(last):.1f} bytes/id over {len(last):,} ids"
    )


if __name__ == "__main__":
    main()
