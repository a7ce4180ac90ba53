"""What counting `/metrics` histograms costs, beside what storing the same events costs, in one run.

    .venv/bin/python bench/distributions_bench.py            # about a minute

The bench's 1000-event mixed batches (bench/bodies.py: 40 customers x 3 versions) are
committed to a real store (the reference: `EventStore.append`, as the writer does) with
`Distributions.add` listening, then counted by `Distributions.flush`: once for 150 batches
(one flush per second at 150k events/s), and once per batch (a flush's fixed cost).
Medians of process CPU time (DuckDB's threads included) over --rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics.ingest.intake import read_body
from analytics.queries.distributions import Distributions
from analytics.storage.store import EventStore, IngestBatch
from bench.bodies import ID_MARKER, batch_bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=150, help="1000-event batches per round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    now_ms = int(time.time() * 1000)
    templates = batch_bodies(now_ms, 1000, count=8)
    store = EventStore.open(tempfile.mkdtemp(prefix="distributions-bench-"))
    counted = Distributions(counting=True)
    store.stored_listeners.append(counted.add)
    append_us: list[float] = []
    big_us: list[float] = []
    small_ms: list[float] = []
    serial = 0

    def fresh(count: int) -> list[IngestBatch]:
        """`count` batches with eventIds never sent before (a repeat would be a duplicate, not stored)."""
        nonlocal serial
        made = []
        for _ in range(count):
            body = templates[serial % len(templates)].replace(ID_MARKER, f"r{serial}")
            serial += 1
            intake = read_body(body.encode(), received_us=now_ms * 1000, max_events=1000)
            made.append(IngestBatch.of_events(intake.accepted, now_ms * 1000))
        return made

    for round_no in range(args.rounds):
        batches = fresh(args.batches)
        events = sum(len(b) for b in batches)
        started = time.process_time()
        for batch in batches:
            store.append([batch])
        append_us.append((time.process_time() - started) / events * 1e6)
        started = time.process_time()
        counted.flush()  # every batch of the round at once: one flush per second at ~150k/s
        big_us.append((time.process_time() - started) / events * 1e6)
        flush_s = 0.0
        for batch in fresh(20):  # one batch per flush: the fixed cost of a flush shows
            store.append([batch])
            started = time.process_time()
            counted.flush()
            flush_s += time.process_time() - started
        small_ms.append(flush_s / 20 * 1000)
        print(
            f"round {round_no + 1}: store {append_us[-1]:.2f} µs/event, flush of {events:,} "
            f"{big_us[-1]:.2f} µs/event; a flush of 1,000 events: {small_ms[-1]:.1f} ms",
            flush=True,
        )
    store.close()
    counted.close()
    a, big, small = (statistics.median(x) for x in (append_us, big_us, small_ms))
    print(
        f"\n| CPU per event (median of {args.rounds}) | µs | vs storing |\n|---|---:|---:|\n"
        f"| storing (`EventStore.append`, 1000-event batches) | {a:.2f} | 1.00x |\n"
        f"| counting, one flush of {args.batches * 1000:,} events | {big:.2f} | {big / a:.2f}x |\n"
    )
    print(f"\nA flush of one 1000-event batch (its fixed cost): {small:.1f} ms of CPU.")


if __name__ == "__main__":
    main()
