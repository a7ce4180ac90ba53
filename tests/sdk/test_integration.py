"""The SDK as a host page meets it: the one tag, sampling per tab, and the fetch wrapper."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page

from tests.sdk.flaky_proxy import FlakyProxy
from tests.sdk.summary_poll import wait_for_summary
from tests.support.server import ServerProcess

SDK_BYTES = (Path(__file__).resolve().parents[2] / "sdk" / "widget-monitor.js").stat().st_size


def open_page_with_tag(page: Page, server: ServerProcess, attributes: str) -> None:
    """A host page on the server's origin whose only script is the SDK's one tag."""
    page.route(
        f"{server.url}/host-page",
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<!doctype html><script src="/sdk/widget-monitor.js" {attributes}></script>',
        ),
    )
    page.goto(f"{server.url}/host-page")


def test_one_tag_without_an_endpoint_reports_to_the_server_it_came_from(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "one-tag"
    page = context.new_page()
    open_page_with_tag(
        page,
        sdk_server,
        f'data-customer-id="{customer}" data-widget-version="9.9.9" data-flush-interval-ms="200"',
    )
    stats = page.evaluate("WidgetMonitor.getStats()")
    assert stats["enabled"] is True
    page.evaluate("WidgetMonitor.trackRender({messageId: 'm1', renderTime: 7.25})")
    figures = wait_for_summary(sdk_server, customer, lambda s: s["performance"]["renders"]["count"] == 1)
    assert figures["performance"]["renders"]["avgTime"] == 7.25
    # the tag's own load is a bundle: the SDK itself
    assert figures["performance"]["bundles"]["totalLoaded"] == 1


def test_sampling_is_decided_once_per_tab(context: BrowserContext, sdk_server: ServerProcess) -> None:
    page = context.new_page()
    page.add_init_script("Math.random = () => 0.3")  # 0.3 < 0.5: in the sample
    open_page_with_tag(page, sdk_server, 'data-customer-id="sampled" data-sample-rate="0.5"')
    assert page.evaluate("WidgetMonitor.isEnabled()") is True
    page.add_init_script("Math.random = () => 0.9")  # would be out, but the tab already decided
    page.reload()
    assert page.evaluate("WidgetMonitor.isEnabled()") is True

    other_tab = context.new_page()  # a new tab decides for itself
    other_tab.add_init_script("Math.random = () => 0.9")
    open_page_with_tag(other_tab, sdk_server, 'data-customer-id="sampled" data-sample-rate="0.5"')
    assert other_tab.evaluate("WidgetMonitor.isEnabled()") is False


def test_a_session_lasts_as_long_as_the_tab_and_a_sequence_as_the_page(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    page = context.new_page()
    open_page_with_tag(page, sdk_server, 'data-customer-id="sessions"')
    page.evaluate("WidgetMonitor.trackRender({renderTime: 1})")
    before = page.evaluate("WidgetMonitor.getStats()")
    page.reload()
    after = page.evaluate("WidgetMonitor.getStats()")
    assert after["sessionId"] == before["sessionId"]
    assert after["tabId"] != before["tabId"]
    assert after["seq"] < before["seq"]  # a new page view starts its sequence again

    other_tab = context.new_page()
    open_page_with_tag(other_tab, sdk_server, 'data-customer-id="sessions"')
    assert other_tab.evaluate("WidgetMonitor.getStats().sessionId") != before["sessionId"]


def test_the_fetch_wrapper_times_calls_and_sees_cache_hits(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "fetch-wrapper"
    page = context.new_page()
    # a real page of the server's, not a routed one: Playwright's routing turns the HTTP cache off
    page.goto(f"{sdk_server.url}/healthz")
    page.add_script_tag(url="/sdk/widget-monitor.js")
    page.evaluate("c => WidgetMonitor.init(c)", {"customerId": customer, "flushIntervalMs": 200})
    outcome: dict[str, Any] = page.evaluate(
        """async () => {
      const W = WidgetMonitor;
      const url = '/api/monitoring/widget?window=4321';
      const first = await W.fetch(url);  // from the server
      const second = await W.fetch(url);  // max-age=30: from the browser's HTTP cache
      // a URL new to the browser, the same summary to the server: its 30 s cache answers
      const third = await W.fetch(url + '&format=json');
      const missing = await W.fetch('/nowhere');
      let networkError = null;
      try { await W.fetch('http://127.0.0.1:9/'); } catch (e) { networkError = e.name; }
      return {xCache: [first, second, third].map(r => r.headers.get('X-Cache')),
              body: (await third.json()).timeWindow, missing: missing.status, networkError};
    }"""
    )
    # the caller gets the responses and errors fetch would have given it
    assert outcome == {
        "xCache": ["MISS", "MISS", "HIT"],
        "body": 4321,
        "missing": 404,
        "networkError": "TypeError",
    }

    figures = wait_for_summary(sdk_server, customer, lambda s: s["performance"]["api"]["totalCalls"] == 5)
    api = figures["performance"]["api"]
    assert api["errorRate"] == 40.0  # the 404 and the network error, of five
    assert api["cacheHitRate"] == 40.0  # the browser's cache and the server's
    assert api["avgDuration"] >= 0


def test_a_widget_on_another_origin_reports_across_origins(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    """The customer's site (another port) loads the tag from the monitor: CORS all the way."""
    customer = "cross-origin"
    tag = (
        f'<!doctype html><script src="{sdk_server.url}/sdk/widget-monitor.js" '
        f'data-customer-id="{customer}" data-flush-interval-ms="200"></script>'
    )
    with FlakyProxy(sdk_server.url, failures=0, pages={"/customer-site": tag}) as customer_site:
        page = context.new_page()
        page.goto(f"{customer_site.url}/customer-site")
        assert page.evaluate("location.origin") != sdk_server.url
        page.evaluate("WidgetMonitor.trackRender({renderTime: 3.5})")
        figures = wait_for_summary(
            sdk_server,
            customer,
            lambda s: (
                s["performance"]["renders"]["count"] == 1 and s["performance"]["bundles"]["totalLoaded"] == 1
            ),
        )
        assert page.evaluate("WidgetMonitor.getStats().rejected") == 0
        assert customer_site.arrivals == []  # the events went straight to the monitor
    # Timing-Allow-Origin on the script lets the customer's page see its size
    assert figures["performance"]["bundles"]["totalSize"]["bytes"] == SDK_BYTES


