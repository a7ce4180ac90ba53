"""The dashboard's only way to the data: the widget-monitor HTTP API, through httpx.

The API process owns the store, so the dashboard never opens the DuckDB file. A
connection failure or a 5xx raises `ApiUnavailable` (the page says the API is down
and recovers on the next run); a 4xx raises `ApiError` with the API's message (401:
no or a bad token, 403: the token lacks the role or the customer).

A client made with a `token` sends it as `Authorization: Bearer` on every call; the
token is left out of the client's repr, so it shows in no traceback or `st.write`.

Every `MonitorClient` of one API shares one pooled `httpx.Client` (`_pooled`): its
connections stay open between calls and reruns, and its setup is paid once. A new
`httpx.Client` per call, as `httpx.request` makes, cost ~20-35 ms of CPU (building its
TLS context, even for http://) plus a TCP connection: more than the API takes to answer
most of a page's calls (docs/benchmarks.md). Credentials are never set on the shared
client, only on each request.
"""

from __future__ import annotations

import argparse
import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx

DEFAULT_API_URL = "http://127.0.0.1:8000"
ENV_API_URL = "WIDGET_MONITOR_API_URL"
ENV_API_TOKEN = "WIDGET_MONITOR_API_TOKEN"  # a wall screen's token: every call sends it


class ApiUnavailable(Exception):
    """The API could not be reached or failed (connection refused, timeout, 5xx)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class ApiError(Exception):
    """The API refused the request (4xx); `message` is what it said."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


