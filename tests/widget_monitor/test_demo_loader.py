"""`widget-monitor demo`: the whole dataset reaches a real server, with a progress bar."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest

from analytics.demo_data import generate_demo
from tests.support.server import REPO, ServerProcess, free_port
from widget_monitor.demo_loader import DemoLoadFailed, load_demo


def test_every_generated_event_is_stored_in_batches_with_progress(server: ServerProcess) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    out = io.StringIO()
    stored = load_demo(server.url, days=0.1, seed=11, end=end, out=out)
    expected = generate_demo(end=end, days=0.1, seed=11)
    assert stored == len(expected) > 1000  # more than one batch
    dims = httpx.get(f"{server.url}/api/monitoring/widget/dimensions").json()
    assert dims["events"] == len(expected)
    text = out.getvalue()
    assert f"] {len(expected)}/{len(expected)} events" in text
    # not a terminal: a line at each tenth (never a redrawn bar, which fills a log file)
    bars = [line for line in text.splitlines() if line.startswith("loading demo data [")]
    assert "\r" not in text and 2 <= len(bars) <= 11
    # loading the same run again stores nothing twice (each event has its eventId)
    assert load_demo(server.url, days=0.1, seed=11, end=end, out=None) == 0


def test_an_unreachable_api_is_a_clear_failure() -> None:
    with pytest.raises(DemoLoadFailed, match="cannot reach"):
        load_demo(f"http://127.0.0.1:{free_port()}", days=0.01, out=None)
    command = [
        sys.executable,
        "-m",
        "widget_monitor.cli",
        "demo",
        "--api-url",
        f"http://127.0.0.1:{free_port()}",
    ]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "demo: cannot reach" in done.stderr
