"""The alert tests' store fixture, reused, and notifications that carry CR/LF in user strings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from analytics.alerts.alert import Notification
from analytics.alerts.config import parse_config
from analytics.alerts.system import AlertingSystem
from analytics.storage.store import EventStore
from tests.analytics.alerts.conftest import NOW, ev, put, store

__all__ = ["crlf_notifications", "store"]

CRLF_CUSTOMER = "acme\r\nBcc: x@evil"
CRLF_ACTOR = "mallory\r\nBcc: y@evil"


@pytest.fixture
def crlf_notifications(store: EventStore) -> tuple[Notification, Notification]:
    """A firing alert whose customer id holds CR/LF, and a resolve by an actor whose name does.

    Intake now refuses such a customer id, but alerts stored before it did still carry one:
    the firing is a real notification with its customer id (and title) swapped in. The
    resolve is real as it is: the system takes the actor's name as given.
    """
    got: list[Notification] = []
    system = AlertingSystem(store, config=parse_config({"perCustomer": True}), notify=got.extend)
    lost = ev("persistence", operation="save", success=False, duration=3.0, dataLoss=True, customerId="acme")
    put(store, [lost])
    (alert_id,) = [a.id for a in system.check(now=NOW).open_alerts if a.customer_id == "acme"]
    system.resolve(alert_id, by=CRLF_ACTOR, now=NOW + timedelta(minutes=1))
    firing, resolved = [n for n in got if n.alert["customerId"] == "acme"]
    alert = {
        **firing.alert,
        "customerId": CRLF_CUSTOMER,
        "title": f"Conversation data lost ({CRLF_CUSTOMER})",
    }
    return replace(firing, alert=alert), resolved
