"""Disabled or sampled out, the SDK sets nothing up and sends nothing: the seed's zero overhead."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import BrowserContext, Request

from tests.sdk.summary_poll import summary
from tests.support.server import ServerProcess

# Installed before any script of the page runs: counts every listener, timer, frame callback,
# observer, channel and beacon set up by code whose stack runs through widget-monitor.js, and
# every POST of events whoever makes it.
COUNT_SDK_CALLS = """
(() => {
  const calls = {addEventListener: 0, setTimeout: 0, setInterval: 0, requestAnimationFrame: 0,
                 PerformanceObserver: 0, BroadcastChannel: 0, sendBeacon: 0, eventPosts: 0};
  window.__sdkCalls = calls;
  const fromSdk = () => (new Error().stack || '').includes('/sdk/widget-monitor.js');
  const wrap = (owner, name) => {
    const original = owner[name];
    owner[name] = function (...args) {
      if (fromSdk()) calls[name] += 1;
      return original.apply(this, args);
    };
  };
  wrap(EventTarget.prototype, 'addEventListener');
  wrap(window, 'setTimeout');
  wrap(window, 'setInterval');
  wrap(window, 'requestAnimationFrame');
  wrap(Navigator.prototype, 'sendBeacon');
  for (const name of ['PerformanceObserver', 'BroadcastChannel']) {
    const Original = window[name];
    const Counted = function (...args) {
      if (fromSdk()) calls[name] += 1;
      return new Original(...args);
    };
    Counted.prototype = Original.prototype;
    Object.setPrototypeOf(Counted, Original);
    window[name] = Counted;
  }
  const originalFetch = window.fetch;
  window.fetch = function (input, init) {
    if (String(input && input.url || input).includes('/api/monitoring/widget')) calls.eventPosts += 1;
    return originalFetch.apply(this, arguments);
  };
})();
"""


def use_the_widget(context: BrowserContext, url: str) -> dict[str, int]:
    """Send messages, scroll, save, reload and switch page; the SDK's calls on the last page."""
    page = context.new_page()
    page.goto(url)
    for text in ("hello **there**", "```js\nlet x = 1\n```"):
        page.fill("#input", text)
        page.click("#send")
        page.evaluate("demoWidget.idle()")
    assert page.locator("#messages .message").count() == 4  # the widget works either way
    page.hover("#messages")
    page.mouse.wheel(0, -300)
    page.wait_for_timeout(300)
    page.click("#save")
    page.click("#restore")
    first_page_calls: dict[str, int] = page.evaluate("window.__sdkCalls")
    page.click("a.switch-page[data-page='docs']")
    page.wait_for_url("**/demo/docs**")
    page.wait_for_function("document.querySelectorAll('.message').length === 4")
    page.evaluate("WidgetMonitor.measureTabSync()")
    page.wait_for_timeout(1500)  # several flush intervals
    last_page_calls: dict[str, int] = page.evaluate("window.__sdkCalls")
    page.close(run_before_unload=True)
    return {name: first_page_calls[name] + last_page_calls[name] for name in first_page_calls}


@pytest.mark.parametrize(
    "setting",
    [pytest.param("enabled=false", id="disabled"), pytest.param("sampleRate=0", id="sampled-out")],
)
def test_a_disabled_sdk_registers_nothing_and_sends_nothing(
    context: BrowserContext, sdk_server: ServerProcess, setting: str
) -> None:
    customer = "off-" + setting.split("=")[0]
    requests: list[Request] = []
    context.on("request", lambda r: requests.append(r) if "/api/monitoring/widget" in r.url else None)
    context.add_init_script(COUNT_SDK_CALLS)

    calls = use_the_widget(
        context, f"{sdk_server.url}/demo?customerId={customer}&{setting}&flushIntervalMs=300"
    )

    assert calls == {
        "addEventListener": 0,
        "setTimeout": 0,
        "setInterval": 0,
        "requestAnimationFrame": 0,
        "PerformanceObserver": 0,
        "BroadcastChannel": 0,
        "sendBeacon": 0,
        "eventPosts": 0,
    }
    assert requests == []
    time.sleep(0.5)
    figures = summary(sdk_server, customer)
    assert figures["performance"]["renders"]["count"] == 0
    assert figures["persistence"]["operations"]["total"] == 0
    assert figures["performance"]["api"]["totalCalls"] == 0
    assert figures["telemetry"]["received"] == 0


def test_the_same_counters_see_an_enabled_sdk(context: BrowserContext, sdk_server: ServerProcess) -> None:
    """The control: with the SDK on, the counters above are not zero."""
    context.add_init_script(COUNT_SDK_CALLS)
    calls = use_the_widget(context, f"{sdk_server.url}/demo?customerId=on-control&flushIntervalMs=300")
    # visibilitychange + pagehide + the list's scroll on the first page, two on the second
    assert calls["addEventListener"] >= 5
    assert calls["setInterval"] == 2  # the memory sampler, one per page
    assert calls["PerformanceObserver"] == 2 and calls["BroadcastChannel"] == 2
    assert calls["requestAnimationFrame"] > 0 and calls["setTimeout"] > 0
    assert calls["eventPosts"] > 0
