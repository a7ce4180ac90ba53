"""Overload: what `widget-monitor serve` answers, reads and holds when offered more than it can store.

    .venv/bin/python bench/load_bench.py            # about 3 minutes
    .venv/bin/python bench/load_bench.py --overload-s 20 --unpaced-s 0   # a quick look

One server on a fresh data dir, on loopback; wrk (a C load generator, so that the load
costs little CPU) posts 1000-event batches of all nine types, every eventId unique.
While it does, a reader asks for the 5-minute summary with `Cache-Control: no-cache`
(computed afresh every time) and for `/healthz`, four times a second each, and the
server's resident memory (with its decoder process) is sampled.

1. **idle:** reads only, the reference for read latency;
2. **uncontended:** a few connections posting as fast as they are answered, and no
   reads: the server's capacity in accepted events/s;
3. **unpaced:** `--connections` (512) connections posting as fast as they are answered,
   ignoring Retry-After (issue 12's "512 connections x 1000-event batches for 40 s"
   overload), for `--unpaced-s` (40);
4. **paced at 2x:** the same connections, each waiting between requests so that together
   they would offer twice the capacity if answered at once, for `--overload-s` (60)
   seconds (answers take longer under load: the offered rate is reported as measured);
5. **recovery**, after each: the time from the end of the load until nothing waits in the
   backlog and a new batch is stored.

Pass: every answer under load is 200, 429 or 503 (no 5xx but 503, no reset), the
summary's p99 under the unpaced overload is at most 1 s, and after SIGKILL the DuckDB file
holds every acknowledged event, none twice. Exits non-zero otherwise.

The unpaced phase runs first, so that its window holds what that overload stores and
nothing before it. A summary scans every event of its window: under the paced phase that
follows, the window also holds the unpaced phase's events, and the summary's p99 there is
reported, with the events the window held, but not held to the target.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from bodies import ID_MARKER, batch_bodies
from ingest_bench import REPO, _cpu_model, _process_tree, ensure_wrk, kill_and_count, running
from ports import free_port

LUA = REPO / "bench" / "load_bodies.lua"
INGEST = "/api/monitoring/widget"
SUMMARY = "/api/monitoring/widget"
READ_P99_TARGET_S = 1.0
ALLOWED = {"200", "429", "503"}


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    statuses: Counter[str]
    socket_errors: dict[str, int]
    p50_ms: float
    p99_ms: float

    @property
    def accepted_events_per_s(self) -> float:
        return self.statuses["200"] * 1000 / self.duration_s

    @property
    def offered_events_per_s(self) -> float:
        return self.requests * 1000 / self.duration_s


@dataclass
class Reads:
    """Latencies of one kind of read, sampled at a steady pace while a phase runs."""

    summary: list[float] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    failures: Counter[str] = field(default_factory=Counter)


def run_wrk(
    wrk: str, url: str, templates: Path, tag: str, connections: int, seconds: float, pace_ms: int
) -> WrkResult:
    threads = min(2, connections)
    argv = [wrk, f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "30s"]
    argv += ["-s", str(LUA), url + INGEST, "--", str(templates), tag, str(pace_ms)]
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        statuses=Counter({k: int(v) for k, v in data["statuses"].items()}),
        socket_errors={
            kind: int(data[f"{kind}_errors" if kind != "timeouts" else kind])
            for kind in ("connect", "read", "write", "timeouts")
            if data[f"{kind}_errors" if kind != "timeouts" else kind]
        },
        p50_ms=data["latency_p50_us"] / 1000,
        p99_ms=data["latency_p99_us"] / 1000,
    )


class Sampler:
    """Reads (summary, /healthz) at a steady pace and the server's RSS, until stopped."""

    def __init__(self, url: str, pid: int, *, reads: bool = True, interval_s: float = 0.25) -> None:
        self.url, self.pid, self.interval_s = url, pid, interval_s
        self.reads = Reads()
        self.peak_rss = 0
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._rss)]
        if reads:
            self._threads += [
                threading.Thread(
                    target=self._read, args=(SUMMARY, {"Cache-Control": "no-cache"}, self.reads.summary)
                ),
                threading.Thread(target=self._read, args=("/healthz", {}, self.reads.health)),
            ]

    def __enter__(self) -> Sampler:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()

    def _read(self, path: str, headers: dict[str, str], into: list[float]) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    answer = client.get(path, headers=headers)
                    if answer.status_code != 200:
                        self.reads.failures[f"{path} {answer.status_code}"] += 1
                except httpx.HTTPError as exc:
                    self.reads.failures[f"{path} {type(exc).__name__}"] += 1
                into.append(time.perf_counter() - started)
                self._stop.wait(max(0.0, self.interval_s - (time.perf_counter() - started)))

    def _rss(self) -> None:
        while not self._stop.wait(0.5):
            self.peak_rss = max(self.peak_rss, rss_bytes(self.pid))


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children (the decoder processes), from /proc."""
    total = 0
    for process in _process_tree(pid):
        try:
            status = Path(f"/proc/{process}/status").read_text()
        except FileNotFoundError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total


def p(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, linear between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ms(values: list[float], q: float) -> str:
    return f"{p(values, q) * 1000:,.0f}"


def recovery_s(url: str, body: str, tag: str, timeout_s: float = 120) -> tuple[float, int]:
    """Seconds from the end of the load until the server is as it was: nothing waits in its
    backlog (`/healthz` backlogBytes 0) and a new batch is stored (200); and the events it stored."""
    started = time.monotonic()
    n = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        while time.monotonic() - started < timeout_s:
            if client.get("/healthz").json().get("backlogBytes", 0) == 0:
                n += 1
                headers = {"Content-Type": "application/json"}
                stored = client.post(INGEST, content=body.replace(ID_MARKER, f"{tag}-{n}"), headers=headers)
                if stored.status_code == 200:
                    return time.monotonic() - started, int(stored.json()["stored"])
            time.sleep(0.05)
    return float("inf"), 0


@dataclass
class Phase:
    name: str
    wrk: WrkResult | None
    reads: Reads
    peak_rss: int


def main() -> None:
    args = parse_args()
    wrk = ensure_wrk()
    started_at = datetime.now(UTC)
    load_before = os.getloadavg()
    phases: list[Phase] = []
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="widget-monitor-load-")))
        templates = work / "batched.jsonl"
        bodies = batch_bodies(int(time.time() * 1000), 1000)
        templates.write_text("\n".join(bodies) + "\n")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        data_dir = work / "data"
        argv = [str(Path(sys.executable).parent / "widget-monitor"), "serve", "--data-dir", str(data_dir)]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
        server = stack.enter_context(running("widget-monitor", argv, url + "/healthz", work))
        print(f"widget-monitor pid {server.pid} on {url}", flush=True)
        acknowledged = 0
        probe = httpx.post(url + INGEST, content=bodies[0].replace(ID_MARKER, "probe"), timeout=30)
        if probe.status_code != 200 or probe.json()["stored"] != 1000:
            sys.exit(f"the benchmark's own body was not stored: {probe.text[:300]}")
        acknowledged += 1000

        def phase(name: str, connections: int, seconds: float, pace_ms: int, *, reads: bool = True) -> Phase:
            nonlocal acknowledged
            with Sampler(url, server.pid, reads=reads) as sampler:
                if connections:
                    # A tag of its own per phase: ids repeated across phases would be
                    # stored once and answered 200, and counted as acknowledged twice.
                    tag = f"ph{len(phases)}"
                    result = run_wrk(wrk, url, templates, tag, connections, seconds, pace_ms)
                    acknowledged += result.statuses["200"] * 1000
                else:
                    time.sleep(seconds)
                    result = None
            done = Phase(name, result, sampler.reads, sampler.peak_rss)
            print(describe(done), flush=True)
            phases.append(done)
            return done

        phase("idle", 0, args.idle_s, 0)
        # capacity: ingest alone (the reads would take their share of the CPU)
        uncontended = phase("uncontended", args.reference_connections, args.reference_s, 0, reads=False)
        assert uncontended.wrk is not None
        capacity_req_s = uncontended.wrk.statuses["200"] / uncontended.wrk.duration_s
        # Each connection sends, waits for its answer, then waits the pace: together they
        # offer at most connections / pace requests a second.
        pace_ms = round(1000 * args.connections / (2 * capacity_req_s))
        recoveries: dict[str, float] = {}
        in_window: dict[str, int] = {}  # events stored by the end of a phase: all in its 5-minute window
        if args.unpaced_s > 0:
            phase("unpaced", args.connections, args.unpaced_s, 0)
            recoveries["unpaced"], stored = recovery_s(url, bodies[2], "recovery-unpaced")
            acknowledged += stored
            in_window["unpaced"] = committed_events(url)
        if args.overload_s > 0:
            phase("paced at 2x", args.connections, args.overload_s, pace_ms)
            recoveries["paced at 2x"], stored = recovery_s(url, bodies[1], "recovery-paced")
            acknowledged += stored
            in_window["paced at 2x"] = committed_events(url)

        committed = committed_events(url)
        on_disk, distinct = kill_and_count(server, data_dir)

    report, ok = render(
        args, phases, recoveries, in_window, pace_ms, acknowledged, committed, on_disk, distinct
    )
    print()
    print(
        f"Measured {started_at:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({_cpu_model()}), "
        f"load average {load_before[0]:.1f} at the start.\n"
    )
    print(report)
    if not ok:
        sys.exit(1)


def committed_events(url: str) -> int:
    """Events the server's writer has committed since it started (`/healthz`)."""
    return int(httpx.get(url + "/healthz", timeout=30).json().get("eventsCommitted", -1))


