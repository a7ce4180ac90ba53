"""An alert, a transition of its lifecycle, and a notification about it, with their wire forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from analytics import window
from analytics.alerts.rules import Severity

Status = Literal["firing", "acknowledged", "snoozed", "resolved"]
NotificationKind = Literal["firing", "severity_changed", "resolved"]

AUTO = "auto"  # resolvedBy / by of what the system did on its own


@dataclass(slots=True)
class Alert:
    """One alert: a rule that fired for a scope, from when it fired until it was resolved."""

    id: str
    rule_id: str
    category: str
    severity: Severity
    peak_severity: Severity
    title: str
    message: str
    metric: str
    value: float
    threshold: float
    unit: str
    customer_id: str | None
    status: Status
    created_at: datetime
    last_seen_at: datetime
    occurrences: int = 1
    clear_checks: int = 0
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None
    baseline: dict[str, Any] | None = None
    previous_alert_id: str | None = None

    @property
    def resolved(self) -> bool:
        return self.status == "resolved"

    @property
    def muted(self) -> bool:
        """Acknowledged and snoozed alerts send no notifications."""
        return self.status in ("acknowledged", "snoozed")

    def to_wire(self) -> dict[str, Any]:
        """The API form (camelCase; times as ISO 8601 UTC; customerId null for global)."""
        return {
            "id": self.id,
            "ruleId": self.rule_id,
            "category": self.category,
            "severity": self.severity,
            "peakSeverity": self.peak_severity,
            "title": self.title,
            "message": self.message,
            "metric": self.metric,
            "value": round(self.value, 4),
            "threshold": self.threshold,
            "unit": self.unit,
            "customerId": self.customer_id,
            "status": self.status,
            "resolved": self.resolved,
            "createdAt": iso(self.created_at),
            "lastSeenAt": iso(self.last_seen_at),
            "resolvedAt": iso(self.resolved_at),
            "resolvedBy": self.resolved_by,
            "acknowledgedAt": iso(self.acknowledged_at),
            "acknowledgedBy": self.acknowledged_by,
            "snoozedUntil": iso(self.snoozed_until),
            "snoozedBy": self.snoozed_by,
            "occurrences": self.occurrences,
            "baseline": self.baseline,
            "previousAlertId": self.previous_alert_id,
        }


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of an alert's status or severity: who did what, when."""

    alert_id: str
    at: datetime
    action: str  # fired, escalated, deescalated, acknowledged, snoozed, snooze_expired, resolved
    by: str
    from_status: Status | None
    to_status: Status
    severity: Severity
    value: float | None = None
    note: str | None = None

    def to_wire(self) -> dict[str, Any]:
        return {
            "alertId": self.alert_id,
            "at": iso(self.at),
            "action": self.action,
            "by": self.by,
            "fromStatus": self.from_status,
            "toStatus": self.to_status,
            "severity": self.severity,
            "value": None if self.value is None else round(self.value, 4),
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class Notification:
    """Something a person should hear about: an alert fired, changed severity, or resolved."""

    kind: NotificationKind
    alert: dict[str, Any]  # the alert's wire form at that moment
    at: datetime
    previous_severity: str | None = None


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC with milliseconds and a Z, or None."""
    return None if moment is None else window.iso(moment)