def test_a_tab_that_died_without_a_goodbye_is_one_failed_sync(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "dead-tab"
    url = f"{sdk_server.url}/demo?customerId={customer}&flushIntervalMs=200"
    first, second = context.new_page(), context.new_page()
    first.goto(url)
    second.goto(url)
    first.wait_for_function("WidgetMonitor.getStats().peers === 1")
    assert first.evaluate("WidgetMonitor.measureTabSync()")["success"] is True

    # the second tab goes away without its goodbye, as a crashed or killed tab does
    second.evaluate(
        """() => { const post = BroadcastChannel.prototype.postMessage;
                   BroadcastChannel.prototype.postMessage = function (message) {
                     if (!(message && message.k === 'bye')) return post.call(this, message); }; }"""
    )
    second.close()

    failed = first.evaluate("WidgetMonitor.measureTabSync()")
    assert failed == {"latency": 1000, "success": False, "tabCount": 0}
    assert first.evaluate("WidgetMonitor.measureTabSync()") is None  # the dead tab is forgotten

    figures = wait_for_summary(sdk_server, customer, lambda s: s["performance"]["tabSync"]["operations"] == 2)
    tab_sync = figures["performance"]["tabSync"]
    assert (tab_sync["failures"], tab_sync["failureRate"]) == (1, 50.0)
