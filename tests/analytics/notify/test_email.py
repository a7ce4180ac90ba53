"""E-mail notifications against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.message import EmailMessage

import pytest

from analytics.alerts.alert import Notification
from analytics.alerts.channel_settings import EmailSettings
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.notify.channels import DeliveryFailed, EmailChannel
from analytics.notify.dispatch import Dispatcher, channels_for
from analytics.store import EventStore
from tests.analytics.alerts.conftest import NOW, ev, put
from tests.analytics.notify.receivers import smtp_server
from tests.support.server import free_port


def parsed(raw: bytes | str | None) -> EmailMessage:
    assert raw is not None
    data = raw if isinstance(raw, bytes) else raw.encode()
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def subject(message: EmailMessage) -> str:
    """The subject as a mail client shows it: long headers are folded onto a new line."""
    return str(message["Subject"]).strip()


def test_a_fired_alert_is_mailed_to_every_recipient(store: EventStore) -> None:
    with smtp_server() as (box, port):
        config = parse_config(
            {
                "channels": ["email"],
                "email": {
                    "host": "127.0.0.1",
                    "port": port,
                    "from": "alerts@example.com",
                    "to": ["oncall@example.com", "lead@example.com"],
                },
            }
        )
        dispatcher = Dispatcher(channels_for(config))
        system = AlertingSystem(store, config=config, notify=dispatcher.submit)
        put(store, [ev("persistence", operation="save", success=True, duration=5.0)] * 85)
        put(store, [ev("persistence", operation="save", success=False, duration=5.0)] * 15)
        alert_id = system.check(now=NOW).outcome.fired[0]
        system.resolve(alert_id, by="alice", now=NOW + timedelta(minutes=3))
        dispatcher.stop(timeout_s=10)

    assert len(box.envelopes) == 2
    fired, resolved = box.envelopes
    assert fired.mail_from == "alerts@example.com"
    assert fired.rcpt_tos == ["oncall@example.com", "lead@example.com"]
    message = parsed(fired.content)
    assert subject(message) == "[widget-monitor] FIRING critical: Persistence success rate low"
    body = message.get_content()
    assert "persistence.success_rate is 85.00% (< 90%) over the last 5 min, 100 samples" in body
    assert f"alert: {alert_id}" in body and "scope: all customers" in body
    assert subject(parsed(resolved.content)) == (
        "[widget-monitor] RESOLVED critical: Persistence success rate low (by alice)"
    )


def test_an_smtp_server_that_is_down_is_a_delivery_failure(store: EventStore) -> None:
    got: list[Notification] = []
    put(store, [ev("memory", usedJSHeapSize=90 * 1_048_576)])
    AlertingSystem(store, notify=got.extend).check(now=NOW)
    port = free_port()  # nothing listens there
    channel = EmailChannel(EmailSettings("127.0.0.1", "a@example.com", ("b@example.com",), port=port))
    with pytest.raises(DeliveryFailed, match=f"e-mail via 127.0.0.1:{port} failed"):
        channel.send(got)
