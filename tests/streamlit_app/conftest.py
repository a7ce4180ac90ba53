"""One real API with a few hours of demo traffic per test module, shared by the dashboard tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from analytics.demo_data import generate_demo
from tests.support.dashboard import bearer, create_token, post_events
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


# A customerId, widget version and error type as an attacker would send them: a Markdown
# link dressed as a sign-in prompt, and an image every viewer's browser would fetch.
HOSTILE_CUSTOMER = (
    "[Session expired - sign in again](https://evil.example/login) ![x](https://evil.example/pixel.png)"
)
HOSTILE_VERSION = "![v](https://evil.example/version.png)"
HOSTILE_ERROR = "[QuotaExceededError](https://evil.example/help)"
PLAIN_CUSTOMER = "acme"


def _hostile_events() -> list[dict[str, Any]]:
    now_ms = datetime.now(UTC).timestamp() * 1000
    events: list[dict[str, Any]] = []
    for customer, version in ((HOSTILE_CUSTOMER, HOSTILE_VERSION), (PLAIN_CUSTOMER, "2.4.0")):
        common = {"customerId": customer, "widgetVersion": version, "sessionId": f"s-{customer}"}
        for i in range(40):
            at = now_ms - i * 100
            events.append(
                {"type": "render", "metric": {"renderTime": 4.0 + i % 7, "timestamp": at, **common}}
            )
            lost = customer == HOSTILE_CUSTOMER and i % 4 == 0
            save = {"operation": "save", "success": not lost, "duration": 30.0, "dataLoss": lost}
            if lost:
                save["errorType"] = HOSTILE_ERROR
            events.append({"type": "persistence", "metric": {**save, "timestamp": at, **common}})
    return events


@pytest.fixture(scope="module")
def hostile_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A real API whose data names a customer, a version and an error type in Markdown, with an
    unresolved data-loss alert of that customer (alerts per customer: its title names it)."""
    root = tmp_path_factory.mktemp("hostile")
    config = root / "alerts.toml"
    config.write_text("perCustomer = true\n")
    env = {**NO_CACHE, "WIDGET_MONITOR_ALERTS_CONFIG": str(config)}
    with ServerProcess(root / "data", env=env) as server:
        post_events(server.url, _hostile_events())
        httpx.post(f"{server.url}/api/monitoring/alerts/check", json={}, timeout=30).raise_for_status()
        yield server


# -- access control: a server that asks for a credential ------------------------------------
ADMIN_TOKEN = "dashboard-test-admin-token-0123456789abcdef"
CUSTOMERS = ("acme", "globex")
# name -> (role, customer scope): the tokens the dashboard signs in with
TOKENS = {
    "viewer-acme": ("viewer", "acme"),
    "viewer-all": ("viewer", None),
    "editor-all": ("editor", None),
    "editor-acme": ("editor", "acme"),
}


@dataclass(frozen=True, slots=True)
class SecuredApi:
    """A real API with WIDGET_MONITOR_ADMIN_TOKEN set, data of two customers, and one token per role."""

    server: ServerProcess
    tokens: dict[str, str]  # name -> secret

    @property
    def url(self) -> str:
        return self.server.url


def _two_customers() -> list[dict[str, Any]]:
    """Renders and saves (a quarter of them losing data) of acme and globex, just now."""
    now_ms = datetime.now(UTC).timestamp() * 1000
    events: list[dict[str, Any]] = []
    for customer in CUSTOMERS:
        for i in range(40):
            common = {
                "customerId": customer,
                "widgetVersion": "2.4.0" if i % 2 else "2.5.0",
                "sessionId": f"s-{customer}-{i % 3}",
                "timestamp": now_ms - i * 100,
            }
            events.append({"type": "render", "metric": {"renderTime": 4.0 + i % 7, **common}})
            lost = i % 4 == 0
            save = {"operation": "save", "success": not lost, "duration": 30.0, "dataLoss": lost}
            events.append({"type": "persistence", "metric": {**save, **common}})
    return events


@pytest.fixture(scope="package")
def secured_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredApi]:
    """One enforcing API for the sign-in tests, with a data-loss alert per customer (its title names it)."""
    root = tmp_path_factory.mktemp("secured")
    config = root / "alerts.toml"
    config.write_text("perCustomer = true\n")
    env = {**NO_CACHE, "WIDGET_MONITOR_ALERTS_CONFIG": str(config), "WIDGET_MONITOR_ADMIN_TOKEN": ADMIN_TOKEN}
    with ServerProcess(root / "data", env=env) as server:
        post_events(server.url, _two_customers(), ADMIN_TOKEN)
        checked = httpx.post(
            f"{server.url}/api/monitoring/alerts/check", json={}, headers=bearer(ADMIN_TOKEN), timeout=30
        )
        checked.raise_for_status()
        tokens = {
            name: create_token(server.url, ADMIN_TOKEN, name, role, customer)
            for name, (role, customer) in TOKENS.items()
        }
        yield SecuredApi(server, tokens)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser page at the dashboard's usual size (a context of its own: no shared session)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()