def describe(phase: Phase) -> str:
    reads = phase.reads
    line = f"{phase.name:>12}: peak RSS {phase.peak_rss / 1e6:,.0f} MB"
    if reads.summary:
        line += (
            f"; summary p50 {ms(reads.summary, 0.5)} ms, p99 {ms(reads.summary, 0.99)} ms "
            f"({len(reads.summary)} reads); /healthz p99 {ms(reads.health, 0.99)} ms"
        )
    if phase.wrk is not None:
        w = phase.wrk
        answers = ", ".join(f"{n:,} x {s}" for s, n in sorted(w.statuses.items()))
        line += (
            f"; offered {w.offered_events_per_s:,.0f} events/s, accepted "
            f"{w.accepted_events_per_s:,.0f} events/s ({answers}; socket errors {w.socket_errors or 0})"
        )
    if reads.failures:
        line += f"; failed reads: {dict(reads.failures)}"
    return line


def render(
    args: argparse.Namespace,
    phases: list[Phase],
    recoveries: dict[str, float],
    in_window: dict[str, int],
    pace_ms: int,
    acknowledged: int,
    committed: int,
    on_disk: int,
    distinct: int,
) -> tuple[str, bool]:
    by_name = {ph.name: ph for ph in phases}
    reference = by_name["uncontended"].wrk
    assert reference is not None
    ok = True
    lines = [
        "| phase | offered events/s | accepted events/s (× uncontended) | answers | summary p50 / p99 ms "
        "| events in the window at the end | /healthz p99 ms | peak RSS MB | recovery s |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for ph in phases:
        w = ph.wrk
        offered = accepted = answers = "–"
        if w is not None:
            offered = f"{w.offered_events_per_s:,.0f}"
            ratio = w.accepted_events_per_s / reference.accepted_events_per_s
            accepted = f"{w.accepted_events_per_s:,.0f} ({ratio:.2f}×)"
            answers = ", ".join(f"{s}: {n:,}" for s, n in sorted(w.statuses.items()))
            if w.socket_errors:
                answers += f", socket errors: {w.socket_errors}"
            if set(w.statuses) - ALLOWED or w.socket_errors:
                ok = False
        if ph.reads.failures:
            ok = False
            answers += f"; failed reads {dict(ph.reads.failures)}"
        summary_p99 = p(ph.reads.summary, 0.99)
        if ph.name == "unpaced" and summary_p99 > READ_P99_TARGET_S:
            ok = False
        recovery = f"{recoveries[ph.name]:.1f}" if ph.name in recoveries else "–"
        reads = f"{ms(ph.reads.summary, 0.5)} / {ms(ph.reads.summary, 0.99)}" if ph.reads.summary else "–"
        health = ms(ph.reads.health, 0.99) if ph.reads.health else "–"
        window = f"{in_window[ph.name]:,}" if ph.name in in_window else "–"
        lines.append(
            f"| {ph.name} | {offered} | {accepted} | {answers} | {reads} | {window} | {health} "
            f"| {ph.peak_rss / 1e6:,.0f} | {recovery} |"
        )
    lost = max(0, acknowledged - on_disk)
    twice = on_disk - distinct
    ok = ok and lost == 0 and twice == 0
    lines += [
        "",
        f"{args.connections} connections; at 2x capacity each waits {pace_ms} ms between requests. "
        f"Acknowledged {acknowledged:,} events (writer: {committed:,} committed); after SIGKILL the DuckDB "
        f"file holds {on_disk:,} ({distinct:,} distinct eventIds): {lost:,} lost, {twice:,} stored twice. "
        f"Summary p99 target under the unpaced overload: ≤ {READ_P99_TARGET_S:g} s.",
        "",
        "```",
        "  ".join(["python", "bench/load_bench.py", *sys.argv[1:]]),
        "```",
    ]
    return "\n".join(lines), ok


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--connections", type=int, default=512, help="connections under overload (default 512)"
    )
    parser.add_argument("--overload-s", type=float, default=60, help="seconds at 2x capacity (default 60)")
    parser.add_argument("--unpaced-s", type=float, default=40, help="seconds unpaced, 0 to skip (default 40)")
    parser.add_argument(
        "--reference-connections", type=int, default=4, help="connections uncontended (default 4)"
    )
    parser.add_argument("--reference-s", type=float, default=15, help="seconds uncontended (default 15)")
    parser.add_argument("--idle-s", type=float, default=8, help="seconds of reads alone (default 8)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
