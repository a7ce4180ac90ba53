"""The JSON body of a webhook: Prometheus Alertmanager's webhook format (version 4).

Receivers built for Alertmanager (chat bridges, incident tools) read it as is: a
`status` of firing or resolved, and `alerts[]` each with labels, annotations, startsAt,
endsAt and a fingerprint that stays the same for a rule and scope.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from analytics.alerts.alert import Notification

ZERO_TIME = "0001-01-01T00:00:00Z"  # Alertmanager's endsAt of an alert still firing
RECEIVER = "widget-monitor"


def labels_of(alert: dict[str, Any]) -> dict[str, str]:
    labels = {
        "alertname": alert["ruleId"],
        "severity": alert["severity"],
        "category": alert["category"],
        "metric": alert["metric"],
        "service": "widget-monitor",
    }
    if alert["customerId"] is not None:
        labels["customerId"] = alert["customerId"]
    return labels


def fingerprint(alert: dict[str, Any]) -> str:
    """Stable for a rule and scope, as Alertmanager's is for a label set (severity aside)."""
    key = f"{alert['ruleId']}\x00{alert['customerId'] or ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def alert_link(alert: dict[str, Any], external_url: str) -> str:
    """Where the server at `external_url` shows the alert (empty without an external URL).

    >>> alert_link({"id": "a1"}, "http://monitor.internal:8000/")
    'http://monitor.internal:8000/api/monitoring/alerts/a1'
    """
    return f"{external_url.rstrip('/')}/api/monitoring/alerts/{alert['id']}" if external_url else ""


def alertmanager_alert(notification: Notification, external_url: str = "") -> dict[str, Any]:
    alert = notification.alert
    resolved = notification.kind == "resolved"
    annotations = {
        "summary": alert["title"],
        "description": alert["message"],
        "value": f"{alert['value']:g}",
        "threshold": f"{alert['threshold']:g}",
        "alertId": alert["id"],
        "event": notification.kind,
    }
    if notification.previous_severity:
        annotations["previousSeverity"] = notification.previous_severity
    return {
        "status": "resolved" if resolved else "firing",
        "labels": labels_of(alert),
        "annotations": annotations,
        "startsAt": alert["createdAt"],
        "endsAt": alert["resolvedAt"] if resolved else ZERO_TIME,
        "generatorURL": alert_link(alert, external_url),
        "fingerprint": fingerprint(alert),
    }


def alertmanager_payload(notifications: Sequence[Notification], external_url: str = "") -> dict[str, Any]:
    """One webhook body for the notifications of one check (or one action)."""
    alerts = [alertmanager_alert(n, external_url) for n in notifications]
    common = dict(alerts[0]["labels"]) if alerts else {}
    for a in alerts[1:]:
        common = {k: v for k, v in common.items() if a["labels"].get(k) == v}
    group_labels = {"service": "widget-monitor"}
    return {
        "version": "4",
        "groupKey": '{}:{service="widget-monitor"}',
        "truncatedAlerts": 0,
        "status": "firing" if any(a["status"] == "firing" for a in alerts) else "resolved",
        "receiver": RECEIVER,
        "groupLabels": group_labels,
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": external_url,
        "alerts": alerts,
    }
