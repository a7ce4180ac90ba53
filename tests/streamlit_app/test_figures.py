"""Figures defined once: the dashboard shows each figure's unit, direction and thresholds as the
API's figure registry states them, and keeps no copy of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from analytics.figures import replaced
from analytics.queries.figure_catalogue import describe_figures
from ingest_api.settings import Settings
from streamlit_app.compare import COMPARE_FIGURES, CompareFigure, compare_samples, with_catalogue
from streamlit_app.figures import KEY_FIGURES, MEMORY_API, PERFORMANCE, PERSISTENCE, Shown, resolved
from streamlit_app.registry import Registry, figure_hint, weights_text
from tests.support.api_thread import api_in_thread
from tests.support.dashboard import post_events, run_app

RENDER_P95 = ("performance", "renders", "p95Time")
EVERY_SHOWN: tuple[Shown, ...] = (
    *KEY_FIGURES,
    *(s for sections in (PERSISTENCE, PERFORMANCE, MEMORY_API) for _, shown in sections for s in shown),
)


def _registry(*figures: dict[str, Any]) -> Registry:
    return Registry.from_answer({"figures": list(figures), "buckets": {}, "maxBuckets": 1, "statusBands": {}})


@pytest.mark.parametrize(
    ("entry", "hint"),
    [
        pytest.param(
            {
                "unit": "ms",
                "higherIsBetter": False,
                "target": 10,
                "threshold": {"value": 16.0, "direction": "above"},
            },
            "target < 10 ms, alert > 16 ms",
            id="lower-is-better",
        ),
        pytest.param(
            {
                "unit": "%",
                "higherIsBetter": True,
                "target": 99,
                "threshold": {"value": 95, "direction": "below"},
            },
            "target > 99%, alert < 95%",
            id="percent-no-space",
        ),
        pytest.param(
            {
                "unit": "%",
                "higherIsBetter": False,
                "target": 0.5,
                "threshold": {"value": 1.0, "direction": "above"},
            },
            "target < 0.5%, alert > 1%",
            id="fraction",
        ),
        pytest.param(
            {"unit": "fps", "higherIsBetter": True, "target": 58, "threshold": None}, "target > 58 fps"
        ),
        pytest.param(
            {
                "unit": "",
                "higherIsBetter": False,
                "target": None,
                "threshold": {"value": 0.0, "direction": "above"},
            },
            "alert > 0",
            id="count",
        ),
        pytest.param(
            {"unit": "ms", "higherIsBetter": False, "target": None, "threshold": None}, None, id="none"
        ),
    ],
)
def test_the_hint_is_written_from_the_registrys_target_threshold_and_unit(
    entry: dict[str, Any], hint: str | None
) -> None:
    assert figure_hint(entry) == hint


def test_a_figure_takes_unit_and_direction_from_the_registry_and_keeps_the_pages_note() -> None:
    registry = _registry(
        {
            "summaryPath": ["performance", "bundles", "avgSize", "kb"],
            "label": "Average bundle size",
            "unit": "KB",
            "higherIsBetter": False,
            "target": 500,
            "threshold": None,
        }
    )
    figure = resolved(
        Shown("Average size", ("performance", "bundles", "avgSize", "kb"), "per bundle"), registry
    )
    assert (figure.label, figure.unit, figure.higher_is_better) == ("Average size", "KB", False)
    assert figure.hint == "per bundle; target < 500 KB"
    unknown = resolved(Shown("Other", ("performance", "other"), "a note"), registry)
    assert (unknown.unit, unknown.higher_is_better, unknown.hint) == ("", None, "a note")


def test_every_figure_a_page_shows_is_in_the_registry() -> None:
    registry = Registry.from_answer(describe_figures(None))
    assert [s.path for s in EVERY_SHOWN if registry.at(s.path) is None] == []
    # the one figure labelled by the registry: its label says what counts as slow
    [slow] = [s for s in EVERY_SHOWN if s.label is None]
    assert resolved(slow, registry).label == registry.at(slow.path)["label"]  # type: ignore[index]


def test_the_health_weights_are_written_as_the_registry_gives_them() -> None:
    assert (
        weights_text({"persistence": 0.5, "api": 0.25, "memory": 0.25})
        == "persistence 50%, API 25%, memory 25%"
    )


def test_compare_takes_unit_and_direction_from_the_chart_catalogue() -> None:
    catalogue: list[dict[str, Any]] = [
        {"name": "render.renderTime", "unit": "µs", "higherIsBetter": True},
        {"name": "api.errorRate", "unit": "%", "higherIsBetter": None},
    ]
    figures = with_catalogue(COMPARE_FIGURES, catalogue)
    # only the metrics the catalogue charts: the others have no samples to compare
    assert {f.metric for f in figures} == {"render.renderTime", "api.errorRate"}
    render = next(f for f in figures if f.label == "Render p95")
    assert (render.unit, render.higher_is_better) == ("µs", True)
    # the direction is the catalogue's: higher is better here, so a higher B is better; with none,
    # the verdict says only which side is higher
    errors = next(f for f in figures if f.metric == "api.errorRate")
    a, b = [10.0 + i % 3 for i in range(200)], [20.0 + i % 3 for i in range(200)]
    assert compare_samples(a, b, render, n_boot=200).verdict == "B better"
    assert compare_samples(a, b, errors, n_boot=200).verdict == "B higher"
    assert compare_samples(a, b, CompareFigure("x", "m", "avg", "ms", False), n_boot=200).verdict == "B worse"


# -- the done-when: a threshold changed in the alert config and a unit changed in the
# registry both show on the page ----------------------------------------------------------------


@pytest.fixture
def api_here(tmp_path: Path) -> Iterator[str]:
    """The API in this process (the registry a test changes is the one it serves), with 12 renders of 5 ms."""
    settings = Settings(data_dir=tmp_path / "data", summary_cache_seconds=0, decoder_processes=0)
    with api_in_thread(settings) as url:
        now_ms = datetime.now(UTC).timestamp() * 1000
        renders = [
            {"type": "render", "metric": {"renderTime": 5.0, "timestamp": now_ms - i * 100}}
            for i in range(12)
        ]
        post_events(url, renders)
        yield url


def _registry_entry(api_url: str, path: tuple[str, ...]) -> dict[str, Any]:
    answer = httpx.get(f"{api_url}/api/monitoring/figures", timeout=30).json()
    return next(f for f in answer["figures"] if tuple(f["summaryPath"] or ()) == path)


def _set_render_threshold(api_url: str, value: float) -> None:
    config = httpx.get(f"{api_url}/api/monitoring/alerts/config", timeout=30).json()
    config["thresholds"]["performance"]["renderTime"] = value
    httpx.put(f"{api_url}/api/monitoring/alerts/config", json=config, timeout=30).raise_for_status()


def _metric(at: AppTest, label: str) -> tuple[str, str]:
    """(value, help) of the one metric labelled `label`."""
    [metric] = [m for m in at.metric if m.label == label]
    return metric.value, metric.proto.help


def test_a_threshold_changed_in_the_alert_config_and_a_unit_changed_in_the_registry_show_on_the_page(
    api_here: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = _registry_entry(api_here, RENDER_P95)
    assert seed["name"] == "render.message_time" and seed["threshold"]["value"] != 20
    at = run_app(api_here, None, monkeypatch)
    at.switch_page("app_pages/performance.py").run()
    assert not at.exception, [e.value for e in at.exception]
    value, hint = _metric(at, "p95")
    assert value == f"{5.0:,.2f} ms"
    assert f"alert > {seed['threshold']['value']:g} ms" in hint

    _set_render_threshold(api_here, 20)
    with replaced("render.message_time", unit="µs"):
        # the same session, run again: the registry is asked once per run, not once per session
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        value, hint = _metric(at, "p95")
        assert value == "5.00 µs"
        assert "alert > 20 µs" in hint
        assert hint == f"target < {seed['target']:g} µs, alert > 20 µs"

        # a fresh session: the Overview's key figure, and the Trends page's threshold line
        overview = run_app(api_here, None, monkeypatch)
        assert _metric(overview, "Render p95") == (
            "5.00 µs",
            f"target < {seed['target']:g} µs, alert > 20 µs",
        )
        overview.switch_page("app_pages/trends.py").run()
        assert not overview.exception, [e.value for e in overview.exception]
        assert any("red line: the alert threshold in force (above 20)" in c.value for c in overview.caption)

    # the registry back as it was: the next run says milliseconds again, the threshold stays 20
    at.run()
    value, hint = _metric(at, "p95")
    assert value == "5.00 ms" and "alert > 20 ms" in hint
