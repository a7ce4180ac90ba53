"""`widget-monitor demo | dashboard | up`: demo data, the Streamlit dashboard, and both servers at once.

`up` is a small supervisor: it starts the API, loads the demo dataset when the store
is empty, starts the dashboard, and on Ctrl-C (or SIGTERM) stops both by pid.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import httpx

from widget_monitor.api_auth import admin_headers
from widget_monitor.data_dir import add_data_dir
from widget_monitor.demo_loader import DemoLoadFailed, load_demo
from widget_monitor.processes import stop_by_pid, wait_until_ready

APP = Path(__file__).resolve().parents[1] / "streamlit_app" / "app.py"
DEFAULT_API = "http://127.0.0.1:8000"


def dashboard_command(api_url: str, *, host: str = "127.0.0.1", port: int = 8501) -> list[str]:
    """The `streamlit run` command line for the dashboard reading `api_url`."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",  # no "Deploy" button: this is a monitoring dashboard, not a dev session
        "--server.fileWatcherType",
        "none",  # no reload-on-save watcher: nothing edits the app while it serves
        "--runner.postScriptGC",
        "false",  # a full collection after every run held the GIL ~70 ms as the page was sent
        "--",
        "--api-url",
        api_url,
    ]


def _demo(args: argparse.Namespace) -> int:
    try:
        load_demo(args.api_url, days=args.days, seed=args.seed)
    except DemoLoadFailed as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    return 0


def _interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _stop_children_on_signals() -> None:
    """SIGTERM and SIGINT (also when started in the background, where SIGINT is ignored) end
    the command through its `finally`, which stops its children by pid. The children get
    sessions of their own, so a Ctrl-C in the terminal reaches only this process, which then
    stops each of them once (SIGTERM): a second signal would make uvicorn abandon its graceful
    shutdown half way."""
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGINT, _interrupted)


def _dashboard(args: argparse.Namespace) -> int:
    env = {**os.environ, "WIDGET_MONITOR_API_URL": args.api_url}
    _stop_children_on_signals()
    dashboard = dashboard_command(args.api_url, host=args.host, port=args.port)
    child: subprocess.Popen[bytes] | None = None
    try:
        child = subprocess.Popen(dashboard, env=env, start_new_session=True)
        return child.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        if child is not None:
            stop_by_pid(child)


def _up(args: argparse.Namespace) -> int:
    api_url = f"http://{args.host}:{args.api_port}"
    serve = [sys.executable, "-m", "widget_monitor.cli", "serve", "--data-dir", str(args.data_dir)]
    serve += ["--host", args.host, "--port", str(args.api_port), "--log-level", "warning"]
    children: list[subprocess.Popen[bytes]] = []
    _stop_children_on_signals()
    try:
        api = subprocess.Popen(serve, start_new_session=True)
        children.append(api)
        wait_until_ready(f"{api_url}/healthz", timeout_s=60, process=api)
        print(f"API on {api_url}", flush=True)
        dimensions = f"{api_url}/api/monitoring/widget/dimensions"
        held = httpx.get(dimensions, headers=admin_headers(), timeout=30).json()["events"]
        if held == 0 and args.demo_days > 0:
            print("empty store: loading the demo dataset first", flush=True)
            load_demo(api_url, days=args.demo_days)
        env = {**os.environ, "WIDGET_MONITOR_API_URL": api_url}
        dashboard = dashboard_command(api_url, host=args.host, port=args.dashboard_port)
        dash = subprocess.Popen(dashboard, env=env, start_new_session=True)
        children.append(dash)
        print(f"dashboard on http://{args.host}:{args.dashboard_port} (Ctrl-C stops both)", flush=True)
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        failed = next(child for child in children if child.poll() is not None)
        print(f"a server exited with {failed.returncode}; stopping the other", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    except (RuntimeError, DemoLoadFailed, httpx.HTTPError) as exc:
        print(f"up: {exc}", file=sys.stderr)
        return 1
    finally:
        for child in reversed(children):
            stop_by_pid(child)


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `demo`, `dashboard` and `up` on the `widget-monitor` parser."""
    demo = commands.add_parser("demo", help="post the demo dataset through the API")
    demo.add_argument("--api-url", default=os.environ.get("WIDGET_MONITOR_API_URL", DEFAULT_API))
    demo.add_argument("--days", type=float, default=3.0)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(handler=_demo)

    dash = commands.add_parser("dashboard", help="run the Streamlit dashboard")
    dash.add_argument("--api-url", default=os.environ.get("WIDGET_MONITOR_API_URL", DEFAULT_API))
    dash.add_argument("--host", default="127.0.0.1")
    dash.add_argument("--port", type=int, default=8501)
    dash.set_defaults(handler=_dashboard)

    up = commands.add_parser("up", help="run the API and the dashboard; demo data on an empty store")
    add_data_dir(up)
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--api-port", type=int, default=8000)
    up.add_argument("--dashboard-port", type=int, default=8501)
    up.add_argument("--demo-days", type=float, default=3.0, help="0: never load the demo")
    up.set_defaults(handler=_up)
