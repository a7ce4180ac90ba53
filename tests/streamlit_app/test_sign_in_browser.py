"""Signing in through the form in real headless Chromium, against a real API that enforces credentials."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.streamlit_app.conftest import ADMIN_TOKEN, SecuredApi
from tests.streamlit_app.test_browser import PAGES, settle
from tests.support.dashboard import StreamlitProcess, alert, fire_data_loss_alert

ACTIONS = re.compile(r"^(Resolve|Acknowledge|Snooze|Run alert check now)$")
# What each page draws last: its text is read once this shows (h1 comes first, the rest streams in)
LAST = {
    "Overview": "Key figures",
    "Persistence": "Over time",
    "Performance": "Over time, by widget version",
    "Memory & API": "Over time",
    "Alerts": "Resolved history",
    "Trends": "Download CSV",
    "Compare": "How to read this",
}


@pytest.fixture(scope="module")
def dashboard(
    secured_api: SecuredApi, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitProcess]:
    """A dashboard with no token of its own: whoever opens it signs in."""
    with StreamlitProcess(secured_api.url, tmp_path_factory.mktemp("streamlit-signin")) as running:
        yield running


def sign_in(page: Page, token: str) -> None:
    page.locator('input[type="password"]').fill(token)
    page.get_by_role("button", name="Sign in").click()


def go_to(page: Page, title: str) -> None:
    """Follow the sidebar's link (a new page load would be a new session, signed out)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
    expect(page.locator("h1").first).to_have_text(title, timeout=60_000)
    settle(page)


def test_a_customer_scoped_viewer_signs_in_and_sees_its_customer_alone(
    dashboard: StreamlitProcess, secured_api: SecuredApi, page: Page
) -> None:
    fire_data_loss_alert(secured_api.url, "acme", ADMIN_TOKEN)
    page.goto(dashboard.url)
    settle(page)
    expect(page.locator("h1").first).to_have_text("Sign in")
    assert page.locator('[data-testid="stSidebarNav"]').count() == 0  # no pages before signing in
    sign_in(page, "not-a-token")
    expect(page.get_by_text("This token was not accepted")).to_be_visible(timeout=30_000)
    expect(page.locator('input[type="password"]')).to_have_value("")  # not kept, not shown back
    token = secured_api.tokens["viewer-acme"]
    sign_in(page, token)
    expect(page.locator("h1").first).to_have_text("Overview", timeout=60_000)
    settle(page)
    expect(page.get_by_text("Signed in as viewer-acme · viewer · customer acme")).to_be_visible()
    page.locator(".st-key-customer input").click()
    assert page.get_by_role("option").all_inner_texts() == ["acme"]
    page.keyboard.press("Escape")
    for title in PAGES.values():
        if title != "Overview":
            go_to(page, title)
        expect(page.get_by_text(LAST[title]).first).to_be_visible(timeout=60_000)
        settle(page)
        text = page.locator("body").inner_text()
        assert "acme" in text, title
        assert "globex" not in text.lower(), title
        assert page.get_by_role("button", name=ACTIONS).count() == 0, title
        assert page.locator('[data-testid="stException"]').count() == 0, title
        if title == "Alerts":
            assert "Conversation data lost (acme)" in text
        if title == "Compare":
            modes = page.locator(".st-key-compare_mode button").all_inner_texts()
            assert modes == ["Widget versions", "Time ranges"]
    assert token not in page.url and token not in page.locator("body").inner_text()
    assert token not in dashboard.log_path.read_text(errors="replace")


def test_an_editor_resolves_an_alert_and_signs_out(
    dashboard: StreamlitProcess, secured_api: SecuredApi, page: Page
) -> None:
    fired = fire_data_loss_alert(secured_api.url, "acme", ADMIN_TOKEN)
    page.goto(f"{dashboard.url}/alerts")  # the link's page is kept for after the sign-in
    settle(page)
    sign_in(page, secured_api.tokens["editor-all"])
    expect(page.locator("h1").first).to_have_text("Alerts", timeout=60_000)
    settle(page)
    expect(page.get_by_text("Signed in as editor-all · editor · all customers")).to_be_visible()
    page.locator(f".st-key-resolve-{fired['id']} button").click()
    deadline = time.monotonic() + 30
    while not alert(secured_api.url, fired["id"], ADMIN_TOKEN)["resolved"] and time.monotonic() < deadline:
        time.sleep(0.2)
    stored = alert(secured_api.url, fired["id"], ADMIN_TOKEN)
    assert stored["resolved"] is True and stored["resolvedBy"] == "editor-all"  # the token's name
    expect(page.locator(f".st-key-resolve-{fired['id']}")).to_have_count(0, timeout=30_000)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("h1").first).to_have_text("Sign in", timeout=30_000)
    expect(page.locator('input[type="password"]')).to_be_visible()
    assert page.locator('[data-testid="stException"]').count() == 0
