"""What a check, or a person, does to an alert.

A rule's verdict for a scope is firing (at a severity), clear, or unknown (too few
samples, no baseline). Firing opens an alert, or updates the open one of the same rule
and scope; a change of severity is a transition of its own. Clear checks count up, and
after `autoResolveAfterChecks` of them in a row the alert resolves itself; an unknown
verdict neither fires nor counts as clear. A condition that returns after a resolve
opens a new alert linked to the old one.

Notifications go out on fire, severity change and resolve, never on a mere update, and
not at all while an alert is acknowledged or snoozed, with one exception: an escalation
of an acknowledged alert returns it to firing, since the acknowledgement was for a
milder problem.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from analytics.alerts.alert import AUTO, Alert, Notification, Status, Transition
from analytics.alerts.alert_store import AlertWrites
from analytics.alerts.baseline import degradation
from analytics.alerts.evaluate import Reading
from analytics.alerts.rules import SEVERITY_RANK, AlertRule, Level, Severity, rules
from analytics.errors import Conflict


@dataclass(frozen=True, slots=True)
class Verdict:
    """A rule's judgement of one scope in one check."""

    state: Literal["firing", "clear", "unknown"]
    value: float | None = None
    severity: Severity | None = None
    threshold: float | None = None
    samples: int = 0
    message: str = ""
    baseline: dict[str, Any] | None = None


@dataclass(slots=True)
class CheckOutcome:
    """What one check changed."""

    fired: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)


def judge(
    rule: AlertRule,
    levels: tuple[Level, ...],
    reading: Reading,
    *,
    min_samples: int,
    window: str,
    baseline: dict[str, Any] | None = None,
) -> Verdict:
    """The verdict of `rule` on a scope's `reading` (and, for a degradation rule, its baseline)."""
    if reading.value is None or (rule.needs_samples and reading.samples < min_samples):
        return Verdict("unknown", reading.value, samples=reading.samples)
    if rule.kind == "degradation":
        if baseline is None:
            return Verdict("unknown", samples=reading.samples)
        value = degradation(rule.metric, reading.value, float(baseline["value"]))
        if value is None:
            return Verdict("unknown", samples=reading.samples)
    else:
        value = reading.value
    severity = rule.severity_at(value, levels)
    if severity is None:
        return Verdict("clear", value, samples=reading.samples, baseline=baseline)
    threshold = next(level.threshold for level in levels if level.severity == severity)
    return Verdict(
        "firing",
        value,
        severity,
        threshold,
        reading.samples,
        _message(rule, value, threshold, reading, window, baseline),
        baseline,
    )


def _message(
    rule: AlertRule,
    value: float,
    threshold: float,
    reading: Reading,
    window: str,
    baseline: dict[str, Any] | None,
) -> str:
    if rule.kind == "degradation" and baseline is not None and reading.value is not None:
        unit = rules()[rule.metric].unit
        return (
            f"{rule.metric} is {value:.1f}% worse than its {baseline['source']} baseline "
            f"({_amount(reading.value, unit)} now vs {_amount(float(baseline['value']), unit)}); "
            f"alert above {threshold:g}%. {rule.action}."
        )
    samples = f", {reading.samples} samples" if rule.needs_samples else ""
    return (
        f"{rule.metric} is {_amount(value, rule.unit)} ({rule.operator} {_amount(threshold, rule.unit, 'g')})"
        f" over the {window}{samples}. {rule.action}."
    )


def _amount(value: float, unit: str, spec: str = ".2f") -> str:
    if not unit:
        return f"{value:g}"
    return f"{value:{spec}}{unit}" if unit == "%" else f"{value:{spec}} {unit}"


def apply_verdict(
    writes: AlertWrites,
    outcome: CheckOutcome,
    *,
    rule: AlertRule,
    customer_id: str | None,
    verdict: Verdict,
    current: Alert | None,
    previous_id: str | None,
    auto_resolve_after: int,
    now: datetime,
) -> None:
    """Open, update or resolve the alert of (`rule`, `customer_id`) after a check."""
    if current is not None and current.snoozed_until is not None and current.snoozed_until <= now:
        _transition(writes, current, "snooze_expired", AUTO, "firing", now)
        current.snoozed_until = None
        if verdict.state == "firing":  # a reminder: still firing after the snooze
            outcome.notifications.append(_notice("firing", current, now))
    if verdict.state == "firing":
        if current is None:
            _fire(writes, outcome, rule, customer_id, verdict, previous_id, now)
        else:
            _refire(writes, outcome, current, verdict, now)
    elif verdict.state == "clear" and current is not None:
        current.clear_checks += 1
        if current.clear_checks >= auto_resolve_after:
            note = f"clear for {current.clear_checks} checks in a row"
            resolve(writes, current, AUTO, now, note=note, outcome=outcome)
        else:
            writes.save(current)


