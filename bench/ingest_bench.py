"""Ingest throughput of `widget-monitor serve` beside a bare FastAPI endpoint, in the same run.

    make bench            # or: .venv/bin/python bench/ingest_bench.py [--rounds 3 --duration 10]

Starts two servers on free loopback ports with the same uvicorn options: the real one
(`widget-monitor serve`, a fresh data dir, every 2xx after a DuckDB commit) and
`bench/bare_app.py` (reads the body, answers a small JSON). wrk posts realistic bodies
to them in alternating rounds (bare, ours, bare, ours, ...):

- single-event: one render or persistence event per request, as a widget sends it;
- batched: arrays of 1000 mixed events of all nine types.

Every eventId is unique (the wrk script varies them per request), so nothing is
deduplicated away. After the rounds the server is killed with SIGKILL and the DuckDB
file is opened directly: it must hold every event that was acknowledged.

Prints a markdown table of medians and writes it into the README's Benchmarks section.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import httpx
from bodies import ID_MARKER, batch_bodies, single_bodies
from ports import free_port

from widget_monitor.processes import stop_by_pid, wait_until_ready

REPO = Path(__file__).resolve().parents[1]
LUA = REPO / "bench" / "post_bodies.lua"
PATH = "/api/monitoring/widget"
README_START = "<!-- bench:start (written by bench/ingest_bench.py) -->"
README_END = "<!-- bench:end -->"


@dataclass(frozen=True)
class WrkRun:
    server: str
    requests: int
    duration_s: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_s: float  # user + system CPU time the server process used during the run

    @property
    def ok_requests(self) -> int:
        return self.requests - self.non_2xx

    @property
    def requests_per_s(self) -> float:
        return self.ok_requests / self.duration_s

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / max(self.requests, 1) * 1e6


@dataclass(frozen=True)
class Phase:
    name: str
    templates: Path
    events_per_request: int
    connections: int


# ---- processes ---------------------------------------------------------------------------


@contextmanager
def running(
    name: str, argv: list[str], ready_url: str, log_dir: Path, timeout_s: float = 30, cwd: Path = REPO
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` (in `cwd`: this checkout) until the block ends; stop it by pid (SIGTERM, then
    SIGKILL) whatever happens."""
    log = (log_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(argv, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(ready_url, timeout_s=timeout_s, process=process)
        yield process
    finally:
        stop_by_pid(process)
        log.close()


def kill_and_count(server: subprocess.Popen[bytes], data_dir: Path) -> tuple[int, int]:
    """SIGKILL the server (no shutdown hook, no checkpoint: only commits count), then open its
    DuckDB file directly: (events stored, distinct eventIds)."""
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    with duckdb.connect(str(data_dir / "widget-monitor.duckdb"), read_only=True) as con:
        row = con.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def ensure_wrk() -> str:
    """wrk (Debian package), installed with apt-get when missing and we may."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("wrk is missing: apt-get install -y wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, env=env)
        found = shutil.which("wrk")
        if found:
            return found
    sys.exit(
        "bench/ingest_bench.py needs wrk, the HTTP load generator (a C program, so that the load "
        "generator costs little CPU): install it with `apt-get install wrk` (Debian/Ubuntu) or "
        "`brew install wrk`, then run `make bench` again."
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, its threads and its live child processes (the
    server's decoder processes), from Linux /proc."""
    total = 0.0
    for process in _process_tree(pid):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # exited meanwhile
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _process_tree(pid: int) -> list[int]:
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            with suppress(FileNotFoundError):
                pending += [int(c) for c in Path(f"/proc/{current}/task/{task}/children").read_text().split()]
    return tree


def run_wrk(
    wrk: str, url: str, phase: Phase, tag: str, duration_s: float, server: str, pid: int, path: str = PATH
) -> WrkRun:
    argv = [wrk, "-t1", f"-c{phase.connections}", f"-d{round(duration_s)}s", "--timeout", "10s"]
    argv += ["-s", str(LUA), url + path, "--", str(phase.templates), tag]
    cpu_before = cpu_seconds(pid)
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    server_cpu_s = cpu_seconds(pid) - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    out = done.stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    return WrkRun(
        server=server,
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        non_2xx=data["status_errors"],
        socket_errors=data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"],
        p50_ms=data["latency_p50_us"] / 1000,
        p99_ms=data["latency_p99_us"] / 1000,
        server_cpu_s=server_cpu_s,
    )


# ---- the run -----------------------------------------------------------------------------


def check_bodies(url: str, phase: Phase) -> int:
    """Post each template once (probe ids): all must be stored. Returns the events stored."""
    stored = 0
    for n, line in enumerate(phase.templates.read_text().splitlines()):
        body = line.replace(ID_MARKER, f"probe-{phase.name}-{n}")
        answer = httpx.post(url + PATH, content=body, headers={"Content-Type": "application/json"})
        result = answer.json()
        if answer.status_code != 200 or result["rejected"] or result["stored"] != phase.events_per_request:
            raise RuntimeError(f"the benchmark's own body was not fully stored: {answer.text[:500]}")
        stored += result["stored"]
    return stored


def main() -> None:
    args = parse_args()
    wrk = ensure_wrk()
    load_before = os.getloadavg()
    started = datetime.now(UTC)
    now_ms = int(time.time() * 1000)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="widget-monitor-bench-")))
        phases = [
            Phase("single-event", work / "single.jsonl", 1, args.single_connections),
            Phase("batched", work / "batched.jsonl", 1000, args.batch_connections),
        ]
        phases[0].templates.write_text("\n".join(single_bodies(now_ms)) + "\n")
        phases[1].templates.write_text("\n".join(batch_bodies(now_ms, 1000)) + "\n")

        bin_dir = Path(sys.executable).parent
        data_dir = work / "data"
        ours_port, bare_port = free_port(), free_port()
        ours_url, bare_url = f"http://127.0.0.1:{ours_port}", f"http://127.0.0.1:{bare_port}"
        ours_argv = [str(bin_dir / "widget-monitor"), "serve", "--data-dir", str(data_dir)]
        ours_argv += ["--host", "127.0.0.1", "--port", str(ours_port), "--log-level", "warning"]
        bare_argv = [sys.executable, str(REPO / "bench" / "bare_app.py"), "--port", str(bare_port)]
        ours = stack.enter_context(running("widget-monitor", ours_argv, ours_url + "/healthz", work))
        bare = stack.enter_context(running("bare", bare_argv, bare_url + "/openapi.json", work))
        targets = (("bare", bare_url, bare.pid), ("ours", ours_url, ours.pid))
        print(f"widget-monitor pid {ours.pid} on {ours_url}; bare FastAPI on {bare_url}", flush=True)

        acknowledged = sum(check_bodies(ours_url, phase) for phase in phases)
        runs: dict[str, list[WrkRun]] = {}
        for phase in phases:
            for server, url, pid in targets:  # warm-up, not reported
                warm = run_wrk(wrk, url, phase, f"{phase.name[0]}w", args.warmup, server, pid)
                if server == "ours":
                    acknowledged += warm.ok_requests * phase.events_per_request
            runs[phase.name] = []
            for round_no in range(args.rounds):
                for server, url, pid in targets:
                    tag = f"{phase.name[0]}{round_no}"
                    run = run_wrk(wrk, url, phase, tag, args.duration, server, pid)
                    runs[phase.name].append(run)
                    if server == "ours":
                        acknowledged += run.ok_requests * phase.events_per_request
                    print(
                        f"{phase.name:>12} round {round_no + 1} {server}: "
                        f"{run.requests_per_s:,.0f} requests/s ({run.non_2xx} non-2xx, "
                        f"{run.socket_errors} socket errors, p50 {run.p50_ms:.1f} ms, "
                        f"p99 {run.p99_ms:.1f} ms, server CPU {run.cpu_us_per_request:,.0f} µs/request)",
                        flush=True,
                    )

        health = httpx.get(ours_url + "/healthz").json()
        on_disk, distinct_ids = kill_and_count(ours, data_dir)

    report = render_report(
        args,
        phases,
        runs,
        acknowledged,
        int(health["eventsCommitted"]),
        on_disk,
        distinct_ids,
        started,
        load_before,
    )
    print()
    print(report)
    if not args.no_readme:
        write_readme(REPO / "README.md", report)
        print(f"\nwritten into {REPO / 'README.md'} (Benchmarks)")
    if on_disk < acknowledged or distinct_ids != on_disk:
        sys.exit("LOST EVENTS: the store holds fewer events than were acknowledged")


