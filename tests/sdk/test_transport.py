"""How the SDK delivers: retries as the server asks, last batches on close, bounds and clamping."""

from __future__ import annotations

import json
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.sdk.flaky_proxy import FlakyProxy
from tests.sdk.summary_poll import summary, wait_for_summary
from tests.support.server import ServerProcess


def open_bare_page(page: Page, server: ServerProcess | FlakyProxy) -> None:
    """A page on the server's origin with nothing but the SDK, not yet initialised."""
    page.route(
        f"{server.url}/bare-page",
        lambda route: route.fulfill(
            content_type="text/html",
            body='<!doctype html><title>bare</title><script src="/sdk/widget-monitor.js"></script>',
        ),
    )
    page.goto(f"{server.url}/bare-page")


def init(page: Page, **config: Any) -> None:
    base = {"bundles": False, "memoryIntervalMs": 0, "tabSyncIntervalMs": 0, "flushIntervalMs": 60_000}
    page.evaluate("config => WidgetMonitor.init(config)", {**base, **config})


def event_ids(body: bytes) -> set[str]:
    return {event["metric"]["eventId"] for event in json.loads(body)}


@pytest.mark.parametrize(
    ("status", "retry_after", "least_s", "most_s"),
    [
        # Retry-After: 2 is a floor over the SDK's own first backoff (0.5-1 s)
        pytest.param(503, "2", 1.95, 3.5, id="503-retry-after"),
        pytest.param(429, "2", 1.95, 3.5, id="429-retry-after"),
        # no answer at all: the SDK's own backoff, 1 s with jitter down to half
        pytest.param("drop", None, 0.45, 1.6, id="network-error"),
    ],
)
def test_a_refused_batch_is_retried_when_the_server_says(
    context: BrowserContext,
    sdk_server: ServerProcess,
    status: int | str,
    retry_after: str | None,
    least_s: float,
    most_s: float,
) -> None:
    customer = f"retry-{status}"
    with FlakyProxy(sdk_server.url, status=status, retry_after=retry_after, failures=1) as proxy:
        page = context.new_page()
        # the page's bundles and first memory sample make the first batch, refused
        page.goto(f"{proxy.url}/demo?customerId={customer}&flushIntervalMs=200")
        page.wait_for_function("WidgetMonitor.getStats().retries === 1 && WidgetMonitor.getStats().sent > 0")
        refused, retried = proxy.arrivals[0], proxy.arrivals[1]
        assert refused.answered == status and retried.answered == 200
        assert least_s <= retried.at - refused.at <= most_s
        assert event_ids(refused.body) <= event_ids(retried.body)  # the same events, resent
        page.close()

    figures = wait_for_summary(
        sdk_server, customer, lambda s: s["performance"]["bundles"]["totalLoaded"] == 3
    )
    assert figures["telemetry"]["lost"] == 0


