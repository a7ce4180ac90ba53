"""The Alertmanager channel against Debian's real `prometheus-alertmanager`, and against a stand-in."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics.alerts.alert import Notification
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.notify.alertmanager import am_body
from analytics.notify.dispatch import Dispatcher, channels_for
from analytics.outbound import OutboundPolicy
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import ev, put
from tests.analytics.notify.receivers import LOOPBACK, WebhookReceiver, webhook_receiver
from tests.support.daemon import loopback_daemon
from tests.support.server import free_port

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
EXTERNAL = "http://monitor.example:8000"
LOST = ev("persistence", operation="save", success=False, duration=3.0, dataLoss=True, customerId="acme")
# What a data-loss alert of customer acme carries, worked out from the rule (critical above 0).
ACME_LABELS = {
    "alertname": "persistence.data_loss",
    "rule": "persistence.data_loss",
    "severity": "critical",
    "category": "persistence",
    "customer": "acme",
    "service": "widget-monitor",
}
MESSAGE = "persistence.data_loss is 1 (> 0) over the last 5 min. Emergency response."


def wired(
    store: EventStore, url: str, policy: OutboundPolicy = LOOPBACK
) -> tuple[AlertingSystem, Dispatcher]:
    """The alerting system and dispatcher wired as the server wires them (`AlertService.start`)."""
    config = {
        "perCustomer": True,
        "channels": ["alertmanager"],
        "alertmanager": {"url": url, "backoffMs": 10, "maxAttempts": 2},
        "externalUrl": EXTERNAL,
    }
    dispatcher = Dispatcher()
    system = AlertingSystem(
        store, config=parse_config(config, policy=policy), notify=dispatcher.submit, policy=policy
    )
    dispatcher.configure(channels_for(system.config, policy))
    system.on_check(dispatcher.after_check)
    return system, dispatcher


def wait_for(predicate: Any, what: str, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def acme(receiver: WebhookReceiver, status: str | None = None) -> list[dict[str, Any]]:
    """The alerts of customer acme (with `status`) that Alertmanager's webhook, or the stand-in, got.

    Alertmanager's webhook sends `{"alerts": [...]}`; the stand-in gets the channel's list.
    """
    alerts = [a for b in receiver.bodies() for a in (b if isinstance(b, list) else b["alerts"])]
    return [a for a in alerts if a["labels"].get("customer") == "acme" and status in (None, a.get("status"))]


@contextmanager
def alertmanager(tmp_path: Path, receiver_url: str) -> Iterator[str]:
    """Debian's Alertmanager on loopback, routing every alert to `receiver_url` at once; its base URL."""
    config = tmp_path / "alertmanager.yml"
    config.write_text(
        "global:\n  resolve_timeout: 1m\n"
        "route:\n  receiver: hook\n  group_by: ['...']\n"
        "  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\n"
        "receivers:\n  - name: hook\n    webhook_configs:\n"
        f"      - url: {receiver_url}\n        send_resolved: true\n"
    )
    flags = [
        f"--config.file={config}",
        f"--storage.path={tmp_path / 'alertmanager-data'}",
        "--cluster.listen-address=",
    ]
    install = "make alertmanager-deps (apt-get install prometheus-alertmanager)"
    with loopback_daemon(ALERTMANAGER, flags, tmp_path / "alertmanager.log", install=install) as base:
        yield base