# ---- report ------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values)


def render_report(
    args: argparse.Namespace,
    phases: list[Phase],
    runs: dict[str, list[WrkRun]],
    acknowledged: int,
    committed: int,
    on_disk: int,
    distinct_ids: int,
    started: datetime,
    load_before: tuple[float, float, float],
) -> str:
    single, batched = phases
    s_bare = [r for r in runs[single.name] if r.server == "bare"]
    s_ours = [r for r in runs[single.name] if r.server == "ours"]
    b_bare = [r for r in runs[batched.name] if r.server == "bare"]
    b_ours = [r for r in runs[batched.name] if r.server == "ours"]
    ratios = [o.requests_per_s / b.requests_per_s for b, o in zip(s_bare, s_ours, strict=True)]
    s_ratio = median([o.requests_per_s for o in s_ours]) / median([b.requests_per_s for b in s_bare])
    b_events = median([r.requests_per_s * 1000 for r in b_ours])

    def p(rs: list[WrkRun]) -> str:
        return f"{median([r.p50_ms for r in rs]):.1f} / {median([r.p99_ms for r in rs]):.1f}"

    def verdict(ok: bool) -> str:
        return "met" if ok else "**missed**"

    def cpu(rs: list[WrkRun], per: float = 1) -> str:
        return f"{median([r.cpu_us_per_request for r in rs]) / per:,.{0 if per == 1 else 1}f}"

    lines = [
        f"Measured {started:%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({_cpu_model()}), "
        f"Python {platform.python_version()}, load average {load_before[0]:.1f} at the start. "
        f"{args.rounds} alternating rounds of {args.duration:g} s per server (bare, ours, bare, ours, ...), "
        f"medians; wrk with 1 thread, {single.connections} connections for single events and "
        f"{batched.connections} for batches; both servers are single uvicorn processes "
        "(widget-monitor with its decoder process, whose CPU time counts in its server CPU).",
        "",
        "| | bare FastAPI endpoint | widget-monitor (durable) | ours / bare | target |",
        "|---|---:|---:|---:|---|",
        f"| single-event, requests/s | {median([r.requests_per_s for r in s_bare]):,.0f} "
        f"| {median([r.requests_per_s for r in s_ours]):,.0f} | {s_ratio:.2f}× "
        f"| ≥ 0.80×: {verdict(s_ratio >= 0.8)} |",
        f"| single-event, latency p50 / p99 ms | {p(s_bare)} | {p(s_ours)} | | |",
        f"| single-event, server CPU µs per request | {cpu(s_bare)} | {cpu(s_ours)} | | |",
        f"| batched (1000 mixed events), events/s | {median([r.requests_per_s * 1000 for r in b_bare]):,.0f} "
        f"| {b_events:,.0f} | {b_events / median([r.requests_per_s * 1000 for r in b_bare]):.2f}× "
        f"| ≥ 150,000: {verdict(b_events >= 150_000)} |",
        f"| batched, latency p50 / p99 ms | {p(b_bare)} | {p(b_ours)} | | |",
        f"| batched, server CPU µs per event | {cpu(b_bare, 1000)} | {cpu(b_ours, 1000)} | | |",
        "",
        "Per-round single-event ratios: " + ", ".join(f"{r:.2f}" for r in ratios) + "; per-round batched "
        "events/s: " + ", ".join(f"{r.requests_per_s * 1000:,.0f}" for r in b_ours) + ". "
        f"Non-2xx answers from widget-monitor: {sum(r.non_2xx for r in s_ours + b_ours)}.",
        "",
        f"Durability: widget-monitor acknowledged {acknowledged:,} events (2xx answers counted by wrk, "
        f"plus the warm-up and probe requests); its writer reported {committed:,} committed. It was then "
        f"killed with SIGKILL and the DuckDB file, opened directly, holds {on_disk:,} events "
        f"({distinct_ids:,} distinct eventIds): "
        + (
            f"nothing acknowledged is missing ({on_disk - acknowledged:,} more were committed for "
            "requests still in flight when wrk stopped)."
            if on_disk >= acknowledged and distinct_ids == on_disk
            else "**EVENTS WERE LOST**."
        ),
    ]
    if args.note:
        lines += ["", args.note]
    lines += ["", "```bash", "make bench   # = " + _command(args), "```"]
    return "\n".join(lines)


