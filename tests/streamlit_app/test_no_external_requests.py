"""The dashboard's page asks nothing of any host but the dashboard's own and the API's.

A real API, a real `streamlit run` and Chromium: every request the page makes (documents,
scripts, fonts, images, the favicon, fetches, websockets) is recorded on the browser context
while it opens Overview and goes through the sidebar to other pages. Chromium's own traffic
(the browser process's, not a page's) never reaches the context's events, and the shared
browser is launched without it anyway (tests/support/browser.py).

What this caught: a `:material/...:` page icon, which Streamlit's frontend fetches from
fonts.gstatic.com as the favicon on every load, and (with `browser.gatherUsageStats` on)
data.streamlit.io/metrics.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import SCRIPT_DONE
from tests.support.dashboard import StreamlitProcess
from tests.support.server import ServerProcess

# Schemes that never leave the browser: inline images (the favicon is one), blobs, about:blank.
LOCAL_SCHEMES = {"data", "blob", "about"}
# Pages reached through the sidebar after Overview, each with its title.
VISITED = ("Persistence", "Alerts", "Trends")


@pytest.fixture(scope="module")
def dashboard(
    live_api: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitProcess]:
    with StreamlitProcess(live_api.url, tmp_path_factory.mktemp("streamlit")) as running:
        yield running


def settle(page: Page, title: str) -> None:
    """Wait until the page's title is drawn and the script run is over."""
    expect(page.locator("h1").first).to_have_text(title, timeout=60_000)
    page.wait_for_function(SCRIPT_DONE, timeout=60_000)


def offenders(urls: list[str], own: set[str]) -> list[str]:
    """The URLs whose origin is none of `own` (host:port), local schemes aside."""
    return [u for u in urls if urlsplit(u).scheme not in LOCAL_SCHEMES and urlsplit(u).netloc not in own]


def test_offenders_are_the_urls_of_other_hosts() -> None:
    own = {"127.0.0.1:8501", "127.0.0.1:8000"}
    urls = [
        "http://127.0.0.1:8501/static/js/index.js",
        "ws://127.0.0.1:8501/_stcore/stream",
        "http://127.0.0.1:8000/healthz",
        "data:image/svg+xml;base64,PHN2Zz4=",
        "http://127.0.0.1:9999/other-port",
        "http://localhost:8501/same-port-other-name",
        "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/x/default/24px.svg",
    ]
    assert offenders(urls, own) == urls[4:]


def test_the_dashboard_requests_nothing_outside_its_own_host_and_the_api(
    dashboard: StreamlitProcess, live_api: ServerProcess, browser: Browser
) -> None:
    own = {urlsplit(dashboard.url).netloc, urlsplit(live_api.url).netloc}
    requested: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        context.on("request", lambda request: requested.append(request.url))
        page = context.new_page()
        page.on("websocket", lambda socket: requested.append(socket.url))
        page.goto(dashboard.url)
        settle(page, "Overview")
        for title in VISITED:
            page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()
            settle(page, title)
        page.wait_for_timeout(1_000)  # anything the last run set off late (a favicon, a beacon)
        favicon = page.locator("link[rel='shortcut icon']").get_attribute("href") or ""
    finally:
        context.close()

    assert any(urlsplit(u).path.endswith("/_stcore/stream") for u in requested), requested  # recorded
    outside = offenders(requested, own)
    assert not outside, "requests outside {}:\n{}".format(
        ", ".join(sorted(own)), "\n".join(sorted(set(outside)))
    )
    assert favicon.startswith("data:image/svg+xml"), favicon  # the bundled icon, inline
