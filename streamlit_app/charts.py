"""Altair charts of the dashboard, built from plain frames."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

# Drawn on a canvas, not in SVG: Streamlit's default (SVG below 2,000 points) puts each point,
# line and label in the page as an element of its own, ~460 for a chart of 120 points in four
# series, and draws them twice as the chart takes its width (~4,000 DOM changes per chart, ~0.2 s
# of a page's settling; docs/benchmarks.md). The tooltips work the same on a canvas.
ON_CANVAS = {"embedOptions": {"renderer": "canvas"}}


def trend_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    unit: str,
    threshold: dict[str, Any] | None = None,
    height: int = 300,
) -> alt.LayerChart | alt.Chart:
    """Lines of `value` over `time`, one per `series`, with the alert threshold as a red rule."""
    y_title = f"{title} ({unit})" if unit else title
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=18), interpolate="linear")
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("value:Q", title=y_title, scale=alt.Scale(zero=False)),
            color=alt.Color("series:N", title=None, legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("time:T", format="%Y-%m-%d %H:%M", title="bucket (UTC)"),
                alt.Tooltip("series:N"),
                alt.Tooltip("value:Q", format=",.2f"),
                alt.Tooltip("events:Q", format=","),
            ],
        )
        .properties(height=height)
    )
    if threshold is None:
        return lines.properties(usermeta=ON_CANVAS)
    rule_frame = pd.DataFrame({"threshold": [float(threshold["value"])]})
    word = "alert above" if threshold.get("direction") == "above" else "alert below"
    rule = (
        alt.Chart(rule_frame)
        .mark_rule(color="#d62728", strokeDash=[6, 4])
        .encode(y="threshold:Q", tooltip=[alt.Tooltip("threshold:Q", title=word)])
    )
    label = (
        alt.Chart(rule_frame)
        .mark_text(align="left", dx=4, dy=-6, color="#d62728")
        .encode(y="threshold:Q", text=alt.value(f"{word} {threshold['value']:g}"), x=alt.value(0))
    )
    return alt.layer(lines, rule, label).properties(height=height, usermeta=ON_CANVAS)


def bar_chart(frame: pd.DataFrame, *, category: str, value: str = "count") -> alt.Chart:
    """Horizontal bars of counts, largest first, one bar height per row."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=None, axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y(f"{category}:N", sort="-x", title=None, axis=alt.Axis(labelLimit=260)),
            tooltip=[category, value],
        )
        .properties(height=alt.Step(30), usermeta=ON_CANVAS)
    )


VERDICT_COLOURS = {
    "B better": "#2ca02c",
    "B worse": "#d62728",
    "B higher": "#1f77b4",  # a figure with no better side
    "B lower": "#1f77b4",
    "within noise": "#9e9e9e",
    "not enough data": "#d0d0d0",
}


def comparison_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Relative difference B vs A per figure with its confidence interval, coloured by verdict.

    The axis is clamped to ±100 % so that one tiny base (an error rate of 0.1 %) does not
    squash every other interval.
    """
    scale = alt.Scale(domain=[-100, 100], clamp=True)
    colour = alt.Color(
        "verdict:N",
        title=None,
        legend=alt.Legend(orient="bottom"),
        scale=alt.Scale(domain=list(VERDICT_COLOURS), range=list(VERDICT_COLOURS.values())),
    )
    axis = alt.Axis(labelLimit=200, labelOverlap=False)
    base = alt.Chart(frame).encode(y=alt.Y("figure:N", title=None, sort=None, axis=axis))
    bars = base.mark_rule(strokeWidth=4).encode(
        x=alt.X(
            "ciLowPct:Q",
            title="B vs A, % of A (bar: 95% confidence interval; clamped at ±100 %)",
            scale=scale,
        ),
        x2="ciHighPct:Q",
        color=colour,
    )
    points = base.mark_point(filled=True, size=70, opacity=1).encode(x="diffPct:Q", color=colour)
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="gray").encode(x="x:Q")
    return alt.layer(bars, points, zero).properties(height=alt.Step(26), usermeta=ON_CANVAS)
