"""Webhook notifications against a real HTTP receiver on loopback."""

from __future__ import annotations

import itertools
import logging
import time
from datetime import timedelta

import pytest

from analytics.alerts.alert import Notification
from analytics.alerts.channel_settings import WebhookSettings
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.notify.channels import DeliveryFailed, WebhookChannel
from analytics.notify.dispatch import ChannelStats, Dispatcher, channels_for
from analytics.notify.payload import ZERO_TIME
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import NOW, ev, put
from tests.analytics.notify.receivers import LOOPBACK, webhook_receiver

MIN = timedelta(minutes=1)


def fire_and_resolve(store: EventStore) -> list:  # type: ignore[type-arg]
    """A real firing and a real resolve notification for the data-loss rule of customer acme."""
    got: list = []  # type: ignore[type-arg]
    system = AlertingSystem(store, config=parse_config({"perCustomer": True}), notify=got.extend)
    lost = ev("persistence", operation="save", success=False, duration=3.0, dataLoss=True, customerId="acme")
    put(store, [lost])
    report = system.check(now=NOW)
    (alert_id,) = [a.id for a in report.open_alerts if a.customer_id == "acme"]
    system.resolve(alert_id, by="alice", now=NOW + MIN)
    return [n for n in got if n.alert["customerId"] == "acme"]


def test_retries_with_exponential_backoff_until_the_receiver_accepts(store: EventStore) -> None:
    firing, _ = fire_and_resolve(store)
    with webhook_receiver(fail_first=3) as receiver:
        WebhookChannel(WebhookSettings(receiver.url, backoff_ms=50, max_attempts=5), policy=LOOPBACK).send(
            [firing]
        )
        times = [t for t, _ in receiver.requests]
        bodies = receiver.bodies()
    assert len(bodies) == 4 and all(b == bodies[0] for b in bodies)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # waits of 50, 100 and 200 ms before attempts 2, 3 and 4
    assert gaps[0] >= 0.045 and gaps[1] >= 0.095 and gaps[2] >= 0.195
    assert gaps[2] > gaps[1] > gaps[0]


def test_gives_up_after_max_attempts(store: EventStore) -> None:
    firing, _ = fire_and_resolve(store)
    with webhook_receiver(fail_first=99) as receiver:
        with pytest.raises(DeliveryFailed, match="failed 3 attempts; last: HTTP 503"):
            WebhookChannel(WebhookSettings(receiver.url, backoff_ms=1, max_attempts=3), policy=LOOPBACK).send(
                [firing]
            )
        assert len(receiver.requests) == 3


def test_a_client_error_is_not_retried(store: EventStore) -> None:
    firing, _ = fire_and_resolve(store)
    with webhook_receiver(fail_first=99, fail_status=400) as receiver:
        with pytest.raises(DeliveryFailed, match="refused the notification: HTTP 400"):
            WebhookChannel(WebhookSettings(receiver.url, backoff_ms=1), policy=LOOPBACK).send([firing])
        assert len(receiver.requests) == 1


def test_an_unreachable_receiver_fails_cleanly(store: EventStore) -> None:
    firing, _ = fire_and_resolve(store)
    with webhook_receiver() as receiver:
        url = receiver.url
    with pytest.raises(DeliveryFailed, match="ConnectError"):
        WebhookChannel(WebhookSettings(url, backoff_ms=1, max_attempts=2), policy=LOOPBACK).send([firing])


def test_payload_follows_alertmanager_webhook_format(store: EventStore) -> None:
    firing, resolved = fire_and_resolve(store)
    with webhook_receiver() as receiver:
        channel = WebhookChannel(
            WebhookSettings(receiver.url), external_url="http://monitor.example:8000", policy=LOOPBACK
        )
        channel.send([firing])
        channel.send([resolved])
    first, second = receiver.bodies()
    for body in (first, second):
        assert body["version"] == "4" and body["receiver"] == "widget-monitor"
        assert set(body) >= {"groupKey", "status", "groupLabels", "commonLabels", "externalURL", "alerts"}
    (alert,) = first["alerts"]
    assert first["status"] == "firing" and alert["status"] == "firing"
    assert alert["labels"] == {
        "alertname": "persistence.data_loss",
        "severity": "critical",
        "category": "persistence",
        "metric": "persistence.data_loss",
        "service": "widget-monitor",
        "customerId": "acme",
    }
    assert alert["startsAt"] == "2026-11-27T12:00:00.000Z" and alert["endsAt"] == ZERO_TIME
    assert alert["annotations"]["summary"] == "Conversation data lost (acme)"
    assert alert["generatorURL"].startswith("http://monitor.example:8000/api/monitoring/alerts/alert_")
    (gone,) = second["alerts"]
    assert second["status"] == "resolved" and gone["status"] == "resolved"
    assert gone["endsAt"] == "2026-11-27T12:01:00.000Z"
    assert gone["fingerprint"] == alert["fingerprint"] and len(alert["fingerprint"]) == 16


