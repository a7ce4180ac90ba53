"""Every dashboard page driven by Streamlit's AppTest against a real API server with real data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from analytics.rollups.sketch import ALPHA
from streamlit_app.api_client import MonitorClient
from streamlit_app.compare import COMPARE_FIGURES
from streamlit_app.context import PageContext
from streamlit_app.filters import filters_for
from streamlit_app.layout import Trend, load_page, load_summaries
from streamlit_app.shaping import auto_bucket
from streamlit_app.text import literal
from tests.support.dashboard import alert, fire_data_loss_alert
from tests.support.server import ServerProcess

APP = Path(__file__).resolve().parents[2] / "streamlit_app" / "app.py"
PAGES = {
    "overview": "Overview",
    "persistence": "Persistence",
    "performance": "Performance",
    "memory_api": "Memory & API",
    "alerts": "Alerts",
    "trends": "Trends",
    "compare": "Compare",
}


def _app(api_url: str, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("WIDGET_MONITOR_API_URL", api_url)
    at = AppTest.from_file(str(APP), default_timeout=90).run()
    if page is not None and page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _charts(at: AppTest) -> int:
    return len(at.get("vega_lite_chart"))


def _badges(at: AppTest) -> list[str]:
    """The badges drawn, as `colour:label` (st.badge is markdown `:colour-badge[icon label]`)."""
    found = []
    for m in at.markdown:
        match = re.fullmatch(r":(\w+)-badge\[(?::material/\w+: )?(.*)\]", m.value)
        if match:
            found.append(f"{match[1]}:{match[2]}")
    return found


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


@pytest.fixture(scope="module")
def render_times(live_api: ServerProcess) -> Iterator[np.ndarray]:
    """Every render time the API holds, read back through the samples endpoint in full."""
    answer = httpx.get(
        f"{live_api.url}/api/monitoring/widget/samples",
        # exact: over more than 24 h the samples are drawn from the rollups (each within 0.54 %),
        # and so is a range reaching back before raw retention
        params={
            "metric": "render.renderTime",
            "limit": 50_000,
            "from": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
            "exact": "true",
        },
    ).json()
    assert not answer["sampled"]
    yield np.array(answer["values"])


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_with_data_and_no_exception(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch, page: str
) -> None:
    at = _app(live_api.url, monkeypatch, page)
    assert [t.value for t in at.title] == [PAGES[page]]
    # only the Persistence page's data-loss notice may be red (the demo loses data now and then)
    assert all("data loss incident" in e.value for e in at.error), [e.value for e in at.error]
    if page in ("persistence", "performance", "memory_api", "trends"):
        assert _charts(at) >= 1


def test_overview_shows_health_badge_scores_and_the_render_p95_numpy_computes(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch, render_times: np.ndarray
) -> None:
    at = _app(live_api.url, monkeypatch)
    assert _metric(at, "Render p95") == f"{np.percentile(render_times, 95):,.2f} ms"
    assert len(at.get("progress")) == 4  # persistence, performance, memory, API
    summary = httpx.get(f"{live_api.url}/api/monitoring/widget", params={"window": 86_400_000}).json()
    expected = {"healthy": "green:Healthy", "degraded": "yellow:Degraded", "unhealthy": "red:Unhealthy"}
    assert expected[summary["health"]["status"]] in _badges(at)
    # only the Overview asks for telemetry (the other pages skip its count per tab)
    assert "Telemetry delivery" in [h.value for h in at.subheader]
    assert summary["telemetry"]["expected"] > 0
    assert _metric(at, "Expected events") == f"{summary['telemetry']['expected']:,}"
    assert _metric(at, "Received") == f"{summary['telemetry']['received']:,}"


def test_only_the_chosen_window_asks_for_telemetry_and_only_when_told(live_api: ServerProcess) -> None:
    # the demo's 6 hours lie in the last 24 h: the window before holds no event
    ctx = PageContext(MonitorClient(live_api.url), filters_for("Last 24 hours", None), None)
    current, previous = load_summaries(ctx, telemetry=True)
    assert previous is not None and "telemetry" not in previous
    assert previous["performance"]["renders"]["count"] == 0
    assert current["telemetry"]["expected"] > 0
    lean, before = load_summaries(ctx)  # every page but the Overview
    assert "telemetry" not in lean and before is not None and "telemetry" not in before
    assert lean["performance"]["renders"]["count"] == current["performance"]["renders"]["count"] > 0


def test_a_page_asks_its_trends_with_its_summaries_and_draws_each_on_a_canvas(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = PageContext(MonitorClient(live_api.url), filters_for("Last 24 hours", None), None)
    trends = [Trend("render.renderTime", stat="p95", group_by="widgetVersion"), Trend("api.duration")]
    data = load_page(ctx, trends=trends)
    assert [trend for trend, _ in data.trends] == trends
    lean, _ = load_summaries(ctx)
    assert data.current["performance"] == lean["performance"]
    for trend, answer in data.trends:  # the same answers as asked one at a time
        alone = ctx.client.timeseries(
            trend.metric,
            stat=trend.stat,
            bucket=auto_bucket(ctx.filters.span, ctx.registry().buckets),
            start=ctx.filters.start,
            end=ctx.filters.end,
            group_by=trend.group_by,
        )
        assert answer.result()["points"] == alone["points"] != []
    # the Performance page: two charts, on a canvas (no element per point in the page)
    at = _app(live_api.url, monkeypatch, "performance")
    specs = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert len(specs) == 2
    assert all(spec["usermeta"]["embedOptions"]["renderer"] == "canvas" for spec in specs)


def test_overview_over_3_days_reads_the_rollups_and_says_so(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch, render_times: np.ndarray
) -> None:
    at = _app(live_api.url, monkeypatch)
    assert any("figures exact, from raw events" in c.value for c in at.caption)  # 24 hours: exact
    at.selectbox(key="window").set_value("Last 3 days").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(
        "figures from hourly rollups: percentiles within ±0.54 %, the rest exact" in c.value
        for c in at.caption
    )
    counted = next(c.value for c in at.caption if c.value.startswith("Counted over the last "))
    hours = float(counted.removeprefix("Counted over the last ").split(" h ")[0])
    assert 24 <= hours <= 25  # the last 24 h, from the start of the hour they begin in (3 digits)
    p95 = float(np.percentile(render_times, 95))
    shown = float(_metric(at, "Render p95").removesuffix(" ms").replace(",", ""))
    assert abs(shown - p95) <= ALPHA * p95 + 0.01  # the sketch's bound, and the two decimals shown


def test_overview_lists_an_active_alert_with_its_severity(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(live_api.url)
    at = _app(live_api.url, monkeypatch)
    assert any(fired["title"] in m.value for m in at.markdown)
    assert "red:Critical" in _badges(at)


def test_resolve_button_resolves_the_alert_in_the_api(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(live_api.url)
    at = _app(live_api.url, monkeypatch, "alerts")
    at.button(key=f"resolve-{fired['id']}").click().run()
    assert not at.exception
    stored = alert(live_api.url, fired["id"])
    assert stored["resolved"] is True and stored["status"] == "resolved"
    assert stored["resolvedBy"] == "dashboard"
    # the page reran: the alert left the unresolved list and the flash says so
    assert not [b for b in at.button if b.key == f"resolve-{fired['id']}"]
    assert any("Resolved" in s.value for s in at.success)


def test_overview_resolves_an_active_alert_in_one_click(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(live_api.url)
    at = _app(live_api.url, monkeypatch)
    at.button(key=f"overview-resolve-{fired['id']}").click().run()
    assert not at.exception
    assert alert(live_api.url, fired["id"])["resolved"] is True
    assert not [b for b in at.button if b.key == f"overview-resolve-{fired['id']}"]


def _resolve_on_click(api_url: str, alert_id: str) -> None:
    """A page with one Resolve button, acting through `act` as the dashboard's pages do."""
    from functools import partial

    import streamlit as st

    from streamlit_app.alert_actions import act, show_outcome
    from streamlit_app.api_client import MonitorClient

    show_outcome()
    if st.button("Resolve", key="resolve"):
        act(partial(MonitorClient(api_url).resolve_alert, alert_id, by="me"), "Resolved")


