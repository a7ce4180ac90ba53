"""The widget-monitor dashboard: `streamlit run streamlit_app/app.py -- --api-url URL`.

Every page reads the API (the API process owns the store). The sidebar is drawn here
once for all pages; a page that cannot reach the API shows a plain message instead.
When the API asks for a credential and no token is set, a sign-in form stands in for
the pages (streamlit_app/sign_in.py).
"""

from __future__ import annotations

import streamlit as st

from streamlit_app.api_client import ApiUnavailable, client_from_environment
from streamlit_app.context import PageContext, set_page_context
from streamlit_app.key_usage import may_list_keys
from streamlit_app.sidebar import render_sidebar
from streamlit_app.sign_in import sign_in_form, signed_in

# The favicon is SVG markup of our own, sent to the browser inline as a data: URL: a
# `:material/...:` page icon makes every browser fetch it from fonts.gstatic.com on each
# load. The icons inside the page use the Material Symbols font Streamlit serves itself.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#e5484d" '
    'stroke-width="2" stroke-linecap="round" stroke-linejoin="round">'
    '<rect x="2" y="3" width="20" height="15" rx="2"/><path d="M8 21h8M5 11h3l2-4 3 7 2-3h4"/></svg>'
)
st.set_page_config(page_title="widget-monitor", page_icon=FAVICON, layout="wide")

PAGES = [
    st.Page("app_pages/overview.py", title="Overview", icon=":material/monitor_heart:", default=True),
    st.Page("app_pages/persistence.py", title="Persistence", icon=":material/save:"),
    st.Page("app_pages/performance.py", title="Performance", icon=":material/speed:"),
    st.Page("app_pages/memory_api.py", title="Memory & API", icon=":material/memory:"),
    st.Page("app_pages/alerts.py", title="Alerts", icon=":material/notifications:"),
    st.Page("app_pages/trends.py", title="Trends", icon=":material/show_chart:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
]
# Listed only to a principal that may list the keys (an unscoped admin's).
KEY_PAGES = [st.Page("app_pages/ingest_keys.py", title="Ingest keys", icon=":material/key:")]

configured = client_from_environment()
session = signed_in(configured)
if session is None:
    # no menu, but the link keeps its page for after sign-in
    st.navigation(PAGES + KEY_PAGES, position="hidden")
    sign_in_form(configured)
    st.stop()
client, whoami = session
page = st.navigation(PAGES + KEY_PAGES if may_list_keys(whoami) else PAGES)
filters, dimensions, fresh = render_sidebar(client, whoami)
set_page_context(PageContext(client, filters, dimensions, fresh, whoami))

try:
    page.run()
except ApiUnavailable as exc:
    st.error(
        f"**The monitoring API is not reachable** at {exc.url} ({exc.reason}). "
        "Start it with `widget-monitor serve`; this page shows the data again as soon as it answers.",
        icon=":material/cloud_off:",
    )
    st.button("Retry", icon=":material/refresh:")
