"""Altair charts of the dashboard, built from plain frames."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd


def trend_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    unit: str,
    threshold: dict[str, Any] | None = None,
    height: int = 300,
) -> alt.LayerChart | alt.Chart:
    """Lines of `value` over `time`, one per `series`, with the seed's threshold as a red rule."""
    y_title = f"{title} ({unit})" if unit else title
    lines = (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=18), interpolate="monotone")
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
        return lines
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
    return alt.layer(lines, rule, label).properties(height=height)


def bar_chart(frame: pd.DataFrame, *, category: str, value: str = "count", height: int = 220) -> alt.Chart:
    """Horizontal bars, largest first."""
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X(f"{value}:Q", title=None),
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            tooltip=[category, value],
        )
        .properties(height=height)
    )


def comparison_chart(frame: pd.DataFrame, *, height: int = 260) -> alt.Chart:
    """Relative difference B vs A per figure with its confidence interval, coloured by verdict."""
    base = alt.Chart(frame).encode(y=alt.Y("figure:N", title=None, sort=None))
    bars = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("ciLowPct:Q", title="B vs A (% of A), 95% CI"),
        x2="ciHighPct:Q",
        color=alt.Color("verdict:N", title=None, legend=alt.Legend(orient="bottom")),
    )
    points = base.mark_point(filled=True, size=60).encode(x="diffPct:Q", color="verdict:N")
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="gray").encode(x="x:Q")
    return alt.layer(bars, points, zero).properties(height=height)
