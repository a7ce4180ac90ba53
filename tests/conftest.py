"""Shared fixtures: a temp data dir, an in-process app, and a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Playwright, sync_playwright

from ingest_api.main import create_app
from ingest_api.settings import Settings
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS
from tests.support.server import LOCAL, ServerProcess


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    # Bodies are read in place: a decoder process costs each app ~0.4 s to start, and the
    # ingest tests run against both ways of reading (tests/ingest_api/test_ingest.py).
    return Settings(data_dir=data_dir, summary_cache_seconds=0, decoder_processes=0)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app in-process (lifespan and all) over a fresh store."""
    with TestClient(base_url=LOCAL, app=create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def server(data_dir: Path) -> Iterator[ServerProcess]:
    """A real `widget-monitor serve` process on a free loopback port."""
    with ServerProcess(data_dir) as running:
        yield running


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright driver for the whole run: a second sync_playwright() in the same
    process while one is alive fails, so every browser test shares this one."""
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Real headless Chromium (Debian's), shared by the browser tests of the run."""
    launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield launched
    launched.close()
