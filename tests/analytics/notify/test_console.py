"""The console channel: one log line per notification, whatever the user strings hold."""

from __future__ import annotations

import logging

import pytest

from analytics.alerts.alert import Notification
from analytics.notify.channels import ConsoleChannel
from analytics.notify.dispatch import Dispatcher


def test_regression_crlf_in_user_strings_forged_log_lines(
    crlf_notifications: tuple[Notification, Notification], caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: a customer id or actor holding CR/LF wrote a second, forged log line."""
    firing, resolved = crlf_notifications
    with caplog.at_level(logging.INFO, logger="widget_monitor.alerts"):
        ConsoleChannel().send([firing, resolved])
    lines = [r.getMessage() for r in caplog.records if r.name == "widget_monitor.alerts"]
    assert len(lines) == 2
    assert all("\r" not in line and "\n" not in line for line in lines)
    assert lines[0].startswith(r"FIRING critical: Conversation data lost (acme\r\nBcc: x@evil). ")
    assert lines[1].startswith(
        r"RESOLVED critical: Conversation data lost (acme) (by mallory\r\nBcc: y@evil). last firing: "
    )  # the value in the message is the last check's that fired, not now's


class Crashes:
    """A channel with a bug whose error message quotes a user string."""

    name = "crashes"

    def send(self, notifications: object) -> None:
        raise ValueError("bad customer 'acme\r\nINFO all good'")


def test_a_crashing_channel_is_logged_on_one_line(
    crlf_notifications: tuple[Notification, Notification], caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher([Crashes()])
    with caplog.at_level(logging.ERROR):
        dispatcher.submit([crlf_notifications[0]])
        dispatcher.stop(timeout_s=10)
    (record,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (
        record.getMessage()
        == r"""channel crashes crashed: ValueError("bad customer 'acme\r\nINFO all good'")"""
    )
    assert record.exc_info is None and dispatcher.stats["crashes"].failed == 1
