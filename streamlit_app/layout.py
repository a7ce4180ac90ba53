"""Pieces every page draws the same way: figure grids, the no-data notice, a small trend chart."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import streamlit as st

from streamlit_app.api_client import ApiError, ApiUnavailable
from streamlit_app.charts import trend_chart
from streamlit_app.context import PageContext
from streamlit_app.figures import Section, Shown, resolved
from streamlit_app.filters import Filters
from streamlit_app.registry import Registry
from streamlit_app.shaping import (
    auto_bucket,
    figure_view,
    has_data,
    series_frame,
    summary_source_note,
    with_derived_figures,
)
from streamlit_app.text import literal


def figure_registry(ctx: PageContext) -> Registry:
    """The API's figure registry (asked once per run); an API without one stops the page with a notice."""
    try:
        return ctx.registry()
    except ApiError as exc:
        if exc.status in (404, 405):
            st.warning(
                "This API has no figure registry (`/api/monitoring/figures`); upgrade the server.",
                icon=":material/upgrade:",
            )
            st.stop()
        raise


@dataclass(frozen=True, slots=True)
class Trend:
    """A small chart of one metric over the chosen window: its stat, and one line per group."""

    metric: str
    stat: str | None = None
    group_by: str | None = None


@dataclass(frozen=True, slots=True)
class PageData:
    """What a page asks the API before it draws: both windows' summaries and its trends."""

    current: dict[str, Any]
    previous: dict[str, Any] | None  # None if asking for it failed
    trends: list[tuple[Trend, Future[dict[str, Any]]]] = field(default_factory=list)


