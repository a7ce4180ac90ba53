"""One real API with a few hours of demo traffic per test module, shared by the dashboard tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from analytics.demo_data import generate_demo
from tests.support.dashboard import post_events
from tests.support.server import ServerProcess

NO_CACHE = {"WIDGET_MONITOR_SUMMARY_CACHE_SECONDS": "0"}


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real `widget-monitor serve` holding the last 6 hours of the demo dataset."""
    data_dir = tmp_path_factory.mktemp("dashboard") / "data"
    with ServerProcess(data_dir, env=NO_CACHE) as server:
        post_events(server.url, generate_demo(end=datetime.now(UTC), days=0.25, seed=3))
        yield server


@pytest.fixture(scope="module")
def empty_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("empty") / "data"
    with ServerProcess(data_dir, env=NO_CACHE) as server:
        yield server