def test_a_real_alertmanager_gets_the_alert_then_its_resolve(store: EventStore, tmp_path: Path) -> None:
    started = time.monotonic()
    now = datetime.now(UTC)
    put(store, [LOST], at=now - timedelta(seconds=30))
    with webhook_receiver() as receiver, alertmanager(tmp_path, receiver.url) as base:
        system, dispatcher = wired(store, base)
        try:
            report = system.check(now=now)
            (alert,) = [a for a in report.open_alerts if a.customer_id == "acme"]
            (firing,) = wait_for(lambda: acme(receiver, "firing"), "the firing notification")
            assert firing["labels"] == ACME_LABELS
            annotations = firing["annotations"]
            assert annotations["summary"] == "Conversation data lost (acme)"
            assert (annotations["description"], annotations["value"], annotations["threshold"]) == (
                MESSAGE,
                "1",
                "0",
            )
            assert firing["generatorURL"] == f"{EXTERNAL}/api/monitoring/alerts/{alert.id}"
            fired_at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # sent in ms
            assert datetime.fromisoformat(firing["startsAt"]) == fired_at

            system.check(now=datetime.now(UTC))  # still firing: pushed again, no new notification
            system.resolve(alert.id, by="alice")
            (resolved,) = wait_for(lambda: acme(receiver, "resolved"), "the resolved notification")
            assert resolved["labels"] == ACME_LABELS
            resolved_at = system.alert(alert.id).to_wire()["resolvedAt"]
            assert datetime.fromisoformat(resolved["endsAt"]) == datetime.fromisoformat(resolved_at)
            assert dispatcher.stats["alertmanager"].failed == 0
        finally:
            dispatcher.stop()
    assert time.monotonic() - started < 20


def test_open_alerts_are_pushed_again_on_every_check_and_ended_once(store: EventStore) -> None:
    now = datetime.now(UTC)
    put(store, [LOST], at=now - timedelta(seconds=30))
    with webhook_receiver() as stand_in:  # takes any path: the channel posts to {url}/api/v2/alerts
        system, dispatcher = wired(store, stand_in.url.removesuffix("/hook"))
        (alert,) = [a for a in system.check(now=now).open_alerts if a.customer_id == "acme"]
        for pushed, seconds in enumerate((30, 60), start=1):
            # one push at a time: a re-send still queued when the next comes is dropped
            wait_for(lambda n=pushed: len(acme(stand_in)) == n, f"push {pushed}")
            assert system.check(now=now + timedelta(seconds=seconds)).outcome.notifications == []
        system.resolve(alert.id, by="alice", now=now + timedelta(seconds=70))
        dispatcher.stop()
    pushes = acme(stand_in)
    assert len(pushes) == 4  # fired, two checks while firing, resolved
    assert all(p["labels"] == ACME_LABELS for p in pushes)
    assert ["endsAt" in p for p in pushes] == [False, False, False, True]
    assert pushes[-1]["endsAt"] == (now + timedelta(seconds=70)).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z"
    )
    assert {p["startsAt"] for p in pushes} == {pushes[0]["startsAt"]}


def test_a_severity_change_ends_the_alert_of_the_old_severity() -> None:
    alert = {
        "id": "a1",
        "ruleId": "memory.peak",
        "category": "memory",
        "severity": "error",
        "customerId": None,
        "title": "Memory peak high",
        "message": "m",
        "value": 80.0,
        "threshold": 75.0,
        "status": "firing",
        "createdAt": "2026-11-27T12:00:00.000Z",
        "resolvedAt": None,
    }
    at = datetime(2026, 11, 27, 12, 5, tzinfo=UTC)
    old, new = am_body([Notification("severity_changed", alert, at, previous_severity="warning")])
    assert (old["labels"]["severity"], old["endsAt"]) == ("warning", "2026-11-27T12:05:00.000Z")
    assert new["labels"]["severity"] == "error" and "endsAt" not in new
    assert "customer" not in new["labels"] and "generatorURL" not in new  # global; no externalUrl


def test_a_dead_alertmanager_is_counted_and_logged_without_its_url(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    now = datetime.now(UTC)
    put(store, [LOST], at=now - timedelta(seconds=30))
    url = f"http://monitor:s3cr3t@127.0.0.1:{free_port()}/am-token"
    system, dispatcher = wired(store, url)
    with caplog.at_level(logging.INFO):
        report = system.check(now=now)  # the check itself goes through
        system.check(now=now + timedelta(seconds=30))
        dispatcher.stop()
    assert len(report.open_alerts) == 2
    stats = dispatcher.stats["alertmanager"]
    assert (stats.delivered, stats.failed) == (0, 4)  # two alerts fired, then pushed again
    assert stats.last_error is not None and "ConnectError" in stats.last_error
    assert f"Alertmanager http://127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/…" in caplog.text
    assert "s3cr3t" not in caplog.text and "am-token" not in caplog.text