def test_a_page_closed_mid_session_delivers_its_last_batch(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "closed-mid-session"
    page = context.new_page()
    page.goto(f"{sdk_server.url}/demo?customerId={customer}&flushIntervalMs=600000")
    for text in ("first", "second **one**"):
        page.fill("#input", text)
        page.click("#send")
        page.evaluate("demoWidget.idle()")
    stats = page.evaluate("WidgetMonitor.getStats()")
    assert stats["sent"] == 0 and stats["queued"] == stats["tracked"] > 0  # all still in the page

    page.close(run_before_unload=True)

    figures = wait_for_summary(sdk_server, customer, lambda s: s["telemetry"]["received"] >= stats["tracked"])
    assert figures["performance"]["renders"]["count"] == 4
    assert figures["performance"]["api"]["totalCalls"] == 2
    assert figures["persistence"]["operations"]["total"] == 2
    # what was queued, plus what the page tracked while closing (a last memory sample)
    telemetry = figures["telemetry"]
    assert telemetry["expected"] == telemetry["received"] >= stats["tracked"]
    assert telemetry["lost"] == 0


def queue_big_events(page: Page, count: int) -> None:
    """`count` persistence failures of ~3.4 KB each (a long error message)."""
    page.evaluate(
        """n => { for (let i = 0; i < n; i++) WidgetMonitor.trackPersistence(
             {operation: 'save', success: false, duration: 1, errorType: 'QuotaExceededError',
              errorMessage: 'x'.repeat(3300)}); }""",
        count,
    )


def test_a_closing_page_sends_its_queue_in_chunks_under_64_kib(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "unload-51kb"
    with FlakyProxy(sdk_server.url, failures=0) as proxy:
        page = context.new_page()
        open_bare_page(page, proxy)
        init(page, customerId=customer, maxBatchBytes=20_000)
        queue_big_events(page, 15)  # ~51 KB: fits the browser's 64 KiB keepalive budget
        page.close(run_before_unload=True)
        figures = wait_for_summary(
            sdk_server, customer, lambda s: s["persistence"]["operations"]["total"] == 15
        )
        sizes = [len(a.body) for a in proxy.arrivals]
    assert len(sizes) >= 3 and max(sizes) <= 20_000
    assert figures["telemetry"]["lost"] == 0


def test_what_the_browser_cannot_take_at_unload_goes_with_the_next_page(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "unload-102kb"
    with FlakyProxy(sdk_server.url, failures=0) as proxy:
        page = context.new_page()
        open_bare_page(page, proxy)
        init(page, customerId=customer, maxBatchBytes=20_000)
        queue_big_events(page, 30)  # ~102 KB: over the 64 KiB the browser lets a closing page send
        page.close(run_before_unload=True)
        wait_for_summary(sdk_server, customer, lambda s: s["persistence"]["operations"]["total"] > 0)
        sent_while_closing = sum(len(a.body) for a in proxy.arrivals)
        assert sent_while_closing < 65_536

        later = context.new_page()  # the next page of the site, same endpoint
        open_bare_page(later, proxy)
        init(later, customerId=customer)
        later.evaluate("WidgetMonitor.flush()")
        figures = wait_for_summary(
            sdk_server, customer, lambda s: s["persistence"]["operations"]["total"] == 30
        )
        sizes = [len(a.body) for a in proxy.arrivals]
    assert max(sizes) < 65_536
    assert figures["persistence"]["operations"]["failed"] == 30
    # the first tab's sequence is complete: nothing was lost on the way
    assert figures["telemetry"]["lost"] == 0


def test_a_full_queue_drops_the_oldest_and_the_loss_shows_in_telemetry(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "bounded-queue"
    page = context.new_page()
    open_bare_page(page, sdk_server)
    init(page, customerId=customer, maxQueue=5)
    page.evaluate("() => { for (let i = 0; i < 8; i++) WidgetMonitor.trackRender({renderTime: i}); }")
    stats = page.evaluate("WidgetMonitor.getStats()")
    # tracked = 8 renders (+ 1 memory sample at start where the browser has performance.memory)
    tracked = stats["tracked"]
    assert stats["queued"] == 5 and stats["dropped"] == tracked - 5
    page.evaluate("WidgetMonitor.flush()")

    figures = wait_for_summary(sdk_server, customer, lambda s: s["telemetry"]["received"] == 5)
    assert figures["performance"]["renders"]["count"] == 5
    # the five newest renders: 3..7 ms
    assert figures["performance"]["renders"]["avgTime"] == 5.0
    telemetry = figures["telemetry"]
    assert (telemetry["expected"], telemetry["lost"]) == (tracked, tracked - 5)


def test_values_are_clamped_into_the_server_bounds_and_errors_stay_in_the_sdk(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "clamped"
    page_errors: list[Any] = []
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(error))
    open_bare_page(page, sdk_server)
    init(page, customerId=customer, debug=False)
    answers: list[dict[str, Any]] = []
    page.on("response", lambda r: answers.append(r.json()) if r.request.method == "POST" else None)
    stats = page.evaluate(
        """() => {
      const W = WidgetMonitor;
      W.trackRender({renderTime: NaN});                    // invalid: not sent
      W.trackRender({renderTime: '12'});                   // a string: invalid
      W.trackRender(null); W.trackRender(); W.trackRender('text');
      W.trackPersistence({operation: 'explode', success: true, duration: 1});  // unknown operation
      W.trackRender({get renderTime() { throw new Error('boom'); }});          // stays in the SDK
      W.trackRender({renderTime: 5e9, contentLength: -3, messageId: 'm'.repeat(1000), hasMarkdown: 'yes'});
      W.trackScroll({avgFps: 5000, minFps: -1, jankPercentage: 250, frameCount: 1.6});
      W.trackApi({duration: 12.3456789, success: 1, status: 1234, endpoint: 'x'.repeat(5000)});
      W.trackPersistence({operation: 'save', success: true, duration: -5, timestamp: new Date(0)});
      return W.getStats();
    }"""
    )
    assert page_errors == []
    assert (stats["invalid"], stats["errors"]) == (6, 1)
    page.evaluate("WidgetMonitor.flush()")
    page.wait_for_function("WidgetMonitor.getStats().sent > 0")
    assert [(a["stored"], a["rejected"], a["clampedTimestamps"]) for a in answers] == [
        (stats["tracked"], [], 0)
    ]

    figures = summary(sdk_server, customer)
    perf = figures["performance"]
    assert (perf["renders"]["count"], perf["renders"]["avgTime"]) == (1, 3_600_000.0)
    assert (perf["scroll"]["avgFps"], perf["scroll"]["minFps"], perf["scroll"]["jankPercentage"]) == (
        1000.0,
        0.0,
        100.0,
    )
    assert (perf["api"]["totalCalls"], perf["api"]["avgDuration"], perf["api"]["errorRate"]) == (
        1,
        12.35,
        0.0,
    )
    ops = figures["persistence"]
    assert (ops["operations"]["total"], ops["performance"]["avgDuration"]) == (1, 0.0)


def test_a_hidden_page_sends_its_queue_at_once(context: BrowserContext, sdk_server: ServerProcess) -> None:
    customer = "hidden-page"
    page = context.new_page()
    open_bare_page(page, sdk_server)
    init(page, customerId=customer)  # flushes only every 60 s
    page.evaluate("() => { for (let i = 0; i < 3; i++) WidgetMonitor.trackRender({renderTime: 2}); }")
    # the user switches tabs: the page is hidden (but stays open)
    page.evaluate(
        """() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
                   document.dispatchEvent(new Event('visibilitychange')); }"""
    )
    figures = wait_for_summary(sdk_server, customer, lambda s: s["performance"]["renders"]["count"] == 3, 5)
    assert figures["telemetry"]["lost"] == 0
    page.wait_for_function("WidgetMonitor.getStats().queued === 0 && WidgetMonitor.getStats().sent >= 3")


def test_a_page_closed_while_the_server_asks_to_wait_leaves_its_events_to_the_next_page(
    context: BrowserContext, sdk_server: ServerProcess
) -> None:
    customer = "closed-in-backoff"
    with FlakyProxy(sdk_server.url, status=503, retry_after="120", failures=1) as proxy:
        page = context.new_page()
        open_bare_page(page, proxy)
        init(page, customerId=customer)
        page.evaluate("() => { for (let i = 0; i < 4; i++) WidgetMonitor.trackRender({renderTime: 4}); }")
        page.evaluate("WidgetMonitor.flush()")  # refused: Retry-After 120 s
        assert page.evaluate("WidgetMonitor.getStats().retries") == 1
        page.close(run_before_unload=True)
        page_closed_at = len(proxy.arrivals)
        assert page_closed_at == 1  # nothing sent while the server asked to wait

        later = context.new_page()
        open_bare_page(later, proxy)
        init(later, customerId=customer)
        later.evaluate("WidgetMonitor.flush()")
        figures = wait_for_summary(sdk_server, customer, lambda s: s["performance"]["renders"]["count"] == 4)
    assert figures["telemetry"]["lost"] == 0