def _fire(
    writes: AlertWrites,
    outcome: CheckOutcome,
    rule: AlertRule,
    customer_id: str | None,
    verdict: Verdict,
    previous_id: str | None,
    now: datetime,
) -> None:
    assert verdict.severity is not None and verdict.value is not None and verdict.threshold is not None
    title = rule.title if customer_id is None else f"{rule.title} ({customer_id})"
    alert = Alert(
        id=f"alert_{uuid.uuid4().hex[:16]}",
        rule_id=rule.id,
        category=rule.category,
        severity=verdict.severity,
        peak_severity=verdict.severity,
        title=title,
        message=verdict.message,
        metric=rule.metric,
        value=verdict.value,
        threshold=verdict.threshold,
        unit="%" if rule.kind == "degradation" else rule.unit,
        customer_id=customer_id,
        status="firing",
        created_at=now,
        last_seen_at=now,
        baseline=verdict.baseline,  # frozen: later checks compare with this, not a newer one
        previous_alert_id=previous_id,
    )
    writes.save(alert)
    note = f"re-opens {previous_id}" if previous_id else None
    _record(writes, alert, "fired", AUTO, None, now, note)
    outcome.fired.append(alert.id)
    outcome.notifications.append(_notice("firing", alert, now))


def _refire(
    writes: AlertWrites, outcome: CheckOutcome, alert: Alert, verdict: Verdict, now: datetime
) -> None:
    assert verdict.severity is not None and verdict.value is not None and verdict.threshold is not None
    before = alert.severity
    alert.value, alert.threshold, alert.message = verdict.value, verdict.threshold, verdict.message
    alert.last_seen_at = now
    alert.occurrences += 1
    alert.clear_checks = 0
    if verdict.severity == before:
        writes.save(alert)
        outcome.updated.append(alert.id)
        return
    escalated = SEVERITY_RANK[verdict.severity] > SEVERITY_RANK[before]
    alert.severity = verdict.severity
    if escalated and SEVERITY_RANK[verdict.severity] > SEVERITY_RANK[alert.peak_severity]:
        alert.peak_severity = verdict.severity
    was_muted = alert.muted
    to_status: Status = "firing" if escalated and alert.status == "acknowledged" else alert.status
    action = "escalated" if escalated else "deescalated"
    _transition(writes, alert, action, AUTO, to_status, now, note=f"{before} -> {verdict.severity}")
    outcome.changed.append(alert.id)
    if not was_muted or (escalated and to_status == "firing"):
        outcome.notifications.append(_notice("severity_changed", alert, now, previous_severity=before))


def resolve(
    writes: AlertWrites,
    alert: Alert,
    by: str,
    now: datetime,
    *,
    note: str | None = None,
    outcome: CheckOutcome | None = None,
) -> Notification | None:
    """Resolve an open alert; the notification to send, unless it was muted."""
    if alert.resolved:
        raise Conflict(f"alert {alert.id} was already resolved at {alert.resolved_at} by {alert.resolved_by}")
    was_muted = alert.muted
    alert.resolved_at, alert.resolved_by = now, by
    alert.snoozed_until = None
    _transition(writes, alert, "resolved", by, "resolved", now, note=note)
    notice = None if was_muted else _notice("resolved", alert, now)
    if outcome is not None:
        outcome.resolved.append(alert.id)
        if notice is not None:
            outcome.notifications.append(notice)
    return notice


def acknowledge(writes: AlertWrites, alert: Alert, by: str, now: datetime) -> None:
    """Someone is on it: the alert stays open, its notifications are muted."""
    if alert.resolved:
        raise Conflict(f"alert {alert.id} is resolved; there is nothing to acknowledge")
    alert.acknowledged_at, alert.acknowledged_by = now, by
    alert.snoozed_until = None
    _transition(writes, alert, "acknowledged", by, "acknowledged", now)


def snooze(writes: AlertWrites, alert: Alert, by: str, until: datetime, now: datetime) -> None:
    """Mute the alert until `until`; after that it fires again if its condition still holds."""
    if alert.resolved:
        raise Conflict(f"alert {alert.id} is resolved; there is nothing to snooze")
    alert.snoozed_until, alert.snoozed_by = until, by
    _transition(writes, alert, "snoozed", by, "snoozed", now, note=f"until {until.isoformat()}")


def _transition(
    writes: AlertWrites,
    alert: Alert,
    action: str,
    by: str,
    to_status: Status,
    now: datetime,
    note: str | None = None,
) -> None:
    before = alert.status
    alert.status = to_status
    writes.save(alert)
    _record(writes, alert, action, by, before, now, note)


def _record(
    writes: AlertWrites,
    alert: Alert,
    action: str,
    by: str,
    before: Status | None,
    now: datetime,
    note: str | None,
) -> None:
    writes.record(
        Transition(alert.id, now, action, by, before, alert.status, alert.severity, alert.value, note)
    )


def _notice(
    kind: Literal["firing", "severity_changed", "resolved"],
    alert: Alert,
    now: datetime,
    previous_severity: str | None = None,
) -> Notification:
    return Notification(kind, alert.to_wire(), now, previous_severity)