def load_summaries(
    ctx: PageContext, *, telemetry: bool = False
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The summary of the chosen window and of the window before it (None if that fails).

    Only with `telemetry` does the chosen window's summary hold its `telemetry` section: its
    count per tab is the costliest part of a summary, and only the Overview shows it."""
    data = load_page(ctx, telemetry=telemetry)
    return data.current, data.previous


def load_page(ctx: PageContext, *, telemetry: bool = False, trends: Sequence[Trend] = ()) -> PageData:
    """Both windows' summaries and the trends' time series, asked all at once: the API answers
    them side by side, so a page waits for the slowest rather than for their sum (two 30-day
    summaries: ~0.55 s one after the other, ~0.4 s at once; a chart's series came after them)."""
    f = ctx.filters
    registry = figure_registry(ctx)
    bucket = auto_bucket(f.span, registry.buckets) if trends else None
    before = comparison_window(f, registry)

    def summary(end: datetime, with_telemetry: bool) -> dict[str, Any]:
        return ctx.client.summary(
            f.window_ms, customer_id=f.customer_id, end=end, fresh=ctx.fresh, telemetry=with_telemetry
        )

    def series(trend: Trend) -> dict[str, Any]:
        return ctx.client.timeseries(
            trend.metric,
            stat=trend.stat,
            bucket=bucket,
            start=f.start,
            end=f.end,
            customer_id=f.customer_id,
            group_by=trend.group_by,
        )

    # the pool's threads only wait on HTTP: no Streamlit call is made from them
    with ThreadPoolExecutor(max_workers=1 + len(trends)) as pool:
        earlier = pool.submit(summary, before.end, False)
        asked = [(trend, pool.submit(series, trend)) for trend in trends]
        current = summary(f.end, telemetry)
        try:
            previous: dict[str, Any] | None = earlier.result()
        except ApiUnavailable:
            previous = None
    return PageData(
        with_derived_figures(current),
        None if previous is None else with_derived_figures(previous),
        asked,
    )


def comparison_window(f: Filters, registry: Registry) -> Filters:
    """The window the arrows compare against: the one just before, or for a window the API reads
    from the rollups (longer than its `exactSpanSeconds`), the same length ending on the hour the
    chosen one starts in (`Filters.previous`): then it is read whole from the rollups."""
    long = registry.exact_span is not None and f.span > registry.exact_span
    return f.previous(on_the_hour=long)


def compared_with(ctx: PageContext) -> str:
    """What the arrows compare against, for a page's caption."""
    f = ctx.filters
    before = comparison_window(f, figure_registry(ctx))
    if before.end == f.start:
        return "the window before"
    return f"the same span before, to {before.end:%Y-%m-%d %H:%M} UTC"


def show_no_data(ctx: PageContext) -> None:
    """Say why there is nothing to show: an empty store, or nothing in this window."""
    dims = ctx.dimensions or {}
    if dims.get("events", 0) == 0:
        st.info(
            "**No data yet.** No widget has sent an event to this API. Point a widget at "
            f"`{ctx.client.base_url}/api/monitoring/widget`, or load the demo dataset with "
            f"`widget-monitor demo --api-url {ctx.client.base_url}`.",
            icon=":material/hourglass_empty:",
        )
    else:
        window = literal(ctx.filters.describe())
        st.info(
            f"**No events in the {window}.** The store holds {dims['events']:,} events, "
            f"the latest at {dims.get('lastEvent')} (UTC). Choose a longer time window in the sidebar.",
            icon=":material/hourglass_empty:",
        )


def require_data(ctx: PageContext, summary: dict[str, Any]) -> None:
    """Stop the page with the no-data notice when the window holds no event."""
    if not has_data(summary):
        show_no_data(ctx)
        st.stop()


def open_figure_page(ctx: PageContext, title: str, trends: Sequence[Trend] = ()) -> PageData:
    """Title, both windows' summaries (and the trends' series), the no-data stop and the caption
    of a figures page."""
    st.title(title)
    data = load_page(ctx, trends=trends)
    require_data(ctx, data.current)
    described = ctx.filters.describe()  # not .capitalize(): that would lowercase the customerId
    st.caption(
        f"{literal(described[:1].upper() + described[1:])}; arrows: change against {compared_with(ctx)}; "
        f"{summary_source_note(data.current)}."
    )
    return data


def show_figures(
    ctx: PageContext,
    shown: Sequence[Shown],
    current: dict[str, Any],
    previous: dict[str, Any] | None,
    *,
    columns: int = 4,
    compare_label: str | None = None,
) -> None:
    """A grid of `st.metric`, each with its change against the previous window, and the unit,
    direction and hint the registry gives it."""
    registry = figure_registry(ctx)
    cols = st.columns(columns)
    for i, figure in enumerate(resolved(s, registry) for s in shown):
        view = figure_view(figure, current, previous)
        with cols[i % columns]:
            st.metric(
                view.label,
                view.value if view.value is not None else "—",
                delta=view.delta,
                delta_color=view.delta_color,  # type: ignore[arg-type]
                help=view.hint,
                border=True,
                delta_description=compare_label if view.delta is not None else None,
            )


def show_sections(
    ctx: PageContext,
    sections: Sequence[Section],
    current: dict[str, Any],
    previous: dict[str, Any] | None,
) -> None:
    for title, shown in sections:
        st.subheader(title)
        show_figures(ctx, shown, current, previous)


def show_trends(heading: str, data: PageData) -> None:
    """The page's trends under `heading`, two side by side."""
    st.subheader(heading)
    for first in range(0, len(data.trends), 2):
        for column, (_, answer) in zip(st.columns(2), data.trends[first : first + 2], strict=False):
            with column:
                show_trend(answer.result())


def show_trend(payload: dict[str, Any]) -> None:
    """A small chart of one metric's time series (the API's answer), threshold included."""
    frame = series_frame(payload)
    heading = f"{payload['label']} ({payload['stat']}) per {payload['bucket']}"
    st.markdown(f"**{heading}**")
    if frame.empty:
        st.caption("No events of this kind in the window.")
        return
    chart = trend_chart(frame, title=payload["label"], unit=payload["unit"], threshold=payload["threshold"])
    st.altair_chart(chart, width="stretch")