def api_url_from(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """The API URL: `--api-url` after `streamlit run app.py --`, else the environment, else the default.

    >>> api_url_from(["--api-url", "http://h:1/"], {})
    'http://h:1'
    >>> api_url_from([], {"WIDGET_MONITOR_API_URL": "http://e:2"})
    'http://e:2'
    """
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--api-url")
    known, _ = parser.parse_known_args(list(argv))
    url = known.api_url or environ.get(ENV_API_URL) or DEFAULT_API_URL
    return str(url).rstrip("/")


_POOLS: dict[tuple[str, float], httpx.Client] = {}
_POOLS_LOCK = threading.Lock()


def _pooled(base_url: str, timeout_s: float) -> httpx.Client:
    """The one `httpx.Client` for calls to `base_url` with this timeout, made on first use.

    httpx clients are safe to share between threads (Streamlit runs each session's script in
    a thread of its own); the client holds no credential."""
    key = (base_url, timeout_s)
    with _POOLS_LOCK:
        client = _POOLS.get(key)
        if client is None or client.is_closed:
            client = _POOLS[key] = httpx.Client(timeout=timeout_s)
        return client


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class MonitorClient:
    """Typed calls to one widget-monitor API."""

    base_url: str
    timeout_s: float = 15.0
    token: str | None = field(default=None, repr=False)

    def with_token(self, token: str | None) -> MonitorClient:
        """The same API, called with `token` (None: without one)."""
        return replace(self, token=token or None)

    def _request(
        self, method: str, path: str, *, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Any:
        url = self.base_url + path
        sent = dict(headers or {})
        if self.token is not None:
            sent["Authorization"] = f"Bearer {self.token}"
        try:
            answer = _pooled(self.base_url, self.timeout_s).request(method, url, headers=sent, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(self.base_url, f"{type(exc).__name__}: {exc}") from exc
        if answer.status_code >= 500:
            raise ApiUnavailable(self.base_url, f"{answer.status_code} from {path}")
        if answer.status_code >= 400:
            try:
                message = answer.json().get("message") or answer.text
            except ValueError:
                message = answer.text
            raise ApiError(answer.status_code, str(message))
        return answer.json()

    def _get(self, path: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        return self._request("GET", path, params=clean, **kwargs)

    # -- reading -----------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self._get("/healthz"))

    def whoami(self) -> dict[str, Any]:
        """Who this client's credential is: `{name, role, customerId, openMode}`; 401 without one."""
        return dict(self._get("/api/monitoring/whoami"))

    def summary(
        self,
        window_ms: int,
        *,
        customer_id: str | None = None,
        end: datetime | None = None,
        fresh: bool = False,
        telemetry: bool = True,
    ) -> dict[str, Any]:
        """The seed's summary of the `window_ms` before `end` (default now); without `telemetry`,
        no `telemetry` section (the API skips its count per tab)."""
        params = {
            "window": window_ms,
            "customerId": customer_id,
            "end": iso(end) if end else None,
            "telemetry": None if telemetry else "false",
        }
        headers = {"Cache-Control": "no-cache"} if fresh else {}
        return dict(self._get("/api/monitoring/widget", params, headers=headers))

    def timeseries(
        self,
        metric: str,
        *,
        stat: str | None,
        bucket: str,
        start: datetime,
        end: datetime,
        customer_id: str | None = None,
        widget_version: str | None = None,
        group_by: str | None = None,
        exact: bool = False,
    ) -> dict[str, Any]:
        params = {
            "metric": metric,
            "stat": stat,
            "bucket": bucket,
            "from": iso(start),
            "to": iso(end),
            "customerId": customer_id,
            "widgetVersion": widget_version,
            "groupBy": group_by,
            "exact": "true" if exact else None,
        }
        return dict(self._get("/api/monitoring/widget/timeseries", params))

    def metric_catalogue(self) -> list[dict[str, Any]]:
        return list(self._get("/api/monitoring/widget/timeseries/metrics")["metrics"])

    def figure_registry(self) -> dict[str, Any]:
        """The API's figure registry: every figure's unit, direction, target and threshold in
        force, the time buckets, the health status bands and weights (`GET /api/monitoring/figures`)."""
        return dict(self._get("/api/monitoring/figures"))

    def samples(
        self,
        metric: str,
        *,
        start: datetime,
        end: datetime,
        customer_id: str | None = None,
        widget_version: str | None = None,
        limit: int = 4000,
    ) -> dict[str, Any]:
        params = {
            "metric": metric,
            "from": iso(start),
            "to": iso(end),
            "customerId": customer_id,
            "widgetVersion": widget_version,
            "limit": limit,
        }
        return dict(self._get("/api/monitoring/widget/samples", params))

    def dimensions(self) -> dict[str, Any]:
        return dict(self._get("/api/monitoring/widget/dimensions"))

    def ingest_keys(self) -> list[dict[str, Any]]:
        """Every ingest key (an admin's), revoked ones too, each with its `usage` since the server started."""
        return list(self._get("/api/monitoring/keys")["data"])

    # -- alerts --------------------------------------------------------------------
    def alerts(
        self,
        *,
        resolved: bool | None = None,
        severity: str | None = None,
        category: str | None = None,
        customer_id: str | None = None,
    ) -> list[dict[str, Any]]:
        params = {
            "resolved": None if resolved is None else str(resolved).lower(),
            "severity": severity,
            "category": category,
            "customerId": customer_id,
        }
        return list(self._get("/api/monitoring/alerts", params)["data"])

    def customers_beyond_cap(self) -> int:
        """How many customers the last check evaluated only globally (past maxCustomerScopes)."""
        return int(self._get("/api/monitoring/alerts", {"limit": 1}).get("customersBeyondCap") or 0)

    def resolve_alert(self, alert_id: str, *, by: str) -> dict[str, Any]:
        return dict(self._request("POST", f"/api/monitoring/alerts/{alert_id}/resolve", json={"by": by}))

    def acknowledge_alert(self, alert_id: str, *, by: str) -> dict[str, Any]:
        path = f"/api/monitoring/alerts/{alert_id}/acknowledge"
        return dict(self._request("POST", path, json={"by": by}))

    def snooze_alert(self, alert_id: str, *, by: str, minutes: int) -> dict[str, Any]:
        path = f"/api/monitoring/alerts/{alert_id}/snooze"
        return dict(self._request("POST", path, json={"by": by, "minutes": minutes}))

    def check_alerts(self) -> Any:
        # JSON, though empty: the API takes changes only as application/json (no cross-site form)
        return self._request("POST", "/api/monitoring/alerts/check", json={})


def client_from_environment(argv: Sequence[str] | None = None) -> MonitorClient:
    """The client for the URL given on the command line or in the environment, with its token if set."""
    import sys

    url = api_url_from(sys.argv[1:] if argv is None else argv, os.environ)
    return MonitorClient(url, token=os.environ.get(ENV_API_TOKEN, "").strip() or None)
