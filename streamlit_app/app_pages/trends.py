"""Trends: any figure over time, by bucket, split by customer or widget version, threshold drawn."""

import io

import streamlit as st

from streamlit_app.charts import trend_chart
from streamlit_app.context import page_context
from streamlit_app.layout import figure_registry, show_no_data
from streamlit_app.shaping import auto_bucket, bucket_options, series_frame, source_note
from streamlit_app.text import literal

SPLITS = {"No split": None, "Widget version": "widgetVersion", "Customer": "customerId"}

ctx = page_context()
f = ctx.filters
st.title("Trends")
st.caption(f"One figure over the {literal(f.describe())} (UTC buckets). Change the range in the sidebar.")

catalogue = {m["name"]: m for m in ctx.client.metric_catalogue()}
cols = st.columns([4, 1, 1])
name = cols[0].selectbox(
    "Figure",
    list(catalogue),
    index=list(catalogue).index("render.renderTime"),
    format_func=lambda n: f"{catalogue[n]['label']} ({n})",
    key="trend_metric",
)
metric = catalogue[name]
stats = metric["stats"]
stat = cols[1].selectbox(
    "Statistic", stats, index=stats.index(metric["defaultStat"]), key=f"trend_stat_{name}"
)
registry = figure_registry(ctx)
buckets = bucket_options(f.span, registry.buckets, registry.max_buckets)
default_bucket = auto_bucket(f.span, registry.buckets)
bucket = cols[2].selectbox(
    "Bucket",
    buckets,
    index=buckets.index(default_bucket) if default_bucket in buckets else 0,
    key=f"trend_bucket_{f.window_label}",
)
row = st.columns([2, 3, 1])
split = row[0].segmented_control("Split by", list(SPLITS), default="No split", key="trend_split")
versions = ["All versions"] + [v["id"] for v in (ctx.dimensions or {}).get("widgetVersions", [])]
version = row[1].selectbox("Widget version", versions, key="trend_version")
exact = row[2].toggle(
    "Exact",
    key="trend_exact",
    help="Over 24 hours, hourly and longer buckets come from the hourly rollups (quantiles within "
    "0.54 %); on: every value from raw events, slower over long ranges.",
)

payload = ctx.client.timeseries(
    name,
    stat=stat,
    bucket=bucket,
    start=f.start,
    end=f.end,
    customer_id=f.customer_id,
    widget_version=None if version == "All versions" else version,
    group_by=SPLITS.get(split or "No split"),
    exact=exact,
)
frame = series_frame(payload)
if frame.empty:
    if (ctx.dimensions or {}).get("events", 0) == 0:
        show_no_data(ctx)
    else:
        st.info(f"No {metric['label'].lower()} events in the {literal(f.describe())}.")
    st.stop()

threshold = payload["threshold"]
st.altair_chart(
    trend_chart(
        frame, title=f"{metric['label']} {stat}", unit=payload["unit"], threshold=threshold, height=380
    ),
    width="stretch",
)
notes = [f"{len(frame)} points", source_note(payload)]
if threshold:
    whose = "the alert threshold in force" if threshold.get("source") == "alerting" else "the seed's target"
    notes.append(f"red line: {whose} ({threshold['direction']} {threshold['value']:g})")
if payload.get("omittedGroups"):
    notes.append(f"{payload['omittedGroups']} smaller groups not shown")
st.caption(" · ".join(notes))

table = frame.assign(time=frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
downloads = st.columns(2)
stem = f"{name}-{stat}-{bucket}"
downloads[0].download_button(
    "Download CSV",
    table.to_csv(index=False).encode(),
    file_name=f"{stem}.csv",
    mime="text/csv",
    icon=":material/download:",
)
parquet = io.BytesIO()
frame.to_parquet(parquet, index=False)
downloads[1].download_button(
    "Download Parquet",
    parquet.getvalue(),
    file_name=f"{stem}.parquet",
    mime="application/vnd.apache.parquet",
    icon=":material/download:",
)
with st.expander("Data"):
    st.dataframe(table, hide_index=True, width="stretch")
