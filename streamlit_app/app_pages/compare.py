"""Compare: two widget versions, two customers or two time ranges, figure by figure, noise told apart."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pandas as pd
import streamlit as st

from streamlit_app.charts import comparison_chart
from streamlit_app.compare import (
    COMPARE_FIGURES,
    Side,
    compare_samples,
    comparison_row,
    with_catalogue,
)
from streamlit_app.context import page_context
from streamlit_app.layout import show_no_data
from streamlit_app.session import may_compare_customers
from streamlit_app.text import literal

MODES = ("Widget versions", "Customers", "Time ranges")
SAMPLE_LIMIT = 2000
FIGURES_AT_ONCE = 4  # figures judged at once: the API answers their samples side by side

ctx = page_context()
f = ctx.filters
dims = ctx.dimensions or {}
st.title("Compare")
if dims.get("events", 0) == 0:
    show_no_data(ctx)
    st.stop()

# a customer-scoped token sees one customer: nothing to set beside it
modes = MODES if may_compare_customers(ctx.whoami) else tuple(m for m in MODES if m != "Customers")
mode = st.segmented_control("Compare", modes, default=modes[0], key="compare_mode") or modes[0]
versions = [v["id"] for v in dims.get("widgetVersions", [])]
customers = [c["id"] for c in dims.get("customers", [])]
if mode == "Time ranges":
    earlier = {
        "the window just before": f.span,
        "the same window a day earlier": timedelta(days=1),
        "the same window a week earlier": timedelta(days=7),
    }
    choice = st.selectbox("A (baseline)", list(earlier), key="compare_a_time")
    st.caption(f"B is the {literal(f.describe())}; A is {choice}.")
    past = f.shifted(earlier[choice])
    a = Side(choice.removeprefix("the "), past.start, past.end, f.customer_id)
    b = Side("the chosen window", f.start, f.end, f.customer_id)
else:
    options = versions if mode == "Widget versions" else customers
    if len(options) < 2:
        st.info(f"Only {len(options)} {mode.lower()[:-1]} in the store: nothing to compare yet.")
        st.stop()
    cols = st.columns(2)
    # A: the busiest (the baseline), B: the next one (e.g. the version being rolled out)
    pick_a = cols[0].selectbox("A (baseline)", options, index=0, key=f"compare_a_{mode}")
    pick_b = cols[1].selectbox("B", options, index=1, key=f"compare_b_{mode}")
    st.caption(f"Both over the {literal(f.describe())}.")
    if mode == "Widget versions":
        a = Side(pick_a, f.start, f.end, f.customer_id, pick_a)
        b = Side(pick_b, f.start, f.end, f.customer_id, pick_b)
    else:
        a = Side(pick_a, f.start, f.end, pick_a)
        b = Side(pick_b, f.start, f.end, pick_b)


drawn_within: set[float] = set()  # the error bounds of samples drawn from the rollups (over 24 h)


def samples(side: Side, metric: str) -> list[float]:
    answer = ctx.client.samples(
        metric,
        start=side.start,
        end=side.end,
        customer_id=side.customer_id,
        widget_version=side.widget_version,
        limit=SAMPLE_LIMIT,
    )
    if answer.get("source") == "rollup" and answer.get("errorBound"):
        drawn_within.add(float(answer["errorBound"]))
    return list(answer["values"])


def both_sides(metric: str) -> tuple[list[float], list[float]]:
    return samples(a, metric), samples(b, metric)


figures = with_catalogue(COMPARE_FIGURES, ctx.client.metric_catalogue())
# a few requests at a time rather than one after another: two sample requests per figure took
# ~0.6 s over 24 h on the bench store, their bootstraps ~0.2 s; the threads make no Streamlit
# call. A metric two figures judge (render time: its p95 and its average) is asked for once.
metrics = list(dict.fromkeys(figure.metric for figure in figures))
with st.spinner("Comparing…"), ThreadPoolExecutor(max_workers=FIGURES_AT_ONCE) as pool:
    drawn = dict(zip(metrics, pool.map(both_sides, metrics), strict=True))
    # the bootstrap and the test (numpy, mostly outside the GIL)
    rows = list(pool.map(lambda f: comparison_row(f, compare_samples(*drawn[f.metric], f)), figures))
table = pd.DataFrame(rows)
st.markdown(f"**A = {literal(a.label)}, B = {literal(b.label)}**")
st.dataframe(table, hide_index=True, width="stretch", height=36 * (len(table) + 1) + 4)

chartable = table.dropna(subset=["B − A (%)"]).copy()
if not chartable.empty:
    base = chartable["A"].abs()
    chartable["diffPct"] = chartable["B − A (%)"]
    bounds = chartable["95% CI of B − A"].str.strip("[]").str.split(", ", expand=True).astype(float)
    chartable["ciLowPct"] = 100 * bounds[0] / base
    chartable["ciHighPct"] = 100 * bounds[1] / base
    st.altair_chart(comparison_chart(chartable), width="stretch")
st.caption(
    "How to read this: B − A is the difference of each figure's statistic. The 95% confidence "
    f"interval comes from a percentile bootstrap (500 resamples of up to {SAMPLE_LIMIT} events per side); "
    "when it excludes 0 the difference is more than noise and the verdict says whether B is better or "
    "worse. For per-event values the Mann-Whitney U test's p-value (two-sided, normal approximation) "
    "tells whether one side tends to take larger values. With "
    f"{len(figures)} figures compared at 95 %, expect about one to cross the line by chance "
    "when nothing changed: a lone borderline verdict is weak evidence."
    + (
        f" Over more than 24 h the events are drawn from the hourly rollups: each value within "
        f"±{100 * max(drawn_within):.2f} % of its event's own."
        if drawn_within
        else ""
    )
)
