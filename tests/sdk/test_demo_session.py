"""A user session on the demo widget in real Chromium, found again in the server's summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Response

from tests.sdk.summary_poll import wait_for_summary
from tests.support.server import ServerProcess

SDK = Path(__file__).resolve().parents[2] / "sdk"
# The three bundles each demo page loads: the SDK, the widget's script and its stylesheet.
BUNDLE_BYTES = sum(
    (SDK / name).stat().st_size for name in ("widget-monitor.js", "demo/demo.js", "demo/demo.css")
)

CODE = "Why does this fail?\n```python\n" + "\n".join(f"print({i})" for i in range(30)) + "\n```"


def send(page: Page, text: str) -> None:
    page.fill("#input", text)
    page.click("#send")
    page.evaluate("demoWidget.idle()")


def record_answers(context: BrowserContext) -> list[tuple[int, dict[str, Any]]]:
    """(status, JSON answer) of every POST of events, read as it arrives (before any navigation)."""
    answers: list[tuple[int, dict[str, Any]]] = []

    def on_response(response: Response) -> None:
        if response.request.method == "POST" and "/api/monitoring/widget" in response.url:
            answers.append((response.status, json.loads(response.text())))

    context.on("response", on_response)
    return answers


def test_a_demo_session_reaches_the_summary(context: BrowserContext, sdk_server: ServerProcess) -> None:
    customer = "demo-session"
    answers = record_answers(context)
    page = context.new_page()
    page.goto(f"{sdk_server.url}/demo?customerId={customer}&flushIntervalMs=300")

    # three exchanges: each renders 2 messages, calls the API once, saves once
    send(page, "hello **world**")
    send(page, CODE)
    send(page, "thanks, `that` helps")
    assert page.locator("#messages .message").count() == 6
    assert page.locator("#messages pre code").count() == 2  # the code block, and the bot's echo
    assert page.locator("#messages strong").first.inner_text() == "world"

    # scroll the list up and down, twice, with pauses longer than a gesture's idle time
    page.hover("#messages")
    for delta in (-600, 400):
        page.mouse.wheel(0, delta)
        page.wait_for_timeout(700)

    page.click("#save")  # a save
    page.click("#restore")  # a restore, and the 6 messages rendered again

    # a second tab: restores the 6 messages, then the two tabs ping each other
    with context.expect_page() as opened:
        page.click("#new-tab")
    second = opened.value
    second.wait_for_function(
        "WidgetMonitor.getStats().tabId && document.querySelectorAll('.message').length === 6"
    )
    page.wait_for_function("WidgetMonitor.getStats().peers >= 1")
    send(page, "one more")  # 2 renders, 1 API call, 1 save, then a tab sync ping
    result = second.evaluate("WidgetMonitor.measureTabSync()")
    assert result["success"] is True and result["tabCount"] == 1

    # switch page: saves, navigates, restores 8 messages, reports the navigation
    page.click("a.switch-page[data-page='pricing']")
    page.wait_for_url("**/demo/pricing**")
    page.wait_for_function("document.querySelectorAll('.message').length === 8")

    renders = 6 + 6 + 6 + 2 + 8
    persistence = 3 + 1 + 1 + 1 + 1  # saves after each exchange, Save, Reload, the fourth, leaving
    figures = wait_for_summary(
        sdk_server,
        customer,
        lambda s: (
            s["performance"]["renders"]["count"] >= renders
            and s["persistence"]["navigation"]["total"] >= 1
            and s["performance"]["tabSync"]["operations"] >= 2
            and s["performance"]["bundles"]["totalLoaded"] >= 9
        ),
    )
    perf = figures["performance"]
    assert perf["renders"]["count"] == renders
    assert 0 < perf["renders"]["avgTime"] < 1000

    ops = figures["persistence"]["operations"]
    assert (ops["total"], ops["successful"], ops["failed"]) == (persistence, persistence, 0)
    restoration = figures["persistence"]["restoration"]
    assert restoration["total"] == 2  # the second tab, and the pricing page
    assert restoration["successRate"] == 100.0
    assert restoration["avgMessagesRestored"] == (6 + 8) / 2
    navigation = figures["persistence"]["navigation"]
    assert (navigation["total"], navigation["successCount"], navigation["dataPreservedCount"]) == (1, 1, 1)
    assert navigation["dataLossCount"] == 0 and navigation["avgDuration"] > 0

    assert perf["api"]["totalCalls"] == 4
    assert perf["api"]["errorRate"] == 0.0

    tab_sync = perf["tabSync"]
    assert (tab_sync["operations"], tab_sync["failures"]) == (2, 0)
    assert 0 <= tab_sync["avgLatency"] < 1000

    scroll = perf["scroll"]
    assert 0 < scroll["minFps"] <= scroll["avgFps"] <= 1000
    assert 0 <= scroll["jankPercentage"] <= 100

    memory = perf["memory"]
    assert memory["peak"]["bytes"] >= memory["average"]["bytes"] > 0

    bundles = perf["bundles"]
    assert bundles["totalLoaded"] == 9  # 3 per page load: first tab, second tab, pricing page
    assert bundles["totalSize"]["bytes"] == 3 * BUNDLE_BYTES
    assert bundles["avgLoadTime"] >= 0

    # nothing the SDK sent was refused, and nothing was lost on the way
    assert answers and all(status == 200 and answer["rejected"] == [] for status, answer in answers)
    telemetry = figures["telemetry"]
    assert telemetry["lost"] == 0 and telemetry["completeness"] == 100.0
    assert telemetry["expected"] == telemetry["received"] > renders