def test_dispatch_never_blocks_on_a_slow_receiver(store: EventStore) -> None:
    firing, resolved = fire_and_resolve(store)
    with webhook_receiver(delay_s=1.0) as receiver:
        config = parse_config({"channels": ["webhook"], "webhook": {"url": receiver.url}}, policy=LOOPBACK)
        dispatcher = Dispatcher(channels_for(config, LOOPBACK))
        started = time.monotonic()
        dispatcher.submit([firing])
        dispatcher.submit([resolved])
        assert time.monotonic() - started < 0.1
        dispatcher.stop(timeout_s=10)
    assert [b["status"] for b in receiver.bodies()] == ["firing", "resolved"]
    assert dispatcher.stats["webhook"].delivered == 2


def test_a_check_notifies_the_webhook_once_per_change(store: EventStore) -> None:
    with webhook_receiver(fail_first=1) as receiver:
        config = parse_config(
            {"channels": ["console", "webhook"], "webhook": {"url": receiver.url, "backoffMs": 10}},
            policy=LOOPBACK,
        )
        dispatcher = Dispatcher(channels_for(config, LOOPBACK))
        system = AlertingSystem(store, config=config, notify=dispatcher.submit, policy=LOOPBACK)
        put(store, [ev("render", renderTime=40.0)] * 20)
        put(store, [ev("api", duration=90.0, success=i >= 6, cached=True) for i in range(100)])  # 6 % errors
        system.check(now=NOW)
        system.check(now=NOW + timedelta(seconds=30))  # nothing changed: nothing sent
        dispatcher.stop(timeout_s=10)
    bodies = receiver.bodies()
    assert len(bodies) == 2  # one refused (503), then the retry; one batch for the whole check
    names = sorted(a["labels"]["alertname"] for a in bodies[-1]["alerts"])
    assert names == ["api.error_rate", "render.message_time"]
    severities = {a["labels"]["alertname"]: a["labels"]["severity"] for a in bodies[-1]["alerts"]}
    assert severities == {"api.error_rate": "error", "render.message_time": "warning"}


def test_a_refused_target_is_checked_at_send_and_never_contacted(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The config was accepted under another policy (or DNS changed since): the send checks again."""
    firing, _ = fire_and_resolve(store)
    with webhook_receiver() as receiver:
        dispatcher = Dispatcher([WebhookChannel(WebhookSettings(receiver.url))])  # default policy
        with caplog.at_level(logging.ERROR):
            dispatcher.submit([firing])
            dispatcher.stop(timeout_s=10)
        assert receiver.requests == []
    assert dispatcher.stats["webhook"].failed == 1 and dispatcher.stats["webhook"].delivered == 0
    port = receiver.url.split(":")[2].split("/")[0]
    assert (
        f"webhook http://127.0.0.1:{port}/… not sent: host '127.0.0.1' is a loopback address" in caplog.text
    )


def test_a_redirect_is_not_followed_and_counts_as_a_failure(store: EventStore) -> None:
    firing, _ = fire_and_resolve(store)
    with webhook_receiver() as elsewhere, webhook_receiver(fail_first=99, fail_status=307) as receiver:
        receiver.location = elsewhere.url
        channel = WebhookChannel(WebhookSettings(receiver.url, backoff_ms=1), policy=LOOPBACK)
        with pytest.raises(DeliveryFailed, match="answered with a redirect, not followed: HTTP 307"):
            channel.send([firing])
        assert len(receiver.requests) == 1 and elsewhere.requests == []


SECRET_PATH = "/services/T0/B0/xoxb-s3cr3t"


@pytest.mark.parametrize(
    ("fail_first", "outcome"),
    [
        pytest.param(0, "delivered", id="delivered"),
        pytest.param(99, "HTTP 503", id="refused"),
        pytest.param(None, "ConnectError", id="unreachable"),
    ],
)
def test_the_webhook_token_never_reaches_a_log_line(
    store: EventStore, caplog: pytest.LogCaptureFixture, fail_first: int | None, outcome: str
) -> None:
    firing, _ = fire_and_resolve(store)
    with webhook_receiver(fail_first=fail_first or 0) as receiver:
        origin = receiver.url.removesuffix("/hook")
        url = f"{origin}{SECRET_PATH}?token=q-s3cr3t"
        if fail_first is not None:
            stats = _deliver(url, firing, caplog)
    if fail_first is None:  # the receiver is gone: nothing listens on its port
        stats = _deliver(url, firing, caplog)
    text = caplog.text + str(stats.last_error)
    assert "s3cr3t" not in text and "xoxb" not in text and "services" not in text
    if outcome == "delivered":
        assert stats.delivered == 1
        assert f'HTTP Request: POST {origin}/… "HTTP/1.0 200 OK"' in caplog.text
    else:
        assert stats.failed == 1 and outcome in text and f"webhook {origin}/… failed 2 attempts" in text


def _deliver(url: str, firing: Notification, caplog: pytest.LogCaptureFixture) -> ChannelStats:
    dispatcher = Dispatcher(
        [WebhookChannel(WebhookSettings(url, backoff_ms=1, max_attempts=2), policy=LOOPBACK)]
    )
    with caplog.at_level(logging.DEBUG):
        dispatcher.submit([firing])
        dispatcher.stop(timeout_s=10)
    return dispatcher.stats["webhook"]
