"""`widget-monitor up`: API and dashboard together, demo data on an empty store, Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.server import REPO, free_port, wait_until_ready

pytestmark = pytest.mark.slow  # `make test-slow` (CI runs it after `make test`)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _up(data_dir: Path, api_port: int, dash_port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "widget_monitor.cli", "up", "--data-dir", str(data_dir)]
    command += ["--api-port", str(api_port), "--dashboard-port", str(dash_port), "--demo-days", "0.05"]
    return subprocess.Popen(command, cwd=REPO, stdout=log.open("ab"), stderr=subprocess.STDOUT)


def _events(api_port: int) -> int:
    return int(httpx.get(f"http://127.0.0.1:{api_port}/api/monitoring/widget/dimensions").json()["events"])


def _interrupt(up: subprocess.Popen[bytes]) -> list[int]:
    children = _children(up.pid)
    os.kill(up.pid, signal.SIGINT)  # what Ctrl-C sends
    assert up.wait(timeout=40) == 0
    return children


def test_up_loads_the_demo_once_serves_both_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    api_port, dash_port = free_port(), free_port()
    data_dir, log = tmp_path / "data", tmp_path / "up.log"
    up = _up(data_dir, api_port, dash_port, log)
    try:
        wait_until_ready(f"http://127.0.0.1:{dash_port}/_stcore/health", timeout_s=90, process=up)
        dims = httpx.get(f"http://127.0.0.1:{api_port}/api/monitoring/widget/dimensions").json()
        assert dims["events"] > 0
        assert {c["id"] for c in dims["customers"]} == {"acme", "globex", "initech", "umbrella"}
        loaded = dims["events"]
    finally:
        children = _interrupt(up)
    assert len(children) == 2
    assert not any(_alive(pid) for pid in children)

    # a second start on the same (now non-empty) data dir keeps the data and loads nothing more
    up = _up(data_dir, api_port, dash_port, log)
    try:
        wait_until_ready(f"http://127.0.0.1:{dash_port}/_stcore/health", timeout_s=90, process=up)
        assert _events(api_port) == loaded
    finally:
        children = _interrupt(up)
    assert not any(_alive(pid) for pid in children)
    assert log.read_text().count("empty store: loading the demo dataset") == 1
    for port in (api_port, dash_port):
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
        except httpx.TransportError:
            continue
        raise AssertionError(f"port {port} still answers")


def test_dashboard_stops_its_streamlit_when_stopped(tmp_path: Path) -> None:
    """`widget-monitor dashboard` run by a supervisor (systemd, a container) is stopped with SIGTERM:
    its Streamlit child goes with it rather than serving on, orphaned."""
    port = free_port()
    command = [sys.executable, "-m", "widget_monitor.cli", "dashboard", "--port", str(port)]
    command += ["--api-url", f"http://127.0.0.1:{free_port()}"]  # no API there: the page says so
    with (tmp_path / "dashboard.log").open("ab") as log:
        dashboard = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/_stcore/health", timeout_s=90, process=dashboard)
        [streamlit] = _children(dashboard.pid)
        os.kill(dashboard.pid, signal.SIGTERM)
        assert dashboard.wait(timeout=40) == 0
    finally:
        if dashboard.poll() is None:
            dashboard.kill()
    assert not _alive(streamlit)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1)
