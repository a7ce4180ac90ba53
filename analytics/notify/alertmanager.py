"""The Alertmanager channel: alerts pushed to a Prometheus Alertmanager's API (`POST /api/v2/alerts`).

Alertmanager keeps an alert active only while it keeps hearing about it: one not pushed
again within its `resolve_timeout` counts as resolved. So besides the notifications of
a check (fired, severity changed, resolved), the channel is handed every open alert
after each check (`resend`) and pushes them again. A resolve is pushed once, with
`endsAt` the resolve time; a severity change ends the alert of the old severity (its
labels differ, so Alertmanager holds it as another alert) and pushes the new one.

Labels: `alertname` and `rule` (the rule id), `severity`, `category`, `service`
(`widget-monitor`) and `customer`, which global alerts do not carry (a customer named
`all` could not be told from a placeholder; Alertmanager matches an absent label with
`customer=""`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from analytics.alerts.alert import Notification, iso
from analytics.alerts.channel_settings import AlertmanagerSettings
from analytics.notify.channels import post_json
from analytics.notify.payload import alert_link
from analytics.notify.redaction import redact_httpx_log
from analytics.outbound import OutboundPolicy, masked_url

SERVICE = "widget-monitor"


def am_labels(alert: dict[str, Any], severity: str | None = None) -> dict[str, str]:
    """The label set that names `alert` in Alertmanager (at `severity`, default its own).

    >>> alert = {"ruleId": "persistence.data_loss", "severity": "critical", "category": "persistence"}
    >>> sorted(am_labels({**alert, "customerId": None}))  # global: no customer label
    ['alertname', 'category', 'rule', 'service', 'severity']
    >>> am_labels({**alert, "customerId": "acme"}, "error")["customer"]
    'acme'
    """
    labels = {
        "alertname": alert["ruleId"],
        "rule": alert["ruleId"],
        "severity": severity or alert["severity"],
        "category": alert["category"],
        "service": SERVICE,
    }
    if alert["customerId"] is not None:
        labels["customer"] = alert["customerId"]
    return labels


def am_alert(
    alert: dict[str, Any],
    external_url: str = "",
    *,
    ends_at: str | None = None,
    severity: str | None = None,
) -> dict[str, Any]:
    """One entry of the POST body: `alert` (a wire form) firing, or ended at `ends_at`."""
    entry: dict[str, Any] = {
        "labels": am_labels(alert, severity),
        "annotations": {
            "summary": alert["title"],
            "description": alert["message"],
            "value": f"{alert['value']:g}",
            "threshold": f"{alert['threshold']:g}",
            "alertId": alert["id"],
            "status": alert["status"],
        },
        "startsAt": alert["createdAt"],
    }
    link = alert_link(alert, external_url)
    if link:  # Alertmanager wants a URI or nothing
        entry["generatorURL"] = link
    if ends_at is not None:
        entry["endsAt"] = ends_at
    return entry


def am_body(notifications: Sequence[Notification], external_url: str = "") -> list[dict[str, Any]]:
    """What to push for the notifications of one check (or one action)."""
    body = []
    for n in notifications:
        a = n.alert
        if n.kind == "resolved":
            body.append(am_alert(a, external_url, ends_at=a["resolvedAt"] or iso(n.at)))
            continue
        if n.kind == "severity_changed" and n.previous_severity and n.previous_severity != a["severity"]:
            body.append(am_alert(a, external_url, ends_at=iso(n.at), severity=n.previous_severity))
        body.append(am_alert(a, external_url))
    return body


class AlertmanagerChannel:
    """Pushes alerts to an Alertmanager, retrying as the webhook does (`post_json`).

    Errors and httpx's request log name the Alertmanager by scheme and host only.
    """

    name = "alertmanager"

    def __init__(
        self,
        settings: AlertmanagerSettings,
        external_url: str = "",
        sleep: Callable[[float], None] = time.sleep,
        *,
        policy: OutboundPolicy | None = None,
    ) -> None:
        self.settings = settings
        self.external_url = external_url
        self.policy = policy or OutboundPolicy()
        self._sleep = sleep
        redact_httpx_log()

    def send(self, notifications: Sequence[Notification]) -> None:
        self._push(am_body(notifications, self.external_url))

    def resend(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Push the open `alerts` (wire forms) again, so that Alertmanager keeps them active."""
        self._push([am_alert(a, self.external_url) for a in alerts if not a["resolved"]])

    def _push(self, body: list[dict[str, Any]]) -> None:
        if not body:
            return
        s = self.settings
        post_json(
            "Alertmanager",
            s.alerts_url,
            body,
            timeout_ms=s.timeout_ms,
            max_attempts=s.max_attempts,
            backoff_ms=s.backoff_ms,
            policy=self.policy,
            sleep=self._sleep,
            shown=masked_url(s.url),
        )
