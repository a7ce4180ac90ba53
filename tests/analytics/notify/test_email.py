"""E-mail notifications against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
import logging
from dataclasses import replace
from datetime import timedelta
from email.message import EmailMessage

import pytest

from analytics.alerts.alert import Notification
from analytics.alerts.channel_settings import EmailSettings
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.notify.channels import DeliveryFailed, EmailChannel
from analytics.notify.dispatch import Dispatcher, channels_for
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import NOW, ev, put
from tests.analytics.notify.receivers import LOOPBACK, smtp_server
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
            },
            policy=LOOPBACK,
        )
        dispatcher = Dispatcher(channels_for(config, LOOPBACK))
        system = AlertingSystem(store, config=config, notify=dispatcher.submit, policy=LOOPBACK)
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
    settings = EmailSettings("127.0.0.1", "a@example.com", ("b@example.com",), port=port)
    channel = EmailChannel(settings, policy=LOOPBACK)
    with pytest.raises(DeliveryFailed, match=f"e-mail via 127.0.0.1:{port} failed"):
        channel.send(got)


def test_regression_crlf_in_a_customer_id_broke_the_mail_and_could_add_a_header(
    crlf_notifications: tuple[Notification, Notification],
) -> None:
    """Regression: a customerId holding "\\r\\nBcc: x@evil" made the Subject raise (the mail was
    never sent), and a header built by hand from it would have added a Bcc recipient."""
    firing, resolved = crlf_notifications
    settings = EmailSettings("127.0.0.1", "alerts@example.com", ("oncall@example.com",))
    with smtp_server() as (box, port):
        channel = EmailChannel(replace(settings, port=port), policy=LOOPBACK)
        channel.send([firing])
        channel.send([resolved])
    assert [e.rcpt_tos for e in box.envelopes] == [["oncall@example.com"], ["oncall@example.com"]]
    first, second = (parsed(e.content) for e in box.envelopes)
    assert subject(first) == r"[widget-monitor] FIRING critical: Conversation data lost (acme\r\nBcc: x@evil)"
    assert subject(second) == (
        r"[widget-monitor] RESOLVED critical: Conversation data lost (acme) (by mallory\r\nBcc: y@evil)"
    )
    for message in (first, second):
        assert sorted(message.keys()) == sorted(
            ["From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
        )
        assert message["Bcc"] is None
    assert r"scope: acme\r\nBcc: x@evil" in first.get_content()


def test_the_smtp_password_is_in_no_error_and_no_log_line(
    store: EventStore, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_server(refuse_logins=True) as (box, port):
        settings = EmailSettings(
            "127.0.0.1",
            "a@example.com",
            ("b@example.com",),
            port=port,
            username="monitor",
            password="pw-s3cret",
        )
        dispatcher = Dispatcher([EmailChannel(settings, policy=LOOPBACK)])
        with caplog.at_level(logging.DEBUG):
            dispatcher.submit(memory_alert(store))
            dispatcher.stop(timeout_s=10)
    assert set(box.logins) == {(b"monitor", b"pw-s3cret")}  # the server got it (PLAIN, then LOGIN)
    assert box.envelopes == []
    stats = dispatcher.stats["email"]
    assert stats.failed == 1 and stats.last_error is not None
    assert f"e-mail via 127.0.0.1:{port} failed: (535" in stats.last_error
    assert "pw-s3cret" not in stats.last_error
    assert "notification of 1 alert change(s) lost" in caplog.text and "pw-s3cret" not in caplog.text


def test_a_refused_smtp_host_is_never_contacted(store: EventStore, caplog: pytest.LogCaptureFixture) -> None:
    with smtp_server() as (box, port):
        settings = EmailSettings("127.0.0.1", "a@example.com", ("b@example.com",), port=port)
        dispatcher = Dispatcher([EmailChannel(settings)])  # the default policy: no internal host
        with caplog.at_level(logging.ERROR):
            dispatcher.submit(memory_alert(store))
            dispatcher.stop(timeout_s=10)
    assert box.envelopes == []
    assert dispatcher.stats["email"].failed == 1
    assert f"e-mail via 127.0.0.1:{port} not sent: host '127.0.0.1' is a loopback address" in caplog.text


def memory_alert(store: EventStore) -> list[Notification]:
    """A real notification: the memory peak rule fires."""
    got: list[Notification] = []
    put(store, [ev("memory", usedJSHeapSize=90 * 1_048_576)])
    AlertingSystem(store, notify=got.extend).check(now=NOW)
    return got
