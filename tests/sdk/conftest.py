"""Real headless Chromium (Debian's) driven by Playwright, and a server shared by the module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext

from tests.support.server import ServerProcess


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: empty localStorage, empty HTTP cache."""
    opened = browser.new_context()
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def sdk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server for the module's tests; each test uses a customerId of its own."""
    data_dir: Path = tmp_path_factory.mktemp("sdk") / "data"
    with ServerProcess(data_dir) as running:
        yield running
