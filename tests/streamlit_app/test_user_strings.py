"""Regression: a customerId holding a Markdown link and an image became a live link and a pixel.

Every string a widget or a user supplies (customerId, widgetVersion, errorType, alert titles
and messages) shows as the text it is on every page: in Markdown only escaped
(`streamlit_app.text.literal`), otherwise in plain text elements or dataframe cells.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect
from streamlit.testing.v1 import AppTest

from streamlit_app.text import WORD_JOINER, literal
from tests.streamlit_app.conftest import HOSTILE_CUSTOMER, HOSTILE_ERROR, HOSTILE_VERSION, PLAIN_CUSTOMER
from tests.streamlit_app.test_pages import APP
from tests.support.browser import SCRIPT_DONE
from tests.support.dashboard import StreamlitProcess
from tests.support.server import ServerProcess

# `[text](` or `![alt](` with neither bracket escaped: Markdown would make it a link or an image
LIVE_LINK = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]\(")
HOSTILE = (HOSTILE_CUSTOMER, HOSTILE_VERSION, HOSTILE_ERROR)


def _hostile_view(api_url: str, monkeypatch: pytest.MonkeyPatch, page: str) -> AppTest:
    """The dashboard's `page` with the hostile customer chosen (from the link, as one is shared)."""
    monkeypatch.setenv("WIDGET_MONITOR_API_URL", api_url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params["customer"] = HOSTILE_CUSTOMER
    at.run()
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown_sources(at: AppTest) -> list[str]:
    """The Markdown source of everything Streamlit renders as Markdown on the page."""
    kinds = (at.title, at.header, at.subheader, at.markdown, at.caption)
    alerts = (at.info, at.success, at.warning, at.error)
    values = [e.value for kind in (*kinds, *alerts) for e in kind]
    labels = [w.label for kind in (at.selectbox, at.button, at.toggle, at.text_input) for w in kind]
    return [str(v) for v in values + labels]


def _assert_nothing_interpreted(sources: list[str]) -> None:
    for source in sources:
        assert not LIVE_LINK.search(source), source
        assert not any(raw in source for raw in HOSTILE), source


@pytest.mark.parametrize(
    "page", ["overview", "persistence", "performance", "memory_api", "alerts", "trends", "compare"]
)
def test_every_page_shows_a_markdown_customer_id_as_text(
    hostile_api: ServerProcess, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = _hostile_view(hostile_api.url, monkeypatch, page)
    if page == "compare":
        at.segmented_control(key="compare_mode").set_value("Customers").run()
        at.selectbox(key="compare_a_Customers").set_value(HOSTILE_CUSTOMER).run()
        at.selectbox(key="compare_b_Customers").set_value(PLAIN_CUSTOMER).run()
        assert not at.exception, [e.value for e in at.exception]
    sources = _markdown_sources(at)
    _assert_nothing_interpreted(sources)
    # the customer is on the page, escaped: the window's description names it
    shown = [s for s in sources if literal(HOSTILE_CUSTOMER) in s]
    assert shown, sources
    # selectbox options are plain text: the customer is offered exactly as it is
    assert HOSTILE_CUSTOMER in at.selectbox(key="customer").options
    if page == "compare":
        assert f"**A = {literal(HOSTILE_CUSTOMER)}, B = {PLAIN_CUSTOMER}**" in sources


@pytest.mark.parametrize("page", ["overview", "alerts"])
def test_an_alert_titled_with_a_markdown_customer_id_shows_it_as_text(
    hostile_api: ServerProcess, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    alerts = httpx.get(f"{hostile_api.url}/api/monitoring/alerts", params={"resolved": "false"}).json()[
        "data"
    ]
    [fired] = [
        a for a in alerts if a["customerId"] == HOSTILE_CUSTOMER and a["ruleId"] == "persistence.data_loss"
    ]
    assert HOSTILE_CUSTOMER in fired["title"]  # the API names the customer in the title
    at = _hostile_view(hostile_api.url, monkeypatch, page)
    sources = _markdown_sources(at)
    _assert_nothing_interpreted(sources)
    assert any(f"**{literal(fired['title'])}**" in s for s in sources), sources
    assert any(s.startswith(literal(f"{fired['category']} · {HOSTILE_CUSTOMER} · ")) for s in sources)


def test_the_escape_renders_back_to_the_same_text() -> None:
    # what a Markdown renderer shows: each backslash escape undone, the invisible joiners dropped
    def rendered(source: str) -> str:
        return re.sub(r"\\(.)", r"\1", source).replace(WORD_JOINER, "")

    text = r"a\b `c` *d* _e_ # f + g - h. i! |j| <k> {l} ~m~ :n: $o$ &p; =q www.r s@t.u https://v"
    assert rendered(literal(text)) == text
    assert literal("https://v") == "https\\:" + WORD_JOINER + "//v"  # a URL no autolinker sees


@pytest.fixture(scope="module")
def hostile_dashboard(
    hostile_api: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StreamlitProcess]:
    with StreamlitProcess(hostile_api.url, tmp_path_factory.mktemp("streamlit-hostile")) as running:
        yield running


@pytest.mark.parametrize("path", ["", "alerts", "persistence", "compare"])
def test_in_chromium_no_link_or_image_points_at_the_hostile_host(
    hostile_dashboard: StreamlitProcess, browser: Browser, path: str
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page: Page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{hostile_dashboard.url}/{path}?customer={quote(HOSTILE_CUSTOMER, safe='')}")
    page.wait_for_selector("h1", timeout=60_000)
    # the literal text, as written, is what the reader sees
    expect(page.get_by_text("[Session expired - sign in again](https:").first).to_be_visible(timeout=60_000)
    page.wait_for_function(SCRIPT_DONE, timeout=60_000)
    html = page.content()
    assert not re.search(r"<a\b[^>]*href=\"https://evil\.example", html)
    assert not re.search(r"<img\b[^>]*src=\"https://evil\.example", html)
    visible = page.evaluate("() => document.body.innerText").replace(WORD_JOINER, "")
    assert HOSTILE_CUSTOMER in visible
    assert not [url for url in requested if urlsplit(url).hostname == "evil.example"]
    assert page.locator('[data-testid="stException"]').count() == 0
    context.close()