def _command(args: argparse.Namespace) -> str:
    command = ".venv/bin/python bench/ingest_bench.py"
    defaults = parse_args([])
    for name in ("rounds", "duration", "warmup", "single_connections", "batch_connections"):
        if getattr(args, name) != getattr(defaults, name):
            command += f" --{name.replace('_', '-')} {getattr(args, name):g}"
    return command


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def write_readme(readme: Path, report: str) -> None:
    """Replace the generated part of the README's Benchmarks section (add the section if missing)."""
    text = readme.read_text()
    block = f"{README_START}\n{report}\n{README_END}"
    if README_START in text and README_END in text:
        head, rest = text.split(README_START, 1)
        _, tail = rest.split(README_END, 1)
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n## Benchmarks\n\n" + block + "\n"
    readme.write_text(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per phase (default 3)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per round (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of warm-up per server and phase")
    parser.add_argument(
        "--single-connections", type=int, default=256, help="concurrent widgets posting one event each"
    )
    parser.add_argument(
        "--batch-connections", type=int, default=16, help="concurrent clients posting 1000-event batches"
    )
    parser.add_argument("--note", default="", help="a sentence added under the table")
    parser.add_argument("--no-readme", action="store_true", help="print only, leave README.md alone")
    return parser.parse_args(argv)


if __name__ == "__main__":
    main()
