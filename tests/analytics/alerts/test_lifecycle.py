"""The lifecycle an on-call engineer relies on: no floods, no silent state, nothing forgotten."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from analytics.alerts.system import AlertingSystem
from analytics.errors import Conflict, NotFound
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import NOW, Event, Sink, ev, make_system, put

MIN = timedelta(minutes=1)


def slow_renders(n: int = 20, ms: float = 30.0, customer: str | None = None) -> list[Event]:
    extra = {"customerId": customer} if customer else {}
    return [ev("render", renderTime=ms, **extra)] * n


def persistence(ok: int, failed: int) -> list[Event]:
    return [ev("persistence", operation="save", success=True, duration=5.0)] * ok + [
        ev("persistence", operation="save", success=False, duration=5.0)
    ] * failed


def only(system: AlertingSystem, rule_id: str, **filters: object):  # type: ignore[no-untyped-def]
    found = [a for a in system.alerts(**filters) if a.rule_id == rule_id]
    assert len(found) == 1, found
    return found[0]


def test_a_rule_that_keeps_failing_updates_its_one_open_alert(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, slow_renders(ms=30.0), at=NOW - MIN)
    first = system.check(now=NOW)
    put(store, slow_renders(ms=40.0), at=NOW)
    system.check(now=NOW + 30 * timedelta(seconds=1))
    put(store, slow_renders(ms=50.0), at=NOW + 30 * timedelta(seconds=1))
    system.check(now=NOW + MIN)

    alert = only(system, "render.message_time")
    assert alert.id == first.outcome.fired[0]
    assert alert.occurrences == 3
    # p95 over the window: 20 samples of 30 ms, 20 of 40 and 20 of 50 → rank 56.05 of 0..59 is 50 ms
    assert alert.value == pytest.approx(50.0)
    assert alert.last_seen_at == NOW + MIN and alert.created_at == NOW
    assert sink.kinds() == [("firing", "render.message_time")]  # one notification, not one per check
    assert [t.action for t in system.history(alert.id)] == ["fired"]


def test_rates_need_the_minimum_sample_count(store: EventStore, system: AlertingSystem) -> None:
    put(store, slow_renders(n=9))
    system.check(now=NOW)
    assert system.alerts() == []
    put(store, slow_renders(n=1))
    system.check(now=NOW)
    assert only(system, "render.message_time").severity == "warning"


def test_minimum_samples_is_configurable(store: EventStore) -> None:
    system = make_system(store, minSamples=25)
    put(store, slow_renders(n=20))
    system.check(now=NOW)
    assert system.alerts() == []
    put(store, slow_renders(n=5))
    system.check(now=NOW)
    assert only(system, "render.message_time").severity == "warning"


def test_auto_resolve_after_consecutive_clear_checks(store: EventStore, sink: Sink) -> None:
    system = make_system(store, sink, autoResolveAfterChecks=3)
    put(store, persistence(80, 20), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    # from NOW + 5 min the failures are out of the window; healthy traffic keeps coming
    put(store, persistence(100, 0), at=NOW + 5 * MIN)
    system.check(now=NOW + 6 * MIN)  # clear 1
    system.check(now=NOW + 7 * MIN)  # clear 2
    # no data at all: neither firing nor clear, so it does not count
    system.check(now=NOW + 20 * MIN)
    assert system.alert(alert_id).status == "firing"
    put(store, persistence(100, 0), at=NOW + 20 * MIN)
    system.check(now=NOW + 21 * MIN)  # clear 3
    resolved = system.alert(alert_id)
    assert resolved.status == "resolved" and resolved.resolved
    assert resolved.resolved_by == "auto" and resolved.resolved_at == NOW + 21 * MIN
    assert sink.kinds() == [("firing", "persistence.success_rate"), ("resolved", "persistence.success_rate")]


def test_a_firing_check_resets_the_clear_count(store: EventStore) -> None:
    system = make_system(store, autoResolveAfterChecks=2)
    put(store, persistence(80, 20), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    put(store, persistence(100, 0), at=NOW + 5 * MIN)
    system.check(now=NOW + 6 * MIN)  # clear 1
    put(store, persistence(80, 20), at=NOW + 7 * MIN)
    system.check(now=NOW + 8 * MIN)  # firing again
    put(store, persistence(1000, 0), at=NOW + 12 * MIN + timedelta(seconds=30))
    system.check(now=NOW + 13 * MIN)  # clear 1
    assert system.alert(alert_id).status == "firing"
    system.check(now=NOW + 13 * MIN + timedelta(seconds=30))  # clear 2
    assert system.alert(alert_id).status == "resolved"


def test_a_condition_that_returns_after_a_resolve_opens_a_new_linked_alert(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, slow_renders(), at=NOW - MIN)
    old_id = system.check(now=NOW).outcome.fired[0]
    system.resolve(old_id, by="alice", now=NOW + MIN)
    system.check(now=NOW + 2 * MIN)  # still slow: the condition is back
    new = only(system, "render.message_time", resolved=False)
    assert new.id != old_id and new.previous_alert_id == old_id
    old = system.alert(old_id)
    assert (old.status, old.resolved_by, old.resolved_at) == ("resolved", "alice", NOW + MIN)
    assert system.history(new.id)[0].note == f"re-opens {old_id}"
    assert sink.kinds() == [
        ("firing", "render.message_time"),
        ("resolved", "render.message_time"),
        ("firing", "render.message_time"),
    ]


def test_severity_follows_the_figure_and_each_change_notifies_once(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, persistence(92, 8), at=NOW - MIN)  # 92 %: error
    alert_id = system.check(now=NOW).outcome.fired[0]
    put(store, persistence(0, 60), at=NOW)  # 92 of 160 = 57.5 %: critical
    system.check(now=NOW + MIN)
    system.check(now=NOW + MIN + timedelta(seconds=30))  # still critical: no new notification
    alert = system.alert(alert_id)
    assert (alert.severity, alert.peak_severity) == ("critical", "critical")
    put(store, persistence(1000, 0), at=NOW + MIN)  # 1092 of 1160 = 94.1 %: error again
    system.check(now=NOW + 2 * MIN)
    alert = system.alert(alert_id)
    assert (alert.severity, alert.peak_severity) == ("error", "critical")
    assert alert.value == pytest.approx(100 * 1092 / 1160)
    actions = [(t.action, t.severity) for t in system.history(alert_id)]
    assert actions == [("fired", "error"), ("escalated", "critical"), ("deescalated", "error")]
    assert [(n.kind, n.previous_severity, n.alert["severity"]) for n in sink] == [
        ("firing", None, "error"),
        ("severity_changed", "error", "critical"),
        ("severity_changed", "critical", "error"),
    ]


def test_acknowledged_alerts_stay_open_and_are_muted(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, slow_renders(), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    system.acknowledge(alert_id, by="bob", now=NOW + MIN)
    system.check(now=NOW + 2 * MIN)
    alert = system.alert(alert_id)
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_at) == ("acknowledged", "bob", NOW + MIN)
    assert not alert.resolved and alert.occurrences == 2
    # the condition clears: the alert resolves itself, and nobody is paged about it
    for minute in (6, 7, 8):
        system.check(now=NOW + minute * MIN)
    assert system.alert(alert_id).status == "acknowledged"  # no data is not "clear"
    put(store, [ev("render", renderTime=2.0)] * 20, at=NOW + 8 * MIN)
    for minute in (9, 10, 11):
        system.check(now=NOW + minute * MIN)
    assert system.alert(alert_id).resolved_by == "auto"
    assert sink.kinds() == [("firing", "render.message_time")]


def test_an_escalation_ends_the_acknowledgement(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, persistence(92, 8), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    system.acknowledge(alert_id, by="bob", now=NOW)
    put(store, persistence(0, 100), at=NOW)
    system.check(now=NOW + MIN)
    alert = system.alert(alert_id)
    assert (alert.status, alert.severity) == ("firing", "critical")
    assert [n.kind for n in sink] == ["firing", "severity_changed"]


def test_a_snoozed_alert_is_muted_until_the_snooze_expires(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, slow_renders(n=200), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    system.snooze(alert_id, by="carol", until=NOW + 3 * MIN, now=NOW)
    system.check(now=NOW + 2 * MIN)
    assert system.alert(alert_id).status == "snoozed"
    assert len(sink) == 1
    system.check(now=NOW + 3 * MIN)  # expired, still slow: firing again, with a reminder
    alert = system.alert(alert_id)
    assert (alert.status, alert.snoozed_until) == ("firing", None)
    assert [n.kind for n in sink] == ["firing", "firing"]
    assert [(t.action, t.by) for t in system.history(alert_id)] == [
        ("fired", "auto"),
        ("snoozed", "carol"),
        ("snooze_expired", "auto"),
    ]


def test_snoozing_into_the_past_is_refused(store: EventStore, system: AlertingSystem) -> None:
    put(store, slow_renders(), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    with pytest.raises(Exception, match="not in the future"):
        system.snooze(alert_id, by="carol", until=NOW - MIN, now=NOW)


def test_unknown_ids_and_finished_alerts(store: EventStore, system: AlertingSystem) -> None:
    with pytest.raises(NotFound, match="alert_nope"):
        system.resolve("alert_nope", by="x")
    with pytest.raises(NotFound):
        system.history("alert_nope")
    put(store, slow_renders(), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    system.resolve(alert_id, by="alice", now=NOW)
    with pytest.raises(Conflict, match="already resolved"):
        system.resolve(alert_id, by="bob", now=NOW)
    with pytest.raises(Conflict):
        system.acknowledge(alert_id, by="bob", now=NOW)


def test_per_customer_scope(store: EventStore) -> None:
    system = make_system(store, perCustomer=True)
    put(store, slow_renders(n=20, ms=30.0, customer="acme"), at=NOW - MIN)
    put(store, [ev("render", renderTime=5.0, customerId="globex")] * 1000, at=NOW - MIN)
    report = system.check(now=NOW)
    assert set(report.scopes) == {None, "acme", "globex"}
    # globally p95 of 1020 samples is 5 ms (the slow 2 % are below the 95th percentile)
    alert = only(system, "render.message_time")
    assert alert.customer_id == "acme" and alert.title.endswith("(acme)")
    assert system.alerts(customer_id="globex") == []
    assert system.section("acme")["stats"]["unresolved"] == 1
    assert system.section("globex")["stats"] == {
        "total": 0,
        "unresolved": 0,
        "bySeverity": {},
        "byCategory": {},
    }


def test_customers_are_not_scopes_unless_asked(store: EventStore, system: AlertingSystem) -> None:
    put(store, slow_renders(n=20, ms=30.0, customer="acme"), at=NOW - MIN)
    put(store, [ev("render", renderTime=5.0, customerId="globex")] * 1000, at=NOW - MIN)
    assert system.check(now=NOW).scopes == [None]
    assert system.alerts() == []


def test_disabled_rules_do_not_fire(store: EventStore) -> None:
    system = make_system(store, disabledRules=["render.message_time"])
    put(store, slow_renders(), at=NOW - MIN)
    system.check(now=NOW)
    assert system.alerts() == []


def test_history_survives_a_restart(tmp_path: Path) -> None:
    store = EventStore.open(tmp_path / "data")
    system = AlertingSystem(store)
    put(store, slow_renders(), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    system.acknowledge(alert_id, by="bob", now=NOW + MIN)
    system.resolve(alert_id, by="alice", note="deployed the fix", now=NOW + 2 * MIN)
    store.close()

    reopened = EventStore.open(tmp_path / "data")
    try:
        again = AlertingSystem(reopened)
        steps = [(t.action, t.by, t.from_status, t.to_status, t.at, t.note) for t in again.history(alert_id)]
        assert steps == [
            ("fired", "auto", None, "firing", NOW, None),
            ("acknowledged", "bob", "firing", "acknowledged", NOW + MIN, None),
            ("resolved", "alice", "acknowledged", "resolved", NOW + 2 * MIN, "deployed the fix"),
        ]
        assert again.alert(alert_id).resolved_by == "alice"
    finally:
        reopened.close()


def test_summary_section_counts_the_history(store: EventStore, system: AlertingSystem) -> None:
    put(store, slow_renders(), at=NOW - MIN)
    put(store, persistence(85, 15), at=NOW - MIN)
    report = system.check(now=NOW)
    render_id = next(a.id for a in report.open_alerts if a.rule_id == "render.message_time")
    system.resolve(render_id, by="alice", now=NOW)
    section = system.section(None)
    assert [a["ruleId"] for a in section["active"]] == ["persistence.success_rate"]
    assert section["stats"] == {
        "total": 2,
        "unresolved": 1,
        "bySeverity": {"critical": 1, "warning": 1},
        "byCategory": {"performance": 1, "persistence": 1},
    }


def test_disabling_a_rule_resolves_its_open_alerts(
    store: EventStore, system: AlertingSystem, sink: Sink
) -> None:
    put(store, slow_renders(), at=NOW - MIN)
    alert_id = system.check(now=NOW).outcome.fired[0]
    system.set_config({"disabledRules": ["render.message_time"]})
    system.check(now=NOW + MIN)
    alert = system.alert(alert_id)
    assert (alert.status, alert.resolved_by) == ("resolved", "auto")
    assert system.history(alert_id)[-1].note == "rule disabled"
    assert sink.kinds()[-1] == ("resolved", "render.message_time")


def test_only_the_newest_resolved_alerts_are_kept(store: EventStore) -> None:
    system = make_system(store, historyLimit=10)
    put(store, slow_renders(), at=NOW - MIN)
    ids = []
    for k in range(12):
        now = NOW + k * timedelta(seconds=10)
        ids.append(system.check(now=now).outcome.fired[0])
        system.resolve(ids[-1], by="alice", now=now + timedelta(seconds=1))
    system.check(now=NOW + 2 * MIN)  # re-opens once more, and prunes
    kept = {a.id for a in system.alerts(resolved=True)}
    assert kept == set(ids[2:])
    with pytest.raises(NotFound):
        system.history(ids[0])
    with store.cursor() as cur:
        orphans = cur.execute(
            "SELECT count(*) FROM alert_transitions WHERE alert_id IN (?, ?)", [ids[0], ids[1]]
        ).fetchone()
    assert orphans == (0,)
    open_alert = only(system, "render.message_time", resolved=False)
    assert open_alert.previous_alert_id == ids[-1]
