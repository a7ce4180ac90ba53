"""What the ingest key check costs: server CPU per single-event request, keyed against open mode.

    .venv/bin/python bench/auth_bench.py [--rounds 5 --duration 8 --connections 64]

Starts two `widget-monitor serve` processes on free loopback ports with the same options:
one in open mode (no credential at all), one with WIDGET_MONITOR_ADMIN_TOKEN set and an
ingest key made with `widget-monitor keys create`, which every request sends as `?key=`
(as the browser SDK does). wrk posts the same single-event bodies (all for the key's
customer) to both in alternating rounds. Requests/s moves too much on a shared 2-core VM
to compare; the figure is the server's CPU time per request (µs, from /proc), whose median
ratio keyed/open is the cost of access control (the key check and its rate-limit buckets).
Target: at most 1.05.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bodies import single_bodies
from ingest_bench import PATH, Phase, WrkRun, ensure_wrk, run_wrk, running
from ports import free_port

REPO = Path(__file__).resolve().parents[1]


def for_customer(bodies: list[str], customer_id: str) -> list[str]:
    """The bodies with every `customerId` = the key's (a key may post for its own customer only)."""
    out = []
    for body in bodies:
        event = json.loads(body)
        event["metric"]["customerId"] = customer_id
        out.append(json.dumps(event))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per round")
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    wrk = ensure_wrk()
    bin_dir = Path(sys.executable).parent
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="widget-monitor-auth-bench-")))
        phase = Phase("single-event", work / "single.jsonl", 1, args.connections)
        phase.templates.write_text(
            "\n".join(for_customer(single_bodies(int(time.time() * 1000)), "acme")) + "\n"
        )
        keyed_dir = work / "keyed"
        made = subprocess.run(
            [
                str(bin_dir / "widget-monitor"),
                "keys",
                "create",
                "--data-dir",
                str(keyed_dir),
                "--customer-id",
                "acme",
                # far above the load: every request is answered, the buckets are still taken from
                "--requests-per-second",
                "1e6",
                "--events-per-second",
                "1e9",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        key = json.loads(made.stdout)["key"]
        servers = []
        for name, data_dir, env in (
            ("open", work / "open", {}),
            ("keyed", keyed_dir, {"WIDGET_MONITOR_ADMIN_TOKEN": "bench-admin-token-0123456789"}),
        ):
            port = free_port()
            argv = [
                str(bin_dir / "widget-monitor"),
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ]
            argv += ["--log-level", "warning"]
            os.environ.update(env)
            process = stack.enter_context(running(name, argv, f"http://127.0.0.1:{port}/healthz", work))
            for var in env:
                del os.environ[var]
            path = PATH if name == "open" else f"{PATH}?key={key}"
            servers.append((name, f"http://127.0.0.1:{port}", process.pid, path))
        runs: dict[str, list[WrkRun]] = {"open": [], "keyed": []}
        for name, url, pid, path in servers:  # warm-up, not reported
            run_wrk(wrk, url, phase, "w", 3, name, pid, path)
        for round_no in range(args.rounds):
            for name, url, pid, path in servers if round_no % 2 == 0 else servers[::-1]:
                run = run_wrk(wrk, url, phase, f"r{round_no}", args.duration, name, pid, path)
                if run.non_2xx or run.socket_errors:
                    sys.exit(f"{name}: {run.non_2xx} non-2xx answers, {run.socket_errors} socket errors")
                runs[name].append(run)
                print(
                    f"round {round_no + 1} {name:>5}: {run.requests_per_s:,.0f} requests/s, "
                    f"server CPU {run.cpu_us_per_request:,.1f} µs/request",
                    flush=True,
                )
    ratios = [
        k.cpu_us_per_request / o.cpu_us_per_request for o, k in zip(runs["open"], runs["keyed"], strict=True)
    ]
    open_us = statistics.median(r.cpu_us_per_request for r in runs["open"])
    keyed_us = statistics.median(r.cpu_us_per_request for r in runs["keyed"])
    print()
    print("| server | requests/s (median) | server CPU µs/request (median) |")
    print("|---|---:|---:|")
    for name, us in (("open mode", open_us), ("ingest key (`?key=`)", keyed_us)):
        rps = statistics.median(r.requests_per_s for r in runs["open" if name == "open mode" else "keyed"])
        print(f"| {name} | {rps:,.0f} | {us:,.1f} |")
    print(
        f"\nkeyed/open CPU per request: median of paired rounds {statistics.median(ratios):.3f} "
        f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}); target <= 1.05"
    )


if __name__ == "__main__":
    main()