def test_an_action_the_api_refuses_shows_its_reason_instead_of_failing(live_api: ServerProcess) -> None:
    fired = fire_data_loss_alert(live_api.url)
    elsewhere = httpx.post(
        f"{live_api.url}/api/monitoring/alerts/{fired['id']}/resolve", json={"by": "colleague"}
    )
    assert elsewhere.status_code == 200
    at = AppTest.from_function(_resolve_on_click, args=(live_api.url, fired["id"]), default_timeout=30).run()
    at.button(key="resolve").click().run()  # resolving a resolved alert: the API answers 409
    assert not at.exception
    assert [w.value for w in at.warning] and at.warning[0].value.startswith("Not done: ")
    assert alert(live_api.url, fired["id"])["resolvedBy"] == "colleague"


def test_acknowledge_and_snooze_act_through_the_api(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(live_api.url)
    at = _app(live_api.url, monkeypatch, "alerts")
    at.text_input(key="alert_actor").set_value("pm@example.com").run()
    at.button(key=f"ack-{fired['id']}").click().run()
    acknowledged = alert(live_api.url, fired["id"])
    assert acknowledged["status"] == "acknowledged" and acknowledged["acknowledgedBy"] == "pm@example.com"
    at.selectbox(key=f"snooze-for-{fired['id']}").set_value("1 hour").run()
    at.button(key=f"snooze-{fired['id']}").click().run()
    snoozed = alert(live_api.url, fired["id"])
    assert snoozed["status"] == "snoozed"
    until = datetime.fromisoformat(snoozed["snoozedUntil"].replace("Z", "+00:00"))
    assert 55 * 60 < (until - datetime.now(UTC)).total_seconds() <= 60 * 60


def test_trends_charts_the_chosen_figure_and_offers_csv_and_parquet(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _app(live_api.url, monkeypatch, "trends")
    at.selectbox(key="trend_metric").set_value("api.errorRate").run()
    at.segmented_control(key="trend_split").set_value("Customer").run()
    assert not at.exception
    assert _charts(at) == 1
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "layer" in spec  # the line plus the 1 % alert threshold rule
    assert len(at.get("download_button")) == 2


def test_compare_judges_every_key_figure_for_two_versions(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    samples = MonitorClient.samples

    def counted(self: MonitorClient, metric: str, **kwargs: object) -> dict[str, object]:
        asked.append(metric)
        return samples(self, metric, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MonitorClient, "samples", counted)
    at = _app(live_api.url, monkeypatch, "compare")
    table = at.dataframe[0].value
    assert list(table["figure"]) == [f.label for f in COMPARE_FIGURES]
    # each side's values of a metric are asked for once, also where two figures judge it
    metrics = {f.metric for f in COMPARE_FIGURES}
    assert len(metrics) < len(COMPARE_FIGURES) and sorted(asked) == sorted(2 * list(metrics))
    render = table.set_index("figure").loc["Render p95"]
    # the demo's 2.5.0 renders twice as slowly as 2.4.0; the default pair is the two busiest versions
    assert {
        at.selectbox(key="compare_a_Widget versions").value,
        at.selectbox(key="compare_b_Widget versions").value,
    } == {
        "2.4.0",
        "2.5.0",
    }
    assert render["verdict"] in ("B worse", "B better")
    at.segmented_control(key="compare_mode").set_value("Time ranges").run()
    at.selectbox(key="compare_a_time").set_value("the same window a day earlier").run()
    assert not at.exception
    assert len(at.dataframe[0].value) == len(COMPARE_FIGURES)
    assert not any("hourly rollups" in c.value for c in at.caption)  # 24 h: raw events
    # over 3 days the samples are drawn from the rollups, and the page says so; the verdict stands
    at.segmented_control(key="compare_mode").set_value("Widget versions").run()
    at.selectbox(key="window").set_value("Last 3 days").run()
    assert not at.exception
    assert any("drawn from the hourly rollups: each value within ±0.54 %" in c.value for c in at.caption)
    assert at.dataframe[0].value.set_index("figure").loc["Render p95"]["verdict"] == render["verdict"]


def test_a_custom_range_of_whole_days_drives_the_pages(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = datetime.now(UTC).date()
    at = _app(live_api.url, monkeypatch, "trends")
    at.selectbox(key="window").set_value("Custom range").run()
    at.date_input(key="from_day").set_value(today - timedelta(days=2)).run()
    assert not at.exception
    # the window's name is in the caption (escaped as Markdown, with the customer it goes with)
    window = literal(f"From {today - timedelta(days=2)} to {today} (UTC)".lower())
    assert any(window in c.value for c in at.caption)
    assert next(s for s in at.selectbox if s.label == "Bucket").value == "1h"  # 3 days: 72 points
    assert _charts(at) == 1
    # over 24 hours the series comes from the hourly rollups, and the page says so; Exact reads raw
    assert any("from hourly rollups: within ±0.54 %" in c.value for c in at.caption)
    at.toggle(key="trend_exact").set_value(True).run()
    assert not at.exception
    assert any("exact, from raw events" in c.value for c in at.caption)


def test_an_empty_store_says_no_data_yet_on_every_page(
    empty_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    for page in ("overview", "persistence", "performance", "memory_api", "compare"):
        at = _app(empty_api.url, monkeypatch, page)
        assert any("No data yet" in i.value for i in at.info), page
        assert not at.metric, page  # no zeros pretending to be measurements
    trends = _app(empty_api.url, monkeypatch, "trends")
    assert any("No data yet" in i.value for i in trends.info)


def test_api_down_shows_a_plain_message_and_recovers_when_it_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = ServerProcess(tmp_path / "data")  # its port is chosen, nothing listens yet
    at = _app(server.url, monkeypatch)
    assert any("not reachable" in e.value for e in at.error)
    with server:
        at.run()
        assert not at.exception and not at.error
        assert any("No data yet" in i.value for i in at.info)


def test_window_and_customer_come_from_the_link_and_follow_the_sidebar(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WIDGET_MONITOR_API_URL", live_api.url)
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params["window"] = "3d"
    at.query_params["customer"] = "globex"
    at.run()
    assert not at.exception
    assert at.selectbox(key="window").value == "Last 3 days"
    assert at.selectbox(key="customer").value == "globex"
    assert any("last 3 days, globex" in c.value for c in at.caption)
    at.selectbox(key="window").set_value("Last hour").run()
    at.selectbox(key="customer").set_value("All customers").run()
    assert at.query_params.get("window") in ("1h", ["1h"])
    assert "customer" not in at.query_params


def test_a_customer_view_lists_that_customers_alerts_and_those_over_everyone(
    live_api: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    fired = fire_data_loss_alert(live_api.url)  # the default config checks over all customers
    assert fired["customerId"] is None
    at = _app(live_api.url, monkeypatch, "alerts")
    at.selectbox(key="customer").set_value("acme").run()
    assert not at.exception
    assert f"resolve-{fired['id']}" in [b.key for b in at.button]
    at.switch_page("app_pages/overview.py").run()
    assert f"overview-resolve-{fired['id']}" in [b.key for b in at.button]
