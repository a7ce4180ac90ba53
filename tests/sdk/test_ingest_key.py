"""The ingest key: sent as ?key= on every delivery path, and a rejected key stops the page sending."""

from __future__ import annotations

import html
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage

from tests.sdk.receiver import EventReceiver

# Characters a query needs encoded: a space, + (a space to form decoders), / = & ? and non-ASCII.
KEY = "wmk_live a+b/c=d&e?é"
KEY_IN_QUERY = "key=wmk_live%20a%2Bb%2Fc%3Dd%26e%3F%C3%A9"  # encodeURIComponent, by hand

# Installed before the SDK loads, so that it is what the SDK takes as fetch and sendBeacon.
SPY = """
window.__sent = [];
const fetch0 = window.fetch;
window.fetch = function (url, init) {
  window.__sent.push({via: init && init.keepalive ? 'keepalive' : 'fetch', url: String(url)});
  return fetch0.apply(this, arguments);
};
const beacon0 = Navigator.prototype.sendBeacon;
Navigator.prototype.sendBeacon = function (url, body) {
  window.__sent.push({via: 'beacon', url: String(url)});
  return beacon0.apply(this, arguments);
};
"""
NO_FETCH = "window.fetch = undefined;"  # a browser without fetch: a hidden page's queue goes by beacon

HIDE = """() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
                  document.dispatchEvent(new Event('visibilitychange')); }"""


def tag_page(attributes: dict[str, str]) -> str:
    attrs = " ".join(f'{name}="{html.escape(value, quote=True)}"' for name, value in attributes.items())
    return f'<!doctype html><title>host</title><script src="/sdk/widget-monitor.js" {attrs}></script>'


BARE_PAGE = tag_page({})
KEYED_TAG = tag_page(
    {
        "data-key": KEY,
        "data-customer-id": "keyed",
        "data-flush-interval-ms": "600000",
        "data-memory-interval-ms": "0",
        "data-tab-sync-interval-ms": "0",
    }
)


@pytest.fixture
def receiver() -> Iterator[EventReceiver]:
    with EventReceiver(pages={"/tag": KEYED_TAG, "/bare": BARE_PAGE}) as running:
        yield running


def wait_for_posts(receiver: EventReceiver, count: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while len(receiver.received()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(receiver.received()) >= count, receiver.received()


@pytest.mark.parametrize(
    ("path", "scripts", "send"),
    [
        pytest.param("fetch", [SPY], "() => WidgetMonitor.flush()", id="fetch"),
        pytest.param("keepalive", [SPY], HIDE, id="keepalive-on-hide"),
        pytest.param("beacon", [SPY, NO_FETCH], HIDE, id="sendBeacon-on-hide"),
    ],
)
def test_the_key_from_the_tag_goes_url_encoded_in_the_query_of_every_delivery_path(
    context: BrowserContext, receiver: EventReceiver, path: str, scripts: list[str], send: str
) -> None:
    page = context.new_page()
    for script in scripts:
        page.add_init_script(script)
    page.goto(f"{receiver.url}/tag")
    page.evaluate("WidgetMonitor.trackRender({renderTime: 3})")
    page.evaluate(send)
    wait_for_posts(receiver, 1)

    expected_url = f"{receiver.url}/api/monitoring/widget?{KEY_IN_QUERY}"
    assert page.evaluate("window.__sent") == [{"via": path, "url": expected_url}]
    [post] = receiver.received()
    assert post.target == f"/api/monitoring/widget?{KEY_IN_QUERY}"
    assert post.query == {"key": [KEY]}
    # still a CORS-simple request: text/plain, no header of the SDK's own
    assert post.content_type == "text/plain;charset=UTF-8"
    assert post.fetch_mode == ("no-cors" if path == "beacon" else "cors")
    assert b'"renderTime":3' in post.body


@pytest.mark.parametrize(
    ("endpoint", "key", "target"),
    [
        pytest.param("/api/monitoring/widget", "wmk_abc", "/api/monitoring/widget?key=wmk_abc", id="option"),
        pytest.param(
            "/api/monitoring/widget?region=eu",
            "wmk_abc",
            "/api/monitoring/widget?region=eu&key=wmk_abc",
            id="endpoint-with-a-query",
        ),
        pytest.param("/api/monitoring/widget", None, "/api/monitoring/widget", id="no-key-no-parameter"),
    ],
)
def test_the_key_option_of_init_is_sent_as_the_key_parameter(
    context: BrowserContext, receiver: EventReceiver, endpoint: str, key: str | None, target: str
) -> None:
    page = context.new_page()
    page.goto(f"{receiver.url}/bare")
    config = {
        "endpoint": endpoint,
        "key": key,
        "bundles": False,
        "memoryIntervalMs": 0,
        "tabSyncIntervalMs": 0,
    }
    page.evaluate("config => WidgetMonitor.init(config)", config)
    page.evaluate("() => { WidgetMonitor.trackRender({renderTime: 1}); return WidgetMonitor.flush(); }")
    assert [p.target for p in receiver.received()] == [target]


@pytest.mark.parametrize(
    ("status", "debug"),
    [pytest.param(401, False, id="401"), pytest.param(403, True, id="403-debug")],
)
def test_a_rejected_key_stops_all_sending_with_one_warning(
    context: BrowserContext, status: int, debug: bool
) -> None:
    with EventReceiver(status=status, pages={"/bare": BARE_PAGE}) as receiver:
        page = context.new_page()
        warnings: list[str] = []
        page.on("console", lambda m: _keep_warning(m, warnings))
        page.goto(f"{receiver.url}/bare")
        page.evaluate(
            "config => WidgetMonitor.init(config)",
            {"key": KEY, "flushIntervalMs": 200, "debug": debug, **_QUIET},
        )
        page.evaluate("() => { for (let i = 0; i < 3; i++) WidgetMonitor.trackRender({renderTime: i}); }")
        # 3 renders, plus a memory sample at start where the browser has performance.memory
        tracked = page.evaluate("WidgetMonitor.getStats().tracked")
        page.wait_for_function(f"WidgetMonitor.getStats().keyRejected === {status}")
        assert len(receiver.received()) == 1

        # the page keeps tracking over several flush intervals, flushes, and is hidden
        page.evaluate(_KEEP_TRACKING, 1500)
        page.evaluate("WidgetMonitor.flush()")
        page.evaluate(HIDE)
        stats: dict[str, Any] = page.evaluate("WidgetMonitor.getStats()")
        page.close(run_before_unload=True)
        time.sleep(0.5)

        assert len(receiver.received()) == 1  # the one request that learnt the key was refused
    assert (stats["queued"], stats["retries"], stats["beacons"], stats["sent"]) == (0, 0, 0, 0)
    # the refused batch counts as rejected; nothing tracked after the refusal was queued
    assert (stats["rejected"], stats["tracked"], stats["keyRejected"]) == (tracked, tracked, status)
    assert len(warnings) == 1, warnings
    assert f"HTTP {status}" in warnings[0] and "rejected the ingest key" in warnings[0]
    assert "wmk_" not in warnings[0]


_QUIET = {"bundles": False, "memoryIntervalMs": 0, "tabSyncIntervalMs": 0}
_KEEP_TRACKING = """ms => new Promise(done => {
  const timer = setInterval(() => WidgetMonitor.trackRender({renderTime: 2}), 50);
  setTimeout(() => { clearInterval(timer); done(); }, ms);
})"""


def _keep_warning(message: ConsoleMessage, warnings: list[str]) -> None:
    if message.type == "warning":
        warnings.append(message.text)
