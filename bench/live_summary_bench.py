"""The live phase of `history_bench.py` on a copy of a kept data dir, phase by phase, for an A/B
between two checkouts on the same data:

    .venv/bin/python bench/history_bench.py --keep /tmp/history-data
    .venv/bin/python bench/live_summary_bench.py /tmp/history-data --repo /path/to/other/checkout
    .venv/bin/python bench/live_summary_bench.py /tmp/history-data          # this checkout

`widget-monitor serve` of `--repo` (its code: the server runs from that directory) on a fresh
copy of the data dir takes 1M SDK-style events through its API (4 threads, 1000 per request),
then the 5-minute summary with and without `telemetry`, an alert check, and the 30- and
90-day summaries with and without `telemetry` are timed (medians of 5, the summary cache
bypassed); `/healthz` memory is sampled every 0.25 s, and the peak of each phase printed:
server, decoders, and DuckDB's buffer pool. Run the two checkouts alternately, twice or more.
With `--sessions 2` the same copy is served again after its server stopped: a restart. With
`--spread-minutes 60` each tab's events span the last hour, as under steady traffic: the
5-minute window then cuts every tab's numbers (telemetry's look-back).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from ingest_bench import running

from bench.history_bench import post_sdk_renders
from bench.ports import free_port

DAY_MS = 86_400_000
READS = [  # (phase, query parameters; None: an alert check)
    ("summary 5 min", {}),
    ("  telemetry=false", {"telemetry": "false"}),
    ("alert check", None),
    ("summary 30 days", {"window": 30 * DAY_MS}),
    ("summary 90 days", {"window": 90 * DAY_MS}),
    ("  30 days, telemetry=false", {"window": 30 * DAY_MS, "telemetry": "false"}),
    ("  90 days, telemetry=false", {"window": 90 * DAY_MS, "telemetry": "false"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--sessions", type=int, default=1, help="serve the same copy this many times over, one after another"
    )
    parser.add_argument(
        "--spread-minutes",
        type=float,
        default=0,
        help="spread each tab's events over this many minutes up to now (0: all in the last minute)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.data_dir.parent) as scratch:
        copy = Path(scratch) / "data"
        shutil.copytree(args.data_dir, copy)
        for session in range(1, args.sessions + 1):
            if args.sessions > 1:  # the later ones open what this checkout's server left when it stopped
                print(f"session {session} of {args.sessions}")
            run(copy, args.repo.resolve(), args.events, args.spread_minutes)


def run(data: Path, repo: Path, events: int, spread_minutes: float = 0) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "widget_monitor.cli", "serve", "--data-dir", str(data), "--port", str(port)]
    phase, peaks, stop = ["start"], {}, threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                m = httpx.get(f"{url}/healthz", timeout=5).json()["memory"]
                now = (
                    m["totalResidentBytes"],
                    m["serverResidentBytes"],
                    sum(m["decoderResidentBytes"]),
                    m["duckdb"]["usedBytes"],
                )
                if phase[0] not in peaks or now[0] > peaks[phase[0]][0]:
                    peaks[phase[0]] = now
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            stop.wait(0.25)

    # a store of 100M events takes a while to open (its last day of eventIds is read back)
    serve = [*argv, "--log-level", "warning"]
    with running("widget-monitor", serve, f"{url}/healthz", data.parent, 120, cwd=repo):
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        time.sleep(3)
        phase[0] = "ingest"
        started = time.perf_counter()
        stored = post_sdk_renders(url, events, spread_minutes)
        print(f"{repo}: {stored:,} of {events:,} events stored in {time.perf_counter() - started:.1f} s")
        # one kept-alive client, as the dashboard keeps: a new one per read costs ~20 ms of its own
        with httpx.Client(base_url=url, timeout=120) as client:
            for name, params in READS:
                phase[0] = name.strip()
                print(f"{name:30s} {read_ms(client, params):6.0f} ms")
        phase[0] = "at rest"
        time.sleep(3)
        stop.set()
    print("peak resident MB per phase: total (server, decoders; DuckDB's pool)")
    for name, (total, own, decoders, pool) in peaks.items():
        print(f"  {name:26s} {total / 1e6:5.0f} ({own / 1e6:.0f}, {decoders / 1e6:.0f}; {pool / 1e6:.0f})")


def read_ms(client: httpx.Client, params: dict[str, str | int] | None) -> float:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        if params is None:
            response = client.post("/api/monitoring/alerts/check", json={})
        else:
            headers = {"Cache-Control": "no-cache"}
            response = client.get("/api/monitoring/widget", params=params, headers=headers)
        assert response.status_code == 200, response.text[:200]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


if __name__ == "__main__":
    main()
